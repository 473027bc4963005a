"""LiveWeatherSource: the four real clients composed behind the WeatherSource port.

HTTP is mocked with pytest-httpx. Recorded real data (``../shared/realdata``): the NYC
``/points`` and raw gridpoint (``nws_api/tMer234``), the real CLINYC product text
(``nws_products/pyIEM_product_examples/CLI/CLINYC.txt``), a real KLAX METAR
(``metar/adds_metars_us_2018-01-09T2248Z.json``) and real KNYC hourly temperatures
(``metar/synoptic_KNYC_hourly_2018-01.csv``). Invented fixtures follow the documented formats:
- Open-Meteo forecast https://open-meteo.com/en/docs and ensemble
  https://open-meteo.com/en/docs/ensemble-api (``utc_offset_seconds``, ``*_units``, a ``time``
  array and one array per variable, suffixed ``_<model>`` when several models are requested);
- the api.weather.gov JSON-LD product listing (``@graph``) and ``/products/{id}``;
- IEM ``/json/cli.py`` (``{"results": [...]}``) and ``asos.py`` CSV (``station,valid,tmpf``);
- the aviationweather.gov Data API METAR JSON (``icaoId``, ``obsTime``, ``temp``, ``rawOb``).
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import logging
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from weather_trader.core.cities import get_city
from weather_trader.core.climate_day import climate_day_window
from weather_trader.sources import live_weather
from weather_trader.sources.iem import IemClient
from weather_trader.sources.live_weather import (
    AllSourcesFailed,
    AmbiguousClimateReport,
    LiveWeatherSource,
    PointInTimeUnavailable,
)
from weather_trader.sources.metar import MetarClient
from weather_trader.sources.nws import NwsClient
from weather_trader.sources.open_meteo import DEFAULT_MODELS, OpenMeteoClient
from weather_trader_tests.sources.live_weather.support import (
    DAY,
    HTTP,
    IEM,
    NOW,
    UA,
    diurnal,
    om_hourly,
    source,
)

SECRET = "om-secret-456"
NWS = "https://api.weather.gov"
POINTS_URL = f"{NWS}/points/40.7789,-73.9692"
GRID_URL = f"{NWS}/gridpoints/OKX/34,45"
OM_FORECAST = re.compile(r"https://(customer-)?api\.open-meteo\.com/v1/forecast\?.*")
OM_ENSEMBLE = re.compile(r"https://(customer-)?ensemble-api\.open-meteo\.com/v1/ensemble\?.*")
CLI_LIST_URL = f"{NWS}/products/types/CLI/locations/NYC"
AFOS = re.compile(rf"{re.escape(IEM)}/cgi-bin/afos/retrieve\.py\?.*")
ASOS = re.compile(rf"{re.escape(IEM)}/cgi-bin/request/asos\.py\?.*")
METAR = re.compile(r"https://aviationweather\.gov/api/data/metar\?.*")


# ------------------------------------------------------------------------------- fixtures


def realdata(realdata_dir: Path, rel: str) -> Any:
    return json.loads((realdata_dir / rel).read_text())


def clinyc_text(realdata_dir: Path) -> str:
    path = realdata_dir / "nws_products" / "pyIEM_product_examples" / "CLI" / "CLINYC.txt"
    return path.read_text()


def om_daily(models: list[str], dates: list[str]) -> dict[str, Any]:
    """Open-Meteo /v1/forecast daily response for NYC (UTC-5), several models."""
    daily: dict[str, Any] = {"time": dates}
    units = {"time": "iso8601"}
    for i, model in enumerate(models):
        daily[f"temperature_2m_max_{model}"] = [85.0 + i + n for n in range(len(dates))]
        daily[f"temperature_2m_min_{model}"] = [70.0 + i + n for n in range(len(dates))]
        units |= {f"temperature_2m_max_{model}": "°F", f"temperature_2m_min_{model}": "°F"}
    return {
        "latitude": 40.77,
        "longitude": -73.97,
        "generationtime_ms": 0.4,
        "utc_offset_seconds": -18000,
        "timezone": "Etc/GMT+5",
        "timezone_abbreviation": "GMT-5",
        "elevation": 39.0,
        "daily_units": units,
        "daily": daily,
    }


def ensemble_payload() -> dict[str, Any]:
    return om_hourly(
        {
            "temperature_2m_ncep_gefs025": diurnal(70.0),
            "temperature_2m_member01_ncep_gefs025": diurnal(71.0),
            "temperature_2m_ecmwf_ifs025": diurnal(69.0),
            "temperature_2m_member01_ecmwf_ifs025": diurnal(68.0),
            "temperature_2m_member02_ecmwf_ifs025": diurnal(72.0),
        },
        ["2026-07-09", "2026-07-10"],
    )


def add_forecast_sources(
    httpx_mock: HTTPXMock,
    realdata_dir: Path,
    *,
    om: bool = True,
    ens: bool = True,
    nws: bool = True,
) -> None:
    if om:
        httpx_mock.add_response(
            url=OM_FORECAST, json=om_daily(list(DEFAULT_MODELS), ["2026-07-09", "2026-07-10"])
        )
    if ens:
        httpx_mock.add_response(url=OM_ENSEMBLE, json=ensemble_payload())
    if nws:
        add_nws_grid(httpx_mock, realdata_dir)


def add_nws_grid(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    httpx_mock.add_response(
        url=POINTS_URL, json=realdata(realdata_dir, "nws_api/tMer234/points_nyc.json")
    )
    httpx_mock.add_response(
        url=GRID_URL, json=realdata(realdata_dir, "nws_api/tMer234/griddata_nyc_trimmed.json")
    )


# ------------------------------------------------------------------------------ forecasts


def test_forecasts_from_every_source(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    add_forecast_sources(httpx_mock, realdata_dir)
    live = source()
    points = live.forecasts("NYC", DAY, NOW - timedelta(minutes=10))  # within the tolerance
    assert live.last_missing_sources == ()
    assert {p.climate_date for p in points} == {DAY}
    assert {p.retrieved_at for p in points} == {NOW}
    assert all(p.issued_at <= p.retrieved_at for p in points)
    by_model = {(p.source, p.model, p.member, p.kind): p for p in points}
    for model in DEFAULT_MODELS:
        assert ("open-meteo", model, None, "high") in by_model
        assert ("open-meteo", model, None, "low") in by_model
    assert by_model[("open-meteo", "gfs_seamless", None, "high")].value_f == 86.0
    # Ensemble members keep their number; ids are suffixed so ECMWF ENS != ECMWF IFS.
    members = {(p.model, p.member) for p in points if p.member is not None}
    assert members == {
        ("ncep_gefs025_ens", 0),
        ("ncep_gefs025_ens", 1),
        ("ecmwf_ifs025_ens", 0),
        ("ecmwf_ifs025_ens", 1),
        ("ecmwf_ifs025_ens", 2),
    }
    assert by_model[("open-meteo", "ecmwf_ifs025_ens", 2, "high")].value_f == 83.0
    assert by_model[("open-meteo", "ecmwf_ifs025_ens", 2, "low")].value_f == 72.0
    # The real NWS grid: 89 / 73 for 2026-07-10, issued at the grid's updateTime.
    nws_high = by_model[("nws", "nws_grid", None, "high")]
    assert (nws_high.value_f, by_model[("nws", "nws_grid", None, "low")].value_f) == (89.0, 73.0)
    assert nws_high.issued_at == datetime(2026, 7, 9, 19, 3, 33, tzinfo=UTC)
    # Open-Meteo issue times: newest 6-hourly run at least the availability delay old.
    issued = {(p.model, p.member is None): p.issued_at for p in points if p.source == "open-meteo"}
    assert issued[("gfs_seamless", True)] == datetime(2026, 7, 9, 12, tzinfo=UTC)  # 14:30 -> 12Z
    assert issued[("ecmwf_ifs025", True)] == datetime(2026, 7, 9, 6, tzinfo=UTC)  # 11:30 -> 06Z
    assert issued[("ecmwf_ifs025_ens", False)] == datetime(2026, 7, 9, 6, tzinfo=UTC)
    forecast_request = next(r for r in httpx_mock.get_requests() if r.url.path == "/v1/forecast")
    params = forecast_request.url.params
    assert (params["timezone"], params["forecast_days"]) == ("Etc/GMT+5", "2")
    assert (params["latitude"], params["longitude"]) == ("40.7789", "-73.9692")


def test_pull_forecasts_returns_missing_with_points(
    httpx_mock: HTTPXMock, realdata_dir: Path
) -> None:
    add_forecast_sources(httpx_mock, realdata_dir, ens=False)
    httpx_mock.add_response(url=OM_ENSEMBLE, status_code=503, is_reusable=True)
    pull = source().pull_forecasts("NYC", DAY, NOW)
    assert pull.retrieved_at == NOW and pull.climate_date == DAY
    assert [m.component for m in pull.missing] == ["open-meteo-ensemble"]
    assert {p.model for p in pull.points} == {*DEFAULT_MODELS, "nws_grid"}


def test_one_source_failing_through_retries_others_still_answer(
    httpx_mock: HTTPXMock, realdata_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    add_forecast_sources(httpx_mock, realdata_dir, om=False)
    httpx_mock.add_response(url=OM_FORECAST, status_code=500, is_reusable=True)
    live = source(api_key=SECRET)
    with caplog.at_level(logging.WARNING):
        points = live.forecasts("NYC", DAY, NOW)
    assert {p.model for p in points} == {"ncep_gefs025_ens", "ecmwf_ifs025_ens", "nws_grid"}
    (missing,) = live.last_missing_sources
    assert (missing.component, missing.source, missing.status) == ("open-meteo", "open-meteo", 500)
    assert missing.error == "SourceUnavailable"
    assert missing.url.startswith("https://customer-api.open-meteo.com/v1/forecast?")
    assert "apikey=REDACTED" in missing.url
    assert SECRET not in missing.url + missing.detail
    assert len([r for r in httpx_mock.get_requests() if r.url.path == "/v1/forecast"]) == 2
    # Logged under the package's name, as before the module became a package.
    record = next(r for r in caplog.records if r.name == live_weather.__name__)
    assert record.url == missing.url  # type: ignore[attr-defined]
    assert SECRET not in caplog.text
    # The captured payloads (the successful responses only) never carry the key either.
    payloads = live.drain_payloads()
    assert {p.source for p in payloads} == {"open-meteo", "nws"}
    assert len(payloads) == 3  # ensemble, points, grid
    assert all(SECRET not in p.url for p in payloads)
    ensemble = next(p for p in payloads if "ensemble" in p.url)
    assert "apikey=REDACTED" in ensemble.url
    assert json.loads(ensemble.body) == ensemble_payload()


def test_malformed_json_from_nws_is_recorded(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    add_forecast_sources(httpx_mock, realdata_dir, nws=False)
    httpx_mock.add_response(
        url=POINTS_URL, json=realdata(realdata_dir, "nws_api/tMer234/points_nyc.json")
    )
    httpx_mock.add_response(url=GRID_URL, content=b'{"properties": {"updateTime": "2026-07-')
    live = source()
    points = live.forecasts("NYC", DAY, NOW)
    assert "nws" not in {p.source for p in points} and points
    (missing,) = live.last_missing_sources
    assert (missing.component, missing.error, missing.url) == ("nws", "MalformedResponse", GRID_URL)


def test_all_sources_failing_raises(httpx_mock: HTTPXMock) -> None:
    for url in (OM_FORECAST, OM_ENSEMBLE, POINTS_URL):
        httpx_mock.add_response(url=url, status_code=502, is_reusable=True)
    live = source()
    with pytest.raises(AllSourcesFailed, match="every source failed for NYC 2026-07-10") as info:
        live.forecasts("NYC", DAY, NOW)
    components = ["open-meteo", "open-meteo-ensemble", "nws"]
    assert [f.component for f in info.value.failures] == components
    assert [m.component for m in live.last_missing_sources] == components


def test_past_as_of_is_refused_without_requests(httpx_mock: HTTPXMock) -> None:
    live = source()
    with pytest.raises(PointInTimeUnavailable, match="backfill"):
        live.forecasts("NYC", DAY, NOW - timedelta(minutes=16))
    with pytest.raises(ValueError, match="timezone-aware"):
        live.forecasts("NYC", DAY, NOW.replace(tzinfo=None))
    assert httpx_mock.get_requests() == []


def test_day_beyond_open_meteo_horizon_asks_only_nws(
    httpx_mock: HTTPXMock, realdata_dir: Path
) -> None:
    add_nws_grid(httpx_mock, realdata_dir)
    live = source()
    assert live.forecasts("NYC", DAY + timedelta(days=30), NOW) == []
    assert live.last_missing_sources == ()
    assert {r.url.host for r in httpx_mock.get_requests()} == {"api.weather.gov"}


def test_injected_clients_and_payload_capture_switch(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=OM_FORECAST, json=om_daily(["gfs_seamless", "x"], ["2026-07-09"]))
    clients = (
        NwsClient(UA, **HTTP),
        OpenMeteoClient(UA, now=lambda: NOW, **HTTP),
        IemClient(UA, **HTTP),
        MetarClient(UA, **HTTP),
    )
    quiet = LiveWeatherSource(*clients, capture_payloads=False)
    quiet.open_meteo.forecast("NYC", ["gfs_seamless", "x"], days=1)
    assert quiet.drain_payloads() == []
    with source(api_key=SECRET) as live:
        assert live.open_meteo.http["forecast"].base_url == "https://customer-api.open-meteo.com"
        assert live.open_meteo.http["forecast"].has_api_key


# ------------------------------------------------------------------------ climate reports


def cli_listing(*products: tuple[str, str]) -> dict[str, Any]:
    """An api.weather.gov ``/products/types/CLI/locations/NYC`` listing (JSON-LD)."""
    return {
        "@context": {"@version": "1.1"},
        "@graph": [
            {
                "@id": f"{NWS}/products/{pid}",
                "id": pid,
                "wmoCollectiveId": "CDUS41",
                "issuingOffice": "KOKX",
                "issuanceTime": issued,
                "productCode": "CLI",
                "productName": "Climatological Report (Daily)",
            }
            for pid, issued in products
        ],
    }


def cli_product(pid: str, issued: str, text: str) -> dict[str, Any]:
    return {
        "id": pid,
        "wmoCollectiveId": "CDUS41",
        "issuingOffice": "KOKX",
        "issuanceTime": issued,
        "productCode": "CLI",
        "productName": "Climatological Report (Daily)",
        "productText": text,
    }


REPORT_DAY = date(2013, 1, 2)  # the real CLINYC: Central Park, issued 2013-01-03T06:16Z
REPORT_AS_OF = datetime(2013, 1, 3, 12, tzinfo=UTC)


def test_climate_reports_from_nws(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    text = clinyc_text(realdata_dir)
    listing = cli_listing(
        ("later", "2013-01-04T11:00:00+00:00"),  # after as_of: never fetched
        ("final", "2013-01-03T06:16:00+00:00"),
        ("junk", "2013-01-02T22:00:00+00:00"),  # not CLI text: skipped with a warning
        ("older", "2013-01-01T11:00:00+00:00"),  # before the day: never fetched
    )
    httpx_mock.add_response(url=CLI_LIST_URL, json=listing, is_reusable=True)
    httpx_mock.add_response(
        url=f"{NWS}/products/final", json=cli_product("final", "2013-01-03T06:16:00+00:00", text)
    )
    httpx_mock.add_response(
        url=f"{NWS}/products/junk",
        json=cli_product("junk", "2013-01-02T22:00:00+00:00", "NOT A CLIMATE REPORT\n"),
    )
    live = source()
    (report,) = live.climate_reports("NYC", REPORT_DAY, REPORT_AS_OF)
    assert live.last_missing_sources == ()
    assert (report.city, report.product, report.climate_date) == ("NYC", "CLINYC", REPORT_DAY)
    assert (report.max_f, report.min_f, report.final) == (33, 22, True)
    assert report.issued_at == datetime(2013, 1, 3, 6, 16, tzinfo=UTC)
    assert report.text == text
    # Before the final was issued, nothing about the day is known yet (the junk is re-read).
    httpx_mock.add_response(
        url=f"{NWS}/products/junk",
        json=cli_product("junk", "2013-01-02T22:00:00+00:00", "NOT A CLIMATE REPORT\n"),
    )
    assert live.climate_reports("NYC", REPORT_DAY, datetime(2013, 1, 3, 6, tzinfo=UTC)) == []


def test_climate_reports_fall_back_to_iem_when_nws_fails(
    httpx_mock: HTTPXMock, realdata_dir: Path
) -> None:
    text = clinyc_text(realdata_dir)
    httpx_mock.add_response(url=CLI_LIST_URL, status_code=503, is_reusable=True)
    httpx_mock.add_response(url=AFOS, text=f"\x01{text}\r\r\n\x03\x01{text}\r\r\n\x03")
    live = source()
    (report,) = live.climate_reports("NYC", REPORT_DAY, REPORT_AS_OF)  # duplicates merged
    assert (report.max_f, report.min_f, report.final) == (33, 22, True)
    assert [m.component for m in live.last_missing_sources] == ["nws-cli"]
    afos = next(r for r in httpx_mock.get_requests() if r.url.host == "mesonet.agron.iastate.edu")
    assert afos.url.params["pil"] == "CLINYC"
    assert (afos.url.params["sdate"], afos.url.params["edate"]) == (
        "2013-01-02T05:00Z",
        "2013-01-03T12:00Z",
    )


def test_climate_reports_use_iem_when_nws_no_longer_lists_the_day(
    httpx_mock: HTTPXMock, realdata_dir: Path
) -> None:
    httpx_mock.add_response(
        url=CLI_LIST_URL, json=cli_listing(("recent", "2026-07-08T06:30:00+00:00"))
    )
    httpx_mock.add_response(url=AFOS, text=clinyc_text(realdata_dir))
    live = source()
    (report,) = live.climate_reports("NYC", REPORT_DAY, REPORT_AS_OF)
    assert report.final and report.max_f == 33
    assert live.last_missing_sources == ()  # not a failure: NWS simply no longer has it


def test_climate_reports_both_failing(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=CLI_LIST_URL, status_code=500, is_reusable=True)
    httpx_mock.add_response(url=AFOS, status_code=500, is_reusable=True)
    live = source()
    with pytest.raises(AllSourcesFailed, match="climate reports"):
        live.climate_reports("NYC", REPORT_DAY, REPORT_AS_OF)
    assert [m.component for m in live.last_missing_sources] == ["nws-cli", "iem-afos"]
    assert live.climate_reports("NYC", REPORT_DAY, datetime(2013, 1, 2, tzinfo=UTC)) == []


def test_multi_station_product_reads_the_citys_own_section(realdata_dir: Path) -> None:
    # CLIHOU: Intercontinental (80/61) first, Hobby (79/62) second; Houston settles on Hobby.
    path = realdata_dir / "nws_products" / "pyIEM_product_examples" / "CLI" / "CLIHOU.txt"
    (report,) = LiveWeatherSource._parse_reports(get_city("HOU"), path.read_text())
    assert (report.city, report.max_f, report.min_f) == ("HOU", 79, 62)
    renamed = dataclasses.replace(get_city("HOU"), cli_section="HOUSTON ELLINGTON")
    with pytest.raises(AmbiguousClimateReport, match="no 'HOUSTON ELLINGTON' section"):
        LiveWeatherSource._parse_reports(renamed, path.read_text())


# --------------------------------------------------------------------------- observations


def klax_api_record(realdata_dir: Path, observed: datetime | None = None) -> dict[str, Any]:
    """The real KLAX METAR under the Data API's field names (optionally re-timed)."""
    records = realdata(realdata_dir, "metar/adds_metars_us_2018-01-09T2248Z.json")
    record = next(r for r in records["data"]["METAR"] if r["station_id"] == "KLAX")
    at = observed or datetime.strptime(record["observation_time"], "%Y-%m-%dT%H:%M:%SZ")
    return {
        "icaoId": "KLAX",
        "obsTime": int(at.replace(tzinfo=UTC).timestamp()),
        "temp": float(record["temp_c"]),
        "rawOb": record["raw_text"],
    }


