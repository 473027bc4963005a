"""Benchmark: import the whole dev set into a fresh SQLite file; print wall time and row counts.

    .venv/bin/python benchmarks/history_import.py [--shared ../shared/realdata] [--db PATH]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Imports every Kalshi event file and both full trade tapes, plus the forecast and report CSVs
that ``weather_trader.history.convert`` makes from the dev set (converted first, timed
separately; skipped when the converter is unavailable). Then imports everything again to show
the re-import inserts nothing, and prints the archive's row counts. ``--postgres SERVER`` runs
it on a scratch database created on that server (and dropped after) instead of SQLite.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from weather_trader.history.loader import ImportResult, import_history
from weather_trader.store.db import make_engine, migrate
from weather_trader.store.models import ClimateReportRow, ForecastRow, MarketRow, MarketTradeRow

REPO_ROOT = Path(__file__).resolve().parents[1]


def _dev_inputs(shared: Path, work: Path) -> tuple[dict[str, list[Path]], float]:
    kalshi = shared / "kalshi"
    events = sorted((kalshi / "cpratim" / "events").glob("*/*.json"))
    events += sorted((kalshi / "tMer234_trimmed").glob("kxhighny_*_trimmed.json"))
    trades = sorted((kalshi / "cpratim" / "trades_full").glob("*.csv.gz"))
    inputs = {"events": events, "trades": trades, "forecasts": [], "reports": []}
    started = time.perf_counter()
    try:
        from weather_trader.history.convert import convert_dev_set
    except ImportError:
        print("convert: weather_trader.history.convert not available, events + trades only")
        return inputs, 0.0
    written = convert_dev_set(shared, work, log=lambda line: None)
    inputs["forecasts"] = [p for p in written if "forecasts" in p.name]
    inputs["reports"] = [p for p in written if "reports" in p.name]
    return inputs, time.perf_counter() - started


def _totals(result: ImportResult) -> str:
    lines = []
    for kind in ("events", "trades", "forecasts", "reports"):
        files = [f for f in result.files if f.kind == kind]
        if files:
            lines.append(
                f"  {kind:<9} {len(files):>4} files {sum(f.read for f in files):>8} rows read "
                f"{sum(f.inserted for f in files):>8} inserted {sum(f.updated for f in files):>6} "
                f"updated {sum(f.present for f in files):>8} already present"
            )
    lines.append(f"  derived markets: {result.derived.inserted} inserted; "
                 f"underived tickers: {len(result.underived)}")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT / ".." / "shared" / "realdata")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a temp file)")
    parser.add_argument("--postgres", default=None, help="Postgres server URL (scratch database)")
    args = parser.parse_args()
    if not args.shared.is_dir():
        print(f"no dev set at {args.shared}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = args.db or work / "history.db"
        if db.exists():
            print(f"{db} exists: the benchmark needs a fresh file", file=sys.stderr)
            return 2
        inputs, convert_seconds = _dev_inputs(args.shared, work)
        if convert_seconds:
            print(f"convert (dev set -> CSV): {convert_seconds:.1f} s")
        with _database(args.postgres, db) as url:
            return _run(url, inputs)


@contextmanager
def _database(server: str | None, sqlite_file: Path) -> Iterator[str]:
    """A fresh database URL: the SQLite file, or a scratch database on the Postgres server."""
    if server is None:
        yield f"sqlite:///{sqlite_file}"
        return
    name = f"wt_bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run(url: str, inputs: dict[str, list[Path]]) -> int:
    print(f"database: {make_url(url).get_backend_name()}")
    engine = make_engine(url)
    migrate(engine)
    try:
        for attempt in ("first import", "re-import"):
            result = import_history(engine, **inputs)
            if not result.written:
                for issue in result.issues[:20]:
                    print(issue)
                return 1
            phases = ", ".join(
                f"{name} {wall:.1f} s wall / {cpu:.1f} s CPU"
                for name, (wall, cpu) in result.phases.items()
            )
            print(f"{attempt}: {result.seconds:.1f} s wall ({phases})")
            print(_totals(result))
        with engine.connect() as conn:
            for model in (MarketRow, MarketTradeRow, ForecastRow, ClimateReportRow):
                n = conn.execute(select(func.count()).select_from(model)).scalar_one()
                print(f"  table {model.__tablename__:<16} {n:>8} rows")
    finally:
        engine.dispose()
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs (other work on the machine inflates wall time)")  # fmt: skip
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS, convert included): {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
