"""Read history files into typed, validated records (no database here).

Each input is checked row by row; a bad row becomes an :class:`Issue` (``file:line: reason``)
instead of a record, so the caller can refuse the whole import before writing. The Kalshi
readers live here, the forecast and report CSV readers in :mod:`.weather_files`, and the shared
field rules (``parse_*``, :func:`csv_table`, :func:`memo`) serve both:

* **events**: Kalshi event JSON, ``{"event": {...}, "markets": [...]}`` or
  ``{"event": {..., "markets": [...]}}`` (also a ``{"markets": [...]}`` page or an
  ``{"events": [...]}`` list with nested markets). Legacy integer cents and 2026 dollar strings
  are both read (:mod:`weather_trader.sources.kalshi.market_models`). Brackets come from the
  strike fields, else ``yes_sub_title``, the ticker suffix only cross-checking
  (:meth:`Bracket.from_kalshi_market`). Legacy series (``HIGHNY``) map to the current one
  (``KXHIGHNY``) through the city registry; the event ticker is kept as Kalshi wrote it.
* **trades**: ``/markets/trades`` JSON (``{"trades": [...]}``, a bare list, or an object keyed
  by market ticker as cpratim saved them) or CSV (gzip detected from the content) with Kalshi's
  field names: ``trade_id, ticker, created_time``, ``yes_price_dollars`` or ``yes_price``
  (integer cents), ``count_fp`` or ``count``, ``taker_side``; other columns are ignored.
* **forecasts**: CSV ``city, kind, source, model, member, issued_at, climate_date, value_f``.
* **reports**: CSV ``city, kind, climate_date, value_f, final, issued_at``.

Markets of a trade tape without an event file (legacy tickers before August 2024) are rebuilt
from their tickers in :mod:`weather_trader.history.derived_markets`.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar

from pydantic import ValidationError

from weather_trader.core.brackets import BracketError
from weather_trader.core.cities import (
    KINDS,
    City,
    UnknownCityError,
    city_for_series,
    get_city,
    parse_event_ticker,
)
from weather_trader.sources.kalshi.market_models import Event, Market, Trade
from weather_trader.sources.kalshi.wire import check_price, loads, to_decimal

FileKind = Literal["events", "trades", "forecasts", "reports"]

FORECAST_FIELDS = (
    "city", "kind", "source", "model", "member", "issued_at", "climate_date", "value_f",
)  # fmt: skip
REPORT_FIELDS = ("city", "kind", "climate_date", "value_f", "final", "issued_at")
TRADE_FIELDS = ("trade_id", "ticker", "created_time", "taker_side")
"""Always required; plus ``yes_price_dollars`` or ``yes_price``, and ``count_fp`` or ``count``."""

MAX_ISSUES_PER_FILE = 200
"""Issues kept per file; a file this broken is the wrong format, more lines would not help."""
DERIVED_STATUS = "derived"
"""``markets.status`` of a market rebuilt from its ticker (Kalshi never uses this status)."""
DEFAULT_FEE_MULTIPLIER = Decimal(1)
"""Event files do not carry the series' fee multiplier; 1 is Kalshi's standard schedule."""
MAX_TEXT = {"trade_id": 64, "ticker": 64, "source": 32, "model": 64}
"""Column widths of the archive tables (a longer value would fail at insert on Postgres)."""

_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})
_CENTS = Decimal(100)


class RowError(ValueError):
    """One row's validation failure (the message is the reason)."""


@dataclass(frozen=True)
class Issue:
    """A bad row (or file): where it is and why it was refused."""

    path: str
    where: str
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.where}: {self.reason}"
            if self.where
            else f"{self.path}: {self.reason}"
        )


class TradeRecord(NamedTuple):
    """One public trade, validated (price in dollars within [0, 1], count > 0)."""

    trade_id: str
    ticker: str
    traded_at: datetime
    yes_price: Decimal
    count: Decimal
    taker_side: str


class ForecastRecord(NamedTuple):
    """One forecast value known at ``issued_at`` (member None = deterministic run)."""

    city: str
    climate_date: date
    kind: str
    source: str
    model: str
    member: int | None
    issued_at: datetime
    lead_days: int
    value_f: float
    line: int


