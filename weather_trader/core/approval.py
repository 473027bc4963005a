"""The manual-approval rule: in manual-approval mode a taken decision becomes a proposal that a
person approves or rejects before it may become an order.

A proposal is known by the client order id of the order its decision would send (it hashes the
partition, ticker, side, decision version and decision instant), so a re-decided event makes new
proposals and an approval can never send a different order than the one shown. A proposal
expires :data:`PROPOSAL_TTL` after its decision instant: prices move, and a decision priced
half an hour ago is no longer the decision. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeVar

PROPOSAL_TTL = timedelta(minutes=30)
"""How long after its decision instant a proposal may be approved and placed."""

ProposalStatus = Literal["pending", "approved", "rejected"]
ShownStatus = Literal["pending", "approved", "rejected", "expired", "ordered"]
Verdict = Literal["approve", "reject"]

D = TypeVar("D")


class ProposalError(ValueError):
    """A proposal cannot take the verdict asked for (already decided, or expired)."""


@dataclass(frozen=True)
class Proposal:
    """A decision waiting for (or having had) a person's verdict.

    Attributes:
        client_order_id: The id of the order the decision would send.
        status: ``pending`` until someone approves or rejects it.
        expires_at: After this instant it can neither be approved nor placed.
    """

    client_order_id: str
    status: ProposalStatus
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        """Whether the proposal's time is up at ``now``."""
        return now >= self.expires_at


def proposal_expiry(decided_at: datetime, ttl: timedelta = PROPOSAL_TTL) -> datetime:
    """When a proposal made from a decision taken at ``decided_at`` expires."""
    return decided_at + ttl


def shown_status(proposal: Proposal, now: datetime, ordered: bool) -> ShownStatus:
    """The status a person sees: ``ordered`` once its order exists, ``expired`` once a pending
    or approved proposal is past its expiry without an order, else the stored status."""
    if ordered:
        return "ordered"
    if proposal.status != "rejected" and proposal.expired(now):
        return "expired"
    return proposal.status


def check_verdict(proposal: Proposal, verdict: Verdict, now: datetime) -> ProposalStatus:
    """The status ``verdict`` gives a proposal.

    Raises:
        ProposalError: If the proposal was already approved or rejected, or has expired.
    """
    if proposal.status != "pending":
        raise ProposalError(f"proposal already {proposal.status}")
    if proposal.expired(now):
        raise ProposalError(f"proposal expired at {proposal.expires_at.isoformat()}")
    return "approved" if verdict == "approve" else "rejected"


def approved_for_orders(
    decisions: Mapping[str, D], proposals: Iterable[Proposal], now: datetime
) -> dict[str, D]:
    """The taken decisions that may become orders in manual-approval mode.

    Args:
        decisions: Taken decisions by the client order id of their order.
        proposals: The stored proposals (any status, any partition).
        now: The current instant.

    Returns:
        The decisions whose proposal is approved and not expired at ``now``.
    """
    approved = {
        p.client_order_id for p in proposals if p.status == "approved" and not p.expired(now)
    }
    return {cid: d for cid, d in decisions.items() if cid in approved}


def to_propose(decisions: Mapping[str, D], proposals: Iterable[Proposal]) -> dict[str, D]:
    """The taken decisions that have no proposal yet (each gets exactly one)."""
    known = {p.client_order_id for p in proposals}
    return {cid: d for cid, d in decisions.items() if cid not in known}
