"""Response models of the sidecar's JSON endpoints and WebSocket feed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict

MONEY_PLACES = Decimal("0.0001")

Money = Annotated[Decimal, AfterValidator(lambda v: v.quantize(MONEY_PLACES))]
"""Dollars with four decimal places (serialised as a JSON string, e.g. ``"12.5000"``)."""


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class EventOut(_Out):
    """One outbox event, as sent on ``/ws`` (one JSON text frame per event)."""

    id: int
    created_at: datetime
    topic: str
    city: str | None
    climate_date: date | None
    payload: dict[str, Any]


class HealthOut(_Out):
    """``/health``: ``status`` is ``ok`` or ``degraded`` (database unreachable, HTTP 503)."""

    status: Literal["ok", "degraded"]
    database: Literal["ok", "error"]
    last_event_id: int | None


class PositionOut(_Out):
    """An open position (non-zero contract count, not yet settled)."""

    ticker: str
    event_ticker: str
    outcome_side: str
    city: str
    climate_date: date
    kind: str
    count: int
    cost: Money
    fees: Money
    realized_pnl: Money


class DecisionOut(_Out):
    """A trade candidate, taken or skipped, with its reason."""

    id: int
    as_of: datetime
    city: str
    climate_date: date
    kind: str
    ticker: str
    side: str
    p_model: float
    price: Money
    edge: float
    ev_per_contract: Money
    count: int
    cost: Money
    fee: Money
    taken: bool
    reason: str


class PnlOut(_Out):
    """Realized P&L in dollars: settlements dated today (UTC) and over all time."""

    today: Money
    total: Money


class FreshnessOut(_Out):
    """The latest timestamp of one data product.

    Attributes:
        product: Product name (``forecasts``, ``markets``, ...).
        column: ``table.column`` the timestamp comes from.
        latest: Latest value; None when the table is empty.
        age_seconds: Seconds between ``latest`` and the overview's ``generated_at``.
        rows: Rows in the table.
    """

    product: str
    column: str
    latest: datetime | None
    age_seconds: float | None
    rows: int


class OverviewOut(_Out):
    """Everything on the overview page.

    ``open_exposure`` is the cost basis of open positions; ``recent_events`` the latest
    outbox events, newest first; ``last_event_id`` the id to resume the live feed from.
    """

    generated_at: datetime
    bankroll: Money
    open_exposure: Money
    pnl: PnlOut
    open_positions: list[PositionOut]
    decisions: list[DecisionOut]
    freshness: list[FreshnessOut]
    last_event_id: int
    recent_events: list[EventOut]
