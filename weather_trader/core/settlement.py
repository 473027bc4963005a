"""Settling a held position from the climate report's value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from weather_trader.core.brackets import Bracket
from weather_trader.core.cities import Kind
from weather_trader.core.scoring import settle_pnl, settlement_payout
from weather_trader.core.trading import Side


@dataclass(frozen=True)
class SettledPosition:
    """A position's outcome: what it paid and its P&L (payout - cost - fees)."""

    kind: Kind
    ticker: str
    outcome_side: Side
    settled_value: int
    settled_yes: bool
    count: int
    cost: Decimal
    fees: Decimal
    payout: Decimal
    pnl: Decimal
    settled_at: datetime


class HeldPosition(Protocol):
    """Contracts held of one outcome of one market (the store's positions are such)."""

    kind: Kind
    ticker: str
    outcome_side: Side
    count: int
    cost: Decimal
    fees: Decimal


def settle_position(
    position: HeldPosition, bracket: Bracket, settled_value: int, settled_at: datetime
) -> SettledPosition:
    """Settle ``position`` on a market whose bracket is ``bracket``.

    Args:
        position: What is held: its cost basis excludes fees, ``fees`` is every fee paid on it.
        bracket: The market's bracket.
        settled_value: The reported whole-degree value.
        settled_at: When the final report was issued.
    """
    settled_yes = bracket.settles_yes(settled_value)
    p = position
    return SettledPosition(
        kind=p.kind,
        ticker=p.ticker,
        outcome_side=p.outcome_side,
        settled_value=settled_value,
        settled_yes=settled_yes,
        count=p.count,
        cost=p.cost,
        fees=p.fees,
        payout=settlement_payout(p.outcome_side, p.count, settled_yes),
        pnl=settle_pnl(p.outcome_side, p.count, p.cost, p.fees, settled_yes),
        settled_at=settled_at,
    )
