"""The approval queue's storage: proposals added once, verdicts, what awaits an order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from weather_trader.core.approval import ProposalError
from weather_trader.core.records import OrderRequest, OrderResult
from weather_trader.core.trading import Decision
from weather_trader.store import repo, repo_proposals
from weather_trader.store.db import make_engine, migrate, session_scope

DAY = date(2026, 12, 8)
AS_OF = datetime(2026, 12, 7, 15, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    migrate(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


def _decision(ticker: str) -> Decision:
    return Decision(
        ticker=ticker, event_ticker="KXHIGHNY-26DEC08", side="yes", p_model=0.5,
        price=Decimal("0.40"), ev_per_contract=Decimal("0.08"), edge=Decimal("0.10"), count=10,
        cost=Decimal("4.00"), fee=Decimal("0.17"), reason="taken",
    )  # fmt: skip


def _new(cid: str, ticker: str) -> repo_proposals.NewProposal:
    return repo_proposals.NewProposal(cid, "NYC", DAY, "high", AS_OF, _decision(ticker))


def test_proposals_are_added_once_and_announced(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert (
            repo_proposals.add_proposals(session, [_new("c1", "T1"), _new("c2", "T2")], AS_OF) == 2
        )
        assert repo_proposals.add_proposals(session, [_new("c1", "T1")], AS_OF) == 0
        events = repo.events_after(session, 0, 10)
        listed = repo_proposals.list_proposals(session, AS_OF)

    assert [e.topic for e in events] == ["proposal", "proposal"]
    assert {p.client_order_id for p in listed} == {"c1", "c2"}
    assert all(
        p.status == "pending" and p.expires_at == AS_OF + timedelta(minutes=30) for p in listed
    )
    assert listed[0].cost == Decimal("4.0000") and listed[0].side == "yes"


def test_verdicts_and_what_awaits_an_order(engine: Engine) -> None:
    with session_scope(engine) as session:
        repo_proposals.add_proposals(session, [_new("c1", "T1"), _new("c2", "T2")], AS_OF)
        ids = {p.client_order_id: p.id for p in repo_proposals.list_proposals(session, AS_OF)}
    now = AS_OF + timedelta(minutes=5)
    with session_scope(engine) as session:
        approved = repo_proposals.decide_proposal(session, ids["c1"], "approve", "ann", now)
        repo_proposals.decide_proposal(session, ids["c2"], "reject", "ann", now)
    assert approved.status == "approved" and approved.decided_by == "ann"

    with session_scope(engine) as session:
        with pytest.raises(ProposalError, match="already approved"):
            repo_proposals.decide_proposal(session, ids["c1"], "reject", "bob", now)
        with pytest.raises(repo_proposals.ProposalNotFoundError):
            repo_proposals.decide_proposal(session, 999, "approve", "bob", now)
        awaiting = repo_proposals.approved_awaiting_order(session, now)
        assert [p.client_order_id for p in awaiting] == ["c1"]
        core = {
            p.client_order_id: p.status for p in repo_proposals.proposals_for(session, ["c1", "c2"])
        }
        assert core == {"c1": "approved", "c2": "rejected"}
        # Once its order is recorded and answered, it no longer awaits one and shows as ordered.
        order = OrderRequest(
            client_order_id="c1", ticker="T1", side="bid", count=10, price=Decimal("0.40")
        )
        repo.record_order(
            session, order, city="NYC", climate_date=DAY, kind="high", outcome_side="yes",
            created_at=now,
        )  # fmt: skip
        # Recorded but still pending (sent? unknown): it awaits the orders run's answer.
        assert [
            p.client_order_id for p in repo_proposals.approved_awaiting_order(session, now)
        ] == ["c1"]
        repo.record_order(
            session, order, city="NYC", climate_date=DAY, kind="high", outcome_side="yes",
            created_at=now,
            result=OrderResult(client_order_id="c1", status="filled", filled_count=10),
        )  # fmt: skip
    with session_scope(engine) as session:
        assert repo_proposals.approved_awaiting_order(session, now) == []
        statuses = {
            p.client_order_id: p.status for p in repo_proposals.list_proposals(session, now)
        }
        assert statuses == {"c1": "ordered", "c2": "rejected"}
        # Past the expiry an approval is refused and nothing awaits an order.
        assert repo_proposals.approved_awaiting_order(session, AS_OF + timedelta(hours=1)) == []


def test_expired_proposal_cannot_be_approved(engine: Engine) -> None:
    with session_scope(engine) as session:
        repo_proposals.add_proposals(session, [_new("c1", "T1")], AS_OF)
        (p,) = repo_proposals.list_proposals(session, AS_OF)
        with pytest.raises(ProposalError, match="expired"):
            repo_proposals.decide_proposal(
                session, p.id, "approve", "ann", AS_OF + timedelta(hours=1)
            )


def test_manual_approval_reads_the_stored_setting(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert repo_proposals.manual_approval_on(session) is False
        repo.set_setting(session, "operator.manual_approval", True)
        assert repo_proposals.manual_approval_on(session) is True
