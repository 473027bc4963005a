"""Kalshi's market data over the REST transport: series, events, markets, order books, public
trades, candlesticks, and the historical archive's markets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from weather_trader.sources.kalshi.market_models import (
    Candlestick,
    Event,
    HistoricalCutoff,
    Market,
    Orderbook,
    Series,
    Trade,
)
from weather_trader.sources.kalshi.rest_transport import KalshiTransport, chunks, items_of

WEATHER_CATEGORY = "Climate and Weather"
TEMPERATURE_SERIES_PREFIXES: tuple[str, ...] = ("KXHIGH", "KXLOWT")
"""Daily high (``KXHIGHNY``, ``KXHIGHTBOS``) and low (``KXLOWTNYC``) temperature series."""
MAX_ORDERBOOK_TICKERS = 100


class MarketReads(KalshiTransport):
    """Reads of Kalshi's market data (public: no credentials needed)."""

    # -- series, events, markets ---------------------------------------------------------------

    def series_list(self, *, category: str | None = None, tags: str | None = None) -> list[Series]:
        """All series, optionally filtered by category and tags (``GET /series``)."""
        params = {"category": category, "tags": tags}
        return self._collect("/series", params, "series", Series)

    def temperature_series(
        self,
        *,
        category: str = WEATHER_CATEGORY,
        tags: str | None = None,
        prefixes: Sequence[str] = TEMPERATURE_SERIES_PREFIXES,
    ) -> list[Series]:
        """The daily temperature series (``KXHIGH*``/``KXLOWT*``) listed in ``category``."""
        wanted = tuple(p.upper() for p in prefixes)
        found = self.series_list(category=category, tags=tags)
        return [s for s in found if s.ticker.upper().startswith(wanted)]

    def get_series(self, series_ticker: str) -> Series:
        """One series with its fee parameters and settlement sources."""
        path = f"/series/{series_ticker}"
        return self._one(path, "series", Series)

    def events(
        self,
        *,
        series_ticker: str | None = None,
        status: str | None = None,
        with_nested_markets: bool = False,
        min_close_ts: int | None = None,
        limit: int = 200,
        max_pages: int | None = None,
    ) -> list[Event]:
        """Events (all pages), optionally with their markets nested (``GET /events``)."""
        params = {
            "series_ticker": series_ticker,
            "status": status,
            "with_nested_markets": with_nested_markets or None,
            "min_close_ts": min_close_ts,
            "limit": limit,
        }
        return self._collect("/events", params, "events", Event, max_pages=max_pages)

    def get_event(self, event_ticker: str, *, with_nested_markets: bool = False) -> Event:
        """One event with its markets (``GET /events/{event_ticker}``)."""
        path = f"/events/{event_ticker}"
        data = self._get(path, {"with_nested_markets": with_nested_markets or None})
        return self._parse_with(Event.from_response, data, "GET", path)

    def markets(
        self,
        *,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        status: str | None = None,
        tickers: Sequence[str] | None = None,
        min_close_ts: int | None = None,
        max_close_ts: int | None = None,
        limit: int = 1000,
        max_pages: int | None = None,
    ) -> list[Market]:
        """Markets (all pages) matching the filters (``GET /markets``)."""
        params = {
            "event_ticker": event_ticker,
            "series_ticker": series_ticker,
            "status": status,
            "tickers": ",".join(tickers) if tickers else None,
            "min_close_ts": min_close_ts,
            "max_close_ts": max_close_ts,
            "limit": limit,
        }
        return self._collect("/markets", params, "markets", Market, max_pages=max_pages)

    def get_market(self, ticker: str) -> Market:
        """One market (``GET /markets/{ticker}``)."""
        return self._one(f"/markets/{ticker}", "market", Market)

    def orderbook(self, ticker: str, depth: int | None = None) -> Orderbook:
        """A market's order book (``GET /markets/{ticker}/orderbook``); depth None = all."""
        path = f"/markets/{ticker}/orderbook"
        data = self._get(path, {"depth": depth})
        if not isinstance(data, Mapping):
            raise self._malformed("GET", path, "expected a JSON object")
        return self._parse(Orderbook, {**data, "ticker": ticker}, "GET", path)

    def orderbooks(self, tickers: Sequence[str]) -> list[Orderbook]:
        """Order books of many markets, 100 per request (``GET /markets/orderbooks``)."""
        path = "/markets/orderbooks"
        books: list[Orderbook] = []
        for chunk in chunks(list(tickers), MAX_ORDERBOOK_TICKERS):
            data = self._get(path, {"tickers": chunk})
            books += [self._parse(Orderbook, x, "GET", path) for x in items_of(data, "orderbooks")]
        return books

    def trades(
        self,
        *,
        ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = 1000,
        max_pages: int | None = None,
    ) -> list[Trade]:
        """Public trades (all pages) (``GET /markets/trades``)."""
        params = {"ticker": ticker, "min_ts": min_ts, "max_ts": max_ts, "limit": limit}
        return self._collect("/markets/trades", params, "trades", Trade, max_pages=max_pages)

    def candlesticks(
        self,
        series_ticker: str,
        ticker: str,
        start_ts: int,
        end_ts: int,
        period_interval: int = 60,
    ) -> list[Candlestick]:
        """A market's candlesticks of 1, 60 or 1440 minutes.

        (``GET /series/{series}/markets/{ticker}/candlesticks``.)
        """
        path = f"/series/{series_ticker}/markets/{ticker}/candlesticks"
        params = {"start_ts": start_ts, "end_ts": end_ts, "period_interval": period_interval}
        data = self._get(path, params)
        return [self._parse(Candlestick, x, "GET", path) for x in items_of(data, "candlesticks")]

    # -- historical archive --------------------------------------------------------------------

    def historical_cutoff(self) -> HistoricalCutoff:
        """Boundaries between live and archived data (``GET /historical/cutoff``)."""
        path = "/historical/cutoff"
        return self._parse(HistoricalCutoff, self._get(path), "GET", path)

    def historical_markets(
        self,
        *,
        tickers: Sequence[str] | None = None,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        limit: int = 1000,
        max_pages: int | None = None,
    ) -> list[Market]:
        """Archived (settled before the cutoff) markets (``GET /historical/markets``)."""
        params = {
            "tickers": ",".join(tickers) if tickers else None,
            "event_ticker": event_ticker,
            "series_ticker": series_ticker,
            "limit": limit,
        }
        path = "/historical/markets"
        return self._collect(path, params, "markets", Market, max_pages=max_pages)
