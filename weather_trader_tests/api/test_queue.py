"""``/queue`` and ``/api/proposals``: list, approve, reject (with the CSRF token)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from weather_trader.core.trading import Decision
from weather_trader.store import repo, repo_proposals
from weather_trader.store.db import session_scope
from weather_trader_tests.api.conftest import DAY, TestClient


def queue_proposals(engine: Engine, n: int = 2, as_of: datetime | None = None) -> list[int]:
    """Queue ``n`` pending proposals decided at ``as_of`` (now by default); return their ids."""
    as_of = as_of or datetime.now(UTC)
    items = [
        repo_proposals.NewProposal(
            f"cid-{i}", "NYC", DAY, "high", as_of,
            Decision(
                ticker=f"KXHIGHNY-26JAN15-B{45 + 2 * i}.5", event_ticker="KXHIGHNY-26JAN15",
                side="yes", p_model=0.5, price=Decimal("0.40"), ev_per_contract=Decimal("0.08"),
                edge=Decimal("0.10"), count=10, cost=Decimal("4.00"), fee=Decimal("0.17"),
                reason="taken",
            ),
        )
        for i in range(n)
    ]  # fmt: skip
    with session_scope(engine) as session:
        repo_proposals.add_proposals(session, items, as_of)
        return [p.id for p in repo_proposals.list_proposals(session, as_of)]


def test_queue_page_lists_proposals_with_actions(client: TestClient, engine: Engine) -> None:
    ids = queue_proposals(engine)

    html = client.get("/queue").text

    assert f'id="proposal-{ids[0]}" data-status="pending"' in html
    assert f'data-action="POST /api/proposals/{ids[0]}/approve"' in html
    assert 'id="manual-mode">off' in html
    with session_scope(engine) as session:
        repo.set_setting(session, "operator.manual_approval", True)
    assert 'id="manual-mode">on' in client.get("/queue").text


def test_approve_and_reject(client: TestClient, engine: Engine) -> None:
    first, second = queue_proposals(engine)

    approved = client.post(f"/api/proposals/{first}/approve")
    rejected = client.post(f"/api/proposals/{second}/reject")

    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "tester"
    assert rejected.json()["status"] == "rejected"
    assert client.post(f"/api/proposals/{first}/reject").status_code == 409
    assert client.post("/api/proposals/99999/approve").status_code == 404
    assert client.post(f"/api/proposals/{2**63}/approve").status_code == 422  # not a 500
    listed = {p["id"]: p["status"] for p in client.get("/api/proposals").json()}
    assert listed == {first: "approved", second: "rejected"}
    with session_scope(engine) as session:
        topics = [(e.topic, e.payload["status"]) for e in repo.events_after(session, 0, 100)
                  if e.topic == "proposal"]  # fmt: skip
    assert ("proposal", "approved") in topics and ("proposal", "rejected") in topics


def test_expired_proposal_is_refused(client: TestClient, engine: Engine) -> None:
    (old,) = queue_proposals(engine, 1, as_of=datetime.now(UTC) - timedelta(hours=1))

    response = client.post(f"/api/proposals/{old}/approve")

    assert response.status_code == 409 and "expired" in response.text
    assert client.get("/api/proposals").json()[0]["status"] == "expired"


def test_verdicts_need_the_csrf_token(client: TestClient, engine: Engine) -> None:
    (pid,) = queue_proposals(engine, 1)
    token = client.headers.pop("X-CSRF-Token")

    assert client.post(f"/api/proposals/{pid}/approve").status_code == 403
    client.headers["X-CSRF-Token"] = token
    assert client.get("/api/proposals").json()[0]["status"] == "pending"
