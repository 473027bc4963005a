"""Benchmark: sustained signed order round-trips per second over loopback HTTP.

Run ``python -m weather_trader_tests.sim.exchange.bench_exchange [--seconds N]``. The exchange
(with its SQLite persistence) runs in a background thread; one keep-alive ``httpx.Client``
signs every request (RSA-PSS) and creates V2 orders one after another, cycling through a
taker IOC at the best ask (fills, then finds the crowd's level taken), a GTC resting far
from the market and a post-only GTC. One round-trip = one signed create and its response.
Target: >= 200 round-trips/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from weather_trader.kalshi_signing import generate_key_pair
from weather_trader.sim.exchange import ExchangeClock, ExchangeState, run_exchange_in_thread
from weather_trader.sources.kalshi.auth import KalshiCredentials

ORDERS = "/trade-api/v2/portfolio/events/orders"
TARGET = 200.0


def run(seconds: float) -> float:
    """Run the benchmark for ``seconds``; returns round-trips per second."""
    private_pem, public_pem = generate_key_pair()
    with tempfile.TemporaryDirectory() as home:
        start = datetime(2026, 11, 20, 18, tzinfo=UTC)
        state = ExchangeState.create(home=Path(home), clock=ExchangeClock.simulated(start))
        state.keys.register("bench", public_pem)
        creds = KalshiCredentials.from_pem("bench", private_pem)
        now = state.clock.now()
        tickers = [
            ref.ticker
            for ev in state.catalog.listed_events(now)
            if state.catalog.status(ev, now) == "open"
            for ref in state.catalog.markets_of(ev)
            if 2 < 100 - max(state.engine.book(ref.ticker).no, default=99) < 99
        ]
        with run_exchange_in_thread(state) as base, httpx.Client(base_url=base) as client:
            latencies: list[float] = []
            n = 0
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                ticker = tickers[n % len(tickers)]
                kind = n % 3
                body = {
                    "ticker": ticker,
                    "client_order_id": f"bench-{n}",
                    "side": "bid",
                    "count": "1",
                    "price": "0.99" if kind == 0 else "0.01",
                    "time_in_force": "immediate_or_cancel" if kind == 0 else "good_till_canceled",
                    "self_trade_prevention_type": "taker_at_cross",
                    "post_only": kind == 2,
                }
                t = time.perf_counter()
                response = client.post(ORDERS, json=body, headers=creds.headers("POST", ORDERS))
                latencies.append(time.perf_counter() - t)
                if response.status_code != 201:
                    raise RuntimeError(f"order {n} failed: {response.status_code} {response.text}")
                n += 1
            elapsed = seconds + (time.perf_counter() - deadline)
        state.close()
    rate = n / elapsed
    p50 = statistics.median(latencies) * 1000
    p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1] * 1000
    print(f"{n} signed order round-trips in {elapsed:.1f} s: {rate:.0f}/s "
          f"(p50 {p50:.2f} ms, p99 {p99:.2f} ms; target >= {TARGET:.0f}/s)")  # fmt: skip
    return rate


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    return 0 if run(args.seconds) >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
