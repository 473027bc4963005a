"""Kalshi 2026 JSON shapes of the exchange's objects (REST bodies and WebSocket ``msg``s).

Field names follow the OpenAPI spec (v3.13.0) and, for the V2 order endpoints and the
WebSocket channels, the pages of docs.kalshi.com. Prices are ``*_dollars`` strings with 4
decimals, counts ``*_fp`` strings with 2; balances and settlement revenue stay integer cents.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from weather_trader.core.cities import City
from weather_trader.sim.exchange.book import Book
from weather_trader.sim.exchange.catalog import Catalog, EventRef, MarketRef, minute_of
from weather_trader.sim.exchange.engine import ExchangeEngine
from weather_trader.sim.exchange.events import Lifecycle
from weather_trader.sim.exchange.matching import Execution
from weather_trader.sim.exchange.models import (
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    ExchangeSettlement,
    Trade,
)
from weather_trader.sim.exchange.wire import count_fp, dollars, dollars_exact, iso, ts_ms

MARKET_STATUS = {
    "unopened": "initialized",
    "open": "active",
    "closed": "closed",
    "settled": "finalized",
}
PRICE_RANGES = [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]
_MARKET_NAMESPACE = uuid.UUID("0c6b7f0e-2d8e-4a55-b1f6-6f3d0f9a7e21")
_CATEGORY = "Climate and Weather"


def market_id(ticker: str) -> str:
    """A stable UUID for a market ticker (Kalshi's ``market_id``)."""
    return str(uuid.uuid5(_MARKET_NAMESPACE, ticker))


def _word(kind: str) -> str:
    return "Highest" if kind == "high" else "Lowest"


# -- series, events, markets ----------------------------------------------------------------


def series_json(catalog: Catalog, ticker: str, engine: ExchangeEngine | None = None) -> dict:
    """A ``Series`` object; with ``engine``, also its ``volume_fp``."""
    city, kind = catalog.series_of(ticker)
    fees = catalog.fees
    out: dict[str, Any] = {
        "ticker": ticker,
        "frequency": "daily",
        "title": f"{_word(kind)} temperature in {city.name}",
        "category": _CATEGORY,
        "tags": ["Weather", "Temperature"],
        "settlement_sources": [
            {
                "name": "National Weather Service",
                "url": (
                    "https://forecast.weather.gov/product.php?site="
                    f"{city.nws_office}&product=CLI&issuedby={city.cli_product[3:]}"
                ),
            }
        ],
        "contract_url": f"https://kalshi.com/markets/{ticker.lower()}",
        "contract_terms_url": "https://kalshi.com/regulatory/rulebook",
        "fee_type": fees.fee_type,
        "fee_multiplier": float(fees.fee_multiplier),
        "additional_prohibitions": [],
        "product_metadata": {},
        "last_updated_ts": "2026-01-01T00:00:00Z",
    }
    if engine is not None:
        volume = sum(s.volume for t, s in engine.stats.items() if t.startswith(f"{ticker}-"))
        out["volume_fp"] = count_fp(volume)
    return out


def event_json(
    catalog: Catalog,
    engine: ExchangeEngine,
    ev: EventRef,
    now: datetime,
    *,
    with_markets: bool = False,
) -> dict:
    """An ``EventData`` object, with nested ``markets`` when asked."""
    day = ev.day
    out: dict[str, Any] = {
        "event_ticker": ev.event_ticker,
        "series_ticker": ev.series,
        "sub_title": f"On {day:%b} {day.day}, {day.year}",
        "title": f"{_word(ev.kind)} temperature in {ev.city.name} on {day:%b} {day.day}, "
        f"{day.year}?",
        "collateral_return_type": "MECNET",
        "mutually_exclusive": True,
        "category": _CATEGORY,
        "strike_date": iso(catalog.close_time(ev)),
        "available_on_brokers": True,
        "product_metadata": {},
        "last_updated_ts": iso(catalog.open_time(ev)),
    }
    if with_markets:
        out["markets"] = [market_json(catalog, engine, r, now) for r in catalog.markets_of(ev)]
    return out


def _rules(ref: MarketRef) -> str:
    ev, b = ref.event, ref.bracket
    lo, hi = b.integer_range()
    if b.strike_type == "between":
        cond = f"between {lo}-{hi}°"
    elif b.strike_type == "less":
        cond = f"less than {b.cap_strike}°"
    else:
        cond = f"greater than {b.floor_strike}°"
    word = "highest" if ev.kind == "high" else "lowest"
    return (
        f"If the {word} temperature recorded in {rules_place(ev.city)} for {ev.day:%B} "
        f"{ev.day.day}, {ev.day.year} as reported by the National Weather Service's "
        f"Climatological Report (Daily), is {cond}, then the market resolves to Yes."
    )


def rules_place(city: City) -> str:
    """The station's place as Kalshi's rules write it ("Central Park, New York"): the city's
    first ``rules_names`` phrase, capitalised, so discovery verifies the local exchange's series
    exactly as it verifies Kalshi's."""
    if not city.rules_names:
        return city.name
    return re.sub(r"\b\w", lambda m: m.group().upper(), city.rules_names[0])


def market_json(catalog: Catalog, engine: ExchangeEngine, ref: MarketRef, now: datetime) -> dict:
    """A ``Market`` object at ``now``: schedule, strikes, book top, stats and result."""
    ev, bracket = ref.event, ref.bracket
    status = catalog.status(ev, now)
    open_t, close_t = catalog.open_time(ev), catalog.close_time(ev)
    book = engine.book(ref.ticker) if status == "open" else Book({}, {})
    yes_bid, yes_size = book.best("yes")
    no_bid, no_size = book.best("no")
    stats = engine.stats.get(ref.ticker)
    day_ago = now - timedelta(days=1)
    prev_bid = prev_ask = 0
    if catalog.status(ev, day_ago) == "open":
        crowd_yes, crowd_no = catalog.crowd_book(ref, minute_of(day_ago))
        prev_bid = max(crowd_yes, default=0)
        prev_ask = 100 - max(crowd_no, default=0)
    prev_price = 0
    volume_24h = 0
    if stats is not None:
        for trade in stats.trades:
            if trade.created_time <= day_ago:
                prev_price = trade.price
            else:
                volume_24h += trade.count
    label = bracket.label
    word = "high" if ev.kind == "high" else "low"
    final = catalog.final(ev, now) if status == "settled" else None
    result = ""
    if final is not None:
        result = "yes" if bracket.settles_yes(final.value) else "no"
    out: dict[str, Any] = {
        "ticker": ref.ticker,
        "event_ticker": ev.event_ticker,
        "market_type": "binary",
        "title": f"Will the {word} temp in {ev.city.name} be {label} on "
        f"{ev.day:%b} {ev.day.day}, {ev.day.year}?",
        "subtitle": label,
        "yes_sub_title": label,
        "no_sub_title": label,
        "created_time": iso(open_t),
        "updated_time": iso(open_t),
        "open_time": iso(open_t),
        "close_time": iso(close_t),
        "expected_expiration_time": iso(close_t + timedelta(hours=8)),
        "expiration_time": iso(close_t + timedelta(days=7)),
        "latest_expiration_time": iso(close_t + timedelta(days=7)),
        "settlement_timer_seconds": 0,
        "status": MARKET_STATUS[status],
        "notional_value_dollars": "1.0000",
        "yes_bid_dollars": dollars(yes_bid),
        "yes_bid_size_fp": count_fp(yes_size),
        "yes_ask_dollars": dollars(100 - no_bid if no_bid else 100),
        "yes_ask_size_fp": count_fp(no_size),
        "no_bid_dollars": dollars(no_bid),
        "no_ask_dollars": dollars(100 - yes_bid if yes_bid else 100),
        "last_price_dollars": dollars(stats.last_price if stats else 0),
        "previous_yes_bid_dollars": dollars(prev_bid),
        "previous_yes_ask_dollars": dollars(prev_ask if prev_bid or prev_ask else 0),
        "previous_price_dollars": dollars(prev_price),
        "volume_fp": count_fp(stats.volume if stats else 0),
        "volume_24h_fp": count_fp(volume_24h),
        "liquidity_dollars": "0.0000",
        "open_interest_fp": count_fp(engine.open_interest(ref.ticker)),
        "result": result,
        "can_close_early": False,
        "fractional_trading_enabled": False,
        "expiration_value": "" if final is None else str(final.value),
        "rules_primary": _rules(ref),
        "rules_secondary": (
            "Not even a short-lived reading counts unless the final Daily Climate Report "
            "shows it; corrections issued before settlement are used."
        ),
        "price_level_structure": "linear_cent",
        "price_ranges": PRICE_RANGES,
        "strike_type": bracket.strike_type,
        "tick_size": 1,
        **_strikes(ref),
    }
    if final is not None:
        out["settlement_value_dollars"] = "1.0000" if result == "yes" else "0.0000"
        out["settlement_ts"] = iso(final.issued_at)
    return out


def orderbook_json(book: Book, depth: int = 0) -> dict[str, list[list[str]]]:
    """``OrderbookCountFp``: YES and NO bid levels, lowest price first (best last)."""

    def ladder(levels: dict[int, int]) -> list[list[str]]:
        prices = sorted(p for p, c in levels.items() if c > 0)
        if depth > 0:
            prices = prices[-depth:]
        return [[dollars(p), count_fp(levels[p])] for p in prices]

    return {"yes_dollars": ladder(book.yes), "no_dollars": ladder(book.no)}


# -- portfolio ------------------------------------------------------------------------------


def _outcome(book_side: str) -> str:
    return "yes" if book_side == "bid" else "no"


def order_json(order: ExchangeOrder) -> dict:
    """An ``Order`` (V1 shape; V2 ``bid`` = buy YES, ``ask`` = buy NO)."""
    return {
        "order_id": order.order_id,
        "user_id": order.user_id,
        "client_order_id": order.client_order_id,
        "ticker": order.ticker,
        "side": _outcome(order.book_side),
        "action": "buy",
        "type": "limit",
        "status": order.status,
        "yes_price_dollars": dollars(order.price),
        "no_price_dollars": dollars(100 - order.price),
        "fill_count_fp": count_fp(order.fill_count),
        "remaining_count_fp": count_fp(order.remaining_count),
        "initial_count_fp": count_fp(order.initial_count),
        "taker_fees_dollars": dollars(order.taker_fees),
        "maker_fees_dollars": dollars(order.maker_fees),
        "taker_fill_cost_dollars": dollars(order.taker_fill_cost),
        "maker_fill_cost_dollars": dollars(order.maker_fill_cost),
        "expiration_time": iso(order.expiration_time) if order.expiration_time else None,
        "created_time": iso(order.created_time),
        "last_update_time": iso(order.last_update_time),
        "self_trade_prevention_type": order.self_trade_prevention_type,
        "order_group_id": order.order_group_id,
        "cancel_order_on_pause": order.cancel_order_on_pause,
        "subaccount_number": 0,
        "book_side": order.book_side,
        "outcome_side": _outcome(order.book_side),
        "event_ticker": order.event_ticker,
        "time_in_force": order.time_in_force,
        "post_only": order.post_only,
        "reduce_only": order.reduce_only,
    }


def fill_json(fill: ExchangeFill) -> dict:
    """A ``Fill``."""
    return {
        "fill_id": fill.fill_id,
        "trade_id": fill.trade_id,
        "order_id": fill.order_id,
        "client_order_id": fill.client_order_id,
        "ticker": fill.ticker,
        "market_ticker": fill.ticker,
        "side": _outcome(fill.book_side),
        "action": "buy",
        "count_fp": count_fp(fill.count),
        "yes_price_dollars": dollars(fill.price),
        "no_price_dollars": dollars(100 - fill.price),
        "is_taker": fill.is_taker,
        "created_time": iso(fill.created_time),
        "fee_cost": dollars(fill.fee),
        "ts": int(fill.created_time.timestamp()),
        "book_side": fill.book_side,
        "outcome_side": _outcome(fill.book_side),
        "subaccount_number": 0,
    }


def position_json(pos: ExchangePosition, resting: int) -> dict:
    """A ``MarketPosition``."""
    return {
        "ticker": pos.ticker,
        "total_traded_dollars": dollars(pos.traded),
        "position_fp": count_fp(pos.position),
        "market_exposure_dollars": dollars(pos.cost),
        "realized_pnl_dollars": dollars(pos.realized),
        "resting_orders_count": resting,
        "fees_paid_dollars": dollars(pos.fees),
        "last_updated_ts": iso(pos.updated),
    }


def event_positions_json(positions: list[ExchangePosition]) -> list[dict]:
    """``EventPosition``s aggregating market positions by event."""
    events: dict[str, list[ExchangePosition]] = {}
    for pos in positions:
        events.setdefault(pos.event_ticker, []).append(pos)
    return [
        {
            "event_ticker": ticker,
            "total_cost_dollars": dollars(sum(p.traded for p in group)),
            "total_cost_shares_fp": count_fp(sum(p.volume for p in group)),
            "event_exposure_dollars": dollars(sum(p.cost for p in group)),
            "realized_pnl_dollars": dollars(sum(p.realized for p in group)),
            "fees_paid_dollars": dollars(sum(p.fees for p in group)),
        }
        for ticker, group in sorted(events.items())
    ]


def settlement_json(s: ExchangeSettlement) -> dict:
    """A ``Settlement``."""
    return {
        "ticker": s.ticker,
        "event_ticker": s.event_ticker,
        "market_result": s.market_result,
        "yes_count_fp": count_fp(s.yes_count),
        "yes_total_cost_dollars": dollars(s.yes_cost),
        "no_count_fp": count_fp(s.no_count),
        "no_total_cost_dollars": dollars(s.no_cost),
        "revenue": s.revenue,
        "settled_time": iso(s.settled_time),
        "fee_cost": dollars(s.fee_cost),
        "value": s.value,
    }


def trade_json(t: Trade) -> dict:
    """A public ``Trade``."""
    return {
        "trade_id": t.trade_id,
        "ticker": t.ticker,
        "count_fp": count_fp(t.count),
        "yes_price_dollars": dollars(t.price),
        "no_price_dollars": dollars(100 - t.price),
        "taker_side": _outcome(t.taker_book_side),
        "taker_outcome_side": _outcome(t.taker_book_side),
        "taker_book_side": t.taker_book_side,
        "created_time": iso(t.created_time),
    }


def execution_v2_json(ex: Execution, now: datetime) -> dict:
    """``CreateOrderV2Response`` (docs: api-reference/orders/create-order-v2)."""
    out: dict[str, Any] = {
        "order_id": ex.order.order_id,
        "client_order_id": ex.order.client_order_id,
        "fill_count": count_fp(ex.fill_count),
        "remaining_count": count_fp(ex.order.remaining_count),
        "ts_ms": ts_ms(now),
    }
    if ex.fill_count:
        assert ex.average_price is not None and ex.average_fee is not None
        out["average_fill_price"] = dollars_exact(ex.average_price)
        out["average_fee_paid"] = dollars_exact(ex.average_fee)
    return out


# -- WebSocket payloads (docs.kalshi.com/websockets/*) --------------------------------------


def user_order_msg(order: ExchangeOrder) -> dict:
    """``user_order`` msg (User Orders channel)."""
    msg: dict[str, Any] = {
        "order_id": order.order_id,
        "user_id": order.user_id,
        "ticker": order.ticker,
        "status": order.status,
        "side": _outcome(order.book_side),
        "is_yes": order.book_side == "bid",
        "outcome_side": _outcome(order.book_side),
        "book_side": order.book_side,
        "yes_price_dollars": dollars(order.price),
        "fill_count_fp": count_fp(order.fill_count),
        "remaining_count_fp": count_fp(order.remaining_count),
        "initial_count_fp": count_fp(order.initial_count),
        "taker_fill_cost_dollars": dollars(order.taker_fill_cost),
        "maker_fill_cost_dollars": dollars(order.maker_fill_cost),
        "taker_fees_dollars": dollars(order.taker_fees),
        "maker_fees_dollars": dollars(order.maker_fees),
        "client_order_id": order.client_order_id,
        "self_trade_prevention_type": order.self_trade_prevention_type,
        "created_time": iso(order.created_time),
        "created_ts_ms": ts_ms(order.created_time),
        "last_update_time": iso(order.last_update_time),
        "last_updated_ts_ms": ts_ms(order.last_update_time),
        "subaccount_number": 0,
    }
    if order.order_group_id:
        msg["order_group_id"] = order.order_group_id
    if order.expiration_time:
        msg["expiration_time"] = iso(order.expiration_time)
        msg["expiration_ts_ms"] = ts_ms(order.expiration_time)
    return msg


def fill_msg(fill: ExchangeFill) -> dict:
    """``fill`` msg (User Fills channel)."""
    return {
        "trade_id": fill.trade_id,
        "order_id": fill.order_id,
        "client_order_id": fill.client_order_id,
        "market_ticker": fill.ticker,
        "exchange_index": 0,
        "is_taker": fill.is_taker,
        "side": _outcome(fill.book_side),
        "ts": int(fill.created_time.timestamp()),
        "ts_ms": ts_ms(fill.created_time),
        "yes_price_dollars": dollars(fill.price),
        "count_fp": count_fp(fill.count),
        "fee_cost": dollars(fill.fee),
        "action": "buy",
        "post_position_fp": count_fp(fill.post_position),
        "purchased_side": _outcome(fill.book_side),
        "outcome_side": _outcome(fill.book_side),
        "book_side": fill.book_side,
    }


def market_position_msg(pos: ExchangePosition) -> dict:
    """``market_position`` msg (Market Positions channel)."""
    return {
        "user_id": pos.user_id,
        "market_ticker": pos.ticker,
        "position_fp": count_fp(pos.position),
        "position_cost_dollars": dollars(pos.cost),
        "realized_pnl_dollars": dollars(pos.realized),
        "fees_paid_dollars": dollars(pos.fees),
        "position_fee_cost_dollars": dollars(pos.fees),
        "volume_fp": count_fp(pos.volume),
    }


def trade_msg(t: Trade) -> dict:
    """``trade`` msg (Public Trades channel)."""
    return {
        "trade_id": t.trade_id,
        "market_ticker": t.ticker,
        "yes_price_dollars": dollars(t.price),
        "no_price_dollars": dollars(100 - t.price),
        "count_fp": count_fp(t.count),
        "taker_side": _outcome(t.taker_book_side),
        "taker_outcome_side": _outcome(t.taker_book_side),
        "taker_book_side": t.taker_book_side,
        "is_block_trade": False,
        "ts": int(t.created_time.timestamp()),
        "ts_ms": ts_ms(t.created_time),
    }


def ticker_msg(engine: ExchangeEngine, ticker: str, book: Book, now: datetime) -> dict:
    """``ticker`` msg (Market Ticker channel)."""
    yes_bid, yes_size = book.best("yes")
    no_bid, no_size = book.best("no")
    stats = engine.stats.get(ticker)
    oi = engine.open_interest(ticker)
    return {
        "market_id": market_id(ticker),
        "market_ticker": ticker,
        "price_dollars": dollars(stats.last_price if stats else 0),
        "yes_bid_dollars": dollars(yes_bid),
        "yes_ask_dollars": dollars(100 - no_bid if no_bid else 100),
        "volume_fp": count_fp(stats.volume if stats else 0),
        "open_interest_fp": count_fp(oi),
        "dollar_volume": (stats.dollar_volume if stats else 0) // 100,
        "dollar_open_interest": oi,
        "yes_bid_size_fp": count_fp(yes_size),
        "yes_ask_size_fp": count_fp(no_size),
        "last_trade_size_fp": count_fp(stats.last_size if stats else 0),
        "ts": int(now.timestamp()),
        "ts_ms": ts_ms(now),
        "time": iso(now),
    }


def _strikes(ref: MarketRef) -> dict[str, int]:
    out = {}
    if ref.bracket.floor_strike is not None:
        out["floor_strike"] = ref.bracket.floor_strike
    if ref.bracket.cap_strike is not None:
        out["cap_strike"] = ref.bracket.cap_strike
    return out


def lifecycle_msg(catalog: Catalog, event: Lifecycle) -> dict:
    """``market_lifecycle_v2`` msg (Market & Event Lifecycle channel)."""
    ref = event.market
    msg: dict[str, Any] = {"event_type": event.event_type, "market_ticker": ref.ticker}
    if event.event_type == "created":
        close_t = catalog.close_time(ref.event)
        msg.update(
            exchange_index=0,
            open_ts=int(catalog.open_time(ref.event).timestamp()),
            close_ts=int(close_t.timestamp()),
            price_level_structure="linear_cent",
            price_ranges=PRICE_RANGES,
            additional_metadata={
                "name": ref.ticker,
                "title": ref.bracket.label,
                "yes_sub_title": ref.bracket.label,
                "no_sub_title": ref.bracket.label,
                "rules_primary": _rules(ref),
                "can_close_early": False,
                "event_ticker": ref.event.event_ticker,
                "expected_expiration_ts": int((close_t + timedelta(hours=8)).timestamp()),
                "strike_type": ref.bracket.strike_type,
                **_strikes(ref),
            },
        )
    elif event.event_type == "determined":
        msg.update(
            result=event.result,
            determination_ts=int(event.at.timestamp()),
            settlement_value="1.0000" if event.result == "yes" else "0.0000",
        )
    elif event.event_type == "settled":
        msg.update(settled_ts=int(event.at.timestamp()))
    return msg