OBS_NOW = datetime(2018, 1, 10, 0, 0, tzinfo=UTC)


def test_recent_observations_from_metars(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    real = klax_api_record(realdata_dir)
    early = klax_api_record(realdata_dir, datetime(2018, 1, 9, 7, 38))  # before the window
    httpx_mock.add_response(url=METAR, json=[early, real, real])
    start, _ = climate_day_window("LAX", date(2018, 1, 9))  # 08:00Z
    live = source(now=OBS_NOW)
    (obs,) = live.observations("LAX", start, OBS_NOW)  # duplicate instant merged
    assert (obs.city, obs.station) == ("LAX", "KLAX")
    assert obs.observed_at == datetime(2018, 1, 9, 22, 38, tzinfo=UTC)
    assert obs.temp_f == pytest.approx(13.9 * 9 / 5 + 32)  # the T-group's tenths
    params = httpx_mock.get_requests()[0].url.params
    assert (params["ids"], params["hours"]) == ("KLAX", "17")
    assert live.last_missing_sources == ()


def asos_csv(realdata_dir: Path, station: str = "NYC") -> str:
    """Real KNYC hourly temperatures in IEM's asos.py ``onlycomma`` CSV layout."""
    path = realdata_dir / "metar" / "synoptic_KNYC_hourly_2018-01.csv"
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("KNYC,")]
    out = ["station,valid,tmpf"]
    for row in csv.reader(lines):
        at = datetime.strptime(row[1], "%m/%d/%Y %H:%M UTC")
        if at < datetime(2018, 1, 2, 11):
            out.append(f"{station},{at:%Y-%m-%d %H:%M},{row[2] or 'M'}")
    return "\n".join(out) + "\n"


