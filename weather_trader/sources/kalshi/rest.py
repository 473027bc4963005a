"""The Kalshi REST client callers use (sync, ``/trade-api/v2``, 2026 edition).

:class:`KalshiClient` is composed of the parts of the API by job: market data
(:mod:`~weather_trader.sources.kalshi.rest_markets`), our orders and account
(:mod:`~weather_trader.sources.kalshi.rest_orders`), both over one signed, rate-limited,
retrying transport (:mod:`~weather_trader.sources.kalshi.rest_transport`). The hosts are in
:mod:`~weather_trader.sources.kalshi.urls`.
"""

from __future__ import annotations

from weather_trader.sources.kalshi.rest_markets import MarketReads
from weather_trader.sources.kalshi.rest_orders import OrdersAndPortfolio


class KalshiClient(MarketReads, OrdersAndPortfolio):
    """Kalshi REST client (sync): market reads, order writes with recovery, portfolio reads.

    The constructor's arguments (host, credentials, tier, timeouts, retries, injectable clocks)
    are those of :class:`~weather_trader.sources.kalshi.rest_transport.KalshiTransport`.

    Example::

        client = KalshiClient(PROD_BASE_URL, KalshiCredentials.from_file(key_id, pem_path))
        event = client.get_event("KXHIGHNY-26JUL12", with_nested_markets=True)
        ack = client.create_order(order)
    """
