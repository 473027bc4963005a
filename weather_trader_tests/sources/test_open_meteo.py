"""OpenMeteoClient against fixtures built to the documented response formats.

Docs followed (fixtures mirror them exactly: top-level ``utc_offset_seconds``,
``daily_units``/``hourly_units``, a ``time`` array and one array per variable, each variable
suffixed ``_<model>`` when several ``models`` are requested):
- Forecast API: https://open-meteo.com/en/docs
- Ensemble API: https://open-meteo.com/en/docs/ensemble-api (``temperature_2m`` control,
  ``temperature_2m_memberNN`` perturbed members)
- Previous Runs API: https://open-meteo.com/en/docs/previous-runs-api
  (``temperature_2m_previous_dayN`` = the forecast made N days earlier)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from weather_trader.sources.errors import MalformedResponse, SourceUnavailable
from weather_trader.sources.open_meteo import OpenMeteoClient, etc_gmt_zone

UA = "weather-trader-tests (ops@example.test)"
NOW = datetime(2026, 7, 3, 14, 37, 12, tzinfo=UTC)
SECRET = "om-secret-123"


def client(**kwargs: Any) -> OpenMeteoClient:
    return OpenMeteoClient(
        UA, min_interval=0.0, max_attempts=2, sleep=lambda _s: None, now=lambda: NOW, **kwargs
    )


def daily_payload(models: list[str], offset_hours: int = -5) -> dict[str, Any]:
    daily: dict[str, Any] = {"time": ["2026-07-03", "2026-07-04"]}
    units: dict[str, str] = {"time": "iso8601"}
    for i, model in enumerate(models):
        daily[f"temperature_2m_max_{model}"] = [88.1 + i, 90.4 + i]
        daily[f"temperature_2m_min_{model}"] = [71.0 + i, None]
        units[f"temperature_2m_max_{model}"] = "°F"
        units[f"temperature_2m_min_{model}"] = "°F"
    return {
        "latitude": 40.77,
        "longitude": -73.97,
        "generationtime_ms": 0.5,
        "utc_offset_seconds": offset_hours * 3600,
        "timezone": etc_gmt_zone(offset_hours),
        "timezone_abbreviation": "GMT-5",
        "elevation": 39.0,
        "daily_units": units,
        "daily": daily,
    }


def hourly_payload(variables: dict[str, list[float | None]], day: str) -> dict[str, Any]:
    times = [f"{day}T{h:02d}:00" for h in range(24)]
    return {
        "latitude": 40.77,
        "longitude": -73.97,
        "utc_offset_seconds": -18000,
        "timezone": "Etc/GMT+5",
        "hourly_units": {"time": "iso8601", **{k: "°F" for k in variables}},
        "hourly": {"time": times, **variables},
    }


def test_etc_gmt_sign_inversion() -> None:
    assert etc_gmt_zone(-5) == "Etc/GMT+5"
    assert etc_gmt_zone(-8) == "Etc/GMT+8"
    assert etc_gmt_zone(1) == "Etc/GMT-1"
    assert etc_gmt_zone(0) == "Etc/GMT"


def test_forecast_multi_model(httpx_mock: HTTPXMock) -> None:
    models = ["gfs_seamless", "ecmwf_ifs025"]
    httpx_mock.add_response(json=daily_payload(models))
    points = client().forecast("NYC", models, days=2)
    request = httpx_mock.get_requests()[0]
    assert request.url.host == "api.open-meteo.com"
    assert request.url.path == "/v1/forecast"
    params = request.url.params
    assert params["latitude"] == "40.7789"
    assert params["timezone"] == "Etc/GMT+5"
    assert params["temperature_unit"] == "fahrenheit"
    assert params["daily"] == "temperature_2m_max,temperature_2m_min"
    assert params["models"] == "gfs_seamless,ecmwf_ifs025"
    assert params["forecast_days"] == "2"
    got = {(p.model, p.climate_date, p.kind): p.value_f for p in points}
    assert got == {
        ("gfs_seamless", date(2026, 7, 3), "high"): 88.1,
        ("gfs_seamless", date(2026, 7, 4), "high"): 90.4,
        ("gfs_seamless", date(2026, 7, 3), "low"): 71.0,
        ("ecmwf_ifs025", date(2026, 7, 3), "high"): 89.1,
        ("ecmwf_ifs025", date(2026, 7, 4), "high"): 91.4,
        ("ecmwf_ifs025", date(2026, 7, 3), "low"): 72.0,
    }  # null lows skipped
    assert {p.source for p in points} == {"open-meteo"}
    assert all(p.issued_at == datetime(2026, 7, 3, 14, tzinfo=UTC) for p in points)
    assert all(p.retrieved_at == NOW for p in points)


def test_forecast_single_model_has_unsuffixed_keys(httpx_mock: HTTPXMock) -> None:
    payload = daily_payload(["x"])
    payload["daily"] = {k.removesuffix("_x"): v for k, v in payload["daily"].items()}
    payload["daily_units"] = {k.removesuffix("_x"): v for k, v in payload["daily_units"].items()}
    httpx_mock.add_response(json=payload)
    points = client().forecast("NYC", ["gfs_seamless"], days=2)
    assert len(points) == 3


def test_forecast_rejects_wrong_offset_or_units(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=daily_payload(["gfs_seamless"], offset_hours=-4))
    with pytest.raises(MalformedResponse, match="utc_offset_seconds"):
        client().forecast("NYC", ["gfs_seamless", "x"], days=2)
    payload = daily_payload(["gfs_seamless", "x"])
    payload["daily_units"]["temperature_2m_max_x"] = "°C"
    httpx_mock.add_response(json=payload)
    with pytest.raises(MalformedResponse, match="expected °F"):
        client().forecast("NYC", ["gfs_seamless", "x"], days=2)


def test_forecast_missing_model_key(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=daily_payload(["gfs_seamless"]))
    with pytest.raises(MalformedResponse, match="temperature_2m_max_icon_seamless"):
        client().forecast("NYC", ["gfs_seamless", "icon_seamless"], days=2)


def test_ensemble_members(httpx_mock: HTTPXMock) -> None:
    base = [70.0 + h % 12 for h in range(24)]  # max 81, min 70
    variables: dict[str, list[float | None]] = {
        "temperature_2m_ncep_gefs025": base,
        "temperature_2m_member01_ncep_gefs025": [v + 1 for v in base],
        "temperature_2m_ecmwf_ifs025": base,
        "temperature_2m_member01_ecmwf_ifs025": [v - 1 for v in base],
        "temperature_2m_member02_ecmwf_ifs025": [None, *base[1:]],  # incomplete day: skipped
    }
    httpx_mock.add_response(json=hourly_payload(variables, "2026-07-04"))
    points = client().ensemble("NYC", days=2)
    request = httpx_mock.get_requests()[0]
    assert request.url.host == "ensemble-api.open-meteo.com"
    assert request.url.path == "/v1/ensemble"
    assert request.url.params["hourly"] == "temperature_2m"
    assert request.url.params["models"] == "ncep_gefs025,ecmwf_ifs025"
    got = {(p.model, p.member, p.kind): p.value_f for p in points}
    assert got == {
        ("ncep_gefs025", 0, "high"): 81.0,
        ("ncep_gefs025", 0, "low"): 70.0,
        ("ncep_gefs025", 1, "high"): 82.0,
        ("ncep_gefs025", 1, "low"): 71.0,
        ("ecmwf_ifs025", 0, "high"): 81.0,
        ("ecmwf_ifs025", 0, "low"): 70.0,
        ("ecmwf_ifs025", 1, "high"): 80.0,
        ("ecmwf_ifs025", 1, "low"): 69.0,
    }
    assert {p.climate_date for p in points} == {date(2026, 7, 4)}


def test_previous_runs(httpx_mock: HTTPXMock) -> None:
    hours = [60.0 + h for h in range(24)]
    variables: dict[str, list[float | None]] = {
        "temperature_2m_previous_day1_gfs_seamless": hours,
        "temperature_2m_previous_day2_gfs_seamless": [v + 2 for v in hours],
        "temperature_2m_previous_day1_ecmwf_ifs025": [v - 1 for v in hours],
        "temperature_2m_previous_day2_ecmwf_ifs025": [v - 3 for v in hours],
    }
    httpx_mock.add_response(json=hourly_payload(variables, "2026-01-15"))
    day = date(2026, 1, 15)
    points = client().previous_runs("NYC", day, day, lead_days=(1, 2))
    request = httpx_mock.get_requests()[0]
    assert request.url.host == "previous-runs-api.open-meteo.com"
    assert request.url.path == "/v1/forecast"
    params = request.url.params
    assert params["hourly"] == "temperature_2m_previous_day1,temperature_2m_previous_day2"
    assert (params["start_date"], params["end_date"]) == ("2026-01-15", "2026-01-15")
    got = {(p.model, p.kind): p.value_f for p in points}
    assert got[("gfs_seamless_previous_day1", "high")] == 83.0
    assert got[("gfs_seamless_previous_day2", "low")] == 62.0
    assert got[("ecmwf_ifs025_previous_day2", "high")] == 80.0
    day1 = next(p for p in points if p.model == "gfs_seamless_previous_day1")
    # Climate day ends 2026-01-16T05:00Z; last hour 04:00Z minus one day: no leakage.
    assert day1.issued_at == datetime(2026, 1, 15, 4, tzinfo=UTC)
    day2 = next(p for p in points if p.model == "gfs_seamless_previous_day2")
    assert day2.issued_at == day1.issued_at - timedelta(days=1)
    with pytest.raises(ValueError):
        client().previous_runs("NYC", day, day, lead_days=(0,))


def test_api_key_uses_customer_hosts_and_is_redacted(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=500, is_reusable=True)
    om = client(api_key=SECRET)
    with pytest.raises(SourceUnavailable) as info:
        om.forecast("NYC", ["gfs_seamless"], days=1)
    request = httpx_mock.get_requests()[0]
    assert request.url.host == "customer-api.open-meteo.com"
    assert request.url.params["apikey"] == SECRET
    assert SECRET not in str(info.value)
    assert "apikey=REDACTED" in str(info.value)
    assert om.http["ensemble"].base_url == "https://customer-ensemble-api.open-meteo.com"
    assert om.http["previous_runs"].base_url == (
        "https://customer-previous-runs-api.open-meteo.com"
    )


def test_truncated_body_is_malformed(httpx_mock: HTTPXMock) -> None:
    text = str(daily_payload(["gfs_seamless", "x"])).replace("'", '"')
    httpx_mock.add_response(content=text[: len(text) // 2].encode())
    with pytest.raises(MalformedResponse):
        client().forecast("NYC", ["gfs_seamless", "x"], days=2)


def test_mismatched_lengths_are_malformed(httpx_mock: HTTPXMock) -> None:
    payload = daily_payload(["gfs_seamless", "x"])
    payload["daily"]["temperature_2m_max_x"] = [1.0]
    httpx_mock.add_response(json=payload)
    with pytest.raises(MalformedResponse, match="has 1 values for 2 times"):
        client().forecast("NYC", ["gfs_seamless", "x"], days=2)