def test_old_observations_from_iem_asos(httpx_mock: HTTPXMock, realdata_dir: Path) -> None:
    httpx_mock.add_response(url=ASOS, text=asos_csv(realdata_dir))
    start, end = climate_day_window("NYC", date(2018, 1, 1))
    obs = source(now=datetime(2018, 2, 1, tzinfo=UTC)).observations("NYC", start, end)
    assert len(obs) == 24
    assert obs[0].observed_at == datetime(2018, 1, 1, 5, 51, tzinfo=UTC)
    assert obs[-1].observed_at == datetime(2018, 1, 2, 4, 51, tzinfo=UTC)
    assert all(a.observed_at < b.observed_at for a, b in itertools.pairwise(obs))
    params = httpx_mock.get_requests()[0].url.params
    assert (params["station"], params["sts"], params["ets"]) == (
        "NYC",
        "2018-01-01T05:00Z",
        "2018-01-02T05:00Z",
    )


def test_observations_fall_back_to_iem_when_metars_fail(
    httpx_mock: HTTPXMock, realdata_dir: Path
) -> None:
    httpx_mock.add_response(url=METAR, status_code=500, is_reusable=True)
    httpx_mock.add_response(url=ASOS, text=asos_csv(realdata_dir))
    live = source(now=datetime(2018, 1, 2, 6, tzinfo=UTC))
    start, end = climate_day_window("NYC", date(2018, 1, 1))
    assert len(live.observations("NYC", start, end)) == 24
    assert [m.component for m in live.last_missing_sources] == ["aviationweather"]
    httpx_mock.add_response(url=ASOS, status_code=500, is_reusable=True)
    with pytest.raises(AllSourcesFailed, match="observations"):
        live.observations("NYC", start, end)
    assert [m.component for m in live.last_missing_sources] == ["aviationweather", "iem-asos"]


def test_observations_empty_or_future_window_makes_no_request(httpx_mock: HTTPXMock) -> None:
    live = source()
    assert live.observations("NYC", NOW, NOW) == []
    assert live.observations("NYC", NOW + timedelta(hours=1), NOW + timedelta(hours=2)) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        live.observations("NYC", NOW.replace(tzinfo=None), NOW)
    assert httpx_mock.get_requests() == []
