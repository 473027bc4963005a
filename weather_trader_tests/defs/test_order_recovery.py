"""Orders under faults: crash-and-retry trials against the local exchange, and reconciliation.

The trials kill the ``orders`` asset at each point of an order's life (after it is recorded
pending but before it is sent; after the exchange acted but before its answer was read; after
the answer but before the fills are recorded), run it again, and check that the exchange and
the database hold the same orders and fills, one for one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from weather_trader.core.ports import Broker
from weather_trader.core.reconciliation import net_yes
from weather_trader.core.records import MarketSnapshot, OrderRequest, OrderResult
from weather_trader.defs.markets.assets import kalshi_markets
from weather_trader.defs.resources import (
    LocalExchangeBrokerResource,
    PaperBrokerResource,
    build_resources,
)
from weather_trader.defs.trading.assets import orders
from weather_trader.settings import Settings
from weather_trader.sim.exchange import ExchangeState, create_key, run_exchange_in_thread
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.broker import KalshiBroker
from weather_trader.sources.kalshi.rest import KalshiClient
from weather_trader.store import repo
from weather_trader.store.db import session_scope
from weather_trader.store.models import FillRow
from weather_trader_tests.defs.support import CITY, DAY, key

FAULTS = ("before_send", "after_send", "before_record")
TRIALS = 21
PARTITION = key(CITY, DAY)


class Crash(RuntimeError):
    """The process dies here."""


class _CrashingBroker:
    """Sends through ``inner`` but dies before sending or before the answer is read."""

    def __init__(self, inner: Broker, fault: str) -> None:
        self.inner, self.fault = inner, fault

    def place(self, order: OrderRequest, book: MarketSnapshot, as_of: datetime) -> OrderResult:
        if self.fault == "before_send":
            raise Crash("killed before the order was sent")
        result = self.inner.place(order, book, as_of)
        if self.fault == "after_send":
            raise Crash("killed after the exchange acted, before its answer was read")
        return result


class CrashingBrokerResource(LocalExchangeBrokerResource):
    """The local exchange's broker, killed at ``fault``."""

    fault: str

    def client(self) -> Broker:
        """The broker that dies."""
        return _CrashingBroker(super().client(), self.fault)


def _crash(*_: Any, **__: Any) -> int:
    raise Crash("killed before the fills were recorded")


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A local exchange on loopback: ``(REST base, key id, private key file)``."""
    state = ExchangeState.create(home=tmp_path / "exchange", seed=7, history_days=1)
    key_path = tmp_path / "kalshi.pem"
    key_id = create_key(state.keys, key_path)
    with run_exchange_in_thread(state, startup_timeout=60) as origin:
        yield f"{origin}/trade-api/v2", key_id, key_path
    state.close()


def _decide(engine: Engine, books: list[MarketSnapshot], as_of: datetime) -> None:
    """Replace the partition's decisions with a taken buy of 2 YES crossing each book."""
    price = Decimal("0.99")
    rows = [_taken(book, as_of, price) for book in books]
    with session_scope(engine) as session:
        repo.replace_decisions(session, CITY, DAY, pd.DataFrame(rows))


def _taken(book: MarketSnapshot, as_of: datetime, price: Decimal) -> dict[str, Any]:
    return {
        "kind": book.kind, "as_of": as_of, "taken": True, "event_ticker": book.event_ticker,
        "ticker": book.ticker, "side": "yes", "p_model": 1.0, "price": price,
        "ev_per_contract": Decimal("0.01"), "edge": 0.01, "count": 2, "cost": 2 * price,
        "fee": Decimal("0.01"), "reason": "taken",
    }  # fmt: skip


def _materialize(resources: dict[str, Any], instance: dg.DagsterInstance, **overrides: Any):  # type: ignore[no-untyped-def]
    return dg.materialize(
        [orders],
        partition_key=PARTITION,
        resources={**resources, **overrides},
        instance=instance,
        raise_on_error=False,
    )


