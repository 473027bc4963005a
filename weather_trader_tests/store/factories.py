"""Builders of realistic records for the store tests (shapes as the sources produce them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from weather_trader.core.records import (
    BookLevel,
    ClimateReport,
    Fill,
    ForecastPoint,
    MarketSnapshot,
    Observation,
    OrderRequest,
)

DAY = date(2026, 5, 12)
T0 = datetime(2026, 5, 11, 12, 0, tzinfo=UTC)
EVENT = "KXHIGHNY-26MAY12"


def point(**kw: Any) -> ForecastPoint:
    """A GFS forecast of NYC's high on DAY issued at T0 (override any field)."""
    values: dict[str, Any] = {
        "city": "NYC", "climate_date": DAY, "kind": "high", "source": "open-meteo",
        "model": "gfs", "member": None, "issued_at": T0,
        "retrieved_at": T0 + timedelta(hours=4), "value_f": 74.3,
    }  # fmt: skip
    values.update(kw)
    return ForecastPoint(**values)


def report(**kw: Any) -> ClimateReport:
    """A final CLINYC report for DAY issued the next morning (override any field)."""
    values: dict[str, Any] = {
        "city": "NYC", "product": "CLINYC", "climate_date": DAY, "max_f": 75, "min_f": 61,
        "final": True, "correction": False,
        "issued_at": datetime(2026, 5, 13, 6, 30, tzinfo=UTC),
        "text": "CLIMATE REPORT\nNATIONAL WEATHER SERVICE NEW YORK NY\n...",
    }  # fmt: skip
    values.update(kw)
    return ClimateReport(**values)


def observation(minutes: int, temp_f: float) -> Observation:
    """A KNYC observation ``minutes`` after the start of DAY's climate day (05:00 UTC)."""
    at = datetime(2026, 5, 12, 5, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return Observation(city="NYC", station="KNYC", observed_at=at, temp_f=temp_f)


def snapshot(
    suffix: str = "B73.5",
    strike_type: str = "between",
    floor: int | None = 73,
    cap: int | None = 74,
    captured_at: datetime = T0,
    **kw: Any,
) -> MarketSnapshot:
    """A bracket market of EVENT with a two-level YES book and a one-level NO book."""
    strikes = {"strike_type": strike_type, "floor_strike": floor, "cap_strike": cap}
    values: dict[str, Any] = {
        "ticker": f"{EVENT}-{suffix}", "event_ticker": EVENT, "series_ticker": "KXHIGHNY",
        "city": "NYC", "climate_date": DAY, "kind": "high", "title": f"NYC high {suffix}",
        "captured_at": captured_at, "close_time": datetime(2026, 5, 13, 4, 59, tzinfo=UTC),
        "yes_bids": (
            BookLevel(price=Decimal("0.33"), count=Decimal("10.00")),
            BookLevel(price=Decimal("0.32"), count=Decimal("25.00")),
        ),
        "no_bids": (BookLevel(price=Decimal("0.64"), count=Decimal("7.00")),),
        **strikes,
    }  # fmt: skip
    values.update(kw)
    return MarketSnapshot(**values)


def order(coid: str = "wt-NYC-26MAY12-B73.5-yes-1", **kw: Any) -> OrderRequest:
    """A buy-YES IOC order on the B73.5 market."""
    values: dict[str, Any] = {
        "client_order_id": coid, "ticker": f"{EVENT}-B73.5", "side": "bid", "count": 10,
        "price": Decimal("0.35"),
    }  # fmt: skip
    values.update(kw)
    return OrderRequest(**values)


def fill(coid: str = "wt-NYC-26MAY12-B73.5-yes-1", **kw: Any) -> Fill:
    """A taker fill of 10 at 0.35 on the B73.5 market."""
    values: dict[str, Any] = {
        "client_order_id": coid, "ticker": f"{EVENT}-B73.5", "side": "bid", "count": 10,
        "price": Decimal("0.35"), "fee": Decimal("0.16"), "is_taker": True,
        "filled_at": T0 + timedelta(minutes=1),
    }  # fmt: skip
    values.update(kw)
    # By default the same values make the same fill (the exchange would send it once).
    values.setdefault(
        "fill_id",
        f"{values['client_order_id']}@{values['filled_at'].isoformat()}"
        f"/{values['price']}x{values['count']}",
    )
    return Fill(**values)
