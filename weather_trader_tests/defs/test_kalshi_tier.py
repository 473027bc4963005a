"""The Kalshi API tier setting sizes the REST client's rate-limit buckets."""

from __future__ import annotations

from pathlib import Path

import pytest

from weather_trader.defs.resources import build_resources
from weather_trader.settings import Settings


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "WEATHER_TRADER_HOME": str(tmp_path),
            "KALSHI_API_URL": "http://127.0.0.1:9/trade-api/v2",
            **env,
        }
    )


@pytest.mark.parametrize(("tier", "reads_per_second"), [(None, 200), ("prime", 4000)])
def test_the_tier_reaches_the_client(
    tmp_path: Path, tier: str | None, reads_per_second: int
) -> None:
    env = {"KALSHI_API_TIER": tier} if tier else {}
    kalshi = build_resources(_settings(tmp_path, **env))["market_data"].kalshi
    assert kalshi.rest(signed=False).rate_limiter.tier.read_per_second == reads_per_second
