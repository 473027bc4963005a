"""Schemathesis over the exchange's own OpenAPI (V2 order bodies included): generated requests,
signed like a real client's, never get a server error (5xx)."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from weather_trader.kalshi_signing import generate_key_pair
from weather_trader.sim.exchange import ExchangeClock, ExchangeState
from weather_trader.sim.exchange.app import create_exchange_app
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader_tests.sim.exchange.conftest import T0

MAX_EXAMPLES = 300  # cases over all operations; about 20 s on one core


@pytest.fixture(scope="module")
def fuzzed(sim_market):  # type: ignore[no-untyped-def]
    private_pem, public_pem = generate_key_pair()
    state = ExchangeState.create(clock=ExchangeClock.simulated(T0), market=sim_market)
    state.keys.register("fuzz", public_pem)
    state.sync()
    app = create_exchange_app(state)
    yield app, KalshiCredentials.from_pem("fuzz", private_pem)
    state.close()


def test_generated_requests_never_get_a_server_error(fuzzed) -> None:  # type: ignore[no-untyped-def]
    app, creds = fuzzed
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert any(
        op.path == "/trade-api/v2/portfolio/events/orders" and op.body for op in operations
    ), "the V2 order body is described in the OpenAPI"
    strategy = st.one_of([op.as_strategy() for op in operations])
    seen: Counter[int] = Counter()
    failures: list[str] = []

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        headers = creds.headers(case.method, case.formatted_path)
        started = time.perf_counter()
        response = case.call(headers=headers)
        elapsed = time.perf_counter() - started
        seen[response.status_code] += 1
        if response.status_code >= 500 or elapsed > 2.0:
            failures.append(
                f"{case.method} {case.formatted_path} {response.status_code} "
                f"{elapsed:.1f}s {case.body!r:.200} {response.text[:200]}"
            )

    run()
    total = sum(seen.values())
    print(f"schemathesis: {total} cases, statuses {dict(sorted(seen.items()))}")
    assert total >= MAX_EXAMPLES // 2
    assert failures == []
