"""Engine, session and migration helpers, and the column types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import StatementError

from weather_trader.store.db import (
    MIGRATIONS_DIR,
    StoreError,
    make_engine,
    migrate,
    session_scope,
)
from weather_trader.store.models import Base, MarketRow, SettingRow
from weather_trader.store.repo import get_setting, set_setting

EXPECTED_TABLES = {
    "forecasts", "observations", "climate_reports", "markets", "book_snapshots",
    "distributions", "bracket_probabilities", "decisions", "orders", "fills", "positions",
    "settlements", "settings", "events", "model_versions", "raw_payloads", "market_trades",
    "users", "user_sessions", "settings_audit", "secrets", "proposals", "series_registry",
}  # fmt: skip


def test_make_engine_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    engine.dispose()


def test_make_engine_in_memory_sqlite_skips_wal() -> None:
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "memory"


def test_make_engine_postgres_uses_psycopg2_and_pre_ping() -> None:
    engine = make_engine("postgresql://user@localhost:5432/db")
    assert engine.dialect.driver == "psycopg2"
    assert engine.pool._pre_ping  # type: ignore[attr-defined]


def test_make_engine_rejects_other_backends() -> None:
    with pytest.raises(StoreError, match="unsupported"):
        make_engine("mysql://u@localhost/db")


def test_migration_creates_every_table_and_matches_models(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
    assert set(Base.metadata.tables) == EXPECTED_TABLES
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() == "0008"


def test_migrate_is_idempotent_and_accepts_a_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(url)
    migrate(url)
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
    engine.dispose()


def test_session_scope_commits(engine: Engine) -> None:
    with session_scope(engine) as s:
        set_setting(s, "bankroll", "1000")
    with session_scope(engine) as s:
        assert get_setting(s, "bankroll") == "1000"


def test_session_scope_rolls_back_on_error(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        set_setting(s, "bankroll", "1000")
        raise RuntimeError("boom")
    with session_scope(engine) as s:
        assert get_setting(s, "bankroll") is None


def test_datetimes_come_back_aware_utc(engine: Engine) -> None:
    eastern = timezone(timedelta(hours=-5))
    at = datetime(2026, 5, 12, 7, 30, 15, 123456, tzinfo=eastern)
    with session_scope(engine) as s:
        set_setting(s, "k", 1, now=at)
    with session_scope(engine) as s:
        stored = s.scalars(select(SettingRow.updated_at)).one()
    assert stored == at
    assert stored.tzinfo == UTC
    assert stored.hour == 12


def test_naive_datetime_is_rejected(engine: Engine) -> None:
    with pytest.raises((StatementError, ValueError)), session_scope(engine) as s:
        s.add(SettingRow(key="k", value=1, updated_at=datetime(2026, 5, 12, 7, 30)))
        s.flush()


def test_money_reads_back_as_decimal(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(
            MarketRow(
                ticker="T",
                event_ticker="E",
                series_ticker="S",
                city="NYC",
                climate_date=datetime(2026, 5, 12).date(),
                kind="high",
                strike_type="less",
                floor_strike=None,
                cap_strike=70,
                title="",
                status="open",
                close_time=datetime(2026, 5, 13, tzinfo=UTC),
                fee_multiplier=Decimal("0.0175"),
            )
        )
    with session_scope(engine) as s:
        value = s.scalars(select(MarketRow.fee_multiplier)).one()
    assert value == Decimal("0.0175")
    assert isinstance(value, Decimal)


def test_migration_downgrades_to_empty_and_back(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
