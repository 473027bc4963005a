from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.cities import UnknownCityError
from weather_trader.core.climate_day import climate_day_window, lead_days
from weather_trader.sim.reports import reports_for_days
from weather_trader.sim.sources import (
    FORECAST_COLUMNS,
    REPORT_COLUMNS,
    SimWeatherSource,
    history_frames,
)
from weather_trader.sim.weather import ENSEMBLE_MEMBERS, MODELS, SimWeather, SimWeatherError

WORLD = SimWeather(7)
SOURCE = SimWeatherSource(WORLD)
DAY = date(2026, 5, 12)


def test_forecasts_latest_runs_for_both_kinds() -> None:
    as_of = datetime(2026, 5, 11, 17, tzinfo=UTC)
    points = SOURCE.forecasts("NYC", DAY, as_of)
    per_kind = len(MODELS) - 1 + ENSEMBLE_MEMBERS
    assert len(points) == 2 * per_kind
    assert Counter(p.kind for p in points) == {"high": per_kind, "low": per_kind}
    assert {p.model for p in points} == set(MODELS)
    assert all(p.source == "sim" and p.retrieved_at == as_of for p in points)
    assert all(p.issued_at <= as_of - timedelta(hours=4) for p in points)
    runs = {p.model: p.issued_at for p in points}
    assert runs["gfs"] == datetime(2026, 5, 11, 12, tzinfo=UTC)
    assert runs["ecmwf"] == datetime(2026, 5, 11, 12, tzinfo=UTC)
    members = sorted(p.member for p in points if p.model == "gefs" and p.kind == "high")
    assert members == list(range(ENSEMBLE_MEMBERS))
    gfs = next(p for p in points if p.model == "gfs" and p.kind == "low")
    assert gfs.value_f == WORLD.forecast("NYC", DAY, "low", "gfs", gfs.issued_at)
    # Same question, same answer.
    assert SimWeatherSource(SimWeather(7)).forecasts("NYC", DAY, as_of) == points


def test_forecasts_empty_too_early_and_frozen_after_the_day() -> None:
    assert SOURCE.forecasts("NYC", DAY, datetime(2026, 5, 1, tzinfo=UTC)) == []
    late = SOURCE.forecasts("NYC", DAY, datetime(2026, 6, 1, tzinfo=UTC))
    assert late and all(lead_days("NYC", DAY, p.issued_at) == 0 for p in late)


def test_observations_window_and_extremes() -> None:
    start, end = climate_day_window("CHI", DAY)
    obs = SOURCE.observations("CHI", start, end)
    assert len(obs) == 24 and all(start <= o.observed_at < end for o in obs)
    assert all(o.station == "KMDW" for o in obs)
    assert max(o.temp_f for o in obs) == WORLD.true_value("CHI", DAY, "high")
    assert min(o.temp_f for o in obs) == WORLD.true_value("CHI", DAY, "low")
    # A window across two climate days picks up obs of both.
    across = SOURCE.observations("CHI", start + timedelta(hours=20), end + timedelta(hours=3))
    assert len(across) == 7 and across == sorted(across, key=lambda o: o.observed_at)
    assert SOURCE.observations("CHI", end, start) == []


def test_climate_reports_point_in_time() -> None:
    start, _ = climate_day_window("NYC", DAY)
    assert SOURCE.climate_reports("NYC", DAY, start + timedelta(hours=12)) == []
    evening = SOURCE.climate_reports("NYC", DAY, start + timedelta(hours=20))
    assert [r.final for r in evening] == [False]
    next_day = SOURCE.climate_reports("NYC", DAY, start + timedelta(hours=40))
    assert [r.final for r in next_day][:2] == [False, True]
    assert all(r.issued_at < start + timedelta(hours=40) for r in next_day)


def test_source_rejects_naive_times_and_unknown_cities() -> None:
    with pytest.raises(SimWeatherError):
        SOURCE.forecasts("NYC", DAY, datetime(2026, 5, 11))
    with pytest.raises(SimWeatherError):
        SOURCE.observations("NYC", datetime(2026, 5, 11), datetime(2026, 5, 12, tzinfo=UTC))
    with pytest.raises(UnknownCityError):
        SOURCE.climate_reports("XXX", DAY, datetime(2026, 5, 11, tzinfo=UTC))


def test_history_frames_schema_and_consistency() -> None:
    start, end = date(2025, 7, 1), date(2025, 7, 10)
    forecasts, reports = history_frames(WORLD, ["NYC", "LAX"], start, end, lead_days=(0, 1))
    assert tuple(forecasts.columns) == FORECAST_COLUMNS
    assert tuple(reports.columns) == REPORT_COLUMNS
    # 2 cities x 10 days x 2 leads x 2 runs x 2 kinds x (3 models + 10 members)
    assert len(forecasts) == 2 * 10 * 2 * 2 * 2 * 13
    assert str(forecasts["issued_at"].dt.tz) == "UTC" and forecasts["member"].dtype == "Int64"
    assert forecasts["member"].isna().sum() == 2 * 10 * 2 * 2 * 2 * 3
    leads = {lead_days(r.city, r.climate_date, r.issued_at.to_pydatetime())
             for r in forecasts.itertuples()}  # fmt: skip
    assert leads == {0, 1}
    assert (forecasts["retrieved_at"] - forecasts["issued_at"] >= pd.Timedelta(hours=4)).all()
    row = forecasts[(forecasts.model == "icon") & (forecasts.city == "LAX")].iloc[5]
    issued = row.issued_at.to_pydatetime()
    assert row.value_f == WORLD.forecast("LAX", row.climate_date, row.kind, "icon", issued)
    ens = forecasts[(forecasts.model == "gefs") & (forecasts.member == 7)].iloc[3]
    assert ens.value_f == WORLD.forecast(
        ens.city, ens.climate_date, ens.kind, "gefs", ens.issued_at.to_pydatetime(), 7
    )
    # The point-in-time source returns exactly what the archive holds for that run.
    pit = SOURCE.forecasts("LAX", row.climate_date, row.retrieved_at.to_pydatetime())
    same = [p for p in pit if p.model == "icon" and p.kind == row.kind]
    assert same[0].issued_at == issued and same[0].value_f == row.value_f
    days = [start + timedelta(days=i) for i in range(10)]
    expected = reports_for_days(WORLD, "NYC", days) + reports_for_days(WORLD, "LAX", days)
    assert list(reports["max_f"]) == [r.max_f for r in expected]
    assert list(reports["text"]) == [r.text for r in expected]


def test_history_frames_options_and_errors() -> None:
    f, _ = history_frames(WORLD, ["MIA"], date(2025, 1, 1), date(2025, 1, 1), members=False)
    assert set(f["model"]) == {"gfs", "ecmwf", "icon"} and len(f) == 3 * 2 * 2 * 3
    assert np.isfinite(f["value_f"]).all()
    with pytest.raises(SimWeatherError):
        history_frames(WORLD, ["MIA"], date(2025, 1, 2), date(2025, 1, 1))
    with pytest.raises(SimWeatherError):
        history_frames(WORLD, ["MIA"], date(2025, 1, 1), date(2025, 1, 2), lead_days=(7,))
