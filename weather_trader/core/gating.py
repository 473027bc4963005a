"""What may be traded: blocking data-quality checks, and the edge a walk-forward measured.

A trading run is separate from the forecast run that wrote its inputs, so Dagster's blocking
checks (which stop the downstream steps of their own run) cannot stop it. The trading run
therefore looks up the latest evaluation of each gating check on its partition's inputs and,
while one failed, decides nothing: every candidate is kept, skipped with the check's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import cast

from weather_trader.core.instants import DecisionInstant, InstantError
from weather_trader.core.series_registry import RegistryEntry
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
    return withhold(decisions, blocked_reason(check))


def withhold(decisions: Sequence[Decision], reason: str) -> list[Decision]:
    """The same candidates, none taken, each giving ``reason``."""
    zero = Decimal("0.00")
    why = cast(Reason, reason)
    return [dataclasses.replace(d, count=0, cost=zero, fee=zero, reason=why) for d in decisions]


# -- verified series -------------------------------------------------------------------------------
#
# Only a series whose settlement station was verified against our table (core.series_registry)
# is traded: trading the wrong station's temperature is the most common bug of weather bots.

UNVERIFIED_SERIES = "unverified_series"
"""The reason code of a candidate whose city and kind have no verified series."""


def unverified_series_reason(city: str, kind: str, registry: Sequence[RegistryEntry]) -> str | None:
    """None when the stored registry has a verified series of ``city``'s daily ``kind``, else
    the decision reason saying why it may not be traded (``unverified_series: ...``)."""
    mine = [e for e in registry if e.city == city and e.kind == kind]
    if any(e.verified for e in mine):
        return None
    if not registry:
        why = "no series registry discovered yet"
    elif not mine:
        why = f"the exchange lists no {kind} series of {city}"
    else:
        why = "; ".join(f"{e.series_ticker}: {e.reason}" for e in mine)
    return f"{UNVERIFIED_SERIES}: {why}"


# -- measured edge ---------------------------------------------------------------------------------
#
# A model-market gap is not an edge until a walk-forward evaluation measured one (issue 8): the
# forecast_evaluation asset scores `ours` and the market, by event Brier, per city and decision
# instant ("D-1 16:00", "D 08:00": local standard time relative to the climate day D). A decision
# at time t is judged by the evaluation of the configured instant nearest to t (ties go to the
# earlier instant); a decision with no measured edge there takes nothing on model edge.

NO_MEASURED_EDGE = "no_measured_edge"
"""The reason code of a candidate untaken for want of a measured edge."""
DEFAULT_MIN_EVENTS = 30
"""Fewest scored events for a measured edge to count: fewer is noise, not evidence."""
# Reasons that already say the candidate could not be traded; the edge gate keeps them.
_UNTRADABLE = frozenset(
    {"kill_switch", "stale_inputs", "daily_loss_limit", "no_liquidity", "no_edge"}
)


def nearest_instant(
    city: str, day: date, decided_at: datetime, instants: Sequence[DecisionInstant]
) -> DecisionInstant:
    """The configured instant of ``city``'s day ``day`` nearest to ``decided_at``.

    Ties (a decision exactly between two instants) go to the earlier instant, which knew less.

    Raises:
        InstantError: If ``instants`` is empty.
    """
    if not instants:
        raise InstantError("no decision instants configured")
    return min(
        instants,
        key=lambda i: (abs((i.at(city, day) - decided_at).total_seconds()), i.at(city, day)),
    )


EDGE_Z = 1.645
"""One-sided 95% normal quantile: ours must beat the market by more than this many standard
errors of the mean per-event difference (a tie within noise is no edge)."""


@dataclass(frozen=True)
class MeasuredEdge:
    """What a walk-forward evaluation measured for one city at one decision instant.

    Attributes:
        city: City code.
        instant: The instant's label.
        events: Events scored (every bracket priced, every predictor with inputs).
        brier_ours: Mean event Brier of ``ours`` (None when no event was scored).
        brier_market: Mean event Brier of the market (None when no event was scored).
        diff_se: Standard error of the mean per-event difference ``ours - market`` (None when
            fewer than two events were scored).
    """

    city: str
    instant: str
    events: int
    brier_ours: float | None
    brier_market: float | None
    diff_se: float | None = None

    @property
    def diff_upper(self) -> float | None:
        """Upper one-sided 95% bound of the mean event-Brier difference ``ours - market``."""
        if self.brier_ours is None or self.brier_market is None or self.diff_se is None:
            return None
        return self.brier_ours - self.brier_market + EDGE_Z * self.diff_se

    def beats_market(self, min_events: int = DEFAULT_MIN_EVENTS) -> bool:
        """Whether ``ours`` scored below the market on at least ``min_events`` events, by more
        than the noise: the upper 95% bound of the mean per-event difference is below 0."""
        upper = self.diff_upper
        return self.events >= min_events and upper is not None and upper < 0


def edge_gate_reason(
    edge: MeasuredEdge | None,
    instant: DecisionInstant,
    min_events: int = DEFAULT_MIN_EVENTS,
) -> str | None:
    """None when trading on model edge is allowed, else the decision reason saying why not.

    Args:
        edge: The evaluation of the decision's city at ``instant`` (None: never measured).
        instant: The instant the decision maps to (:func:`nearest_instant`).
        min_events: Fewest events for the measurement to count.
    """
    where = f"at {instant.label}"
    if edge is None:
        return f"{NO_MEASURED_EDGE}: no evaluation of this city {where}"
    if edge.beats_market(min_events):
        return None
    if edge.brier_ours is None or edge.brier_market is None or edge.events == 0:
        return f"{NO_MEASURED_EDGE}: no event scored {where}"
    scores = (
        f"ours {edge.brier_ours:.3f} vs market {edge.brier_market:.3f} event Brier over "
        f"{edge.events} events {where}"
    )
    if edge.events < min_events:
        return f"{NO_MEASURED_EDGE}: {scores} (fewer than {min_events})"
    if edge.brier_ours < edge.brier_market and edge.diff_upper is not None:
        return (
            f"{NO_MEASURED_EDGE}: {scores} (within noise: upper 95% bound {edge.diff_upper:+.3f})"
        )
    return f"{NO_MEASURED_EDGE}: {scores}"


def reason_code(reason: str) -> str:
    """The machine-readable part of a decision reason (before any ``:`` detail)."""
    return reason.split(":", 1)[0]


def gate_on_edge(decisions: Sequence[Decision], reason: str) -> list[Decision]:
    """The same candidates with nothing taken on model edge: every candidate that was taken or
    sized (its model edge was enough) now gives ``reason``; those already untradable (no edge,
    no liquidity, halted) keep theirs."""
    zero = Decimal("0.00")
    why = cast(Reason, reason)
    return [
        d
        if d.reason in _UNTRADABLE
        else dataclasses.replace(d, count=0, cost=zero, fee=zero, reason=why)
        for d in decisions
    ]


def no_evaluation_reason(as_of: datetime) -> str:
    """The reason of a candidate decided when no walk-forward evaluation was known yet."""
    return f"{NO_MEASURED_EDGE}: no forecast_evaluation known at {as_of.isoformat()}"
