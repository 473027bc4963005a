"""Records shared across modules: order status after matching, market ordering."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from weather_trader.core.records import MarketSnapshot, OrderRequest, order_status

AT = datetime(2026, 11, 26, 18, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tif", "filled", "status"),
    [
        ("immediate_or_cancel", 10, "filled"),
        ("immediate_or_cancel", 4, "partially_filled"),
        ("immediate_or_cancel", 0, "canceled"),
        ("fill_or_kill", 0, "canceled"),
        ("good_till_canceled", 4, "resting"),
        ("good_till_canceled", 0, "resting"),
        ("good_till_canceled", 10, "filled"),
    ],
)
def test_order_status_after_matching(tif: str, filled: int, status: str) -> None:
    order = OrderRequest(
        client_order_id="c", ticker="KXHIGHNY-26NOV27-T50", side="bid", count=10,
        price=Decimal("0.40"), time_in_force=tif,  # type: ignore[arg-type]
    )  # fmt: skip
    assert order_status(order, filled) == status


def _market(suffix: str, strike_type: str, floor: int | None, cap: int | None) -> MarketSnapshot:
    return MarketSnapshot(
        ticker=f"KXHIGHNY-26NOV27-{suffix}", event_ticker="KXHIGHNY-26NOV27",
        series_ticker="KXHIGHNY", city="NYC", climate_date=date(2026, 11, 27), kind="high",
        strike_type=strike_type, floor_strike=floor, cap_strike=cap,  # type: ignore[arg-type]
        captured_at=AT, close_time=AT,
    )  # fmt: skip


def test_strike_order_puts_the_coldest_bracket_first() -> None:
    markets = [
        _market("T3", "greater", 3, None),
        _market("B0.5", "between", 0, 1),
        _market("T-2", "less", None, -2),
        _market("B-1.5", "between", -2, -1),
    ]
    ordered = sorted(markets, key=lambda m: m.strike_order)
    assert [m.ticker.removeprefix("KXHIGHNY-26NOV27-") for m in ordered] == [
        "T-2", "B-1.5", "B0.5", "T3",
    ]  # fmt: skip
