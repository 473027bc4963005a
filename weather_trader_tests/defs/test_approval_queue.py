"""Manual approval end to end in Dagster: decisions queue as proposals, only approved ones
become orders, and the approval sensor asks for an ``orders`` run when one is approved."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
import pandas as pd
from sqlalchemy import Engine

from weather_trader.defs.automation import approval_sensor
from weather_trader.defs.markets.assets import kalshi_markets
from weather_trader.defs.resources import ClockResource, DatabaseResource, build_resources
from weather_trader.defs.trading.assets import orders
from weather_trader.settings import Settings
from weather_trader.store import repo, repo_proposals
from weather_trader.store.db import session_scope
from weather_trader_tests.defs.support import CITY, DAY, key

PARTITION = key(CITY, DAY)


def _taken(book: Any, as_of: Any) -> dict[str, Any]:
    price = Decimal("0.99")
    return {
        "kind": book.kind, "as_of": as_of, "taken": True, "event_ticker": book.event_ticker,
        "ticker": book.ticker, "side": "yes", "p_model": 1.0, "price": price,
        "ev_per_contract": Decimal("0.01"), "edge": 0.01, "count": 2, "cost": 2 * price,
        "fee": Decimal("0.01"), "reason": "taken",
    }  # fmt: skip


def test_only_approved_proposals_become_orders(
    settings: Settings, engine: Engine, instance: dg.DagsterInstance
) -> None:
    resources = build_resources(settings)
    assert dg.materialize(
        [kalshi_markets], partition_key=PARTITION, resources=resources, instance=instance
    ).success
    with session_scope(engine) as session:
        books = [b for b in repo.market_snapshots(session, CITY, DAY, "high") if b.no_bids][:2]
        decided_at = max(b.captured_at for b in books)
        repo.replace_decisions(
            session, CITY, DAY, pd.DataFrame([_taken(b, decided_at) for b in books])
        )
        repo.set_setting(session, "operator.manual_approval", True)
    clock = ClockResource(fixed_now=(decided_at + timedelta(minutes=5)).isoformat())
    run = {"partition_key": PARTITION, "instance": instance}

    queued = dg.materialize([orders], resources={**resources, "clock": clock}, **run)

    assert queued.success
    with session_scope(engine) as session:
        assert repo.orders_for(session, city=CITY, day=DAY).empty
        proposals = repo_proposals.list_proposals(session, decided_at)
    assert sorted(p.ticker for p in proposals) == sorted(b.ticker for b in books)
    sensor_resources = {
        "database": DatabaseResource(url=settings.resolved_database_url),
        "clock": clock,
    }
    context = dg.build_sensor_context(resources=sensor_resources, instance=instance)
    assert approval_sensor(context).run_requests == []  # nothing approved yet

    approved, rejected = proposals
    now = decided_at + timedelta(minutes=6)
    with session_scope(engine) as session:
        repo_proposals.decide_proposal(session, approved.id, "approve", "ann", now)
        repo_proposals.decide_proposal(session, rejected.id, "reject", "ann", now)
    (request,) = approval_sensor(context).run_requests
    assert str(request.partition_key) == str(PARTITION)
    assert request.asset_selection == [dg.AssetKey("orders")]
    assert request.tags["trigger"] == "approved_proposal"

    placed = dg.materialize([orders], resources={**resources, "clock": clock}, **run)
    again = dg.materialize([orders], resources={**resources, "clock": clock}, **run)

    assert placed.success and again.success
    with session_scope(engine) as session:
        sent = repo.orders_for(session, city=CITY, day=DAY)
        shown = {p.ticker: p.status for p in repo_proposals.list_proposals(session, now)}
    assert list(sent["ticker"]) == [approved.ticker]  # once, and only the approved one
    assert shown == {approved.ticker: "ordered", rejected.ticker: "rejected"}
    assert approval_sensor(context).run_requests == []  # placed: nothing more to run


def test_without_manual_approval_orders_are_sent_directly(
    settings: Settings, engine: Engine, instance: dg.DagsterInstance
) -> None:
    resources = build_resources(settings)
    assert dg.materialize(
        [kalshi_markets], partition_key=PARTITION, resources=resources, instance=instance
    ).success
    with session_scope(engine) as session:
        (book,) = [b for b in repo.market_snapshots(session, CITY, DAY, "high") if b.no_bids][:1]
        repo.replace_decisions(session, CITY, DAY, pd.DataFrame([_taken(book, book.captured_at)]))

    assert dg.materialize(
        [orders], partition_key=PARTITION, resources=resources, instance=instance
    ).success

    with session_scope(engine) as session:
        assert list(repo.orders_for(session, city=CITY, day=DAY)["ticker"]) == [book.ticker]
        assert repo_proposals.list_proposals(session, book.captured_at) == []