class ReportRecord(NamedTuple):
    """One climate-report value (a whole degree) as issued at ``issued_at``."""

    city: str
    climate_date: date
    kind: str
    value_f: int
    final: bool
    issued_at: datetime
    line: int


@dataclass(frozen=True)
class MarketRecord:
    """A market definition with its result, ready for the ``markets`` table."""

    ticker: str
    event_ticker: str
    series_ticker: str
    city: str
    climate_date: date
    kind: str
    strike_type: str
    floor_strike: int | None
    cap_strike: int | None
    title: str
    status: str
    close_time: datetime
    result: str | None
    settled_value: int | None
    fee_multiplier: Decimal = DEFAULT_FEE_MULTIPLIER
    where: str = ""

    @property
    def derived(self) -> bool:
        """Whether the market was rebuilt from its ticker rather than read from Kalshi."""
        return self.status == DERIVED_STATUS


@dataclass
class ParsedFile:
    """What one file gave: its records (valid rows) and issues (refused rows)."""

    path: str
    kind: FileKind
    rows_read: int = 0
    records: list[Any] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    issues_dropped: int = 0

    def refuse(self, where: object, reason: str) -> None:
        """Record a refused row (beyond :data:`MAX_ISSUES_PER_FILE`, only count it)."""
        if len(self.issues) < MAX_ISSUES_PER_FILE:
            self.issues.append(Issue(self.path, str(where), reason))
        else:
            self.issues_dropped += 1


# -- shared field rules -------------------------------------------------------------------------


def parse_instant(text: str, name: str) -> datetime:
    """An ISO 8601 instant with a UTC offset (``Z`` or ``+hh:mm``), as aware UTC.

    Raises:
        RowError: If it does not parse or has no offset (a naive time is ambiguous).
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RowError(f"{name} {text!r} is not an ISO 8601 date-time") from None
    if value.tzinfo is UTC:  # "...Z", most of a tape
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise RowError(f"{name} {text!r} has no UTC offset")
    return value.astimezone(UTC)


_T = TypeVar("_T")


def memo(parse: Callable[[str], _T]) -> Callable[[str], _T]:
    """``parse`` remembering its results: a file repeats each city, day and issue time many
    times (errors are not remembered, so each bad row is still reported)."""
    cache: dict[str, _T] = {}

    def cached(text: str) -> _T:
        try:
            return cache[text]
        except KeyError:
            value = cache[text] = parse(text)
            return value

    return cached


def parse_day(text: str, name: str = "climate_date") -> date:
    """An ISO calendar date ``YYYY-MM-DD``.

    Raises:
        RowError: If it is not one.
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise RowError(f"{name} {text!r} is not a YYYY-MM-DD date") from None


def parse_city(code: str) -> City:
    """A registered city by code.

    Raises:
        RowError: For an unknown code.
    """
    try:
        return get_city(code.strip())
    except UnknownCityError as exc:
        raise RowError(str(exc.args[0])) from None


def parse_kind(text: str) -> str:
    """``high`` or ``low``.

    Raises:
        RowError: Otherwise.
    """
    kind = text.strip().lower()
    if kind not in KINDS:
        raise RowError(f"kind {text!r} is not one of {list(KINDS)}")
    return kind


