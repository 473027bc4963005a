"""The offline demo: seeding, training and the whole graph through a real Dagster instance."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG as RANGE_END,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_START_TAG as RANGE_START,
)
from sqlalchemy import func, select

from weather_trader.core.cities import CITIES
from weather_trader.demo import FINAL_REPORT_LAG, last_settled_day, run_demo
from weather_trader.settings import Settings
from weather_trader.sim.exchange import ExchangeState
from weather_trader.sim.reports import reports_for_days
from weather_trader.sim.world import build_sim
from weather_trader.store import repo
from weather_trader.store.db import make_engine, session_scope
from weather_trader.store.models import FillRow

ROW = re.compile(
    r"^(?P<city>[A-Z]{2,4})\s+(?P<trades>\d+)\s+(?P<settled>\d+)\s+(?P<hit>\d+%|-)"
    r"\s+(?P<pnl>-?\d+\.\d\d)\s+(?P<ours>\d\.\d{3}|-)\s+(?P<mkt>\d\.\d{3}|-)$"
)


@pytest.fixture
def restore_dagster_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo points ``DAGSTER_HOME`` at its home; put the old value back afterwards."""
    monkeypatch.setenv("DAGSTER_HOME", "/nonexistent-before-demo")


def test_demo_runs_the_whole_loop_and_prints_a_row_per_city(
    tmp_path: Path, restore_dagster_home: None, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.from_env({"WEATHER_TRADER_HOME": str(tmp_path / "home")})

    assert run_demo(settings, days=2, history_days=40) == 0

    out = capsys.readouterr().out
    rows = {m["city"]: m for m in map(ROW.match, out.splitlines()) if m}
    assert set(rows) == set(CITIES)
    end = last_settled_day(datetime.now(UTC))
    assert f"Climate days {end - timedelta(days=1)} .. {end}" in out
    (total,) = [line for line in out.splitlines() if line.startswith("all ")]
    total_trades, total_settled, total_pnl = total.split()[1:]
    assert int(total_trades) == sum(int(r["trades"]) for r in rows.values()) > 0
    assert int(total_settled) == sum(int(r["settled"]) for r in rows.values())
    assert Decimal(total_pnl) == sum(Decimal(r["pnl"]) for r in rows.values())
    assert all(r["ours"] != "-" and r["mkt"] != "-" for r in rows.values())  # every day scored

    # Seven runs in the instance under the home, none per city: the registry, two backfill
    # rectangles of half the cities each, the models and their evaluation, and the replay's two
    # parts, each over every city.
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        records = instance.get_run_records()
        assert all(r.dagster_run.is_success for r in records)
        jobs = sorted(r.dagster_run.job_name for r in records)
        assert jobs == [
            *["archive_backfill_job"] * 2, "model_job", "model_job", "pipeline_job",
            "pipeline_job", "registry_job",
        ]  # fmt: skip
        order = instance.get_dynamic_partitions("city")
        assert sorted(order) == sorted(CITIES)  # the registry added every city

        def spanned(job: str) -> list[list[str]]:
            tags = [r.dagster_run.tags for r in records if r.dagster_run.job_name == job]
            return sorted(
                order[order.index(t[RANGE_START].split("|")[0]) : order.index(
                    t[RANGE_END].split("|")[0]) + 1]
                for t in tags
            )  # fmt: skip

        halves = spanned("archive_backfill_job")
        assert sorted(halves[0] + halves[1]) == sorted(CITIES)
        assert abs(len(halves[0]) - len(halves[1])) <= 1
        assert spanned("pipeline_job") == [order, order]
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            for city in CITIES:
                assert int(rows[city]["trades"]) == int(
                    (repo.orders_for(session, city=city)["filled_count"] > 0).sum()
                )
                for day in (end - timedelta(days=1), end):
                    assert repo.final_report(session, city, day) is not None
            our_fills = session.scalar(select(func.count()).select_from(FillRow))
    finally:
        engine.dispose()
    # The orders went to the local exchange: its persisted fills are ours, one for one.
    exchange = ExchangeState.create(home=settings.resolved_home / "exchange")
    try:
        assert len(exchange.engine.fills) == our_fills > 0
        assert not exchange.clock.is_simulated  # handed back to wall time for `make dev`
    finally:
        exchange.close()


def test_demo_refuses_other_modes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.from_env(
        {
            "WEATHER_TRADER_MODE": "paper",
            "WEATHER_TRADER_USER_AGENT": "wt (ops@example.com)",
            "WEATHER_TRADER_HOME": str(tmp_path / "home"),
        }
    )
    assert run_demo(settings, days=2, history_days=40) == 2
    assert "WEATHER_TRADER_MODE" in capsys.readouterr().out
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 10, 15, 59, tzinfo=UTC), date(2026, 3, 8)),
        (datetime(2026, 3, 10, 16, 0, tzinfo=UTC), date(2026, 3, 9)),
        (datetime(2026, 3, 10, 23, 59, tzinfo=UTC), date(2026, 3, 9)),
        (datetime(2026, 3, 11, 0, 30, tzinfo=UTC), date(2026, 3, 9)),
        # 08:00 in Los Angeles (UTC-8) is 16:00 UTC.
        (datetime(2026, 3, 10, 8, 0, tzinfo=timezone(timedelta(hours=-8))), date(2026, 3, 9)),
    ],
)
def test_last_settled_day(now: datetime, expected: date) -> None:
    assert last_settled_day(now) == expected


def test_every_city_has_settled_the_last_settled_day() -> None:
    """Against the sim's report times: at the earliest instant a day counts as settled, every
    city's final for it is out, for every day of a year."""
    world = build_sim(7)[0].world
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    for city in CITIES:
        finals: dict[date, datetime] = {}
        for report in reports_for_days(world, city, days):
            if report.final:
                finals.setdefault(report.climate_date, report.issued_at)
        for day in days:
            # last_settled_day(now) == day from this instant on.
            first_instant = datetime.combine(day + timedelta(days=2), datetime.min.time(), UTC)
            first_instant += FINAL_REPORT_LAG - timedelta(days=1)
            assert last_settled_day(first_instant) == day
            assert last_settled_day(first_instant - timedelta(minutes=1)) == day - timedelta(1)
            assert finals[day] <= first_instant, (city, day)
