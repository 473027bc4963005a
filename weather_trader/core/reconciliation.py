"""Reconciling the positions we stored with the exchange's record of them.

Positions are compared as net YES contracts per market (YES held minus NO held), the way
Kalshi reports them. A market whose counts disagree must not be traded until someone looks:
our fills (or theirs) are missing or doubled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PositionMismatch:
    """A market whose stored net YES count differs from the exchange's."""

    ticker: str
    ours: int
    exchange: int


def net_yes(holdings: Iterable[tuple[str, Literal["yes", "no"], int]]) -> dict[str, int]:
    """Net YES contracts per ticker from ``(ticker, outcome_side, count)`` holdings."""
    net: dict[str, int] = {}
    for ticker, outcome_side, count in holdings:
        net[ticker] = net.get(ticker, 0) + (count if outcome_side == "yes" else -count)
    return net


def position_mismatches(
    ours: Mapping[str, int], exchange: Mapping[str, int], tickers: Iterable[str]
) -> list[PositionMismatch]:
    """The ``tickers`` whose net YES count differs between ``ours`` and ``exchange``.

    Args:
        ours: Our stored net YES count per ticker (a missing ticker holds 0).
        exchange: The exchange's net YES count per ticker (a missing ticker holds 0).
        tickers: The markets to compare.

    Returns:
        One mismatch per differing ticker, sorted by ticker.
    """
    return [
        PositionMismatch(t, ours.get(t, 0), exchange.get(t, 0))
        for t in sorted(set(tickers))
        if ours.get(t, 0) != exchange.get(t, 0)
    ]
