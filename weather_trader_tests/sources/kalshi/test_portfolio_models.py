"""Kalshi portfolio models: orders, write acknowledgements, fills, positions, settlements."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from weather_trader.sources.kalshi.portfolio_models import (
    Balance,
    BatchOrderResult,
    CancelAck,
    KalshiFill,
    KalshiOrder,
    KalshiPosition,
    KalshiSettlement,
    OrderAck,
    OrderGroup,
)


def test_balance_cents_to_dollars() -> None:
    balance = Balance.model_validate(
        {"balance": 123456, "portfolio_value": 5000, "updated_ts": 1783674000}
    )
    assert balance.balance == Decimal("1234.56") and balance.portfolio_value == Decimal("50")
    assert balance.updated_at == datetime.fromtimestamp(1783674000, UTC)
    assert Balance.model_validate(balance.model_dump()) == balance
    with pytest.raises(ValidationError):
        Balance.model_validate({"portfolio_value": 1})


def test_order_2026_and_legacy_formats() -> None:
    new = KalshiOrder.model_validate(
        {
            "order_id": "o-1",
            "user_id": "u",
            "client_order_id": "wt-NYC-1",
            "ticker": "KXHIGHNY-26JUL12-T82",
            "side": "no",
            "action": "buy",
            "type": "limit",
            "status": "resting",
            "yes_price_dollars": "0.1600",
            "no_price_dollars": "0.8400",
            "fill_count_fp": "2.00",
            "remaining_count_fp": "8.00",
            "initial_count_fp": "10.00",
            "taker_fees_dollars": "0.0200",
            "maker_fees_dollars": "0.0000",
            "taker_fill_cost_dollars": "1.6800",
            "maker_fill_cost_dollars": "0.0000",
            "created_time": "2026-07-11T15:00:00Z",
        }
    )
    assert new.fill_count == Decimal(2) and new.remaining_count == Decimal(8)
    assert new.taker_fees == Decimal("0.02") and new.taker_fill_cost == Decimal("1.68")
    assert new.book_side == "ask" and new.book_price == Decimal("0.16")
    assert new.is_resting
    legacy = KalshiOrder.model_validate(
        {
            "order_id": "o-2",
            "ticker": "T",
            "side": "yes",
            "action": "buy",
            "status": "executed",
            "yes_price": 42,
            "no_price": 58,
            "fill_count": 3,
            "remaining_count": 0,
            "taker_fees": 2,
        }
    )
    assert legacy.yes_price == Decimal("0.42") and legacy.taker_fees == Decimal("0.02")
    assert legacy.book_side == "bid" and not legacy.is_resting
    v2 = KalshiOrder.model_validate(
        {"order_id": "o-3", "ticker": "T", "side": "ask", "price": "0.3"}
    )
    assert v2.book_side == "ask" and v2.book_price == Decimal("0.3")
    no_quoted = KalshiOrder.model_validate({"order_id": "x", "ticker": "T", "no_price": 70})
    assert no_quoted.book_price == Decimal("0.3")


def test_fill_position_settlement() -> None:
    fill = KalshiFill.model_validate(
        {
            "fill_id": "f1",
            "trade_id": "f1",
            "order_id": "o1",
            "ticker": "T",
            "market_ticker": "T",
            "side": "yes",
            "action": "buy",
            "count_fp": "5.00",
            "yes_price_dollars": "0.4200",
            "no_price_dollars": "0.5800",
            "is_taker": True,
            "fee_cost": "0.0700",
            "created_time": "2026-07-11T15:00:00Z",
        }
    )
    assert fill.count == Decimal(5) and fill.fee_cost == Decimal("0.07")
    legacy_fill = KalshiFill.model_validate(
        {
            "trade_id": "t9",
            "order_id": "o9",
            "market_ticker": "T",
            "side": "no",
            "count": 2,
            "yes_price": 40,
            "is_taker": False,
            "ts": 1700000000,
        }
    )
    assert legacy_fill.fill_id == "t9" and legacy_fill.ticker == "T"
    assert legacy_fill.yes_price == Decimal("0.4") and legacy_fill.fee_cost == Decimal(0)
    assert legacy_fill.created_time == datetime.fromtimestamp(1700000000, UTC)

    position = KalshiPosition.model_validate(
        {
            "ticker": "T",
            "position_fp": "-3.00",
            "market_exposure_dollars": "1.7400",
            "total_traded_dollars": "1.7400",
            "realized_pnl_dollars": "0.0000",
            "fees_paid_dollars": "0.0400",
            "resting_orders_count": 0,
            "last_updated_ts": "2026-07-11T15:00:00Z",
        }
    )
    assert position.position == Decimal(-3) and position.fees_paid == Decimal("0.04")
    legacy_position = KalshiPosition.model_validate({"ticker": "T", "position": 4, "fees_paid": 3})
    assert legacy_position.fees_paid == Decimal("0.03")

    settlement = KalshiSettlement.model_validate(
        {
            "ticker": "T",
            "event_ticker": "E",
            "market_result": "yes",
            "yes_count_fp": "10.00",
            "yes_total_cost_dollars": "4.2000",
            "no_count_fp": "0.00",
            "no_total_cost_dollars": "0.0000",
            "revenue": 1000,
            "settled_time": "2026-07-11T12:00:59Z",
            "fee_cost": "0.1700",
            "value": 100,
        }
    )
    assert settlement.revenue == Decimal("10") and settlement.value == Decimal("1")
    assert settlement.yes_total_cost == Decimal("4.2") and settlement.fee_cost == Decimal("0.17")


def test_write_acknowledgements() -> None:
    ack = OrderAck.model_validate(
        {
            "order_id": "o1",
            "client_order_id": "c1",
            "fill_count": "10.00",
            "remaining_count": "0.00",
            "average_fill_price": "0.5600",
            "average_fee_paid": "0.0200",
            "ts_ms": 1715793660456,
        }
    )
    assert ack.fill_count == Decimal(10) and ack.average_fill_price == Decimal("0.56")
    assert not ack.recovered
    order = KalshiOrder.model_validate({"order_id": "o1", "client_order_id": "c1", "ticker": "T"})
    recovered = OrderAck.from_order(order)
    assert recovered.recovered and recovered.order == order and recovered.order_id == "o1"

    ok, failed = (
        BatchOrderResult.model_validate(x)
        for x in (
            {"order_id": "o1", "client_order_id": "c1", "fill_count": "1.00", "error": None},
            {"client_order_id": "c2", "error": {"code": "invalid_price", "message": "bad"}},
        )
    )
    assert ok.ok and ok.ack is not None and ok.ack.fill_count == Decimal(1)
    assert not failed.ok and failed.error is not None and failed.error.code == "invalid_price"
    v1_item = BatchOrderResult.model_validate(
        {"client_order_id": "c3", "order": {"order_id": "o3", "ticker": "T", "yes_price": 5}}
    )
    assert v1_item.ack is not None and v1_item.ack.order_id == "o3"

    cancel = CancelAck.model_validate(
        {"order_id": "o1", "client_order_id": "c1", "reduced_by": "10.00", "ts_ms": 1}
    )
    assert cancel.ok and cancel.reduced_by == Decimal(10)
    v1_cancel = CancelAck.model_validate({"order": {"order_id": "o7"}, "reduced_by_fp": "2.00"})
    assert v1_cancel.order_id == "o7" and v1_cancel.reduced_by == Decimal(2)

    group = OrderGroup.model_validate(
        {"order_group_id": "g1", "contracts_limit_fp": "50.00", "orders": None}
    )
    assert group.id == "g1" and group.contracts_limit == Decimal(50) and group.orders == ()
