"""Forecast scores and trade settlement P&L."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from weather_trader.core.brackets import Bracket
from weather_trader.core.fees import to_decimal
from weather_trader.core.trading import Side


class ScoringError(ValueError):
    """Raised for misaligned, empty or out-of-range scoring inputs."""


def _probs(probs: Sequence[float]) -> np.ndarray:
    arr = np.asarray(probs, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ScoringError("need a non-empty 1-D sequence of probabilities")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise ScoringError(f"probabilities must be in [0, 1], got {arr.tolist()}")
    return arr


def _outcomes(outcomes: Sequence[bool | int], n: int) -> np.ndarray:
    arr = np.asarray(outcomes)
    if arr.shape != (n,):
        raise ScoringError(f"{n} probabilities but outcomes of shape {arr.shape}")
    if not np.all(np.isin(arr, (0, 1))):
        raise ScoringError(f"outcomes must be 0/1 or bool, got {arr.tolist()}")
    return arr.astype(float)


def brier_score(probs: Sequence[float], outcomes: Sequence[bool | int]) -> float:
    """Mean squared error of binary probability forecasts: ``mean((p - o)^2)``.

    Raises:
        ScoringError: On empty or misaligned inputs, probabilities outside [0, 1] or
            outcomes other than 0/1.
    """
    p = _probs(probs)
    o = _outcomes(outcomes, p.size)
    return float(np.mean((p - o) ** 2))


def log_loss(probs: Sequence[float], outcomes: Sequence[bool | int], eps: float = 1e-15) -> float:
    """Mean negative log-likelihood of binary outcomes; probabilities clipped to [eps, 1-eps].

    Raises:
        ScoringError: As :func:`brier_score`.
    """
    p = np.clip(_probs(probs), eps, 1 - eps)
    o = _outcomes(outcomes, p.size)
    return float(-np.mean(o * np.log(p) + (1 - o) * np.log(1 - p)))


def _event(probs: Sequence[float], yes_index: int) -> np.ndarray:
    p = _probs(probs)
    if isinstance(yes_index, bool) or not 0 <= int(yes_index) < p.size:
        raise ScoringError(f"yes_index {yes_index!r} outside 0..{p.size - 1}")
    return p


def event_brier(probs: Sequence[float], yes_index: int) -> float:
    """Multi-category Brier score of one event: ``sum_k (p_k - [k == yes_index])^2``.

    Ranges from 0 (all mass on the winner) to 2 (all mass on one loser).

    Raises:
        ScoringError: On invalid probabilities or an out-of-range ``yes_index``.
    """
    p = _event(probs, yes_index)
    onehot = np.zeros_like(p)
    onehot[int(yes_index)] = 1.0
    return float(np.sum((p - onehot) ** 2))


def event_log_loss(probs: Sequence[float], yes_index: int, eps: float = 1e-15) -> float:
    """Negative log of the probability given to the winning bracket (clipped at ``eps``)."""
    p = _event(probs, yes_index)
    return -math.log(max(float(p[int(yes_index)]), eps))


def model_and_market_brier(
    brackets: Sequence[Bracket],
    p_model: Sequence[float],
    p_market: Sequence[float],
    settled_value: int,
) -> tuple[float, float]:
    """Event Brier of our bracket probabilities and of the market's, on one settled event.

    The market's prices (book mids) are normalised to sum to 1 first: raw mids carry the
    market's overround, which would penalise it for its spread rather than its forecast.

    Raises:
        ScoringError: If no bracket settles YES on ``settled_value`` or the lengths differ.
    """
    winners = [i for i, b in enumerate(brackets) if b.settles_yes(settled_value)]
    if len(winners) != 1:
        raise ScoringError(f"{len(winners)} brackets settle YES on {settled_value}, expected 1")
    market = np.asarray(p_market, dtype=float)
    return (
        event_brier(p_model, winners[0]),
        event_brier((market / market.sum()).tolist(), winners[0]),
    )


def settlement_payout(side: Side, count: int, settled_yes: bool) -> Decimal:
    """Dollars paid at settlement: $1 a contract when the side bought wins, else nothing.

    Raises:
        ScoringError: On an unknown side or a negative count.
    """
    if side not in ("yes", "no"):
        raise ScoringError(f"side must be 'yes' or 'no', got {side!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ScoringError(f"count must be a non-negative int, got {count!r}")
    return Decimal(count) if (side == "yes") == bool(settled_yes) else Decimal(0)


def settle_pnl(side: Side, count: int, cost: Decimal, fee: Decimal, settled_yes: bool) -> Decimal:
    """Realised P&L of bought contracts at settlement: ``payout - cost - fee``.

    Args:
        side: ``"yes"`` or ``"no"``: the side bought.
        count: Contracts held (>= 0).
        cost: What the contracts cost in dollars (count x price of the side bought).
        fee: Fees paid on them.
        settled_yes: Whether the market settled YES.

    Raises:
        ScoringError: On an unknown side or a negative count.
    """
    payout = settlement_payout(side, count, settled_yes)
    return payout - to_decimal(cost, "cost") - to_decimal(fee, "fee")
