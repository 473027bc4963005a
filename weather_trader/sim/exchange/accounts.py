"""Balances and positions of the exchange's users: opening accounts, moving cash, what a fill
costs and how it changes a position.

Positions are netted per market: buying NO while long YES closes YES contracts (and the other
way round), realizing the difference against the cost basis. Taker fees per series
(:mod:`weather_trader.core.fees`, rounded up per fill); weather series charge no maker fee.
Money is integer cents throughout.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from weather_trader.sim.exchange.catalog import Catalog, MarketRef
from weather_trader.sim.exchange.clock import ExchangeClock
from weather_trader.sim.exchange.events import Journal
from weather_trader.sim.exchange.models import Account, ExchangePosition
from weather_trader.sim.exchange.wire import cents_of

DEFAULT_BALANCE_CENTS = 100_000


class Ledger:
    """Every account's balance and every position, and the cash rules of a fill.

    Args:
        catalog: Listed markets (for their series' fees).
        clock: The exchange clock.
        journal: The exchange's lock and pending writes.
        starting_balance_cents: Balance of a new account.

    Attributes:
        accounts: Accounts by user id.
        positions: Positions by (user id, ticker).
        by_ticker: The same positions by ticker (settlement and open interest).
    """

    def __init__(
        self,
        catalog: Catalog,
        clock: ExchangeClock,
        journal: Journal,
        starting_balance_cents: int = DEFAULT_BALANCE_CENTS,
    ) -> None:
        self.catalog = catalog
        self.clock = clock
        self.journal = journal
        self.starting_balance_cents = starting_balance_cents
        self.accounts: dict[str, Account] = {}
        self.positions: dict[tuple[str, str], ExchangePosition] = {}
        self.by_ticker: dict[str, list[ExchangePosition]] = {}

    def load(self, data: dict[str, list[dict[str, Any]]]) -> None:
        """Replace accounts and positions with the store's records."""
        self.accounts, self.positions, self.by_ticker = {}, {}, {}
        for row in data.get("account", []):
            acct = Account.from_dict(row)
            self.accounts[acct.user_id] = acct
        for row in data.get("position", []):
            pos = ExchangePosition.from_dict(row)
            self.positions[(pos.user_id, pos.ticker)] = pos
            self.by_ticker.setdefault(pos.ticker, []).append(pos)

    # -- accounts -----------------------------------------------------------------------------

    def account(self, user_id: str) -> Account:
        """The account ``user_id`` (opened with the starting balance on first use)."""
        with self.journal.op():
            acct = self.accounts.get(user_id)
            if acct is None:
                acct = Account(user_id, self.starting_balance_cents, self.clock.now())
                self.accounts[user_id] = acct
                self.journal.save("account", user_id, acct)
            return acct

    def credit(self, acct: Account, cents: int, now: datetime) -> None:
        """Add ``cents`` (negative: take them) to the account's balance."""
        acct.balance += cents
        acct.updated = now
        self.journal.save("account", acct.user_id, acct)

    # -- positions ----------------------------------------------------------------------------

    def position(self, user_id: str, ticker: str) -> ExchangePosition | None:
        """The user's position record in ``ticker``, or None."""
        return self.positions.get((user_id, ticker))

    def open_position(self, user_id: str, ref: MarketRef, now: datetime) -> ExchangePosition:
        """The user's position record in ``ref``, created flat if there is none."""
        key = (user_id, ref.ticker)
        pos = self.positions.get(key)
        if pos is None:
            pos = ExchangePosition(user_id, ref.ticker, ref.event.event_ticker, now)
            self.positions[key] = pos
            self.by_ticker.setdefault(ref.ticker, []).append(pos)
        return pos

    def save_position(self, pos: ExchangePosition) -> None:
        """Write the position when the operation ends."""
        self.journal.save("position", f"{pos.user_id}|{pos.ticker}", pos)

    def open_interest(self, ticker: str) -> int:
        """Contracts held by users in a market (the crowd holds the other side)."""
        return sum(abs(p.position) for p in self.by_ticker.get(ticker, []))

    def user_positions(self, user_id: str) -> list[ExchangePosition]:
        """The user's positions (copies), by ticker."""
        with self.journal.lock:
            mine = [dataclasses.replace(p) for p in self.positions.values() if p.user_id == user_id]
        return sorted(mine, key=lambda p: p.ticker)

    # -- cash ---------------------------------------------------------------------------------

    def fee(self, count: int, price: int, is_taker: bool) -> int:
        """The fee in cents of ``count`` contracts at YES ``price`` (rounded up)."""
        fees = self.catalog.fees
        p = Decimal(price) / 100
        fee = fees.taker(count, p) if is_taker else fees.maker(count, p)
        return cents_of(fee)

    def cash_needed(
        self, user_id: str, ticker: str, side: str, price: int, qty: int, is_taker: bool
    ) -> int:
        """Cash a fill of ``qty`` at YES ``price`` costs the user (negative: it pays out)."""
        pos = self.positions.get((user_id, ticker))
        held = 0 if pos is None else (pos.position if side == "bid" else -pos.position)
        q = price if side == "bid" else 100 - price
        closing = min(qty, -held) if held < 0 else 0
        return (qty - closing) * q - closing * (100 - q) + self.fee(qty, price, is_taker)

    def affordable(
        self, user_id: str, ticker: str, side: str, price: int, qty: int, is_taker: bool
    ) -> int:
        """The most of ``qty`` contracts the user's balance pays for."""
        balance = self.accounts[user_id].balance
        if self.cash_needed(user_id, ticker, side, price, qty, is_taker) <= balance:
            return qty
        lo, hi = 0, qty
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.cash_needed(user_id, ticker, side, price, mid, is_taker) <= balance:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def book_fill(
        self,
        user_id: str,
        ref: MarketRef,
        side: str,
        price: int,
        qty: int,
        is_taker: bool,
        now: datetime,
    ) -> tuple[ExchangePosition, int]:
        """Move the cash and the position of one fill; returns the position and the fee.

        Args:
            user_id: Whose order filled.
            ref: The market.
            side: The order's book side (``bid`` buys YES, ``ask`` buys NO).
            price: YES price in cents.
            qty: Contracts filled.
            is_taker: Whether the order took liquidity (fees differ).
            now: When it filled.
        """
        acct = self.accounts[user_id]
        pos = self.open_position(user_id, ref, now)
        q = price if side == "bid" else 100 - price
        fee = self.fee(qty, price, is_taker)
        held = pos.position if side == "bid" else -pos.position
        cash = 0
        if held < 0:  # the fill first closes contracts of the other side
            closing = min(qty, -held)
            removed = pos.cost if closing == -held else pos.cost * closing // -held
            proceeds = closing * (100 - q)
            pos.realized += proceeds - removed
            pos.cost -= removed
            cash += proceeds
            opening = qty - closing
        else:
            opening = qty
        pos.cost += opening * q
        cash -= opening * q + fee
        pos.position += qty if side == "bid" else -qty
        pos.fees += fee
        pos.traded += qty * q
        pos.volume += qty
        pos.updated = now
        self.credit(acct, cash, now)
        return pos, fee
