"""Benchmark of the offline world (not collected by pytest).

Run: ``.venv/bin/python -m weather_trader_tests.sim.bench_sim``
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from weather_trader.core.cities import CITIES, KINDS
from weather_trader.core.climate_day import decision_time
from weather_trader.sim.sources import history_frames
from weather_trader.sim.world import build_sim


def main() -> None:
    """Time a year of 7-city history and a month of decision-time books."""
    source, market = build_sim(7)
    start = time.perf_counter()
    forecasts, reports = history_frames(
        source.world, list(CITIES), date(2025, 1, 1), date(2025, 12, 31)
    )
    elapsed = time.perf_counter() - start
    print(f"history_frames 365 d x {len(CITIES)} cities: {elapsed:.2f} s "
          f"({len(forecasts)} forecast rows, {len(reports)} reports)")  # fmt: skip
    calls, start = 0, time.perf_counter()
    for city in CITIES:
        for i in range(30):
            day = date(2025, 6, 1) + timedelta(days=i)
            for kind in KINDS:
                market.event_markets(city, day, kind, decision_time(city, day))
                calls += 1
    elapsed = time.perf_counter() - start
    print(f"event_markets at decision time: {1000 * elapsed / calls:.1f} ms/call ({calls} calls)")


if __name__ == "__main__":
    main()
