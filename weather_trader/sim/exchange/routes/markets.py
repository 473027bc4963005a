"""Public market data routes: series, events, markets, trades and order books.

No credentials are needed, but credentials sent must verify. Every request first brings the
exchange up to its clock.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request

from weather_trader.sim.exchange.errors import BadRequestError, NotFoundError
from weather_trader.sim.exchange.render import (
    MARKET_STATUS,
    event_json,
    market_json,
    orderbook_json,
    series_json,
    trade_json,
)
from weather_trader.sim.exchange.routes.common import PublicAccess, in_range
from weather_trader.sim.exchange.wire import keyset_page, page

if TYPE_CHECKING:
    from weather_trader.sim.exchange.app import ExchangeState

_STATUS_FILTER = tuple(MARKET_STATUS)


def markets_router(state: ExchangeState, public: PublicAccess) -> APIRouter:
    """``/series``, ``/events``, ``/markets`` and their order books and trades.

    Args:
        state: The exchange.
        public: Admits a public request (checks credentials when sent, syncs the clock).
    """
    router = APIRouter()
    catalog, engine = state.catalog, state.engine

    @router.get("/series")
    async def list_series(
        request: Request, include_volume: bool = False, category: str | None = None
    ) -> dict:
        public(request)
        items = [] if category not in (None, "", "Climate and Weather") else catalog.series()
        return {
            "series": [
                series_json(catalog, t, engine if include_volume else None) for t, _, _ in items
            ]
        }

    @router.get("/series/{series_ticker}")
    async def get_series(
        request: Request, series_ticker: str, include_volume: bool = False
    ) -> dict:
        public(request)
        volume = engine if include_volume else None
        return {"series": series_json(catalog, series_ticker, volume)}

    @router.get("/events")
    async def list_events(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=200)] = 200,
        cursor: str | None = None,
        with_nested_markets: bool = False,
        status: str | None = None,
        series_ticker: str | None = None,
        min_close_ts: int | None = None,
    ) -> dict:
        public(request)
        now = state.clock.now()
        _check_status(status)
        events = [
            ev
            for ev in catalog.listed_events(now)
            if (not series_ticker or ev.series == series_ticker)
            and (not status or catalog.status(ev, now) == status)
            and (min_close_ts is None or catalog.close_time(ev).timestamp() > min_close_ts)
        ]
        chunk, next_cursor = page(events, cursor, limit)
        return {
            "events": [
                event_json(catalog, engine, ev, now, with_markets=with_nested_markets)
                for ev in chunk
            ],
            "cursor": next_cursor,
        }

    @router.get("/events/{event_ticker}")
    async def get_event(
        request: Request, event_ticker: str, with_nested_markets: bool = False
    ) -> dict:
        public(request)
        now = state.clock.now()
        ev = catalog.event(event_ticker, now)
        markets = [market_json(catalog, engine, ref, now) for ref in catalog.markets_of(ev)]
        body = event_json(catalog, engine, ev, now)
        if with_nested_markets:
            body["markets"] = markets
        return {"event": body, "markets": markets}

    @router.get("/markets")
    async def list_markets(
        request: Request,
        limit: Annotated[int, Query(ge=0, le=1000)] = 100,
        cursor: str | None = None,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        status: str | None = None,
        tickers: str | None = None,
        min_close_ts: int | None = None,
        max_close_ts: int | None = None,
    ) -> dict:
        public(request)
        now = state.clock.now()
        _check_status(status)
        if tickers:
            refs = []
            for t in tickers.split(","):
                with contextlib.suppress(NotFoundError):
                    refs.append(catalog.market_ref(t.strip(), now))
        elif event_ticker:
            refs = catalog.markets_of(catalog.event(event_ticker, now))
        else:
            refs = [r for ev in catalog.listed_events(now) for r in catalog.markets_of(ev)]
        refs = [
            r
            for r in refs
            if (not series_ticker or r.event.series == series_ticker)
            and (not event_ticker or r.event.event_ticker == event_ticker)
            and (not status or catalog.status(r.event, now) == status)
            and (min_close_ts is None or catalog.close_time(r.event).timestamp() > min_close_ts)
            and (max_close_ts is None or catalog.close_time(r.event).timestamp() < max_close_ts)
        ]
        chunk, next_cursor = page(refs, cursor, limit or 100)
        return {
            "markets": [market_json(catalog, engine, r, now) for r in chunk],
            "cursor": next_cursor,
        }

    @router.get("/markets/trades")
    async def list_trades(
        request: Request,
        limit: Annotated[int, Query(ge=0, le=1000)] = 100,
        cursor: str | None = None,
        ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
    ) -> dict:
        public(request)
        trades = [
            t
            for t in engine.trades()
            if (not ticker or t.ticker == ticker) and in_range(t.created_time, min_ts, max_ts)
        ]
        chunk, next_cursor = keyset_page(trades, cursor, limit or 100, lambda t: t.number)
        return {"trades": [trade_json(t) for t in chunk], "cursor": next_cursor}

    @router.get("/markets/orderbooks")
    async def get_orderbooks(
        request: Request, tickers: Annotated[list[str], Query(min_length=1)]
    ) -> dict:
        public(request)
        names = [t.strip() for item in tickers for t in item.split(",") if t.strip()]
        if not 1 <= len(names) <= 100:
            raise BadRequestError("tickers must list 1 to 100 markets", code="invalid_parameters")
        return {
            "orderbooks": [
                {"ticker": t, "orderbook_fp": orderbook_json(engine.book(t))} for t in names
            ]
        }

    @router.get("/markets/{ticker}")
    async def get_market(request: Request, ticker: str) -> dict:
        public(request)
        now = state.clock.now()
        return {"market": market_json(catalog, engine, catalog.market_ref(ticker, now), now)}

    @router.get("/markets/{ticker}/orderbook")
    async def get_orderbook(
        request: Request, ticker: str, depth: Annotated[int, Query(ge=0, le=100)] = 0
    ) -> dict:
        public(request)
        return {"orderbook_fp": orderbook_json(engine.book(ticker), depth)}

    return router


def _check_status(status: str | None) -> None:
    if status and status not in _STATUS_FILTER:
        raise BadRequestError(
            f"status must be one of {list(_STATUS_FILTER)}", code="invalid_parameters"
        )
