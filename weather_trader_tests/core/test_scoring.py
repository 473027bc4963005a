from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from weather_trader.core.brackets import event_probabilities, standard_event_brackets
from weather_trader.core.distribution import NormalTemperature
from weather_trader.core.fees import taker_fee
from weather_trader.core.scoring import (
    ScoringError,
    brier_score,
    event_brier,
    event_log_loss,
    log_loss,
    settle_pnl,
    settlement_payout,
)

D = Decimal


def test_brier_score() -> None:
    assert brier_score([1.0, 0.0], [1, 0]) == 0.0
    assert brier_score([0.0], [True]) == 1.0
    assert brier_score([0.7, 0.2, 0.5], [1, 0, 1]) == pytest.approx((0.09 + 0.04 + 0.25) / 3)
    assert brier_score(np.array([0.5]), np.array([False])) == 0.25


def test_log_loss() -> None:
    assert log_loss([0.8, 0.3], [1, 0]) == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2)
    assert log_loss([0.5], [1]) == pytest.approx(math.log(2))
    # A confident miss is large but finite thanks to clipping.
    assert 30 < log_loss([0.0], [1]) < 40


@pytest.mark.parametrize(
    ("probs", "outcomes"),
    [([], []), ([0.5], [1, 0]), ([1.2], [1]), ([-0.1], [0]), ([0.5], [2]), ([float("nan")], [1])],
)
def test_binary_scores_reject_bad_input(probs: list[float], outcomes: list[int]) -> None:
    with pytest.raises(ScoringError):
        brier_score(probs, outcomes)
    with pytest.raises(ScoringError):
        log_loss(probs, outcomes)


def test_event_brier() -> None:
    assert event_brier([0, 0, 1, 0], 2) == 0.0
    assert event_brier([1, 0, 0, 0], 2) == 2.0
    # 0.1^2 + 0.3^2 + (0.6-1)^2 = 0.26
    assert event_brier([0.1, 0.3, 0.6], 2) == pytest.approx(0.26)
    # The event Brier equals the sum of the per-bracket binary Briers.
    probs = event_probabilities(standard_event_brackets(70), NormalTemperature(71.2, 2.5))
    onehot = [int(i == 3) for i in range(6)]
    assert event_brier(probs, 3) == pytest.approx(6 * brier_score(probs, onehot))
    for bad in (-1, 3, True):
        with pytest.raises(ScoringError):
            event_brier([0.2, 0.3, 0.5], bad)


def test_event_log_loss() -> None:
    assert event_log_loss([0.25, 0.5, 0.25], 1) == pytest.approx(math.log(2))
    assert event_log_loss([1.0, 0.0], 1) == pytest.approx(-math.log(1e-15))


@pytest.mark.parametrize(
    ("side", "settled_yes", "expected"),
    [
        # 10 YES at 0.40 with a 0.17 fee: win 10 - 4 - 0.17; lose -4.17
        ("yes", True, "5.83"),
        ("yes", False, "-4.17"),
        # the same numbers for NO bought at 0.40
        ("no", False, "5.83"),
        ("no", True, "-4.17"),
    ],
)
def test_settle_pnl(side: str, settled_yes: bool, expected: str) -> None:
    fee = taker_fee(10, D("0.40"))
    assert fee == D("0.17")
    assert settle_pnl(side, 10, D("4.00"), fee, settled_yes) == D(expected)  # type: ignore[arg-type]


def test_settle_pnl_edge_cases() -> None:
    assert settle_pnl("yes", 0, D("0"), D("0"), True) == 0
    assert settlement_payout("no", 3, False) == D("3") and settlement_payout("no", 3, True) == 0
    assert isinstance(settle_pnl("no", 3, D("2.7"), D("0.02"), False), Decimal)
    with pytest.raises(ScoringError):
        settle_pnl("maybe", 1, D("0.5"), D("0"), True)  # type: ignore[arg-type]
    with pytest.raises(ScoringError):
        settle_pnl("yes", -1, D("0.5"), D("0"), True)
    with pytest.raises(ValueError):
        settle_pnl("yes", 1, 0.5, D("0"), True)  # type: ignore[arg-type]


def test_yes_and_no_positions_are_complementary() -> None:
    # Holding 1 YES at p and 1 NO at 1-p always pays exactly 1 - p - (1-p) = 0 before fees.
    for cents in range(1, 100):
        p = D(cents) / 100
        for outcome in (True, False):
            total = settle_pnl("yes", 1, p, D(0), outcome) + settle_pnl(
                "no", 1, 1 - p, D(0), outcome
            )
            assert total == 0
