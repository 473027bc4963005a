"""The predictions schema built from the walk-forward's bracket frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pytest

from weather_trader.backtest.config import BacktestConfig
from weather_trader.backtest.inputs import InputError, predictions_from_walks, select_predictions
from weather_trader.core.instants import DecisionInstant


@dataclass
class FakeWalk:
    """What ``predictions_from_walks`` reads of a ``WalkResult``."""

    instant: DecisionInstant
    brackets: pd.DataFrame
    predictors: list[str] = field(default_factory=lambda: ["weather", "ours", "market"])


def brackets(city: str, day: date) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_ticker": "E",
            "ticker": ["E-a", "E-b"],
            "city": city,
            "kind": "high",
            "climate_date": day,
            "decided_at": pd.Timestamp("2025-01-09T22:00Z"),
            "lo": [-80, 41],
            "hi": [40, 150],
            "settled_value": 41,
            "p_market_raw": [0.3, 0.6],
            "p_market": [1 / 3, 2 / 3],
            "weather": [0.5, 0.5],
            "ours": [0.4, 0.6],
            "market": [1 / 3, 2 / 3],
            "score_truth": 41.0,
            "outcome": [0.0, 1.0],
        }
    )


def test_walk_brackets_become_predictions_with_p_columns() -> None:
    walks = [
        FakeWalk(DecisionInstant.parse("D-1 16:00"), brackets("CHI", date(2025, 1, 10))),
        FakeWalk(DecisionInstant.parse("D 08:00"), brackets("NYC", date(2025, 1, 12))),
    ]
    frame = predictions_from_walks(walks)
    assert {"market_ticker", "p_ours", "p_weather", "p_market", "instant"} <= set(frame.columns)
    assert "ours" not in frame.columns and "market" not in frame.columns
    assert frame["instant"].tolist() == ["D-1 16:00"] * 2 + ["D 08:00"] * 2
    chosen = select_predictions(frame, BacktestConfig(cities=["CHI"], predictor="weather"))
    assert chosen["p_model"].tolist() == [0.5, 0.5]
    assert chosen["climate_date"].tolist() == [date(2025, 1, 10)] * 2
    late = select_predictions(frame, BacktestConfig(start=date(2025, 1, 11)))
    assert late["city"].unique().tolist() == ["NYC"]
    assert np.isfinite(late["p_model"]).all()
    with pytest.raises(InputError, match="no predictor 'xgboost'"):
        select_predictions(frame, BacktestConfig(predictor="xgboost"))
    assert predictions_from_walks([]).empty
