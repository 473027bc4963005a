"""Kalshi's WebSocket API (``/trade-api/ws/v2``) over the local exchange.

Commands ``subscribe``, ``unsubscribe``, ``update_subscription`` (``add_markets``,
``delete_markets``, ``get_snapshot``) and ``list_subscriptions``; replies ``subscribed``,
``unsubscribed``, ``ok`` and ``error`` (``{"code": N, "msg": ...}`` with Kalshi's codes).
Channels: ``orderbook_delta`` (an ``orderbook_snapshot`` per market, then ``orderbook_delta``
messages whose ``seq`` grows by one per subscription), ``ticker``, ``trade``, ``fill``,
``user_orders``, ``market_positions`` and ``market_lifecycle_v2``, with the message fields of
docs.kalshi.com/websockets. Book changes (crowd re-quotes at each new minute, fills, resting
orders coming and going) become deltas. Heartbeat pings come from the server (uvicorn's
``ws_ping_interval``). :meth:`WsHub.force_seq_gap` is a test hook that skips one ``seq``.

All hub state lives on the event loop's thread; engine events raised on other threads are
handed over with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from weather_trader.sim.exchange.book import Book
from weather_trader.sim.exchange.catalog import Catalog
from weather_trader.sim.exchange.engine import ExchangeEngine
from weather_trader.sim.exchange.errors import AuthError, NotFoundError
from weather_trader.sim.exchange.events import (
    BookChanged,
    ExchangeEvent,
    FillExecuted,
    Lifecycle,
    MinuteTick,
    OrderUpdated,
    PositionChanged,
    TradeExecuted,
)
from weather_trader.sim.exchange.render import (
    fill_msg,
    lifecycle_msg,
    market_id,
    market_position_msg,
    ticker_msg,
    trade_msg,
    user_order_msg,
)
from weather_trader.sim.exchange.wire import count_fp, dollars, iso, ts_ms

CHANNELS = (
    "orderbook_delta",
    "ticker",
    "trade",
    "fill",
    "user_orders",
    "market_positions",
    "market_lifecycle_v2",
)
ERRORS = {
    1: "Unable to process message",
    2: "Params required",
    3: "Channels required",
    4: "Subscription IDs required",
    5: "Unknown command",
    7: "Unknown subscription ID",
    8: "Unknown channel name",
    11: "Invalid parameter",
    12: "Exactly one subscription ID is required",
    13: "Unsupported action",
    14: "Market Ticker required",
    15: "Action required",
    16: "Market not found",
}
UPDATE_ACTIONS = ("add_markets", "delete_markets", "get_snapshot")


class CommandError(Exception):
    """A command the server answers with an ``error`` message."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(ERRORS.get(code, "Error"))
        self.code = code
        self.detail = detail


class Subscription:
    """One ``sid``: a channel and its markets (None = all markets)."""

    def __init__(self, sid: int, channel: str, tickers: set[str] | None) -> None:
        self.sid = sid
        self.channel = channel
        self.tickers = tickers
        self.seq = 0
        self.skip_seq = False

    def wants(self, ticker: str) -> bool:
        """Whether messages about ``ticker`` go to this subscription."""
        return self.tickers is None or ticker in self.tickers

    def next_seq(self) -> int:
        """The next sequence number (one more, or two after a forced gap)."""
        self.seq += 2 if self.skip_seq else 1
        self.skip_seq = False
        return self.seq


class Connection:
    """One authenticated WebSocket client and its subscriptions."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.subs: dict[int, Subscription] = {}
        self._sid = 0

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message for the writer task."""
        self.queue.put_nowait(message)

    def new_sid(self) -> int:
        """A fresh subscription id (1, 2, ... per connection)."""
        self._sid += 1
        return self._sid

    def channel_subs(self, channel: str, ticker: str | None = None) -> list[Subscription]:
        """This connection's subscriptions to ``channel`` (that want ``ticker``)."""
        return [
            s
            for s in self.subs.values()
            if s.channel == channel and (ticker is None or s.wants(ticker))
        ]


