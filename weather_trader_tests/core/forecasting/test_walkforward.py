"""Decision instants, the weekly refit calendar, relabelling as known, and a walk end to end."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.forecasting.base import ModelInputError
from weather_trader.core.forecasting.pmf import valid_rows
from weather_trader.core.forecasting.suite import ModelSuite
from weather_trader.core.forecasting.walkforward import (
    DecisionInstant,
    LabelsAsOf,
    refit_instant,
    require_instants,
    walk_forward,
)
from weather_trader_tests.core.forecasting.synthetic_archive import (
    make_archive,
    stand_in_components,
)


@pytest.mark.parametrize(
    ("text", "label", "offset", "hour"),
    [
        ("D-1 16:00", "D-1 16:00", -1, 16),
        ("D 08:00", "D 08:00", 0, 8),
        (" D+0 8:30 ", "D 08:30", 0, 8),
    ],
)
def test_parse(text: str, label: str, offset: int, hour: int) -> None:
    instant = DecisionInstant.parse(text)
    assert (instant.label, instant.day_offset, instant.hour) == (label, offset, hour)


@pytest.mark.parametrize("text", ["D-1", "16:00", "D-1 24:00", "E 08:00", "D-1 16:60"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="decision instant"):
        DecisionInstant.parse(text)
    with pytest.raises(ModelInputError):
        require_instants([text])


def test_utc_uses_the_standard_offset_all_year() -> None:
    instant = DecisionInstant.parse("D-1 16:00")
    # July (daylight time): still CST (-6) for Chicago and EST (-5) for New York.
    got = instant.utc(
        ["CHI", "NYC", "CHI"], [date(2024, 7, 10), date(2024, 7, 10), date(2025, 1, 5)]
    )
    assert got.tolist() == [
        pd.Timestamp("2024-07-09 22:00", tz="UTC"),
        pd.Timestamp("2024-07-09 21:00", tz="UTC"),
        pd.Timestamp("2025-01-04 22:00", tz="UTC"),
    ]
    assert DecisionInstant.parse("D 08:00").utc(["NYC"], [date(2024, 7, 10)])[0] == pd.Timestamp(
        "2024-07-10 13:00", tz="UTC"
    )


def test_refit_instant_is_the_monday_before() -> None:
    assert refit_instant(pd.Timestamp("2024-07-10 13:00", tz="UTC")) == pd.Timestamp(
        "2024-07-08", tz="UTC"
    )
    monday = pd.Timestamp("2024-07-08 00:00", tz="UTC")
    assert refit_instant(monday) == monday
    assert refit_instant(monday - pd.Timedelta(seconds=1)) == pd.Timestamp("2024-07-01", tz="UTC")


def test_labels_as_of_follow_corrections() -> None:
    cases = pd.DataFrame(
        {"city": ["CHI"], "kind": ["high"], "climate_date": [date(2024, 1, 2)], "truth_f": [50.0]}
    )
    reports = pd.DataFrame(
        {
            "city": ["CHI", "CHI"],
            "kind": ["high", "high"],
            "climate_date": [date(2024, 1, 2)] * 2,
            "value_f": [48.0, 50.0],
            "final": [True, True],
            "issued_at": pd.to_datetime(["2024-01-03 14:00", "2024-01-10 14:00"], utc=True),
        }
    )
    relabel = LabelsAsOf(cases, reports)
    assert relabel(pd.Timestamp("2024-01-08", tz="UTC"))["truth_f"].iloc[0] == 48.0
    assert relabel(pd.Timestamp("2024-01-15", tz="UTC"))["truth_f"].iloc[0] == 50.0


def test_walk_predicts_every_event_with_its_weeks_fit() -> None:
    archive = make_archive(days=60)
    instant = DecisionInstant.parse("D 08:00")
    walk = walk_forward(
        instant, archive.forecasts, archive.reports, archive.markets, archive.trades,
        suite=ModelSuite(components=stand_in_components),
    )  # fmt: skip
    assert (walk.cases["fit_at"] <= walk.cases["decided_at"]).all()
    assert (walk.cases["decided_at"] - walk.cases["fit_at"] < pd.Timedelta(days=7)).all()
    assert set(walk.brackets["ticker"]) == set(archive.markets["ticker"])
    late = walk.cases["climate_date"] >= date(2024, 2, 1)
    assert valid_rows(walk.pmfs["weather"][late.to_numpy()]).all()
    # Bracket probabilities of each distribution sum to 1 over every event.
    sums = walk.brackets.groupby("event_ticker")[["weather", "ours", "mean_model"]].sum()
    predicted = sums.loc[sums["weather"] > 0]
    assert np.allclose(predicted.to_numpy(), 1.0)
    assert walk.brackets["outcome"].notna().all()
    assert walk.refits[0]["fit_at"] == "2024-01-01T00:00:00+00:00"


def test_walk_stops_at_until() -> None:
    archive = make_archive(days=30)
    walk = walk_forward(
        DecisionInstant.parse("D-1 16:00"), archive.forecasts, archive.reports, archive.markets,
        archive.trades, until=date(2024, 1, 20), suite=ModelSuite(components=stand_in_components),
    )  # fmt: skip
    assert walk.cases["climate_date"].max() == date(2024, 1, 20)
    # Day 1's decision is the evening before, so the first refit is the Monday before that.
    assert walk.cases["decided_at"].min() == datetime(2023, 12, 31, 21, tzinfo=UTC)
    assert walk.refits[0]["fit_at"] == "2023-12-25T00:00:00+00:00"
