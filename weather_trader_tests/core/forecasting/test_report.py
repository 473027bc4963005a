"""Scores by hand: Brier, event Brier, log loss, CRPS, and which events count."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.forecasting.pmf import N_SUPPORT, SUPPORT
from weather_trader.core.forecasting.report import build_report, format_table
from weather_trader.core.forecasting.walkforward import DecisionInstant, WalkResult


def _point(value: int) -> np.ndarray:
    row = np.zeros(N_SUPPORT)
    row[value - SUPPORT[0]] = 1.0
    return row


def _walk() -> WalkResult:
    days = [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]
    cases = pd.DataFrame({"city": ["CHI"] * 3, "kind": ["high"] * 3, "climate_date": days,
                          "score_truth": [50.0, 52.0, 40.0]})  # fmt: skip
    weather = np.stack([_point(50), _point(51), _point(40)])
    rows = []
    for d, e in zip(days, ("E1", "E2", "E3"), strict=True):
        for j, (lo, hi) in enumerate(((SUPPORT[0], 50), (51, SUPPORT[-1]))):
            rows.append({"event_ticker": e, "ticker": f"{e}-{j}", "city": "CHI", "kind": "high",
                         "climate_date": d, "lo": lo, "hi": hi})  # fmt: skip
    br = pd.DataFrame(rows)
    br["outcome"] = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]
    br["market"] = [0.8, 0.2, 0.5, 0.5, 0.9, 0.1]
    br["market_raw"] = [0.8, 0.3, 0.5, 0.5, 0.9, np.nan]  # E3 lacks a price: not scored
    br["weather"] = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]
    return WalkResult(DecisionInstant.parse("D 08:00"), cases, {"weather": weather}, br)


def test_scores_by_hand() -> None:
    report = build_report([_walk()])
    rows = {(r["city"], r["predictor"]): r for r in report["results"]}
    market = rows[("ALL", "market")]
    assert market["events"] == 2  # E3 has a bracket without a price
    assert market["brier"] == pytest.approx((0.04 + 0.04 + 0.25 + 0.25) / 4)
    assert market["event_brier"] == pytest.approx((0.08 + 0.5) / 2)
    assert market["log_loss"] == pytest.approx(-(math.log(0.8) + math.log(0.5)) / 2)
    assert market["crps"] is None
    raw = rows[("ALL", "market_raw")]
    assert raw["event_brier"] == pytest.approx((0.04 + 0.09 + 0.5) / 2)
    weather = rows[("ALL", "weather")]
    assert weather["event_brier"] == 0.0
    assert weather["crps"] == pytest.approx((0.0 + 1.0) / 2)  # 51 vs truth 52: one step off
    assert rows[("CHI", "weather")] | {"city": "ALL"} == weather
    # Every bracket is listed, scored or not; missing probabilities are None.
    assert len(report["predictions"]) == 6 * 3
    assert {"instant": "D 08:00", "event_ticker": "E3", "market_ticker": "E3-1",
            "predictor": "market_raw", "p": None} in report["predictions"]  # fmt: skip
    assert "market_raw" in format_table(report["results"])


def test_range_and_city_filters() -> None:
    report = build_report([_walk()], cities=["CHI"], start=date(2025, 1, 2), end=date(2025, 1, 2))
    assert {r["events"] for r in report["results"]} == {1}
    assert build_report([_walk()], cities=["NYC"])["results"][0]["events"] == 0
