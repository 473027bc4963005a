"""Kalshi's markets behind the :class:`~weather_trader.core.ports.MarketData` port.

The real exchange only knows the present, so a read ``as_of`` the past is refused (replays read
the tick archive the feed records). The local exchange of the offline world is wound to each
read's instant by :mod:`weather_trader.sim.exchange.clocked`, which hands this adapter its clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache

from weather_trader.core.cities import Kind, event_ticker, get_city
from weather_trader.core.records import MarketSnapshot
from weather_trader.sources.kalshi.errors import KalshiError, KalshiNotFound
from weather_trader.sources.kalshi.market_models import Market, Orderbook
from weather_trader.sources.kalshi.rest import KalshiClient
from weather_trader.sources.kalshi.wire import ONE

AS_OF_TOLERANCE = timedelta(minutes=15)
"""How far ``as_of`` may lie from now when reading the real exchange (pipeline latency)."""


class MarketDataUnavailable(KalshiError):
    """The exchange cannot answer this question (a past instant on the real exchange)."""


class KalshiMarketData:
    """:class:`~weather_trader.core.ports.MarketData` over :class:`KalshiClient`.

    Args:
        client: The REST client (real Kalshi, its demo, or the local exchange).
        now: The exchange's clock, for the as-of check (wall time for a real exchange).
    """

    def __init__(
        self,
        client: KalshiClient,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.now = now
        self._fee_multiplier = cache(self._series_fee_multiplier)

    def event_markets(
        self, city: str, day: date, kind: Kind, as_of: datetime
    ) -> list[MarketSnapshot]:
        """All markets of the city's ``kind`` event for ``day`` with their books at ``as_of``.

        Returns:
            One snapshot per market, coldest bracket first; empty when the event is not listed.

        Raises:
            MarketDataUnavailable: If ``as_of`` is not the exchange's now.
            KalshiError: If the exchange fails or answers with something unreadable.
        """
        if as_of.tzinfo is None:
            raise ValueError(f"as_of must be timezone-aware, got {as_of!r}")
        if abs(self.now() - as_of) > AS_OF_TOLERANCE:
            raise MarketDataUnavailable(
                f"Kalshi serves current books only; {city} {day} was asked as of "
                f"{as_of.isoformat()} (replays read the feed's recorded books)"
            )
        series = get_city(city).series(kind)
        try:
            event = self.client.get_event(event_ticker(series, day), with_nested_markets=True)
        except KalshiNotFound:
            return []
        markets = list(event.markets or ())
        books = {b.ticker: b for b in self.client.orderbooks([m.ticker for m in markets])}
        fee = self._fee_multiplier(series)
        snapshots = [
            to_snapshot(m, books[m.ticker], city, day, kind, as_of, fee)
            for m in markets
            if m.ticker in books
        ]
        return sorted(snapshots, key=lambda s: s.strike_order)

    def _series_fee_multiplier(self, series: str) -> Decimal:
        return self.client.get_series(series).fees.fee_multiplier


def to_snapshot(
    market: Market,
    orderbook: Orderbook,
    city: str,
    climate_date: date,
    kind: Kind,
    captured_at: datetime,
    fee_multiplier: Decimal = ONE,
) -> MarketSnapshot:
    """A :class:`~weather_trader.core.records.MarketSnapshot` of a market and its book.

    The bracket comes from :attr:`Market.bracket` (so markets without strike fields work too).

    Args:
        market: The market.
        orderbook: Its order book (bids on both sides); must be the same ticker when named.
        city: Our city code (``NYC``).
        climate_date: The climate day the market settles on.
        kind: ``high`` or ``low``.
        captured_at: When the book was read (timezone-aware).
        fee_multiplier: The series' fee multiplier.

    Raises:
        ValueError: If the order book belongs to another market.
        BracketError: If the market's bracket cannot be determined.
        pydantic.ValidationError: If ``captured_at`` is naive or a field is invalid.
    """
    if orderbook.ticker and orderbook.ticker != market.ticker:
        raise ValueError(f"order book of {orderbook.ticker} given for market {market.ticker}")
    bracket = market.bracket
    return MarketSnapshot(
        ticker=market.ticker,
        event_ticker=market.event_ticker,
        series_ticker=market.series_ticker,
        city=city,
        climate_date=climate_date,
        kind=kind,
        strike_type=bracket.strike_type,
        floor_strike=bracket.floor_strike,
        cap_strike=bracket.cap_strike,
        title=market.yes_sub_title or market.title,
        status=market.status,
        captured_at=captured_at,
        close_time=market.close_time,
        yes_bids=orderbook.yes_bids,
        no_bids=orderbook.no_bids,
        fee_multiplier=fee_multiplier,
    )
