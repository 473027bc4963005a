"""Skill figures: event Brier on common events, measured edges, reliability, stored pmfs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.forecasting.pmf import SUPPORT, pmf_from_normal
from weather_trader.core.gating import MeasuredEdge
from weather_trader.core.skill import (
    SkillError,
    calibration_table,
    event_briers,
    measured_edges,
    pit_table,
    pit_values,
    pmf_from_extra,
    pmf_summary,
    weather_beats_climatology,
)

AT = pd.Timestamp("2026-03-09T21:00Z")


def _brackets() -> pd.DataFrame:
    rows = []
    # CHI: two events of two brackets; NYC: one event, with a missing market price.
    for city, event, outcomes, ours, market in [
        ("CHI", "E1", [1, 0], [0.8, 0.2], [0.6, 0.4]),
        ("CHI", "E2", [0, 1], [0.5, 0.5], [0.3, 0.7]),
        ("NYC", "E3", [1, 0], [0.9, 0.1], [np.nan, 0.5]),
    ]:
        for i in range(2):
            rows.append(
                {
                    "city": city,
                    "event_ticker": event,
                    "decided_at": AT,
                    "outcome": outcomes[i],
                    "ours": ours[i],
                    "market": market[i],
                }
            )
    return pd.DataFrame(rows)


def test_event_brier_sums_brackets_and_averages_common_events() -> None:
    scores = event_briers(_brackets(), ["ours", "market"]).set_index("city")
    # E1: ours .04+.04=.08, market .16+.16=.32; E2: ours .5, market .18.
    assert scores.loc["CHI", "events"] == 2
    assert scores.loc["CHI", "ours"] == pytest.approx((0.08 + 0.5) / 2)
    assert scores.loc["CHI", "market"] == pytest.approx((0.32 + 0.18) / 2)
    assert "NYC" not in scores.index  # its only event lacks a market price
    overall = event_briers(_brackets(), ["ours"], by=())
    assert overall["events"].tolist() == [3]


def test_event_brier_names_missing_columns() -> None:
    with pytest.raises(SkillError, match="outcome"):
        event_briers(_brackets().drop(columns=["outcome"]), ["ours"])


def test_measured_edges_per_city_with_zero_events_where_nothing_is_complete() -> None:
    edges = {e.city: e for e in measured_edges(_brackets(), "D-1 16:00")}
    # Per-event differences -0.24 and +0.32: standard error of their mean 0.28.
    assert edges["CHI"] == MeasuredEdge(
        "CHI", "D-1 16:00", 2, pytest.approx(0.29), pytest.approx(0.25), pytest.approx(0.28)
    )
    assert not edges["CHI"].beats_market(min_events=1)
    assert edges["NYC"] == MeasuredEdge("NYC", "D-1 16:00", 0, None, None)
    assert measured_edges(_brackets().iloc[:0], "D 08:00") == []


def test_pit_is_uniform_for_a_calibrated_forecast() -> None:
    rng = np.random.default_rng(3)
    mu = rng.normal(60, 10, 4000)
    truth = np.rint(mu + rng.normal(0, 3, 4000))
    pmf = pmf_from_normal(mu, 3.0)
    table = pit_table(pmf, truth)
    assert len(table) == 10 and sum(r["cases"] for r in table) == 4000
    assert all(abs(r["share"] - 0.1) < 0.03 for r in table)
    # Over-confident (too narrow): mass piles up in the outer bins.
    narrow = pit_table(pmf_from_normal(mu, 1.0), truth)
    assert narrow[0]["share"] + narrow[-1]["share"] > 0.4
    assert np.isnan(pit_values(pmf[:1] * np.nan, truth[:1])).all()


def test_calibration_table_bins_forecasts() -> None:
    table = calibration_table(np.array([0.05, 0.07, 0.95, np.nan]), np.array([0, 1, 1, 1]))
    assert [r["n"] for r in table] == [2, 1]
    assert table[0]["mean_p"] == pytest.approx(0.06) and table[0]["observed"] == 0.5


def test_stored_pmf_round_trips_with_its_summary() -> None:
    row = pmf_from_normal(71.3, 2.5)[0]
    mu, sigma, extra = pmf_summary(row)
    assert mu == pytest.approx(71.3, abs=0.01) and sigma == pytest.approx(2.52, abs=0.05)
    assert extra["pmf_lo"] > SUPPORT[0] and len(extra["pmf"]) < 60  # trimmed
    np.testing.assert_allclose(pmf_from_extra(extra), row, atol=1e-8)
    with pytest.raises(SkillError, match="no pmf"):
        pmf_from_extra({"raw_mean": 70})
    with pytest.raises(SkillError):
        pmf_summary(row * np.nan)
    with pytest.raises(SkillError, match="outside"):
        pmf_from_extra({"pmf_lo": 149, "pmf": [0.5, 0.3, 0.2]})


def test_weather_beats_climatology_is_the_model_check() -> None:
    assert weather_beats_climatology(1.5, 5.0)
    assert weather_beats_climatology(5.0, 5.0)
    assert not weather_beats_climatology(5.1, 5.0)
    assert not weather_beats_climatology(None, 5.0)
    assert weather_beats_climatology(1.5, None)