def _check_passed(result: dg.ExecuteInProcessResult) -> bool:
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "positions_match_exchange"
    return evaluation.passed


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the store tests cover Postgres
def test_crash_and_retry_loses_and_duplicates_nothing(
    settings: Settings,
    engine: Engine,
    instance: dg.DagsterInstance,
    exchange: tuple[str, str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, key_id, key_path = exchange
    settings = settings.model_copy(
        update={"kalshi_api_url": url, "kalshi_key_id": key_id, "kalshi_private_key_path": key_path}
    )
    resources = build_resources(settings)
    assert dg.materialize(
        [kalshi_markets], partition_key=PARTITION, resources=resources, instance=instance
    ).success
    with session_scope(engine) as session:
        books = [b for b in repo.market_snapshots(session, CITY, DAY, "high") if b.no_bids]
    assert books, "the exchange quotes no YES offers"
    start = max(b.captured_at for b in books)

    for trial in range(TRIALS):
        fault = FAULTS[trial % len(FAULTS)]
        _decide(engine, [books[trial % len(books)]], start + timedelta(seconds=trial + 1))
        crashing = CrashingBrokerResource(kalshi=resources["broker"].kalshi, fault=fault)
        with monkeypatch.context() as patch:
            if fault == "before_record":
                patch.setattr(repo, "record_fills", _crash)
            killed = _materialize(resources, instance, broker=crashing)
        assert not killed.success, fault
        retried = _materialize(resources, instance)
        assert retried.success, fault
        assert _check_passed(retried), fault  # recovered before it was reconciled

    client = KalshiClient(url, KalshiCredentials.from_pem(key_id, key_path.read_bytes()))
    with session_scope(engine) as session:
        ours = repo.orders_for(session, city=CITY, day=DAY)
        our_fills = Counter(session.scalars(select(FillRow.fill_id)))
        held = net_yes(
            (p.ticker, p.outcome_side, p.count) for p in repo.positions_for(session, CITY, DAY)
        )
    their_orders = Counter(o.client_order_id for o in client.orders())
    their_fills = Counter(f.fill_id for f in client.fills())
    duplicates = sum(n - 1 for c in (their_orders, their_fills, our_fills) for n in c.values())
    lost = len(set(their_orders) ^ set(ours["client_order_id"])) + len(
        set(their_fills) ^ set(our_fills)
    )
    print(
        f"crash trials: {TRIALS}, fills: {len(our_fills)}, duplicates: {duplicates}, lost: {lost}"
    )
    assert len(ours) == TRIALS and set(ours["status"]) <= {"filled", "partially_filled"}
    assert (duplicates, lost) == (0, 0)
    assert their_orders == Counter(ours["client_order_id"])  # each order on the exchange once
    assert their_fills == our_fills and len(our_fills) >= TRIALS
    assert KalshiBroker(client).positions() == {t: n for t, n in held.items() if n}


class _ExchangeHolds:
    """A position read in which the exchange holds one YES contract of ``ticker``."""

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker

    def positions(self) -> dict[str, int]:
        return {self.ticker: 1}


class DisagreeingPaperBroker(PaperBrokerResource):
    """The paper broker, reconciled against an exchange holding a contract we never bought."""

    ticker: str

    def exchange_positions(self) -> _ExchangeHolds:
        """The disagreeing exchange."""
        return _ExchangeHolds(self.ticker)


def test_a_position_mismatch_halts_that_market_only(
    settings: Settings, engine: Engine, instance: dg.DagsterInstance
) -> None:
    resources = build_resources(settings)
    assert dg.materialize(
        [kalshi_markets], partition_key=PARTITION, resources=resources, instance=instance
    ).success
    with session_scope(engine) as session:
        books = [b for b in repo.market_snapshots(session, CITY, DAY, "high") if b.no_bids]
    assert len(books) >= 2
    halted, traded = books[:2]
    _decide(engine, [halted, traded], max(b.captured_at for b in books))

    result = _materialize(resources, instance, broker=DisagreeingPaperBroker(ticker=halted.ticker))

    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert (evaluation.check_name, evaluation.passed) == ("positions_match_exchange", False)
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["mismatched"].value == f"{halted.ticker} ours 0 exchange 1"
    metadata = result.asset_materializations_for_node("orders")[0].metadata
    assert (metadata["orders_sent"].value, metadata["orders_halted"].value) == (1, 1)
    with session_scope(engine) as session:
        sent = set(repo.orders_for(session, city=CITY, day=DAY)["ticker"])
        alerts = [e.payload for e in repo.events_after(session, 0) if e.topic == "reconciliation"]
    assert sent == {traded.ticker}
    assert alerts == [{"ticker": halted.ticker, "ours": 0, "exchange": 1, "halted": True}]


def test_the_paper_broker_is_not_reconciled() -> None:
    # It forgets between processes: a fresh one would disagree with every stored position.
    assert PaperBrokerResource().exchange_positions() is None
