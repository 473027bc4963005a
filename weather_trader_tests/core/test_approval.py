"""The manual-approval rule: what may become an order, expiry, verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from weather_trader.core.approval import (
    PROPOSAL_TTL,
    Proposal,
    ProposalError,
    approved_for_orders,
    check_verdict,
    proposal_expiry,
    shown_status,
    to_propose,
)

NOW = datetime(2026, 12, 7, 15, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)


def _p(cid: str, status: str, expires: datetime = LATER) -> Proposal:
    return Proposal(cid, status, expires)  # type: ignore[arg-type]


def test_only_approved_unexpired_proposals_become_orders() -> None:
    decisions = {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}
    proposals = [
        _p("a", "approved"),
        _p("b", "pending"),
        _p("c", "rejected"),
        _p("d", "approved", expires=NOW),  # expires exactly now: too late
        _p("x", "approved"),  # no such decision
    ]

    assert approved_for_orders(decisions, proposals, NOW) == {"a": "A"}  # e has no proposal


def test_each_taken_decision_is_proposed_once() -> None:
    decisions = {"a": 1, "b": 2}

    assert to_propose(decisions, [_p("a", "rejected")]) == {"b": 2}
    assert to_propose(decisions, []) == decisions


def test_expiry_counts_from_the_decision_instant() -> None:
    assert proposal_expiry(NOW) == NOW + PROPOSAL_TTL == NOW + timedelta(minutes=30)


def test_verdicts_need_a_pending_unexpired_proposal() -> None:
    assert check_verdict(_p("a", "pending"), "approve", NOW) == "approved"
    assert check_verdict(_p("a", "pending"), "reject", NOW) == "rejected"
    with pytest.raises(ProposalError, match="already approved"):
        check_verdict(_p("a", "approved"), "reject", NOW)
    with pytest.raises(ProposalError, match="expired"):
        check_verdict(_p("a", "pending", expires=NOW - timedelta(seconds=1)), "approve", NOW)


def test_shown_status() -> None:
    past = NOW - timedelta(minutes=1)
    assert shown_status(_p("a", "pending"), NOW, ordered=False) == "pending"
    assert shown_status(_p("a", "pending", past), NOW, ordered=False) == "expired"
    assert shown_status(_p("a", "approved", past), NOW, ordered=False) == "expired"
    assert shown_status(_p("a", "approved", past), NOW, ordered=True) == "ordered"
    assert shown_status(_p("a", "rejected", past), NOW, ordered=False) == "rejected"
