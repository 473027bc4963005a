"""Forecast archive, observations and climate reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from weather_trader.store.db import StoreError, session_scope
from weather_trader.store.models import ForecastRow
from weather_trader.store.repo import (
    append_forecasts,
    climate_reports_for,
    final_report,
    forecasts_as_of,
    observations_for,
    replace_observations,
    training_history,
    upsert_climate_reports,
)
from weather_trader.store.repo_weather import lead_days
from weather_trader_tests.store.factories import DAY, T0, observation, point, report


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ForecastRow)) or 0


def test_append_forecasts_skips_duplicates(session: Session) -> None:
    points = [point(), point(model="ecmwf_ifs", value_f=73.1), point(kind="low", value_f=60.2)]
    points += [point(model="gefs", member=m, value_f=70 + m) for m in range(3)]
    assert append_forecasts(session, points) == 6
    session.commit()
    # the same points again, one re-retrieved later with a different value: all no-ops
    again = [*points, point(retrieved_at=T0 + timedelta(hours=9), value_f=99.0)]
    assert append_forecasts(session, again) == 0
    assert append_forecasts(session, [point(issued_at=T0 + timedelta(hours=6))]) == 1
    session.commit()
    assert _count(session) == 7
    stored = session.scalars(
        select(ForecastRow.value_f).where(
            ForecastRow.model == "gfs", ForecastRow.kind == "high", ForecastRow.issued_at == T0
        )
    ).all()
    assert stored == [74.3]  # never overwritten


def test_append_forecasts_dedupes_within_a_batch_and_handles_empty(session: Session) -> None:
    assert append_forecasts(session, []) == 0
    assert append_forecasts(session, [point(), point(value_f=1.0)]) == 1


def test_append_forecasts_large_batch(session: Session) -> None:
    points = [point(model="gefs", member=m) for m in range(1200)]
    assert append_forecasts(session, points) == 1200
    assert append_forecasts(session, points) == 0


def test_append_forecasts_rejects_negative_member_and_unknown_city(session: Session) -> None:
    with pytest.raises(StoreError, match="member"):
        append_forecasts(session, [point(member=-1)])
    with pytest.raises(StoreError, match="unknown city"):
        append_forecasts(session, [point(city="XXX")])


def test_lead_days_uses_standard_time() -> None:
    # 03:00 UTC on May 11 is still May 10 in New York standard time (UTC-5)
    assert lead_days(point(issued_at=datetime(2026, 5, 11, 3, 0, tzinfo=UTC))) == 2
    assert lead_days(point(issued_at=datetime(2026, 5, 11, 6, 0, tzinfo=UTC))) == 1


def test_forecasts_as_of_is_point_in_time(session: Session) -> None:
    late = T0 + timedelta(hours=12)
    append_forecasts(
        session,
        [
            point(),  # retrieved T0+4h
            point(issued_at=T0 + timedelta(hours=6), retrieved_at=late, value_f=76.0),
            point(model="gefs", member=0, value_f=71.0),
            point(model="gefs", member=1, value_f=72.0),
            point(kind="low", value_f=60.0),
            point(climate_date=DAY + timedelta(days=1), value_f=50.0),  # another day
        ],
    )
    session.commit()
    assert forecasts_as_of(session, "NYC", DAY, T0 + timedelta(hours=1)).empty

    early = forecasts_as_of(session, "NYC", DAY, T0 + timedelta(hours=5))
    assert list(early.columns) == [
        "city", "climate_date", "kind", "source", "model", "member", "issued_at", "lead_days",
        "value_f",
    ]  # fmt: skip
    assert len(early) == 4
    gfs = early[(early["model"] == "gfs") & (early["kind"] == "high")].iloc[0]
    assert gfs["value_f"] == 74.3
    assert pd.isna(gfs["member"])
    assert gfs["issued_at"] == pd.Timestamp(T0)
    assert gfs["lead_days"] == 1
    assert gfs["climate_date"] == DAY
    assert sorted(early.loc[early["model"] == "gefs", "member"].tolist()) == [0, 1]

    after = forecasts_as_of(session, "NYC", DAY, late)
    gfs = after[(after["model"] == "gfs") & (after["kind"] == "high")].iloc[0]
    assert gfs["value_f"] == 76.0  # the later issue, once it was retrieved
    assert str(after["issued_at"].dtype).startswith("datetime64")


def test_forecasts_as_of_rejects_naive(session: Session) -> None:
    with pytest.raises(StoreError, match="timezone-aware"):
        forecasts_as_of(session, "NYC", DAY, datetime(2026, 5, 12))


def test_training_history_averages_members_and_joins_final(session: Session) -> None:
    day2 = DAY + timedelta(days=1)
    append_forecasts(
        session,
        [
            point(model="gefs", member=0, value_f=70.0),
            point(model="gefs", member=1, value_f=72.0),
            point(value_f=74.0),
            point(kind="low", value_f=59.0),
            point(climate_date=day2, value_f=80.0),  # no final report: left out
            point(city="CHI", value_f=65.0),  # other city: left out
        ],
    )
    upsert_climate_reports(
        session,
        [
            report(final=False, max_f=70, issued_at=datetime(2026, 5, 12, 22, tzinfo=UTC)),
            report(max_f=75, min_f=61),
            report(max_f=76, correction=True, issued_at=datetime(2026, 5, 13, 9, tzinfo=UTC)),
            report(climate_date=day2, final=False, max_f=81),
        ],
    )
    session.commit()
    df = training_history(session, ["NYC"], DAY, day2)
    assert list(df.columns) == [
        "city", "kind", "climate_date", "source", "model", "issued_at", "lead_days",
        "forecast_f", "observed_f",
    ]  # fmt: skip
    assert len(df) == 3
    rows = {(r.kind, r.model): r for r in df.itertuples()}
    assert rows[("high", "gefs")].forecast_f == 71.0
    assert rows[("high", "gefs")].observed_f == 76.0  # the correction wins
    assert rows[("high", "gfs")].forecast_f == 74.0
    assert rows[("low", "gfs")].observed_f == 61.0
    assert rows[("high", "gfs")].lead_days == 1
    assert training_history(session, ["NYC"], date(2020, 1, 1), date(2020, 1, 2)).empty


def test_replace_observations_is_idempotent(session: Session) -> None:
    obs = [observation(0, 61.0), observation(60, 63.0), observation(120, 66.0)]
    assert replace_observations(session, "NYC", DAY, obs) == 3
    assert replace_observations(session, "NYC", DAY, obs) == 3
    session.commit()
    stored = observations_for(session, "NYC", DAY)
    assert stored == obs
    assert stored[0].observed_at.tzinfo is not None
    assert replace_observations(session, "NYC", DAY, obs[:1]) == 1
    assert observations_for(session, "NYC", DAY) == obs[:1]
    assert observations_for(session, "NYC", DAY + timedelta(days=1)) == []


def test_replace_observations_rejects_other_city(session: Session) -> None:
    bad = observation(0, 61.0).model_copy(update={"city": "CHI"})
    with pytest.raises(StoreError, match="CHI"):
        replace_observations(session, "NYC", DAY, [bad])


def test_upsert_climate_reports_and_final_report(session: Session) -> None:
    prelim = report(final=False, max_f=72, issued_at=datetime(2026, 5, 12, 22, tzinfo=UTC))
    final = report()
    assert final_report(session, "NYC", DAY) is None
    assert upsert_climate_reports(session, [prelim]) == 1
    assert final_report(session, "NYC", DAY) is None  # a preliminary report is not final
    assert upsert_climate_reports(session, [prelim, final]) == 1
    assert final_report(session, "NYC", DAY) == final
    correction = report(max_f=77, correction=True, issued_at=datetime(2026, 5, 13, 10, tzinfo=UTC))
    assert upsert_climate_reports(session, [correction, final]) == 1
    session.commit()
    assert final_report(session, "NYC", DAY) == correction
    assert climate_reports_for(session, "NYC", DAY) == [prelim, final, correction]


def test_upsert_climate_reports_updates_reparsed_report(session: Session) -> None:
    upsert_climate_reports(session, [report(text="old")])
    assert upsert_climate_reports(session, [report(text="old")]) == 0
    assert upsert_climate_reports(session, [report(max_f=74, text="new")]) == 1
    stored = climate_reports_for(session, "NYC", DAY)
    assert [(r.max_f, r.text) for r in stored] == [(74, "new")]


def test_failed_write_leaves_nothing(engine: Engine) -> None:
    with pytest.raises(StoreError), session_scope(engine) as s:
        append_forecasts(s, [point()])
        replace_observations(s, "NYC", DAY, [observation(0, 61.0)])
        append_forecasts(s, [point(city="XXX")])  # fails mid-way
    with session_scope(engine) as s:
        assert _count(s) == 0
        assert observations_for(s, "NYC", DAY) == []
