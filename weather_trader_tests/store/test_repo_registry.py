"""The stored series registry: replaced whole, read back as entries, verified (city, kind)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weather_trader.core.series_registry import RegistryEntry
from weather_trader.store.db import StoreError, session_scope
from weather_trader.store.repo_registry import (
    load_registry,
    registry_discovered_at,
    save_registry,
    verified_series,
)

AT = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)
NYC_HIGH = RegistryEntry(
    "KXHIGHNY", "NYC", "high", "KNYC", "CLINYC", -5, True, "ok", "Highest temperature in NYC"
)
NYC_LOW = RegistryEntry(
    "KXLOWTNYC", "NYC", "low", "KNYC", "CLINYC", -5, False,
    "no rules text seen yet (no event listed)", "Lowest temperature in NYC",
)  # fmt: skip
HOU_HIGH = RegistryEntry(
    "KXHIGHTHOU", "HOU", "high", "KHOU", "CLIHOU", -6, False,
    "rules name 'Houston Intercontinental' but our station for CLIHOU is Houston (Hobby)",
)  # fmt: skip
UNKNOWN = RegistryEntry(
    "KXHIGHTXYZ", None, "high", None, "CLIXYZ", None, False,
    "no station in our table for CLI product CLIXYZ (rules name 'Nowhere')",
)  # fmt: skip
CHI_HIGH = RegistryEntry("KXHIGHCHI", "CHI", "high", "KMDW", "CLIMDW", -6, True, "ok")


def test_an_empty_store_has_no_registry(session: Session) -> None:
    assert load_registry(session) == []
    assert registry_discovered_at(session) is None
    assert verified_series(session) == set()


def test_the_registry_round_trips_sorted_with_its_discovery_time(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert save_registry(session, [UNKNOWN, NYC_LOW, NYC_HIGH, HOU_HIGH], AT) == 4

    with session_scope(engine) as session:
        assert load_registry(session) == [NYC_HIGH, HOU_HIGH, UNKNOWN, NYC_LOW]
        assert registry_discovered_at(session) == AT
        assert verified_series(session) == {("NYC", "high")}


def test_saving_replaces_the_whole_set(engine: Engine) -> None:
    with session_scope(engine) as session:
        save_registry(session, [NYC_HIGH, NYC_LOW, HOU_HIGH], AT)
    later = AT + timedelta(days=1)
    with session_scope(engine) as session:
        save_registry(session, [CHI_HIGH, NYC_LOW], later)

    with session_scope(engine) as session:
        assert load_registry(session) == [CHI_HIGH, NYC_LOW]
        assert verified_series(session) == {("CHI", "high")}
        assert registry_discovered_at(session) == later


def test_a_failed_save_keeps_the_stored_registry(engine: Engine) -> None:
    """The old set is deleted and the new one inserted in the caller's transaction: a row the
    database refuses (a kind other than high/low) rolls both back."""
    with session_scope(engine) as session:
        save_registry(session, [NYC_HIGH], AT)
    bad = RegistryEntry("KXHIGHMIA", "MIA", "mean", "KMIA", "CLIMIA", -5, False, "?")  # type: ignore[arg-type]

    with pytest.raises(IntegrityError), session_scope(engine) as session:
        save_registry(session, [CHI_HIGH, bad], AT)

    with session_scope(engine) as session:
        assert load_registry(session) == [NYC_HIGH]


def test_duplicates_and_naive_times_are_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="listed twice in the registry: KXHIGHNY"):
        save_registry(session, [NYC_HIGH, CHI_HIGH, NYC_HIGH], AT)
    with pytest.raises(StoreError):
        save_registry(session, [CHI_HIGH], AT.replace(tzinfo=None))
