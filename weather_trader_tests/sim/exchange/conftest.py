"""Fixtures for the local exchange tests: a loopback server, signed clients, spec checks."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from weather_trader.kalshi_signing import generate_key_pair
from weather_trader.sim.exchange import ExchangeClock, ExchangeState, run_exchange_in_thread
from weather_trader.sim.world import build_sim
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader_tests.shared_data import require_kalshi_spec
from weather_trader_tests.sim.exchange.conformance import check_response

T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # 13:00 ET: Nov 20 and Nov 21 events are open
API = "/trade-api/v2"
_ids = itertools.count(1)


@dataclass
class Api:
    """A signed Kalshi client of the test exchange that checks every response's schema.

    Attributes:
        client: Keep-alive HTTP client on the exchange's base URL.
        creds: API key id and private key.
        checked: Responses validated against a published schema.
    """

    client: httpx.Client
    creds: KalshiCredentials
    checked: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, *, sign: bool = True, **kw: Any) -> httpx.Response:
        """Send a (signed) request to ``/trade-api/v2`` + ``path`` and check the response."""
        full = path if path.startswith("/sim") else API + path
        headers = self.creds.headers(method, full) if sign else {}
        response = self.client.request(method, full, headers=headers, **kw)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        if is_json and check_response(method, full, response.status_code, response.json()):
            self.checked.append(f"{method} {path} {response.status_code}")
        return response

    def get(self, path: str, **kw: Any) -> httpx.Response:
        """GET."""
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        """POST a JSON body."""
        return self.request("POST", path, json=body, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        """DELETE (with an optional JSON body)."""
        return self.request("DELETE", path, json=body, **kw)

    def order(self, ticker: str, side: str, count: int, price: int, tif: str, **extra: Any):  # type: ignore[no-untyped-def]
        """Create a V2 order (price in cents); returns the response."""
        body = {
            "ticker": ticker,
            "client_order_id": extra.pop("client_order_id", f"t-{next(_ids)}"),
            "side": side,
            "count": f"{count}.00",
            "price": f"{price / 100:.4f}",
            "time_in_force": tif,
            "self_trade_prevention_type": extra.pop("stp", "taker_at_cross"),
            **extra,
        }
        return self.post("/portfolio/events/orders", body)

    def set_clock(self, moment: datetime) -> httpx.Response:
        """Move the sim clock (admin route, signed like the portfolio routes)."""
        return self.request("PUT", "/sim/clock", json={"now": moment.isoformat()})


@dataclass
class Exchange:
    """A running test exchange."""

    state: ExchangeState
    base_url: str
    private_pem: bytes
    public_pem: bytes
    clients: list[httpx.Client] = field(default_factory=list)

    def api(self, key_id: str | None = None) -> Api:
        """A client with a freshly registered key (a new account with $1,000)."""
        key_id = key_id or f"key-{next(_ids)}"
        self.state.keys.register(key_id, self.public_pem)
        client = httpx.Client(base_url=self.base_url, timeout=10)
        self.clients.append(client)
        return Api(client, KalshiCredentials.from_pem(key_id, self.private_pem))


@pytest.fixture(scope="session")
def keypair() -> tuple[bytes, bytes]:
    """One RSA key pair (private, public PEM) shared by all test keys.

    The tests that talk to a running exchange take it, and every response they get is checked
    against Kalshi's spec: they skip when the spec is missing.
    """
    require_kalshi_spec()
    return generate_key_pair()


@pytest.fixture(scope="session")
def sim_market():  # type: ignore[no-untyped-def]
    """The sim market (seed 7), shared: it is stateless."""
    return build_sim(7)[1]


def _run(state: ExchangeState, keypair: tuple[bytes, bytes]) -> Iterator[Exchange]:
    with run_exchange_in_thread(state) as base:
        exchange = Exchange(state, base, *keypair)
        try:
            yield exchange
        finally:
            for client in exchange.clients:
                client.close()
            state.close()


@pytest.fixture(scope="module")
def shared(keypair: tuple[bytes, bytes], sim_market) -> Iterator[Exchange]:  # type: ignore[no-untyped-def]
    """One exchange per test module, clock frozen at :data:`T0` (never moved)."""
    state = ExchangeState.create(clock=ExchangeClock.simulated(T0), market=sim_market)
    yield from _run(state, keypair)


@pytest.fixture
def fresh(keypair: tuple[bytes, bytes], sim_market) -> Iterator[Exchange]:  # type: ignore[no-untyped-def]
    """A new exchange for one test (it may move the clock), clock at :data:`T0`."""
    state = ExchangeState.create(clock=ExchangeClock.simulated(T0), market=sim_market)
    yield from _run(state, keypair)


def two_sided(exchange: Exchange, skip: int = 0, min_spread: int = 1) -> str:
    """An open market whose crowd bids on both sides with at least two levels each and a
    YES spread of at least ``min_spread`` cents (the ``skip``-th such market)."""
    state = exchange.state
    now = state.clock.now()
    found = []
    for ev in state.catalog.listed_events(now):
        if state.catalog.status(ev, now) != "open":
            continue
        for ref in state.catalog.markets_of(ev):
            book = state.engine.book(ref.ticker)
            if len(book.yes) >= 2 and len(book.no) >= 2:
                spread = 100 - max(book.no) - max(book.yes)
                if spread >= min_spread:
                    found.append(ref.ticker)
    return found[skip % len(found)]
