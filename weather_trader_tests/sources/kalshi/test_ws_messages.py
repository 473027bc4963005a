"""Parsing the Kalshi WebSocket's data messages into typed events (fixed-point and legacy)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from weather_trader.sources.kalshi.ws_messages import (
    EventLifecycleEvent,
    FillEvent,
    MarketLifecycleEvent,
    MarketPositionEvent,
    MessageParseError,
    TickerUpdate,
    TradeEvent,
    UserOrderEvent,
    parse_event,
)

T = "KXHIGHNY-26NOV27-B45.5"


def test_parse_ticker_fixed_point_and_legacy() -> None:
    new = parse_event(
        {
            "type": "ticker",
            "sid": 1,
            "msg": {
                "market_ticker": T,
                "price_dollars": "0.4300",
                "yes_bid_dollars": "0.4200",
                "yes_ask_dollars": "0.4500",
                "yes_bid_size_fp": "12.00",
                "volume_fp": "100.00",
                "open_interest_fp": "50.00",
                "ts_ms": 1795100000123,
            },
        }
    )
    assert isinstance(new, TickerUpdate)
    assert (new.yes_bid, new.yes_ask, new.price) == (
        Decimal("0.42"),
        Decimal("0.45"),
        Decimal("0.43"),
    )
    assert new.volume == Decimal("100") and new.yes_bid_size == Decimal("12")
    assert new.ts == datetime.fromtimestamp(1795100000.123, UTC)
    old = parse_event(
        {
            "type": "ticker",
            "msg": {
                "market_ticker": T,
                "yes_bid": 11,
                "yes_ask": 12,
                "price": 12,
                "volume": 351970,
                "ts": 1732579880,
            },
        }
    )
    assert isinstance(old, TickerUpdate)
    assert (old.yes_bid, old.yes_ask) == (Decimal("0.11"), Decimal("0.12"))
    assert old.volume == Decimal(351970)
    assert old.ts == datetime(2024, 11, 26, 0, 11, 20, tzinfo=UTC)


def test_parse_trade() -> None:
    event = parse_event(
        {
            "type": "trade",
            "sid": 2,
            "seq": 4,
            "msg": {
                "trade_id": "t-1",
                "market_ticker": T,
                "yes_price_dollars": "0.5500",
                "no_price_dollars": "0.4500",
                "count_fp": "10.00",
                "taker_outcome_side": "yes",
                "ts": "2026-11-26T15:00:00Z",
            },
        }
    )
    assert isinstance(event, TradeEvent)
    assert (event.yes_price, event.no_price, event.count) == (
        Decimal("0.55"),
        Decimal("0.45"),
        Decimal(10),
    )
    assert event.taker_side == "yes" and event.ts == datetime(2026, 11, 26, 15, tzinfo=UTC)
    legacy = parse_event(
        {
            "type": "trade",
            "msg": {
                "market_ticker": T,
                "yes_price": 55,
                "count": 10,
                "taker_side": "no",
                "ts": 1707667200,
            },
        }
    )
    assert isinstance(legacy, TradeEvent) and legacy.yes_price == Decimal("0.55")


def test_parse_legacy_fill() -> None:
    event = parse_event(
        {
            "type": "fill",
            "msg": {
                "trade_id": "t",
                "order_id": "o",
                "market_ticker": T,
                "is_taker": False,
                "side": "no",
                "action": "buy",
                "yes_price": 42,
                "count": 5,
                "post_position": -5,
                "ts": 1707667200,
            },
        }
    )
    assert isinstance(event, FillEvent)
    assert (event.yes_price, event.count, event.post_position) == (
        Decimal("0.42"),
        Decimal(5),
        Decimal(-5),
    )
    assert event.fee is None and not event.is_taker


def test_parse_user_order_and_position() -> None:
    order = parse_event(
        {
            "type": "user_order",
            "sid": 3,
            "msg": {
                "order_id": "o-1",
                "client_order_id": "c-1",
                "ticker": T,
                "status": "resting",
                "book_side": "bid",
                "yes_price_dollars": "0.4200",
                "initial_count_fp": "10.00",
                "fill_count_fp": "4.00",
                "remaining_count_fp": "6.00",
                "taker_fees_dollars": "0.0700",
                "created_ts_ms": 1795100000000,
            },
        }
    )
    assert isinstance(order, UserOrderEvent)
    assert order.market_ticker == T and order.status == "resting"
    assert (order.fill_count, order.remaining_count) == (Decimal(4), Decimal(6))
    assert order.taker_fees == Decimal("0.07") and order.created_at is not None
    position = parse_event(
        {
            "type": "market_position",
            "msg": {
                "market_ticker": T,
                "position_fp": "-3.00",
                "position_cost_dollars": "1.6500",
                "realized_pnl_dollars": "0.0000",
                "fees_paid_dollars": "0.0600",
                "volume_fp": "3.00",
            },
        }
    )
    assert isinstance(position, MarketPositionEvent)
    assert (position.position, position.position_cost) == (Decimal(-3), Decimal("1.65"))
    legacy = parse_event(
        {
            "type": "market_position",
            "msg": {
                "market_ticker": T,
                "position": 100,
                "position_cost": 500000,
                "realized_pnl": 100000,
                "fees_paid": 10000,
            },
        }
    )
    assert isinstance(legacy, MarketPositionEvent)
    assert (legacy.position_cost, legacy.realized_pnl, legacy.fees_paid) == (
        Decimal(50),
        Decimal(10),
        Decimal(1),
    )


def test_parse_lifecycle() -> None:
    event = parse_event(
        {
            "type": "market_lifecycle_v2",
            "sid": 13,
            "msg": {
                "market_ticker": T,
                "event_type": "determined",
                "result": "yes",
                "determination_ts": 1795100000,
                "settlement_value": "1.0000",
            },
        }
    )
    assert isinstance(event, MarketLifecycleEvent)
    assert event.result == "yes" and event.settlement_value == Decimal(1)
    assert event.determination_ts == datetime.fromtimestamp(1795100000, UTC)
    created = parse_event(
        {
            "type": "event_lifecycle",
            "msg": {"event_ticker": "KXHIGHNY-26NOV27", "series_ticker": "KXHIGHNY"},
        }
    )
    assert isinstance(created, EventLifecycleEvent) and created.series_ticker == "KXHIGHNY"
    assert parse_event({"type": "subscribed", "msg": {}}) is None


@pytest.mark.parametrize(
    "message",
    [
        {
            "type": "fill",
            "msg": {
                "trade_id": "t",
                "order_id": "o",
                "market_ticker": T,
                "is_taker": True,
                "count_fp": "1.00",
            },
        },
        {
            "type": "trade",
            "msg": {"market_ticker": T, "yes_price_dollars": "abc", "count_fp": "1.00"},
        },
        {"type": "ticker", "msg": {"market_ticker": T, "ts": "yesterday"}},
        {"type": "user_order", "msg": {"order_id": "o"}},
        {"type": "fill", "msg": "not an object"},
    ],
)
def test_parse_rejects_malformed(message: dict) -> None:
    with pytest.raises(MessageParseError):
        parse_event(message)
