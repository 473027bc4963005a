"""Repository functions of the series registry (``series_registry``).

The rule (which series are verified, and why not) is ``core/series_registry.py``; this module
stores and reads. Every function works inside the caller's transaction, so a replaced registry
is seen whole or not at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from weather_trader.core.cities import Kind
from weather_trader.core.series_registry import RegistryEntry
from weather_trader.store._util import aware
from weather_trader.store.models import SeriesRegistryRow


def save_registry(
    session: Session, entries: Iterable[RegistryEntry], discovered_at: datetime
) -> int:
    """Replace the stored registry with ``entries`` (series no longer listed disappear).

    Returns:
        The number of series stored.

    Raises:
        ValueError: If a series ticker appears twice.
        StoreError: If ``discovered_at`` is naive.
    """
    rows = list(entries)
    twice = sorted(t for t, n in Counter(e.series_ticker for e in rows).items() if n > 1)
    if twice:
        raise ValueError(f"series listed twice in the registry: {', '.join(twice)}")
    at = aware(discovered_at, "discovered_at")
    session.execute(delete(SeriesRegistryRow))
    session.add_all(
        SeriesRegistryRow(
            series_ticker=e.series_ticker,
            city=e.city,
            kind=e.kind,
            station=e.station,
            cli_product=e.cli_product,
            utc_offset=e.utc_offset,
            verified=e.verified,
            reason=e.reason,
            title=e.title,
            discovered_at=at,
        )
        for e in rows
    )
    session.flush()
    return len(rows)


def load_registry(session: Session) -> list[RegistryEntry]:
    """The stored registry, sorted by series ticker (empty before the first discovery)."""
    rows = session.scalars(select(SeriesRegistryRow).order_by(SeriesRegistryRow.series_ticker))
    return [
        RegistryEntry(
            series_ticker=r.series_ticker,
            city=r.city,
            kind=cast(Kind | None, r.kind),
            station=r.station,
            cli_product=r.cli_product,
            utc_offset=r.utc_offset,
            verified=r.verified,
            reason=r.reason,
            title=r.title,
        )
        for r in rows
    ]


def registry_discovered_at(session: Session) -> datetime | None:
    """When the stored registry was discovered; None before the first discovery."""
    return session.scalar(select(func.max(SeriesRegistryRow.discovered_at)))


def verified_series(session: Session) -> set[tuple[str, str]]:
    """``(city, kind)`` of every verified series: the only ones that may be traded."""
    rows = session.execute(
        select(SeriesRegistryRow.city, SeriesRegistryRow.kind).where(
            SeriesRegistryRow.verified.is_(True)
        )
    )
    return {(city, kind) for city, kind in rows if city is not None and kind is not None}
