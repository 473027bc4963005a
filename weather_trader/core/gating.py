"""Blocking data-quality checks gate trading across runs.

A trading run is separate from the forecast run that wrote its inputs, so Dagster's blocking
checks (which stop the downstream steps of their own run) cannot stop it. The trading run
therefore looks up the latest evaluation of each gating check on its partition's inputs and,
while one failed, decides nothing: every candidate is kept, skipped with the check's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import cast

from weather_trader.core.trading import Decision, Reason

BLOCKED_PREFIX = "blocked_by_check:"


def failed_check(latest_passed: Mapping[str, bool | None]) -> str | None:
    """The first gating check, by name, whose latest evaluation failed, else None.

    Args:
        latest_passed: Check name -> whether its latest evaluation on the partition passed,
            or None when it was never evaluated there (nothing to hold against the inputs).
    """
    return next((name for name in sorted(latest_passed) if latest_passed[name] is False), None)


def blocked_reason(check: str) -> str:
    """The decision reason of a candidate skipped because ``check`` failed."""
    return f"{BLOCKED_PREFIX}{check}"


def block(decisions: Sequence[Decision], check: str) -> list[Decision]:
    """The same candidates, none taken, each giving the failed check as its reason."""
    zero = Decimal("0.00")
    reason = cast(Reason, blocked_reason(check))
    return [dataclasses.replace(d, count=0, cost=zero, fee=zero, reason=reason) for d in decisions]