class WsHub:
    """Fans engine events out to WebSocket subscriptions.

    Args:
        engine: The exchange engine (the hub registers itself as a listener).
        catalog: Listed markets.
        sync: Brings the engine up to the clock (called before each command).
    """

    def __init__(self, engine: ExchangeEngine, catalog: Catalog, sync: Callable[[], None]) -> None:
        self.engine = engine
        self.catalog = catalog
        self.sync = sync
        self.connections: set[Connection] = set()
        self._books: dict[str, Book] = {}
        self._tickers: dict[str, tuple[Any, ...]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        engine.listeners.append(self.on_event)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach the hub to the server's event loop (call from that loop)."""
        self._loop = loop
        self._thread = threading.get_ident()

    def force_seq_gap(self) -> None:
        """Test hook: the next orderbook message of every subscription skips one ``seq``."""
        for conn in list(self.connections):
            for sub in conn.channel_subs("orderbook_delta"):
                sub.skip_seq = True

    # -- engine events ------------------------------------------------------------------------

    def on_event(self, event: ExchangeEvent) -> None:
        """Engine listener: handle on the loop thread."""
        if not self.connections or self._loop is None:
            return
        if threading.get_ident() == self._thread:
            self._handle(event)
        else:
            self._loop.call_soon_threadsafe(self._handle, event)

    def _handle(self, event: ExchangeEvent) -> None:
        if isinstance(event, BookChanged):
            self._refresh(event.tickers, event.user_id, event.client_order_id)
        elif isinstance(event, MinuteTick):
            self._refresh(tuple(self._books), None, None)
            self._refresh_all_tickers()
        elif isinstance(event, OrderUpdated):
            self._private("user_orders", "user_order", event.order.user_id, event.order.ticker,
                          user_order_msg(event.order))  # fmt: skip
        elif isinstance(event, FillExecuted):
            self._private("fill", "fill", event.fill.user_id, event.fill.ticker,
                          fill_msg(event.fill))  # fmt: skip
        elif isinstance(event, PositionChanged):
            pos = event.position
            self._private("market_positions", "market_position", pos.user_id, pos.ticker,
                          market_position_msg(pos))  # fmt: skip
        elif isinstance(event, TradeExecuted):
            msg = trade_msg(event.trade)
            for conn in list(self.connections):
                for sub in conn.channel_subs("trade", event.trade.ticker):
                    conn.send({"type": "trade", "sid": sub.sid, "msg": msg})
            self._ticker_updates((event.trade.ticker,))
        elif isinstance(event, Lifecycle):
            msg = lifecycle_msg(self.catalog, event)
            for conn in list(self.connections):
                for sub in conn.channel_subs("market_lifecycle_v2"):
                    conn.send({"type": "market_lifecycle_v2", "sid": sub.sid, "msg": msg})

    def _private(self, channel: str, kind: str, user_id: str, ticker: str, msg: dict) -> None:
        for conn in list(self.connections):
            if conn.user_id != user_id:
                continue
            for sub in conn.channel_subs(channel, ticker):
                conn.send({"type": kind, "sid": sub.sid, "msg": msg})

    # -- books --------------------------------------------------------------------------------

    def _book(self, ticker: str) -> Book:
        try:
            return self.engine.book(ticker)
        except NotFoundError:
            return Book({}, {})

    def _refresh(self, tickers: tuple[str, ...], user_id: str | None, coid: str | None) -> None:
        """Publish the changes of ``tickers``' books as deltas to their subscribers."""
        for ticker in tickers:
            if ticker in self._books:
                self._publish(ticker, user_id, coid)
        self._ticker_updates(tickers)

    def _publish(self, ticker: str, user_id: str | None = None, coid: str | None = None) -> None:
        old = self._books.get(ticker, Book({}, {}))
        new = self._book(ticker)
        self._books[ticker] = new
        deltas = []
        for side, before, after in (("yes", old.yes, new.yes), ("no", old.no, new.no)):
            for price in sorted(set(before) | set(after)):
                change = after.get(price, 0) - before.get(price, 0)
                if change:
                    deltas.append((side, price, change))
        if not deltas:
            return
        now = self.engine.clock.now()
        for conn in list(self.connections):
            for sub in conn.channel_subs("orderbook_delta", ticker):
                for side, price, change in deltas:
                    msg: dict[str, Any] = {
                        "market_ticker": ticker,
                        "market_id": market_id(ticker),
                        "price_dollars": dollars(price),
                        "delta_fp": count_fp(change),
                        "side": side,
                        "ts": iso(now),
                        "ts_ms": ts_ms(now),
                    }
                    if coid and conn.user_id == user_id:
                        msg["client_order_id"] = coid
                    conn.send(
                        {"type": "orderbook_delta", "sid": sub.sid, "seq": sub.next_seq(),
                         "msg": msg}
                    )  # fmt: skip

    def _snapshot(self, conn: Connection, sub: Subscription, ticker: str) -> None:
        book = self._books[ticker]
        msg: dict[str, Any] = {"market_ticker": ticker, "market_id": market_id(ticker)}
        # Docs: the key is absent when that side has no bids.
        if book.yes:
            msg["yes_dollars_fp"] = [[dollars(p), count_fp(book.yes[p])] for p in sorted(book.yes)]
        if book.no:
            msg["no_dollars_fp"] = [[dollars(p), count_fp(book.no[p])] for p in sorted(book.no)]
        conn.send({"type": "orderbook_snapshot", "sid": sub.sid, "seq": sub.next_seq(), "msg": msg})

    def _ticker_updates(self, tickers: tuple[str, ...], *, force: Connection | None = None) -> None:
        subscribers = [
            (conn, sub) for conn in list(self.connections) for sub in conn.channel_subs("ticker")
        ]
        if not subscribers:
            return
        now = self.engine.clock.now()
        for ticker in tickers:
            wanting = [(c, s) for c, s in subscribers if s.wants(ticker)]
            if not wanting:
                continue
            book = self._books.get(ticker) or self._book(ticker)
            msg = ticker_msg(self.engine, ticker, book, now)
            key = tuple(v for k, v in msg.items() if k not in ("ts", "ts_ms", "time"))
            changed = self._tickers.get(ticker) != key
            self._tickers[ticker] = key
            for conn, sub in wanting:
                if changed or conn is force:
                    conn.send({"type": "ticker", "sid": sub.sid, "msg": msg})

    def _refresh_all_tickers(self) -> None:
        subs = [s for c in self.connections for s in c.channel_subs("ticker")]
        if not subs:
            return
        if any(s.tickers is None for s in subs):
            tickers = tuple(self._open_tickers())
        else:
            tickers = tuple(sorted({t for s in subs for t in (s.tickers or ())}))
        self._ticker_updates(tickers)

    def _open_tickers(self) -> list[str]:
        now = self.engine.clock.now()
        return [
            ref.ticker
            for ev in self.catalog.listed_events(now)
            if self.catalog.status(ev, now) == "open"
            for ref in self.catalog.markets_of(ev)
        ]

    def drop_unwatched(self) -> None:
        """Forget published books nobody subscribes to any more."""
        watched = {
            t
            for conn in self.connections
            for sub in conn.channel_subs("orderbook_delta")
            for t in (sub.tickers or ())
        }
        for ticker in list(self._books):
            if ticker not in watched:
                del self._books[ticker]

    # -- commands -----------------------------------------------------------------------------

    def command(self, conn: Connection, data: Any) -> None:
        """Run one client command, answering on ``conn``."""
        cmd_id = data.get("id") if isinstance(data, dict) else None
        try:
            if not isinstance(data, dict):
                raise CommandError(1)
            cmd = data.get("cmd")
            params = data.get("params")
            if cmd == "list_subscriptions":
                subs = [{"channel": s.channel, "sid": s.sid} for s in conn.subs.values()]
                conn.send({"id": cmd_id, "type": "ok", "msg": subs})
                return
            if cmd not in ("subscribe", "unsubscribe", "update_subscription"):
                raise CommandError(5, f"unknown command {cmd!r}")
            if not isinstance(params, dict):
                raise CommandError(2)
            self.sync()
            if cmd == "subscribe":
                self._subscribe(conn, cmd_id, params)
            elif cmd == "unsubscribe":
                self._unsubscribe(conn, cmd_id, params)
            else:
                self._update(conn, cmd_id, params)
        except CommandError as exc:
            msg = ERRORS.get(exc.code, "Error") + (f": {exc.detail}" if exc.detail else "")
            conn.send({"id": cmd_id, "type": "error", "msg": {"code": exc.code, "msg": msg}})

    def _market_list(self, params: dict, *, required: bool) -> list[str] | None:
        tickers: list[str] = []
        if "market_ticker" in params:
            if not isinstance(params["market_ticker"], str):
                raise CommandError(11, "market_ticker must be a string")
            tickers.append(params["market_ticker"])
        if "market_tickers" in params:
            value = params["market_tickers"]
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise CommandError(11, "market_tickers must be a list of strings")
            tickers.extend(value)
        if not tickers:
            if required:
                raise CommandError(14)
            return None
        now = self.engine.clock.now()
        for ticker in tickers:
            try:
                self.catalog.market_ref(ticker, now)
            except NotFoundError:
                raise CommandError(16, ticker) from None
        return list(dict.fromkeys(tickers))

    def _subscribe(self, conn: Connection, cmd_id: Any, params: dict) -> None:
        channels = params.get("channels")
        if not isinstance(channels, list) or not channels:
            raise CommandError(3)
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            raise CommandError(8, ", ".join(map(str, unknown)))
        tickers = self._market_list(params, required="orderbook_delta" in channels)
        for channel in dict.fromkeys(channels):
            sid = conn.new_sid()
            chosen = None if tickers is None or channel == "market_lifecycle_v2" else set(tickers)
            if channel == "orderbook_delta":
                assert tickers is not None
                for ticker in tickers:
                    self._publish(ticker)  # bring other subscribers up to date first
            sub = Subscription(sid, channel, chosen)
            conn.subs[sid] = sub
            conn.send({"id": cmd_id, "type": "subscribed", "msg": {"channel": channel, "sid": sid}})
            if channel == "orderbook_delta":
                for ticker in tickers or ():
                    self._snapshot(conn, sub, ticker)
            elif channel == "ticker" and params.get("send_initial_snapshot"):
                self._ticker_updates(tuple(tickers or self._open_tickers()), force=conn)

    def _unsubscribe(self, conn: Connection, cmd_id: Any, params: dict) -> None:
        sids = params.get("sids")
        if not isinstance(sids, list) or not sids:
            raise CommandError(4)
        for sid in sids:
            if sid not in conn.subs:
                raise CommandError(7, str(sid))
        for sid in sids:
            sub = conn.subs.pop(sid)
            conn.send({"id": cmd_id, "sid": sid, "seq": sub.seq + 1, "type": "unsubscribed"})
        self.drop_unwatched()

    def _update(self, conn: Connection, cmd_id: Any, params: dict) -> None:
        action = params.get("action")
        if not action:
            raise CommandError(15)
        if action not in UPDATE_ACTIONS:
            raise CommandError(13, str(action))
        if "sid" in params and "sids" in params:
            raise CommandError(12)
        sids = [params["sid"]] if "sid" in params else params.get("sids")
        if not isinstance(sids, list) or len(sids) != 1:
            raise CommandError(12)
        sub = conn.subs.get(sids[0])
        if sub is None:
            raise CommandError(7, str(sids[0]))
        tickers = self._market_list(params, required=True) or []
        if action == "add_markets":
            new = [t for t in tickers if sub.tickers is not None and t not in sub.tickers]
            for ticker in new:
                if sub.channel == "orderbook_delta":
                    self._publish(ticker)  # others first; this sub gets a snapshot instead
                sub.tickers.add(ticker)  # type: ignore[union-attr]
                if sub.channel == "orderbook_delta":
                    self._snapshot(conn, sub, ticker)
        elif action == "delete_markets":
            if sub.tickers is not None:
                sub.tickers.difference_update(tickers)
            self.drop_unwatched()
        elif sub.channel == "orderbook_delta":  # get_snapshot
            for ticker in tickers:
                self._publish(ticker)
                self._snapshot(conn, sub, ticker)
        shown = sorted(sub.tickers) if sub.tickers is not None else []
        conn.send(
            {"id": cmd_id, "sid": sub.sid, "seq": sub.seq, "type": "ok",
             "msg": {"market_tickers": shown}}
        )  # fmt: skip


async def serve_connection(
    websocket: WebSocket,
    hub: WsHub,
    authenticate: Callable[[WebSocket], str],
) -> None:
    """Run one WebSocket connection: signed handshake, then commands and pushed messages."""
    try:
        user_id = authenticate(websocket)
    except AuthError as exc:
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(
                JSONResponse(exc.envelope(), status_code=exc.status)
            )
        else:
            await websocket.close(code=1008)
        return
    await websocket.accept()
    conn = Connection(user_id)
    hub.connections.add(conn)
    writer = asyncio.create_task(_write(websocket, conn))
    try:
        while True:
            text = await websocket.receive_text()
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            hub.command(conn, data)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.connections.discard(conn)
        hub.drop_unwatched()
        writer.cancel()


async def _write(websocket: WebSocket, conn: Connection) -> None:
    try:
        while True:
            message = await conn.queue.get()
            await websocket.send_text(json.dumps(message, separators=(",", ":")))
    except (WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
        return
