"""Small history files for the import tests, written into a temp folder."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any


def legacy_market(ticker: str, **fields: Any) -> dict[str, Any]:
    """A settled market as the 2024 API returned it (integer cents)."""
    base = {
        "ticker": ticker, "event_ticker": ticker.rsplit("-", 1)[0], "market_type": "binary",
        "title": "", "subtitle": "", "yes_sub_title": "", "no_sub_title": "",
        "open_time": "2024-08-15T14:00:00Z", "close_time": "2024-08-17T03:59:00Z",
        "status": "finalized", "yes_bid": 0, "yes_ask": 1, "no_bid": 99, "no_ask": 100,
        "last_price": 1, "volume": 136, "result": "no", "expiration_value": "",
        "rules_primary": "",
    }  # fmt: skip
    base.update(fields)
    return base


def legacy_event() -> dict[str, Any]:
    """HIGHNY-24AUG16 as recorded: legacy tickers in the KXHIGHNY series, strike fields."""
    markets = [
        legacy_market("HIGHNY-24AUG16-T84", strike_type="less", cap_strike=84,
                      yes_sub_title="83° or below"),
        legacy_market("HIGHNY-24AUG16-B84.5", strike_type="between", floor_strike=84,
                      cap_strike=85, yes_sub_title="84° to 85°", result="yes",
                      expiration_value="85"),
        legacy_market("HIGHNY-24AUG16-T85", strike_type="greater", floor_strike=85,
                      yes_sub_title="86° or above"),
    ]  # fmt: skip
    event = {
        "event_ticker": "HIGHNY-24AUG16", "series_ticker": "KXHIGHNY",
        "title": "Highest temperature in NYC on Aug 16, 2024?", "mutually_exclusive": True,
    }  # fmt: skip
    return {"event": event, "markets": markets}


def dollar_event_nested() -> dict[str, Any]:
    """A 2026 event with nested markets, dollar strings and no strike fields (subtitles)."""

    def market(suffix: str, subtitle: str, result: str) -> dict[str, Any]:
        return {
            "ticker": f"KXHIGHCHI-26JUL10-{suffix}", "event_ticker": "KXHIGHCHI-26JUL10",
            "yes_sub_title": subtitle, "status": "finalized", "result": result,
            "expiration_value": "85.00", "open_time": "2026-07-09T14:00:00Z",
            "close_time": "2026-07-11T04:59:00Z", "yes_bid_dollars": "0.0000",
            "yes_ask_dollars": "0.0100", "no_bid_dollars": "0.9900", "no_ask_dollars": "1.0000",
            "volume_fp": "12.00",
        }  # fmt: skip

    markets = [
        market("T84", "83° or below", "no"),
        market("B84.5", "84° to 85°", "yes"),
        market("T85", "86° or above", "no"),
    ]
    return {"event": {"event_ticker": "KXHIGHCHI-26JUL10", "series_ticker": "KXHIGHCHI",
                      "markets": markets}}  # fmt: skip


TRADE_CSV_HEADER = (
    "source_file_date,ticker,trade_id,created_time,yes_price,no_price,count,taker_side"
)


def write(path: Path, content: str | dict[str, Any] | list[Any], *, gz: bool = False) -> Path:
    """Write text or JSON to ``path`` (gzipped when asked)."""
    text = content if isinstance(content, str) else json.dumps(content)
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
