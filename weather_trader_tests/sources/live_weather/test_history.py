"""LiveWeatherSource.history: the archive backfill from IEM CLI history and Open-Meteo
previous runs.

HTTP is mocked with pytest-httpx; IEM ``/json/cli.py`` (``{"results": [...]}``) and the
previous-runs payloads follow the documented formats.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest
from pytest_httpx import HTTPXMock

from weather_trader.core.climate_day import climate_date_of
from weather_trader.sim.sources import SimWeatherSource
from weather_trader.sim.weather import SimWeather
from weather_trader.sources.live_weather import AVAILABILITY_DELAY, FORECAST_COLUMNS, history
from weather_trader_tests.sources.live_weather.support import IEM, diurnal, om_hourly, source

OM_PREVIOUS = re.compile(r"https://previous-runs-api\.open-meteo\.com/v1/forecast\?.*")


HISTORY_MODELS = ("gfs_seamless", "ecmwf_ifs025")


def cli_json(*rows: tuple[str, int, int, str | None]) -> dict[str, Any]:
    return {
        "results": [
            {"station": "KNYC", "valid": valid, "high": high, "low": low, "product": product}
            for valid, high, low, product in rows
        ]
    }


def previous_runs_payload(dates: list[str]) -> dict[str, Any]:
    variables: dict[str, list[float | None]] = {}
    for m, model in enumerate(HISTORY_MODELS):
        for n in (1, 2, 3):
            variables[f"temperature_2m_previous_day{n}_{model}"] = diurnal(30.0 + m + n, len(dates))
    return om_hourly(variables, dates)


def add_history(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=f"{IEM}/json/cli.py?station=KNYC&year=2025",
        json=cli_json(
            ("2025-12-30", 40, 31, "202512310532-KOKX-CDUS41-CLINYC"),
            ("2025-12-31", 38, 29, "202601010540-KOKX-CDUS41-CLINYC"),
        ),
    )
    httpx_mock.add_response(
        url=f"{IEM}/json/cli.py?station=KNYC&year=2026",
        json=cli_json(
            ("2026-01-01", 41, 33, "202601020524-KOKX-CDUS41-CLINYC"),
            ("2026-01-02", 45, 35, None),
        ),
    )


def test_history_frame_matches_the_sim(httpx_mock: HTTPXMock) -> None:
    add_history(httpx_mock)
    httpx_mock.add_response(
        url=OM_PREVIOUS, json=previous_runs_payload(["2025-12-31", "2026-01-01"])
    )
    live = source(history_models=HISTORY_MODELS)
    frame, reports = live.history("NYC", date(2025, 12, 31), date(2026, 1, 1))

    sim_frame, _ = SimWeatherSource(SimWeather()).history("NYC", date(2026, 1, 1), date(2026, 1, 1))
    assert tuple(frame.columns) == FORECAST_COLUMNS == tuple(sim_frame.columns)
    assert frame.dtypes.to_dict() == sim_frame.dtypes.to_dict()
    assert all(isinstance(d, date) for d in frame["climate_date"])

    assert len(frame) == 2 * 2 * 2 * 3  # days x kinds x models x leads
    assert set(frame["kind"]) == {"high", "low"}
    assert set(frame["model"]) == set(HISTORY_MODELS)  # the live ids; the lead is in issued_at
    assert set(frame["source"]) == {"open-meteo"} and frame["member"].isna().all()
    assert (frame["issued_at"] <= frame["retrieved_at"]).all()
    for model in HISTORY_MODELS:
        rows = frame[frame["model"] == model]
        assert ((rows["retrieved_at"] - rows["issued_at"]) == AVAILABILITY_DELAY[model]).all()
    leads = {(r.model, r.climate_date, r.kind): set() for r in frame.itertuples()}
    for r in frame.itertuples():
        leads[(r.model, r.climate_date, r.kind)].add(
            (r.climate_date - climate_date_of("NYC", r.issued_at.to_pydatetime())).days
        )
    assert all(v == {1, 2, 3} for v in leads.values())
    gfs_lead1 = frame[
        (frame["model"] == "gfs_seamless")
        & (frame["kind"] == "high")
        & (frame["climate_date"] == date(2026, 1, 1))
        & (frame["issued_at"] == pd.Timestamp("2026-01-01T04:00Z"))
    ]
    assert gfs_lead1["value_f"].tolist() == [31.0 + 11]

    assert [(r.climate_date, r.max_f, r.min_f) for r in reports] == [
        (date(2025, 12, 31), 38, 29),
        (date(2026, 1, 1), 41, 33),
    ]
    assert all(r.final and r.city == "NYC" and r.product == "CLINYC" for r in reports)
    assert reports[1].issued_at == datetime(2026, 1, 2, 5, 24, tzinfo=UTC)
    params = next(r for r in httpx_mock.get_requests() if r.url.path == "/v1/forecast").url.params
    assert (params["start_date"], params["end_date"]) == ("2025-12-31", "2026-01-01")
    assert params["models"] == "gfs_seamless,ecmwf_ifs025"


def test_history_chunks_and_drops_rows_not_yet_available(
    httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "HISTORY_CHUNK_DAYS", 1)
    add_history(httpx_mock)
    httpx_mock.add_response(url=OM_PREVIOUS, json=previous_runs_payload(["2025-12-31"]))
    httpx_mock.add_response(url=OM_PREVIOUS, json=previous_runs_payload(["2026-01-01"]))
    # At 07:00Z on Jan 1 the lead-1 runs for Jan 1 (issued 04:00Z) are not out yet.
    now = datetime(2026, 1, 1, 7, tzinfo=UTC)
    frame, _ = source(now=now, history_models=HISTORY_MODELS).history(
        "NYC", date(2025, 12, 31), date(2026, 1, 1)
    )
    dates = [
        (r.url.params["start_date"], r.url.params["end_date"])
        for r in httpx_mock.get_requests()
        if r.url.path == "/v1/forecast"
    ]
    assert dates == [("2025-12-31", "2025-12-31"), ("2026-01-01", "2026-01-01")]
    assert (frame["retrieved_at"] <= pd.Timestamp(now)).all()
    assert len(frame) == 2 * 2 * 2 * 3 - 2 * 2  # Jan 1 lead 1 dropped for both models, kinds
    with pytest.raises(ValueError, match="empty range"):
        source().history("NYC", date(2026, 1, 2), date(2026, 1, 1))
