"""to_snapshot: a Kalshi market and its book as the domain's MarketSnapshot (real recorded markets).

The adapter's reads over mocked HTTP are in test_adapters.py.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from weather_trader.sources.kalshi.market_data import to_snapshot
from weather_trader.sources.kalshi.market_models import Event, Market, Orderbook


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def kalshi_dir(realdata_dir: Path) -> Path:
    return realdata_dir / "kalshi"


def _markets_2026(kalshi_dir: Path, name: str) -> list[Market]:
    payload = _load(kalshi_dir / "tMer234_trimmed" / name)
    return [Market.model_validate(m) for m in payload["markets"]]


def _legacy_market(kalshi_dir: Path, event_file: str, ticker: str) -> Market:
    event = Event.from_response(_load(kalshi_dir / "cpratim" / "events" / event_file))
    return {m.ticker: m for m in event.markets or ()}[ticker]


def test_to_snapshot_2026(kalshi_dir: Path) -> None:
    market = {m.ticker: m for m in _markets_2026(kalshi_dir, "kxhighny_open_trimmed.json")}[
        "KXHIGHNY-26JUL12-B88.5"
    ]
    book = Orderbook.model_validate(
        {
            "ticker": market.ticker,
            "orderbook_fp": {
                "yes_dollars": [["0.0200", "9.00"]],
                "no_dollars": [["0.9700", "4.00"]],
            },
        }
    )
    captured = datetime(2026, 7, 11, 15, tzinfo=UTC)
    snap = to_snapshot(market, book, "NYC", date(2026, 7, 12), "high", captured, Decimal("1"))
    assert (snap.strike_type, snap.floor_strike, snap.cap_strike) == ("between", 88, 89)
    assert snap.series_ticker == "KXHIGHNY" and snap.event_ticker == "KXHIGHNY-26JUL12"
    assert snap.yes_bid == Decimal("0.02") and snap.yes_ask == Decimal("0.03")
    assert snap.close_time == market.close_time and snap.title == "88° to 89°"
    assert snap.bracket == market.bracket
    other = book.model_copy(update={"ticker": "KXHIGHNY-26JUL12-T82"})
    with pytest.raises(ValueError):
        to_snapshot(market, other, "NYC", date(2026, 7, 12), "high", captured)
    with pytest.raises(ValidationError):
        to_snapshot(market, book, "NYC", date(2026, 7, 12), "high", datetime(2026, 7, 11))


def test_to_snapshot_of_a_market_without_strike_fields(kalshi_dir: Path) -> None:
    market = _legacy_market(kalshi_dir, "kxhighchi/2025-01-17.json", "KXHIGHCHI-25JAN17-T42")
    snap = to_snapshot(
        market,
        Orderbook.empty(market.ticker),
        "CHI",
        date(2025, 1, 17),
        "high",
        datetime(2025, 1, 17, 12, tzinfo=UTC),
    )
    assert (snap.strike_type, snap.floor_strike, snap.cap_strike) == ("greater", 42, None)
    assert snap.yes_bid == Decimal(0) and snap.yes_ask == Decimal(1)
