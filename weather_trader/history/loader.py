"""Write validated history files into the archive: all or nothing, idempotent, in bulk.

:func:`import_history` reads every file first (:mod:`weather_trader.history.importers`); if any
row is bad, it reports them all and writes nothing. Otherwise, in one transaction, it fetches
the keys already stored, checks the new rows against them (a row that contradicts a stored one
is reported the same way and nothing is written), then inserts in chunks with SQLAlchemy Core.

Identity (what "already present" means), the same keys the live pipeline uses:

* markets: ``ticker``. A re-read market updates the stored row when it differs (a result that
  arrived since, a real definition replacing a derived one) but never loses a stored result to
  a file saved before settlement; the stored fee multiplier is kept.
* trades: ``trade_id`` (Kalshi's trades are immutable).
* forecasts: ``(city, climate_date, kind, source, model, member, issued_at)``; deterministic
  runs are member ``-1``; ``retrieved_at`` is set to ``issued_at`` (the file says when the value
  was known). A different value for a stored identity is refused.
* reports: ``(product, climate_date, issued_at)`` with ``product`` the city's CLI product; the
  high and low rows of one issue share a row (``max_f``/``min_f``). A value for a kind the stored
  report lacks is filled in; a different value or ``final`` flag is refused.

Markets of traded tickers that neither the database nor the imported events know are derived
from the tickers (:func:`~weather_trader.history.derived_markets.derive_markets`, status
``derived``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Double,
    Engine,
    Numeric,
    Table,
    bindparam,
    insert,
    select,
    update,
)

from weather_trader.core.cities import get_city
from weather_trader.history.derived_markets import derive_markets, market_event_ticker
from weather_trader.history.importers import (
    FileKind,
    ForecastRecord,
    Issue,
    MarketRecord,
    ParsedFile,
    ReportRecord,
    TradeRecord,
    read_events,
    read_trades,
)
from weather_trader.history.weather_files import read_forecasts, read_reports
from weather_trader.store.models import (
    DETERMINISTIC_MEMBER,
    ClimateReportRow,
    ForecastRow,
    MarketRow,
    MarketTradeRow,
)
from weather_trader.store.types import UTCDateTime

WRITE_CHUNK = 5_000
"""Rows per executemany: large enough to amortise the round trip, small enough for memory."""
IN_CHUNK = 900
"""Values per ``IN (...)`` list (below SQLite's oldest limit of 999 bound parameters)."""
SQLITE_IMPORT_CACHE_KIB = -131_072
"""``PRAGMA cache_size`` during an import on SQLite (negative: KiB, so 128 MiB)."""
REPORT_TEXT = "imported by weather-trader history import"
"""``climate_reports.text`` of an imported report (the CSV carries values, not the product)."""

_MARKET_VALUES = (
    "event_ticker", "series_ticker", "city", "climate_date", "kind", "strike_type",
    "floor_strike", "cap_strike", "title", "status", "close_time", "result", "settled_value",
)  # fmt: skip
_FORECAST_KEY = ("city", "climate_date", "kind", "source", "model", "member", "issued_at")

READERS: dict[FileKind, Callable[[Path | str], ParsedFile]] = {
    "events": read_events,
    "trades": read_trades,
    "forecasts": read_forecasts,
    "reports": read_reports,
}
"""The reader of each input kind."""


@dataclass
class FileSummary:
    """What one input did: rows read, and how many were new, changed or already stored."""

    path: str
    kind: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    present: int = 0

    def __str__(self) -> str:
        changed = f", {self.updated} updated" if self.updated else ""
        return (
            f"{self.kind:<9} {self.path}: {self.read} read, {self.inserted} inserted{changed}, "
            f"{self.present} already present"
        )


@dataclass
class ImportResult:
    """The outcome of :func:`import_history`: per-file summaries, or the issues that stopped it.

    Attributes:
        files: One summary per input file, in the order given.
        derived: Markets derived from traded tickers (``path`` names the rule, not a file).
        underived: Traded tickers left without a market row, with the reason.
        issues: Bad rows and conflicts; when there are any, nothing was written.
        issues_dropped: Further issues counted but not kept (a file in the wrong format).
        seconds: Wall time of the whole import.
        phases: Wall and CPU seconds of each phase (``read``, ``plan``, ``write``), for the
            benchmark: on a busy machine wall time says little, CPU time says what it costs.
    """

    files: list[FileSummary]
    derived: FileSummary
    underived: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    issues_dropped: int = 0
    seconds: float = 0.0
    phases: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def written(self) -> bool:
        """Whether the import was applied (no issues)."""
        return not self.issues and not self.issues_dropped


class _Refused(Exception):
    """Conflicts found against the stored archive: roll the transaction back."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} conflicts")
        self.issues = issues


def import_history(
    engine: Engine,
    *,
    events: Sequence[Path | str] = (),
    trades: Sequence[Path | str] = (),
    forecasts: Sequence[Path | str] = (),
    reports: Sequence[Path | str] = (),
    derive: bool = True,
) -> ImportResult:
    """Import history files into the archive, all or nothing.

    Args:
        engine: The domain database (migrated).
        events: Kalshi event JSON files (markets and results).
        trades: Trade files (``/markets/trades`` JSON or Kalshi-named CSV, optionally gzipped).
        forecasts: Forecast CSVs.
        reports: Climate-report CSVs.
        derive: Derive the markets of traded tickers that have no market row.

    Returns:
        The summaries, or the issues (then nothing was written).
    """
    started = time.perf_counter()
    clock = _PhaseClock()
    inputs: list[tuple[FileKind, Sequence[Path | str]]] = [
        ("events", events), ("trades", trades), ("forecasts", forecasts), ("reports", reports),
    ]  # fmt: skip
    parsed = [READERS[kind](path) for kind, paths in inputs for path in paths]
    clock.lap("read")
    result = ImportResult(
        files=[FileSummary(p.path, p.kind, read=p.rows_read) for p in parsed],
        derived=FileSummary("markets derived from trade tickers", "derived"),
        issues=[issue for p in parsed for issue in p.issues],
        issues_dropped=sum(p.issues_dropped for p in parsed),
    )
    if result.issues or result.issues_dropped:
        result.seconds = time.perf_counter() - started
        return result
    groups = list(zip(result.files, parsed, strict=True))
    try:
        with engine.begin() as conn, _big_cache(conn):
            writes = _plan(conn, groups, result, derive)
            del groups, parsed  # the records are planned rows now: let them go
            clock.lap("plan")
            for table, columns, rows in writes.inserts:
                _insert(conn, table, columns, rows)
            for statement, rows in writes.updates:
                for chunk in _chunks(rows, WRITE_CHUNK):
                    conn.execute(statement, chunk)
        clock.lap("write")
    except _Refused as exc:
        result.issues = exc.issues
        for summary in [*result.files, result.derived]:
            summary.inserted = summary.updated = summary.present = 0
    result.seconds = time.perf_counter() - started
    result.phases = clock.phases
    return result


class _PhaseClock:
    """Wall and CPU time of consecutive phases."""

    def __init__(self) -> None:
        self.phases: dict[str, tuple[float, float]] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.phases[name] = (wall - self._wall, cpu - self._cpu)
        self._wall, self._cpu = wall, cpu


@dataclass
class _Writes:
    """Planned writes: ``(table, columns, row tuples)`` inserts and ``(statement, params)``."""

    inserts: list[tuple[Table, Sequence[str], list[tuple[Any, ...]]]] = field(default_factory=list)
    updates: list[tuple[Any, list[dict[str, Any]]]] = field(default_factory=list)


def _plan(
    conn: Connection,
    groups: list[tuple[FileSummary, ParsedFile]],
    result: ImportResult,
    derive: bool,
) -> _Writes:
    """Compare every record with the stored archive; raise :class:`_Refused` on conflicts."""
    of = defaultdict(list)
    for summary, parsed in groups:
        of[parsed.kind].append((summary, parsed.records))
    writes, issues = _Writes(), []
    traded = {r.ticker for _, records in of["trades"] for r in records}
    _plan_markets(conn, of["events"], traded if derive else set(), result, writes)
    issues += _plan_trades(conn, of["trades"], writes)
    issues += _plan_forecasts(conn, of["forecasts"], writes)
    issues += _plan_reports(conn, of["reports"], writes)
    if issues:
        raise _Refused(issues)
    return writes


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def _big_cache(conn: Connection) -> Iterator[None]:
    """A larger SQLite page cache while importing: index inserts stop thrashing the default
    2 MB cache (a 700k-row tape imports several times faster). No-op on Postgres."""
    if conn.dialect.name != "sqlite":
        yield
        return
    (previous,) = conn.exec_driver_sql("PRAGMA cache_size").one()
    conn.exec_driver_sql(f"PRAGMA cache_size={SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(previous)}")


def _sqlite_converter(column_type: Any) -> Callable[[Any], Any] | None:
    """How SQLAlchemy binds a value of ``column_type`` on SQLite, for values known non-null.

    The bulk path hands SQLite its native values directly (SQLAlchemy's per-value bind
    processing costs more than the insert): UTC datetimes as naive ``YYYY-MM-DD HH:MM:SS.ffffff``
    text, dates as ISO text, numerics as floats, booleans as 0/1 (what the ORM stores; the
    tests read rows back through the models).
    """
    if isinstance(column_type, UTCDateTime):
        return lambda v: v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(column_type, Date):
        return date.isoformat
    if isinstance(column_type, Boolean):
        return int
    if isinstance(column_type, Numeric) and not isinstance(column_type, Double):
        return float
    return None


def _insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert row tuples in chunks straight through the driver (SQLAlchemy's per-value bind
    processing costs more than the insert itself); Core for any other driver."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES "
    if conn.dialect.name == "sqlite":
        sql = head + f"({', '.join('?' for _ in columns)})"
        converters = [_sqlite_converter(table.c[c].type) for c in columns]
        for chunk in _chunks(rows, WRITE_CHUNK):
            values = [list(column) for column in zip(*chunk, strict=True)]
            for i, convert in enumerate(converters):
                if convert is not None:
                    values[i] = [None if v is None else convert(v) for v in values[i]]
            conn.exec_driver_sql(sql, list(zip(*values, strict=True)))
    elif conn.dialect.driver == "psycopg2":
        from psycopg2.extras import execute_values

        # The session's own DBAPI connection: same transaction. psycopg2 adapts aware
        # datetimes, dates, Decimals and None natively.
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            execute_values(cursor, head + "%s", rows, page_size=WRITE_CHUNK)
        finally:
            cursor.close()
    else:
        for chunk in _chunks(rows, WRITE_CHUNK):
            conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in chunk])


def _select_in(
    conn: Connection, columns: Sequence[Any], column: Any, values: Iterable[Any]
) -> list[Any]:
    """Rows of ``select(columns)`` where ``column`` is one of ``values`` (chunked IN lists)."""
    wanted = sorted(set(values))
    rows: list[Any] = []
    for chunk in _chunks(wanted, IN_CHUNK):
        rows.extend(conn.execute(select(*columns).where(column.in_(chunk))).all())
    return rows


# -- markets -------------------------------------------------------------------------------------


def _market_values(record: MarketRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _MARKET_VALUES}


def _plan_markets(
    conn: Connection,
    files: list[tuple[FileSummary, list[MarketRecord]]],
    traded: set[str],
    result: ImportResult,
    writes: _Writes,
) -> None:
    table = MarketRow.__table__
    columns = [table.c.ticker, *(table.c[name] for name in _MARKET_VALUES)]
    imported = {r.ticker for _, records in files for r in records}
    state: dict[str, dict[str, Any]] = {
        row[0]: dict(zip(_MARKET_VALUES, row[1:], strict=True))
        for row in _select_in(conn, columns, table.c.ticker, imported | traded)
    }
    inserts: dict[str, dict[str, Any]] = {}
    updates: dict[str, dict[str, Any]] = {}
    for summary, records in files:
        for record in records:
            _place_market(record, summary, state, inserts, updates)
    missing = traded - state.keys()
    if missing:
        events = {e for t in missing if (e := market_event_ticker(t)) is not None}
        known: dict[str, set[str]] = defaultdict(set)
        for ticker, values in state.items():
            known[values["event_ticker"]].add(ticker)
        for ticker, event in _select_in(
            conn, [table.c.ticker, table.c.event_ticker], table.c.event_ticker, events
        ):
            known[event].add(ticker)
        derived, result.underived = derive_markets(missing, known)
        for record in derived:
            _place_market(record, result.derived, state, inserts, updates)
    columns = ("ticker", *_MARKET_VALUES, "fee_multiplier")
    rows = [tuple(values[c] for c in columns) for values in inserts.values()]
    writes.inserts.append((table, columns, rows))
    if updates:
        statement = (
            update(table)
            .where(table.c.ticker == bindparam("key_ticker"))
            .values({name: bindparam(name) for name in _MARKET_VALUES})
        )
        writes.updates.append(
            (statement, [{"key_ticker": t, **values} for t, values in updates.items()])
        )


def _place_market(
    record: MarketRecord,
    summary: FileSummary,
    state: dict[str, dict[str, Any]],
    inserts: dict[str, dict[str, Any]],
    updates: dict[str, dict[str, Any]],
) -> None:
    """Decide insert / update / present for one market record against what is known so far."""
    values = _market_values(record)
    current = state.get(record.ticker)
    if current is None:
        inserts[record.ticker] = {
            "ticker": record.ticker, **values, "fee_multiplier": record.fee_multiplier,
        }  # fmt: skip
        state[record.ticker] = values
        summary.inserted += 1
        return
    older = record.result is None and current["result"] is not None
    if record.derived or older or current == values:
        summary.present += 1
        return
    state[record.ticker] = values
    if record.ticker in inserts:
        inserts[record.ticker].update(values)
    else:
        updates[record.ticker] = values
    summary.updated += 1


# -- trades --------------------------------------------------------------------------------------


def _plan_trades(
    conn: Connection, files: list[tuple[FileSummary, list[TradeRecord]]], writes: _Writes
) -> list[Issue]:
    table = MarketTradeRow.__table__
    tickers = {r.ticker for _, records in files for r in records}
    stored = {row[0] for row in _select_in(conn, [table.c.trade_id], table.c.ticker, tickers)}
    seen: dict[str, tuple[TradeRecord, str]] = {}
    rows: list[TradeRecord] = []
    issues: list[Issue] = []
    for summary, records in files:
        for r in records:
            if r.trade_id in stored:
                summary.present += 1
                continue
            first = seen.get(r.trade_id)
            if first is not None:
                summary.present += 1
                if first[0] != r:
                    reason = f"trade {r.trade_id} differs from the same trade in {first[1]}"
                    issues.append(Issue(summary.path, "", reason))
                continue
            seen[r.trade_id] = (r, summary.path)
            rows.append(r)
            summary.inserted += 1
    # In (ticker, time) order the (ticker, traded_at) index grows at its end, not at random.
    rows.sort(key=lambda r: (r.ticker, r.traded_at))
    writes.inserts.append((table, TradeRecord._fields, rows))
    return issues


# -- forecasts -----------------------------------------------------------------------------------


def _plan_forecasts(
    conn: Connection, files: list[tuple[FileSummary, list[ForecastRecord]]], writes: _Writes
) -> list[Issue]:
    table = ForecastRow.__table__
    records = [r for _, rs in files for r in rs]
    stored: dict[tuple[Any, ...], float] = {}
    if records:
        cities = {r.city for r in records}
        first, last = min(r.climate_date for r in records), max(r.climate_date for r in records)
        stmt = select(*(table.c[c] for c in _FORECAST_KEY), table.c.value_f).where(
            table.c.city.in_(cities), table.c.climate_date >= first, table.c.climate_date <= last
        )
        for row in conn.execute(stmt):
            stored[tuple(row[:-1])] = row[-1]
    seen: dict[tuple[Any, ...], tuple[float, str]] = {}
    rows: list[tuple[Any, ...]] = []
    issues: list[Issue] = []
    for summary, rs in files:
        for r in rs:
            member = DETERMINISTIC_MEMBER if r.member is None else r.member
            key = (r.city, r.climate_date, r.kind, r.source, r.model, member, r.issued_at)
            known = stored.get(key)
            where = seen.get(key)
            if known is None and where is None:
                seen[key] = (r.value_f, f"{summary.path}:{r.line}")
                rows.append((*key, r.issued_at, r.lead_days, r.value_f))
                summary.inserted += 1
                continue
            summary.present += 1
            other, source = (known, "the stored value") if known is not None else where  # type: ignore[misc]
            if abs(other - r.value_f) > 1e-9:
                reason = (
                    f"value_f {r.value_f:g} differs from {other:g} ({source}) for the same issue"
                )
                issues.append(Issue(summary.path, str(r.line), reason))
    writes.inserts.append((table, (*_FORECAST_KEY, "retrieved_at", "lead_days", "value_f"), rows))
    return issues


# -- reports -------------------------------------------------------------------------------------


@dataclass
class _Report:
    """One climate-report issue being assembled from its high and low rows."""

    city: str
    max_f: int | None = None
    min_f: int | None = None
    final: bool = False
    stored_id: int | None = None
    changed: bool = False


def _plan_reports(
    conn: Connection, files: list[tuple[FileSummary, list[ReportRecord]]], writes: _Writes
) -> list[Issue]:
    table = ClimateReportRow.__table__
    records = [r for _, rs in files for r in rs]
    reports: dict[tuple[str, date, Any], _Report] = {}
    if records:
        products = {get_city(r.city).cli_product for r in records}
        first, last = min(r.climate_date for r in records), max(r.climate_date for r in records)
        stmt = select(
            table.c.id, table.c.product, table.c.climate_date, table.c.issued_at, table.c.city,
            table.c.max_f, table.c.min_f, table.c.final,
        ).where(
            table.c.product.in_(products), table.c.climate_date >= first,
            table.c.climate_date <= last,
        )  # fmt: skip
        for row_id, product, day, issued_at, city, max_f, min_f, final in conn.execute(stmt):
            reports[(product, day, issued_at)] = _Report(city, max_f, min_f, final, row_id)
    issues: list[Issue] = []
    for summary, rs in files:
        for r in rs:
            key = (get_city(r.city).cli_product, r.climate_date, r.issued_at)
            report = reports.get(key)
            if report is None:
                report = reports[key] = _Report(r.city, final=r.final, changed=True)
            elif report.final != r.final:
                reason = (
                    f"final={r.final} but the report issued {r.issued_at:%Y-%m-%dT%H:%MZ} "
                    f"is final={report.final}"
                )
                issues.append(Issue(summary.path, str(r.line), reason))
                continue
            column = "max_f" if r.kind == "high" else "min_f"
            current = getattr(report, column)
            if current is None:
                setattr(report, column, r.value_f)
                report.changed = True
                if report.stored_id is None:
                    summary.inserted += 1
                else:
                    summary.updated += 1
            elif current == r.value_f:
                summary.present += 1
            else:
                reason = f"{r.kind} {r.value_f} differs from {current} for the same report issue"
                issues.append(Issue(summary.path, str(r.line), reason))
    columns = (
        "city", "product", "climate_date", "issued_at", "max_f", "min_f", "final", "correction",
        "text",
    )  # fmt: skip
    new = [
        (rep.city, product, day, issued_at, rep.max_f, rep.min_f, rep.final, False, REPORT_TEXT)
        for (product, day, issued_at), rep in reports.items()
        if rep.changed and rep.stored_id is None
    ]
    writes.inserts.append((table, columns, new))
    filled = [
        {"key_id": rep.stored_id, "max_f": rep.max_f, "min_f": rep.min_f}
        for rep in reports.values()
        if rep.changed and rep.stored_id is not None
    ]
    if filled:
        statement = (
            update(table)
            .where(table.c.id == bindparam("key_id"))
            .values(max_f=bindparam("max_f"), min_f=bindparam("min_f"))
        )
        writes.updates.append((statement, filled))
    return issues
