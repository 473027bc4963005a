"""Typed values the repository functions return (beyond the core records).

Money is ``Decimal`` dollars; datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from weather_trader.core.cities import Kind

OutcomeSide = Literal["yes", "no"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DistributionRecord(_Record):
    """The predictive distribution of one city-day's high or low.

    ``mu``/``sigma`` summarise it (for a Gaussian they define it); ``floor``/``cap`` are the
    bounds the day's observations put on it (:class:`~weather_trader.core.distribution.
    ObservedBounds`); ``extra`` holds whatever else the method needs (quantiles, mixture
    weights, calibration terms) as JSON values.
    """

    city: str
    climate_date: date
    kind: Kind
    as_of: AwareDatetime
    method: str
    model_version: str
    mu: float
    sigma: float = Field(ge=0)
    n_forecasts: int = Field(ge=0)
    floor: float | None = None
    cap: float | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class PositionRecord(_Record):
    """Contracts held of one outcome of one market.

    ``cost`` is the cost basis of the contracts still held (price paid, fees excluded);
    ``fees`` every fee paid on the position; ``realized_pnl`` the gross profit of sales until
    settlement, and after it also the settlement's P&L (payout - cost - fees).
    """

    ticker: str
    outcome_side: OutcomeSide
    city: str
    climate_date: date
    kind: Kind
    event_ticker: str
    count: int
    cost: Decimal
    fees: Decimal
    realized_pnl: Decimal
    settled: bool


class EventRecord(_Record):
    """One live-feed outbox event; ``id`` increases strictly in commit order."""

    id: int
    created_at: AwareDatetime
    topic: str
    city: str | None
    climate_date: date | None
    payload: dict[str, Any]


class ModelVersionRecord(_Record):
    """A trained model version with its parameters and metrics (JSON values)."""

    name: str
    version: str
    created_at: AwareDatetime
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)


class DecisionRecord(_Record):
    """A stored trade decision (a candidate, taken or skipped, with its reason)."""

    id: int
    city: str
    climate_date: date
    kind: Kind
    as_of: AwareDatetime
    event_ticker: str
    ticker: str
    side: OutcomeSide
    p_model: float
    price: Decimal
    ev_per_contract: Decimal
    edge: float
    count: int
    cost: Decimal
    fee: Decimal
    taken: bool
    reason: str


class FreshnessRecord(_Record):
    """How fresh one data product is: the latest value of its time column and its rows."""

    product: str
    column: str
    latest: AwareDatetime | None
    rows: int
