"""Benchmark: build a 2-year x 7-city training set from the archive (not collected by pytest).

Run: ``.venv/bin/python -m weather_trader_tests.store.bench_training_set [DATABASE_URL]``
(default: a temporary SQLite file). Prints the time of ``training_history`` and the archive's
size per city-day.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from weather_trader.core.cities import CITIES
from weather_trader.core.records import ClimateReport
from weather_trader.sim.sources import history_frames
from weather_trader.sim.world import build_sim
from weather_trader.store import repo
from weather_trader.store.db import make_engine, migrate, session_scope
from weather_trader.store.models import ForecastRow

END = date(2026, 10, 31)
DAYS = 730


def main() -> None:
    """Seed the archive, then time the training-set query."""
    folder = Path(tempfile.mkdtemp())
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    start = END - timedelta(days=DAYS - 1)
    weather, _ = build_sim(7)
    t0 = time.perf_counter()
    for city in sorted(CITIES):
        forecasts, reports = history_frames(weather.world, [city], start, END)
        with session_scope(engine) as session:
            repo.append_forecast_frame(session, forecasts)
            repo.upsert_climate_reports(
                session, (ClimateReport(**r) for r in reports.to_dict("records"))
            )
    seeded = time.perf_counter() - t0
    with session_scope(engine) as session:
        rows = session.scalar(select(func.count()).select_from(ForecastRow))
        t0 = time.perf_counter()
        history = repo.training_history(session, sorted(CITIES), start, END)
        built = time.perf_counter() - t0
    city_days = len(CITIES) * DAYS
    print(f"archive: {rows} forecast rows for {city_days} city-days, seeded in {seeded:.1f} s")
    print(f"training_history {DAYS} d x {len(CITIES)} cities: {built:.2f} s, {len(history)} rows")
    print(f"archive rows per city-day: {rows / city_days:.1f}")
    if url.startswith("sqlite:///"):
        size = Path(url.removeprefix("sqlite:///")).stat().st_size
        print(f"archive size per city-day: {size / city_days / 1024:.1f} KiB (SQLite file)")
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            size = conn.scalar(text("SELECT pg_total_relation_size('forecasts')"))
        print(f"archive size per city-day: {size / city_days / 1024:.1f} KiB (forecasts + indexes)")


if __name__ == "__main__":
    main()
