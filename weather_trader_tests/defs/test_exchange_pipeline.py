"""The partitioned graph trading through the Kalshi client against the local exchange.

The exchange runs on real loopback HTTP in a thread; the pipeline finds it through
``KALSHI_API_URL`` and a key registered with it, exactly as ``make demo`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from weather_trader.sim.exchange import ExchangeState, create_key, run_exchange_in_thread
from weather_trader.sim.exchange.control import SimExchangeControl
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.rest import KalshiClient
from weather_trader.store import repo
from weather_trader.store.db import session_scope
from weather_trader_tests.defs.support import CITY, DAY, Pipeline, key, settlement_rows


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A local exchange on loopback: ``(REST base, key id, private key file)``."""
    state = ExchangeState.create(home=tmp_path / "exchange", seed=7, history_days=40)
    key_path = tmp_path / "kalshi.pem"
    key_id = create_key(state.keys, key_path)
    with run_exchange_in_thread(state) as origin:
        yield f"{origin}/trade-api/v2", key_id, key_path
    state.close()


def test_a_partition_trades_and_settles_on_the_local_exchange(
    pipeline: Pipeline, exchange: tuple[str, str, Path]
) -> None:
    url, key_id, key_path = exchange
    settings = pipeline.settings.model_copy(
        update={"kalshi_api_url": url, "kalshi_key_id": key_id, "kalshi_private_key_path": key_path}
    )
    through_exchange = Pipeline(settings, pipeline.engine, pipeline.instance)

    result = through_exchange.run(key(CITY, DAY))

    assert result.success
    with session_scope(pipeline.engine) as session:
        orders = repo.orders_for(session, city=CITY, day=DAY)
        ours = {p.ticker: p for p in repo.positions_for(session, city=CITY, day=DAY)}
    assert len(orders) > 0 and set(orders["status"]) <= {"filled", "partially_filled", "canceled"}
    assert ours and all(p.settled for p in ours.values())

    # The exchange holds exactly the contracts we recorded, and settled them as we did.
    pem = key_path.read_bytes()
    client = KalshiClient(url, KalshiCredentials.from_pem(key_id, pem))
    control = SimExchangeControl.from_key_file(url, key_id, key_path)
    control.sync_clock(datetime.now(UTC))  # back to now: the final CLI is out
    settled = {s.ticker: s for s in client.settlements()}
    assert set(settled) == set(ours)
    our_payout = {r.ticker: r.payout for r in settlement_rows(pipeline.engine, CITY, DAY)}
    for ticker, s in settled.items():
        held = s.yes_count if ours[ticker].outcome_side == "yes" else s.no_count
        assert held == Decimal(ours[ticker].count), ticker
        assert s.revenue == our_payout[ticker], ticker
