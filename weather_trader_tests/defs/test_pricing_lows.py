"""Pricing a low's brackets during the climate day: the running minimum is not final until
midnight local standard time, so brackets below it keep a price while hours remain."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from weather_trader.core.climate_day import climate_day_window
from weather_trader.core.records import MarketSnapshot
from weather_trader.defs.markets.assets import priced_brackets
from weather_trader.store.schemas import DistributionRecord

DAY = date(2026, 1, 15)
START, END = climate_day_window("NYC", DAY)
# "28 or below", 29-30, 31-32, "33 or above"
BRACKETS = [("less", None, 29), ("between", 29, 30), ("between", 31, 32), ("greater", 32, None)]


def _snapshots(at: datetime) -> list[MarketSnapshot]:
    return [
        MarketSnapshot(
            ticker=f"KXLOWTNYC-26JAN15-{i}",
            event_ticker="KXLOWTNYC-26JAN15",
            series_ticker="KXLOWTNYC",
            city="NYC",
            climate_date=DAY,
            kind="low",
            strike_type=strike,
            floor_strike=floor,
            cap_strike=cap,
            captured_at=at,
            close_time=END,
        )
        for i, (strike, floor, cap) in enumerate(BRACKETS)
    ]


def _low(as_of: datetime, cap: float | None) -> DistributionRecord:
    return DistributionRecord(
        city="NYC", climate_date=DAY, kind="low", as_of=as_of, method="test",
        model_version="v", mu=31.0, sigma=2.5, n_forecasts=1, cap=cap,
    )  # fmt: skip


def test_a_lows_brackets_below_the_morning_min_keep_a_price_until_midnight() -> None:
    morning = START + timedelta(hours=8)
    before = priced_brackets(_low(START - timedelta(hours=16), None), _snapshots(morning))
    at_8 = priced_brackets(_low(morning, 31.0), _snapshots(morning))
    late = END - timedelta(minutes=20)
    at_2340 = priced_brackets(_low(late, 31.0), _snapshots(late))
    for probs in (before, at_8, at_2340):
        assert abs(sum(probs) - 1.0) < 1e-9
    # Above the running min is impossible; below it still possible at 08:00 and at 23:40
    # (less so), where a plain bound on the forecast gave 08:00 and 23:40 the same price.
    assert at_8[3] == 0.0 and at_2340[3] == 0.0
    assert 0.05 < at_8[0] + at_8[1] < 0.6
    assert 0.0 < at_2340[0] + at_2340[1] < at_8[0] + at_8[1]
    assert at_8[2] > before[2] and at_2340[2] > at_8[2]  # 31 itself: the low so far
