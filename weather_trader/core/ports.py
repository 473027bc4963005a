"""The interfaces through which the pipeline reaches the outside world.

Sim, paper, demo and live modes differ only in which implementation of these protocols the
Dagster resources hand to the assets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol, runtime_checkable

import pandas as pd

from weather_trader.core.cities import Kind
from weather_trader.core.records import (
    ClimateReport,
    ForecastPoint,
    MarketSnapshot,
    Observation,
    OrderRequest,
    OrderResult,
    RawPayload,
)


class WeatherSource(Protocol):
    """Forecasts, observations and climate reports for a city's climate day.

    Attributes:
        sources: The providers a forecast pull should include; a pull without one of them is
            flagged by the ``all_sources_present`` check.
    """

    sources: tuple[str, ...]

    def forecasts(self, city: str, day: date, as_of: datetime) -> list[ForecastPoint]:
        """Latest forecasts of ``day``'s high and low from every model, issued before ``as_of``."""
        ...

    def observations(self, city: str, start: datetime, end: datetime) -> list[Observation]:
        """Station observations in ``[start, end)``."""
        ...

    def climate_reports(self, city: str, day: date, as_of: datetime) -> list[ClimateReport]:
        """Every climate report for ``day`` issued before ``as_of`` (preliminary and final)."""
        ...

    def drain_payloads(self) -> Sequence[RawPayload]:
        """The raw responses received since the last drain (none for a source without any)."""
        ...

    def history(
        self, city: str, start: date, end: date
    ) -> tuple[pd.DataFrame, list[ClimateReport]]:
        """The archive of climate days ``start..end`` (inclusive) as it was published.

        Returns:
            ``(forecasts, reports)``: forecasts with the columns ``city``, ``climate_date``,
            ``kind``, ``source``, ``model``, ``member`` (nullable int), ``issued_at``,
            ``retrieved_at`` (when it was available: never before it was issued) and
            ``value_f``; and the days' climate reports.
        """
        ...


class MarketData(Protocol):
    """Kalshi-style bracket markets with their order books."""

    def event_markets(
        self, city: str, day: date, kind: Kind, as_of: datetime
    ) -> list[MarketSnapshot]:
        """All markets of the city's ``kind`` event for ``day`` with books as of ``as_of``."""
        ...


class Broker(Protocol):
    """Places orders; idempotent by ``client_order_id``.

    A broker with its own record of our positions (an exchange) also implements
    :class:`PositionReader`, so the pipeline can reconcile the positions it stored.
    """

    def place(self, order: OrderRequest, book: MarketSnapshot, as_of: datetime) -> OrderResult:
        """Submit ``order``; ``book`` is the latest snapshot (the paper broker fills against it)."""
        ...


@runtime_checkable
class PositionReader(Protocol):
    """The optional half of :class:`Broker`: the exchange's record of our positions."""

    def positions(self) -> dict[str, int]:
        """Net YES contracts held per market ticker (negative = NO contracts).

        Markets without a position may be left out: a missing ticker means 0.
        """
        ...
