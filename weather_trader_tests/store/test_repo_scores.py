"""Summaries of event scores."""

from __future__ import annotations

from datetime import date

import pytest

from weather_trader.store.repo_scores import EventScore, mean_briers


def test_mean_briers_average_ours_and_the_market_s_separately() -> None:
    scores = [
        EventScore("NYC", date(2026, 7, 1), "high", 80, brier_model=0.5, brier_market=0.25),
        EventScore("NYC", date(2026, 7, 2), "low", 61, brier_model=0.75, brier_market=0.5),
    ]
    assert mean_briers(scores) == (pytest.approx(0.625), pytest.approx(0.375))
    assert mean_briers([]) == (None, None)
