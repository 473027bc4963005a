"""Ports over the local exchange, wound to each call's instant first (sim mode only).

A replay reads the market as it was and trades at the instant it decided: each read or order
first moves the exchange's clock to ``as_of``. The real Kalshi adapters know nothing of this; in
sim mode the resources wrap them here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from weather_trader.core.cities import Kind
from weather_trader.core.ports import Broker, MarketData
from weather_trader.core.records import MarketSnapshot, OrderRequest, OrderResult


class ExchangeTime:
    """The local exchange's clock as our side last set it.

    Args:
        wind: Moves the exchange's clock (:meth:`SimExchangeControl.sync_clock`).
    """

    def __init__(self, wind: Callable[[datetime], None]) -> None:
        self._wind = wind
        self._now: datetime | None = None

    def wind(self, as_of: datetime) -> None:
        """Make ``as_of`` the exchange's now."""
        self._wind(as_of)
        self._now = as_of

    def now(self) -> datetime:
        """The instant last wound to (wall time before the first wind)."""
        return self._now or datetime.now(UTC)


class ClockedMarketData:
    """:class:`~weather_trader.core.ports.MarketData` that winds the exchange before reading.

    Build the inner adapter with ``now=time.now`` so it sees the exchange's instant as now.
    """

    def __init__(self, inner: MarketData, time: ExchangeTime) -> None:
        self.inner = inner
        self.time = time

    def event_markets(
        self, city: str, day: date, kind: Kind, as_of: datetime
    ) -> list[MarketSnapshot]:
        """The inner adapter's answer with the exchange wound to ``as_of``."""
        self.time.wind(as_of)
        return self.inner.event_markets(city, day, kind, as_of)


class ClockedBroker:
    """:class:`~weather_trader.core.ports.Broker` that winds the exchange before each order."""

    def __init__(self, inner: Broker, time: ExchangeTime) -> None:
        self.inner = inner
        self.time = time

    def place(self, order: OrderRequest, book: MarketSnapshot, as_of: datetime) -> OrderResult:
        """The inner broker's result with the exchange wound to ``as_of``."""
        self.time.wind(as_of)
        return self.inner.place(order, book, as_of)
