"""Open-Meteo publication estimates: the run behind a retrieval, per-model delays."""

from __future__ import annotations

from datetime import UTC, datetime

from weather_trader.sources.live_weather.publication import estimated_run


def test_estimated_run_is_a_cycle_before_retrieval() -> None:
    at = datetime(2026, 7, 9, 5, 0, tzinfo=UTC)
    assert estimated_run(at, "gfs_seamless") == datetime(2026, 7, 9, 0, tzinfo=UTC)
    assert estimated_run(at, "ecmwf_ifs025") == datetime(2026, 7, 8, 18, tzinfo=UTC)
    assert estimated_run(at, "unknown_model") == datetime(2026, 7, 8, 18, tzinfo=UTC)
