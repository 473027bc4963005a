"""NwsClient against REAL recorded api.weather.gov responses (../shared/realdata/nws_api)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from weather_trader.core.cities import CITIES
from weather_trader.sources.errors import MalformedResponse, NotFound
from weather_trader.sources.nws import (
    BASE_URL,
    NwsClient,
    NwsPoint,
    grid_daily_points,
    parse_valid_time,
    to_fahrenheit,
)

UA = "weather-trader-tests (ops@example.test)"
NOW = datetime(2026, 7, 9, 19, 30, tzinfo=UTC)


def load(realdata_dir: Path, rel: str) -> Any:
    return json.loads((realdata_dir / "nws_api" / rel).read_text())


def client() -> NwsClient:
    return NwsClient(
        UA, min_interval=0.0, max_attempts=2, sleep=lambda _s: None, now=lambda: NOW, jitter=0.0
    )


def nyc_point(realdata_dir: Path) -> NwsPoint:
    return NwsPoint.model_validate(load(realdata_dir, "tMer234/points_nyc.json")["properties"])


def test_points_real_nyc_and_cache(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    nyc = CITIES["NYC"]
    httpx_mock.add_response(
        url=f"{BASE_URL}/points/{round(nyc.lat, 4)},{round(nyc.lon, 4)}",
        json=load(realdata_dir, "tMer234/points_nyc.json"),
    )
    nws = client()
    point = nws.points(nyc.lat, nyc.lon)
    assert (point.grid_id, point.grid_x, point.grid_y) == ("OKX", 34, 45)
    assert point.forecast_grid_data == "https://api.weather.gov/gridpoints/OKX/34,45"
    assert point.forecast_hourly.endswith("/forecast/hourly")
    assert nws.points(nyc.lat + 0.00001, nyc.lon) is point  # cached per rounded coordinate
    request = httpx_mock.get_requests()[0]
    assert len(httpx_mock.get_requests()) == 1
    assert request.headers["Accept"] == "application/geo+json"
    assert request.headers["User-Agent"] == UA


def test_points_schema_mismatch(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"properties": {"gridId": "OKX"}})
    with pytest.raises(MalformedResponse, match="point does not match the schema: gridX"):
        client().points(40.0, -73.0)


def test_points_404(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=404, json={"title": "Data Unavailable"})
    with pytest.raises(NotFound, match="nws: HTTP 404"):
        client().points(10.0, 10.0)


def test_raw_grid_real_nyc_to_climate_days(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    point = nyc_point(realdata_dir)
    httpx_mock.add_response(
        url=point.forecast_grid_data, json=load(realdata_dir, "tMer234/griddata_nyc_trimmed.json")
    )
    grid = client().raw_grid(point)
    assert grid.update_time == datetime(2026, 7, 9, 19, 3, 33, tzinfo=UTC)
    first = grid.max_temperature[0]
    assert first.start == datetime(2026, 7, 9, 13, tzinfo=UTC)
    assert first.end - first.start == timedelta(hours=12)
    assert first.value_f == pytest.approx(84.0)
    assert len(grid.temperature) == 4

    points = grid_daily_points(grid, "NYC", NOW)
    got = {(p.climate_date, p.kind): round(p.value_f, 1) for p in points}
    # max intervals 12Z-01Z sit inside the NYC climate day 05Z-05Z; overnight min intervals
    # 00Z-14Z overlap the next climate day most; the 1-hour truncated min is dropped.
    assert got == {
        (date(2026, 7, 9), "high"): 84.0,
        (date(2026, 7, 10), "high"): 89.0,
        (date(2026, 7, 10), "low"): 73.0,
        (date(2026, 7, 11), "high"): 83.0,
        (date(2026, 7, 11), "low"): 71.0,
        (date(2026, 7, 12), "high"): 84.0,
        (date(2026, 7, 12), "low"): 69.0,
    }
    assert {(p.source, p.model) for p in points} == {("nws", "nws_grid")}
    assert all(p.issued_at == grid.update_time and p.retrieved_at == NOW for p in points)


def test_raw_grid_real_full_gridpoint(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    payload = load(realdata_dir, "pynws_fixtures/detailed_forecast.json")
    point = nyc_point(realdata_dir)
    httpx_mock.add_response(url=point.forecast_grid_data, json=payload)
    grid = client().raw_grid(point)
    assert len(grid.temperature) == 154
    assert len(grid.max_temperature) == 8
    assert grid.max_temperature[0].value_f == pytest.approx(76.0)
    # Tallahassee is on UTC-5 standard time like Miami: the mapping works for any registry city.
    highs = [p for p in grid_daily_points(grid, "MIA", NOW) if p.kind == "high"]
    assert highs[0].climate_date == date(2022, 2, 4)  # the 4-hour truncated max is dropped
    assert highs[0].value_f == pytest.approx(72.0)


def test_raw_grid_missing_series_is_malformed(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    payload = load(realdata_dir, "tMer234/griddata_nyc_trimmed.json")
    del payload["properties"]["minTemperature"]
    point = nyc_point(realdata_dir)
    httpx_mock.add_response(url=point.forecast_grid_data, json=payload)
    with pytest.raises(MalformedResponse, match="minTemperature"):
        client().raw_grid(point)


def test_forecast_real_geojson_and_jsonld(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    point = nyc_point(realdata_dir)
    httpx_mock.add_response(
        url=point.forecast, json=load(realdata_dir, "breezy/NYC_forecast_2026-08-29.json")
    )
    httpx_mock.add_response(
        url=point.forecast_hourly,
        json=load(realdata_dir, "pynws_fixtures/gridpoints_forecast_hourly_us.json"),
    )
    nws = client()
    forecast = nws.gridpoint_forecast(point)  # JSON-LD form: periods at the top level
    assert forecast.generated_at == datetime(2026, 8, 29, 3, 45, 17, tzinfo=UTC)
    first = forecast.periods[0]
    assert (first.name, first.is_daytime, first.temperature_f) == ("Tonight", False, 64.0)
    hourly = nws.hourly_forecast(point)  # GeoJSON form: periods under properties
    assert hourly.periods[0].temperature_f == 78.0


def test_forecast_quantitative_value_temperature() -> None:
    from weather_trader.sources.nws import NwsForecastPeriod

    period = NwsForecastPeriod.model_validate(
        {
            "number": 1,
            "startTime": "2026-07-09T06:00:00-04:00",
            "endTime": "2026-07-09T18:00:00-04:00",
            "isDaytime": True,
            "temperature": {"unitCode": "wmoUnit:degC", "value": 30.0},
        }
    )
    assert period.temperature_f == pytest.approx(86.0)


def test_station_observations_real(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    httpx_mock.add_response(json=load(realdata_dir, "pynws_fixtures/stations_observations.json"))
    start = datetime(2019, 6, 27, tzinfo=UTC)
    obs = client().station_observations("KFLL", start, start + timedelta(days=1), city="MIA")
    assert len(obs) == 1
    assert obs[0].station == "KFLL"
    assert obs[0].observed_at == datetime(2019, 6, 27, 10, 53, tzinfo=UTC)
    assert obs[0].temp_f == pytest.approx(50.0)  # 10 degC
    params = httpx_mock.get_requests()[0].url.params
    assert params["start"] == "2019-06-27T00:00:00Z"
    assert params["end"] == "2019-06-28T00:00:00Z"


@pytest.mark.parametrize(
    ("fixture", "count"),
    [
        ("stations_observations_missing_value.json", 0),  # feature without any values
        ("stations_observations_multiple.json", 1),  # one null temperature, one 10 degC
        ("stations_observations_metar.json", 0),  # null temperature (qc:Z)
    ],
)
def test_station_observations_skip_missing(
    httpx_mock: HTTPXMock, realdata_dir: Path, fixture: str, count: int
) -> None:
    httpx_mock.add_response(json=load(realdata_dir, f"pynws_fixtures/{fixture}"))
    start = datetime(2019, 6, 27, tzinfo=UTC)
    obs = client().station_observations("KFLL", start, start + timedelta(days=1), city="MIA")
    assert len(obs) == count


def test_station_observations_qc_rejected_and_city_lookup(httpx_mock: HTTPXMock) -> None:
    def feature(ts: str, value: float, qc: str) -> dict[str, Any]:
        temp = {"unitCode": "wmoUnit:degC", "value": value, "qualityControl": qc}
        return {"properties": {"timestamp": ts, "temperature": temp}}

    httpx_mock.add_response(
        json={
            "features": [
                feature("2026-07-09T15:51:00+00:00", 30.0, "V"),
                feature("2026-07-09T14:51:00+00:00", 99.0, "X"),
                feature("2026-07-09T13:51:00+00:00", 28.0, "qc:Z"),
            ]
        }
    )
    start = datetime(2026, 7, 9, tzinfo=UTC)
    obs = client().station_observations("knyc", start, start + timedelta(hours=20))
    assert [o.temp_f for o in obs] == [pytest.approx(82.4), pytest.approx(86.0)]
    assert {o.city for o in obs} == {"NYC"}
    with pytest.raises(ValueError, match="timezone-aware"):
        client().station_observations("KNYC", start.replace(tzinfo=None), start)


def test_cli_products_and_text(httpx_mock: HTTPXMock) -> None:
    # Shape of the documented api.weather.gov JSON-LD product listing (@graph) and product.
    httpx_mock.add_response(
        url=f"{BASE_URL}/products/types/CLI/locations/NYC",
        json={
            "@context": {"@version": "1.1"},
            "@graph": [
                {
                    "@id": "https://api.weather.gov/products/aaa",
                    "id": "aaa",
                    "wmoCollectiveId": "CDUS41",
                    "issuingOffice": "KOKX",
                    "issuanceTime": "2026-07-09T06:31:00+00:00",
                    "productCode": "CLI",
                    "productName": "Climatological Report (Daily)",
                },
                {
                    "@id": "https://api.weather.gov/products/bbb",
                    "id": "bbb",
                    "wmoCollectiveId": "CDUS41",
                    "issuingOffice": "KOKX",
                    "issuanceTime": "2026-07-09T21:31:00+00:00",
                    "productCode": "CLI",
                    "productName": "Climatological Report (Daily)",
                },
            ],
        },
    )
    httpx_mock.add_response(
        url=f"{BASE_URL}/products/bbb",
        json={
            "id": "bbb",
            "issuanceTime": "2026-07-09T21:31:00+00:00",
            "productCode": "CLI",
            "productText": "\n000\nCDUS41 KOKX 092131\nCLINYC\n",
        },
    )
    nws = client()
    listing = nws.cli_products("CLINYC")
    assert [p.id for p in listing] == ["bbb", "aaa"]  # newest first
    assert nws.product_text("bbb").product_text.splitlines()[3] == "CLINYC"


def test_unit_and_interval_helpers() -> None:
    assert to_fahrenheit(0.0, "wmoUnit:degC") == 32.0
    assert to_fahrenheit(50.0, "unit:degF") == 50.0
    with pytest.raises(ValueError, match="unknown temperature unit"):
        to_fahrenheit(1.0, "wmoUnit:percent")
    start, end = parse_valid_time("2026-07-09T13:00:00+00:00/P1DT6H")
    assert end - start == timedelta(days=1, hours=6)
    with pytest.raises(ValueError):
        parse_valid_time("2026-07-09T13:00:00+00:00")
