"""Helpers of the LiveWeatherSource tests: a source on pytest-httpx and Open-Meteo payloads.

Invented payloads follow the documented formats: Open-Meteo ensemble
https://open-meteo.com/en/docs/ensemble-api and previous runs
https://open-meteo.com/en/docs/previous-runs-api (``utc_offset_seconds``, ``*_units``, a ``time``
array and one array per variable, suffixed ``_<model>`` when several models are requested).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from weather_trader.sources.live_weather import LiveWeatherSource

UA = "weather-trader-tests (ops@example.test)"
NOW = datetime(2026, 7, 9, 19, 30, tzinfo=UTC)
DAY = date(2026, 7, 10)
HTTP: dict[str, Any] = {
    "min_interval": 0.0,
    "max_attempts": 2,
    "sleep": lambda _s: None,
    "backoff_initial": 0.0,
    "jitter": 0.0,
}
IEM = "https://mesonet.agron.iastate.edu"


def source(now: datetime = NOW, api_key: str | None = None, **kwargs: Any) -> LiveWeatherSource:
    return LiveWeatherSource.from_settings(UA, api_key, now=lambda: now, **HTTP, **kwargs)


def om_hourly(variables: dict[str, list[float | None]], dates: list[str]) -> dict[str, Any]:
    """Open-Meteo hourly response (ensemble / previous runs) for NYC (UTC-5)."""
    times = [f"{d}T{h:02d}:00" for d in dates for h in range(24)]
    return {
        "latitude": 40.77,
        "longitude": -73.97,
        "utc_offset_seconds": -18000,
        "timezone": "Etc/GMT+5",
        "hourly_units": {"time": "iso8601", **{k: "°F" for k in variables}},
        "hourly": {"time": times, **variables},
    }


def diurnal(low: float, n_days: int = 2) -> list[float | None]:
    """Hourly temperatures: ``low`` at midnight rising 1 F an hour to ``low + 11``."""
    return [low + h % 12 for _ in range(n_days) for h in range(24)]
