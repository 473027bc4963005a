"""Shared helpers of the KalshiClient tests: a mocked host, a client that never sleeps, a market."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.rest import KalshiClient

BASE = "https://api.example.test/trade-api/v2"
TICKER = "KXHIGHNY-26JUL12-T82"


def url(path: str) -> re.Pattern[str]:
    """Match ``BASE + path`` with any query string."""
    return re.compile(re.escape(BASE + path) + r"(\?.*)?$")


def make(
    credentials: KalshiCredentials | None = None,
    sleeps: list[float] | None = None,
    base_url: str = BASE,
    **kwargs: Any,
) -> KalshiClient:
    """A client with zero backoff waits and a recording sleep: tests never really sleep."""
    record: Callable[[float], None] = sleeps.append if sleeps is not None else (lambda s: None)
    options: dict[str, Any] = {
        "wait": lambda state: 0.0,
        "sleep": record,
        "order_lookup_delay": 0.0,
        "max_attempts": 3,
    }
    options.update(kwargs)
    return KalshiClient(base_url, credentials, **options)


def market_json(ticker: str = TICKER, **overrides: Any) -> dict[str, Any]:
    """A market in Kalshi's 2026 format (fields as in the recorded KXHIGHNY responses)."""
    body = {
        "ticker": ticker,
        "event_ticker": ticker.rsplit("-", 1)[0],
        "market_type": "binary",
        "title": "Will the **high temp in NYC** be <82° on Jul 12, 2026?",
        "subtitle": "81° or below",
        "yes_sub_title": "81° or below",
        "no_sub_title": "81° or below",
        "open_time": "2026-07-11T14:00:00Z",
        "close_time": "2026-07-13T04:59:00Z",
        "expiration_time": "2026-07-19T14:00:00Z",
        "status": "active",
        "result": "",
        "expiration_value": "",
        "strike_type": "less",
        "cap_strike": 82,
        "yes_bid_dollars": "0.1600",
        "yes_ask_dollars": "0.1900",
        "no_bid_dollars": "0.8100",
        "no_ask_dollars": "0.8400",
        "last_price_dollars": "0.1700",
        "yes_bid_size_fp": "12.00",
        "yes_ask_size_fp": "11.00",
        "volume_fp": "1303.54",
        "open_interest_fp": "684.32",
        "rules_primary": "If the highest temperature ... is less than 82°, then the market "
        "resolves to Yes.",
    }
    body.update(overrides)
    return body