def parse_temperature(text: str, city: City, name: str = "value_f") -> float:
    """A finite temperature in °F within the city's plausible range (records ± margin).

    Raises:
        RowError: For a non-number or an impossible value.
    """
    try:
        value = float(text)
    except ValueError:
        raise RowError(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise RowError(f"{name} {text!r} is not finite")
    low, high = city.plausible_range_f()
    if not low <= value <= high:
        raise RowError(
            f"{name} {value:g} is impossible for {city.code} (outside {low:g}..{high:g})"
        )
    return value


def parse_bool(text: str, name: str) -> bool:
    """``true/false``, ``1/0``, ``yes/no`` (any case).

    Raises:
        RowError: Otherwise.
    """
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise RowError(f"{name} {text!r} is not true/false")


def text_field(value: str, name: str) -> str:
    value = value.strip()
    if not value:
        raise RowError(f"{name} is empty")
    limit = MAX_TEXT.get(name)
    if limit is not None and len(value) > limit:
        raise RowError(f"{name} {value[:20]!r}... is longer than {limit} characters")
    return value


def _pydantic_reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


# -- file access ----------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip (detected from its magic number)."""
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def load_file(parsed: ParsedFile, path: Path) -> bytes | None:
    """The file's (gunzipped) bytes, or None after recording why it cannot be read."""
    try:
        return _read_bytes(path)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        parsed.refuse("", f"cannot read: {exc}")
        return None


_Row = tuple[int, list[str]]


def csv_table(
    parsed: ParsedFile, data: bytes | None, required: Iterable[str]
) -> tuple[dict[str, int], Iterator[_Row]]:
    """The CSV's column positions and its data rows as ``(line, fields)``.

    A missing required column or an undecodable file is an issue (and no rows); rows of the
    wrong width become issues as they are read; blank lines are skipped.
    """
    if data is None:
        return {}, iter(())
    try:
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        header = [h.strip() for h in next(reader, [])]
    except (UnicodeDecodeError, csv.Error) as exc:
        parsed.refuse("", f"cannot read CSV: {exc}")
        return {}, iter(())
    missing = [c for c in required if c not in header]
    if missing:
        parsed.refuse(1, f"missing columns {missing}; header is {header}")
        return {}, iter(())
    index = {name: i for i, name in reversed(list(enumerate(header)))}  # first one wins

    def rows() -> Iterator[_Row]:
        width = len(header)
        try:
            for row in reader:
                if len(row) != width:
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    parsed.rows_read += 1
                    parsed.refuse(reader.line_num, f"{len(row)} fields, the header has {width}")
                    continue
                parsed.rows_read += 1
                yield reader.line_num, row
        except (csv.Error, UnicodeDecodeError) as exc:
            parsed.refuse(reader.line_num, f"unreadable CSV: {exc}")

    return index, rows()


def _json(parsed: ParsedFile, data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return loads(data)
    except ValueError as exc:
        parsed.refuse("", f"cannot read JSON: {exc}")
        return None


# -- events --------------------------------------------------------------------------------------


def read_events(path: Path | str) -> ParsedFile:
    """Markets (with results) from a Kalshi event JSON file; one record per market.

    Each market is checked on its own: its bracket (strike fields, else subtitle; ticker as
    cross-check), its event and series (a registered city's), its result (``yes``, ``no`` or
    unset) against its ``expiration_value`` (a whole degree) when both are given.
    """
    path = Path(path)
    parsed = ParsedFile(str(path), "events")
    data = _json(parsed, load_file(parsed, path))
    if data is None:
        return parsed
    for where, event, markets in _event_groups(parsed, data):
        for i, raw in enumerate(markets):
            parsed.rows_read += 1
            loc = f"{where}markets[{i}]"
            try:
                parsed.records.append(_market_record(raw, event, loc))
            except RowError as exc:
                ticker = raw.get("ticker") if isinstance(raw, Mapping) else None
                parsed.refuse(f"{loc}" + (f" ({ticker})" if ticker else ""), str(exc))
    return parsed


def _event_groups(parsed: ParsedFile, data: Any) -> Iterator[tuple[str, Event | None, list[Any]]]:
    """``(location prefix, event or None, raw markets)`` of each event in a payload."""
    if isinstance(data, Mapping) and isinstance(data.get("events"), list):
        for i, raw in enumerate(data["events"]):
            yield from _one_event(parsed, f"events[{i}].", {"event": raw})
        return
    if isinstance(data, Mapping) and "event" in data:
        yield from _one_event(parsed, "", data)
        return
    if isinstance(data, Mapping) and isinstance(data.get("markets"), list):
        yield "", None, data["markets"]
        return
    parsed.refuse("", 'not a Kalshi event file: expected {"event": ...} or {"markets": [...]}')


def _one_event(
    parsed: ParsedFile, where: str, payload: Mapping[str, Any]
) -> Iterator[tuple[str, Event | None, list[Any]]]:
    raw_event = payload.get("event")
    if not isinstance(raw_event, Mapping):
        parsed.refuse(f"{where}event", "the event is not an object")
        return
    markets = raw_event.get("markets")
    if markets is None:
        markets = payload.get("markets")
    if not isinstance(markets, list):
        parsed.refuse(f"{where}event", "no markets list in the event or beside it")
        return
    try:
        event = Event.model_validate({k: v for k, v in raw_event.items() if k != "markets"})
    except ValidationError as exc:
        parsed.refuse(f"{where}event", _pydantic_reason(exc))
        return
    nested = "event." if raw_event.get("markets") is not None else ""
    yield f"{where}{nested}", event, markets


def _series_city(series: str) -> tuple[City, str]:
    try:
        city, kind = city_for_series(series)
    except UnknownCityError as exc:
        raise RowError(str(exc.args[0])) from None
    return city, kind


def _market_record(raw: Any, event: Event | None, where: str) -> MarketRecord:
    if not isinstance(raw, Mapping):
        raise RowError("a market must be an object")
    try:
        market = Market.model_validate(raw)
    except ValidationError as exc:
        raise RowError(_pydantic_reason(exc)) from None
    if event is not None and market.event_ticker != event.event_ticker:
        raise RowError(
            f"event_ticker {market.event_ticker} is not the event's {event.event_ticker}"
        )
    try:
        series, day = parse_event_ticker(market.event_ticker)
    except ValueError as exc:
        raise RowError(str(exc)) from None
    city, kind = _series_city(series)
    if event is not None and event.series_ticker:
        event_city, event_kind = _series_city(event.series_ticker)
        if (event_city.code, event_kind) != (city.code, kind):
            raise RowError(f"series {event.series_ticker} does not match ticker {market.ticker}")
    try:
        bracket = market.bracket
    except BracketError as exc:
        raise RowError(str(exc)) from None
    result = market.result.strip().lower() or None
    if result not in (None, "yes", "no"):
        raise RowError(f"result {market.result!r} is not yes, no or unset")
    settled = _settled_value(market)
    if (
        settled is not None
        and result is not None
        and bracket.settles_yes(settled) != (result == "yes")
    ):
        raise RowError(f"result {result!r} contradicts expiration_value {settled} for {bracket}")
    return MarketRecord(
        ticker=text_field(market.ticker, "ticker"),
        event_ticker=market.event_ticker,
        series_ticker=city.series(kind),  # type: ignore[arg-type]
        city=city.code,
        climate_date=day,
        kind=kind,
        strike_type=bracket.strike_type,
        floor_strike=bracket.floor_strike,
        cap_strike=bracket.cap_strike,
        title=market.yes_sub_title or market.title or bracket.label,
        status=market.status,
        close_time=market.close_time.astimezone(UTC),
        result=result,
        settled_value=settled,
        where=where,
    )


def _settled_value(market: Market) -> int | None:
    text = market.expiration_value.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowError(f"expiration_value {text!r} is not a number") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise RowError(f"expiration_value {text!r} is not a whole degree")
    return int(value)


# -- trades --------------------------------------------------------------------------------------


class _TradeParser:
    """Row rules of a trade; caches the few distinct prices and counts of a tape."""

    def __init__(self) -> None:
        self._prices: dict[tuple[str, bool], Decimal] = {}
        self._counts: dict[str, Decimal] = {}
        self._tickers: dict[str, str] = {}

    def price(self, text: str, cents: bool) -> Decimal:
        key = (text, cents)
        if (hit := self._prices.get(key)) is not None:
            return hit
        name = "yes_price" if cents else "yes_price_dollars"
        try:
            value = to_decimal(text, name, signed=False)
            if cents:
                if value != value.to_integral_value():
                    raise ValueError(f"yes_price {text!r} is not whole cents")
                value = value / _CENTS
            check_price(value, name)
        except ValueError as exc:
            raise RowError(str(exc)) from None
        self._prices[key] = value
        return value

    def count(self, text: str, name: str) -> Decimal:
        if (hit := self._counts.get(text)) is not None:
            return hit
        try:
            value = to_decimal(text, name, signed=False)
        except ValueError as exc:
            raise RowError(str(exc)) from None
        if value <= 0:
            raise RowError(f"{name} {text!r} must be positive")
        self._counts[text] = value
        return value

    def ticker(self, text: str) -> str:
        # One string object per ticker: a tape repeats each ticker thousands of times.
        if (hit := self._tickers.get(text)) is not None:
            return hit
        value = self._tickers[text] = text_field(text, "ticker")
        return value

    @staticmethod
    def side(text: str | None) -> str:
        side = (text or "").strip().lower()
        if side not in ("yes", "no"):
            raise RowError(f"taker_side {text!r} is not yes or no")
        return side


def read_trades(path: Path | str) -> ParsedFile:
    """Public trades from a ``/markets/trades`` JSON file or a Kalshi-named CSV (.gz)."""
    parsed = ParsedFile(str(path), "trades")
    data = load_file(parsed, Path(path))
    if data is None:
        return parsed
    if data.lstrip()[:1] in (b"{", b"["):
        _read_trades_json(parsed, data)
    else:
        _read_trades_csv(parsed, data)
    return parsed


def _read_trades_csv(parsed: ParsedFile, data: bytes) -> None:
    rules = _TradeParser()
    ix, rows = csv_table(parsed, data, TRADE_FIELDS)
    if not ix:
        return
    price_col = "yes_price_dollars" if "yes_price_dollars" in ix else "yes_price"
    count_col = "count_fp" if "count_fp" in ix else "count"
    if price_col not in ix or count_col not in ix:
        parsed.refuse(1, "needs a yes_price_dollars or yes_price column and a count_fp or count")
        return
    i_id, i_ticker, i_time, i_side = (ix[c] for c in TRADE_FIELDS)
    i_price, i_count = ix[price_col], ix[count_col]
    # A fixed-point tape may leave the dollar fields empty on legacy rows: fall back to them.
    i_cents, i_whole = ix.get("yes_price", -1), ix.get("count", -1)
    in_cents = price_col == "yes_price"
    append = parsed.records.append
    for line, row in rows:
        try:
            price_text, cents = row[i_price].strip(), in_cents
            if not price_text and i_cents >= 0:
                price_text, cents = row[i_cents].strip(), True
            count_text, count_name = row[i_count].strip(), count_col
            if not count_text and i_whole >= 0:
                count_text, count_name = row[i_whole].strip(), "count"
            append(
                TradeRecord(
                    text_field(row[i_id], "trade_id"),
                    rules.ticker(row[i_ticker]),
                    parse_instant(row[i_time], "created_time"),
                    rules.price(price_text, cents),
                    rules.count(count_text, count_name),
                    rules.side(row[i_side]),
                )
            )
        except RowError as exc:
            parsed.refuse(line, str(exc))


def _read_trades_json(parsed: ParsedFile, raw: bytes) -> None:
    data = _json(parsed, raw)
    if data is None:
        return
    groups: list[tuple[str, str | None, Any]]
    if isinstance(data, Mapping) and isinstance(data.get("trades"), list):
        groups = [("trades", None, data["trades"])]
    elif isinstance(data, list):
        groups = [("", None, data)]
    elif isinstance(data, Mapping) and all(isinstance(v, list) for v in data.values()):
        groups = [(str(k), str(k), v) for k, v in data.items()]  # cpratim: keyed by ticker
    else:
        parsed.refuse(
            "", 'not a trades file: expected {"trades": [...]}, a list, or lists by ticker'
        )
        return
    rules = _TradeParser()
    for name, ticker, items in groups:
        for i, raw in enumerate(items):
            parsed.rows_read += 1
            try:
                parsed.records.append(_json_trade(raw, ticker, rules))
            except RowError as exc:
                parsed.refuse(f"{name}[{i}]", str(exc))


def _json_trade(raw: Any, ticker: str | None, rules: _TradeParser) -> TradeRecord:
    if not isinstance(raw, Mapping):
        raise RowError("a trade must be an object")
    if ticker is not None:
        if raw.get("ticker") not in (None, ticker):
            raise RowError(f"ticker {raw.get('ticker')!r} listed under {ticker}")
        raw = {**raw, "ticker": ticker}
    try:
        trade = Trade.model_validate(raw)
    except ValidationError as exc:
        raise RowError(_pydantic_reason(exc)) from None
    if trade.count <= 0:
        raise RowError(f"count {trade.count} must be positive")
    return TradeRecord(
        text_field(trade.trade_id, "trade_id"),
        rules.ticker(trade.ticker),
        trade.created_time.astimezone(UTC),
        trade.yes_price,
        trade.count,
        rules.side(trade.taker_side),
    )
