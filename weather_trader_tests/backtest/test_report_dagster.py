"""The ``backtest_report`` asset: run config mirroring BacktestConfig, the report files in the
backtests folder and the summary tables as metadata."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine

from weather_trader.backtest.config import BacktestConfig
from weather_trader.core.forecasting.suite import ModelSuite
from weather_trader.defs.backtest import BacktestRunConfig, backtest_job, backtest_report
from weather_trader.defs.resources import DatabaseResource
from weather_trader_tests.backtest.test_cli import store_archive
from weather_trader_tests.core.forecasting.synthetic_archive import (
    make_archive,
    stand_in_components,
)


def test_run_config_mirrors_the_backtest_config() -> None:
    assert BacktestRunConfig().backtest_config() == BacktestConfig()
    custom = BacktestRunConfig(
        cities=["nyc"], start="2024-02-01", end="2024-02-10", bankroll=250.0, min_edge=0.05,
        strategy="longshot", risk_json='{"max_order_cost": 10}',
    ).backtest_config()  # fmt: skip
    assert custom.cities == ["NYC"] and custom.start == date(2024, 2, 1)
    assert custom.bankroll == Decimal("250.0") and custom.min_edge == Decimal("0.05")
    assert custom.risk.max_order_cost == 10 and custom.strategy == "longshot"
    # Every scalar setting of BacktestConfig has its run-config field.
    nested = {"strategy_params", "risk", "fees", "default_fees"}
    unmirrored = set(BacktestConfig.model_fields) - set(BacktestRunConfig.model_fields) - nested
    assert unmirrored <= {"price_window_minutes", "quote_max_age_seconds"}


def test_backtest_job_materialises_the_report(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_archive(engine, make_archive(start=date(2024, 1, 1), days=56))
    monkeypatch.setattr(
        "weather_trader.core.forecasting.suite.ModelSuite",
        lambda: ModelSuite(components=stand_in_components),
    )
    url = engine.url.render_as_string(hide_password=False)
    run_config = {"cities": ["CHI"], "start": "2024-02-12", "end": "2024-02-18",
                  "out_dir": str(tmp_path), "name": "bt"}  # fmt: skip
    result = dg.materialize(
        [backtest_report],
        resources={"database": DatabaseResource(url=url)},
        run_config={"ops": {"backtest_report": {"config": run_config}}},
    )
    assert result.success
    written = json.loads((tmp_path / "bt.json").read_text())
    assert written["config"]["cities"] == ["CHI"] and "summary" in written
    assert "<svg" in (tmp_path / "bt.html").read_text()
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["trades"].value == written["summary"]["trades"]
    rows = {r.data["metric"]: r.data["value"] for r in metadata["summary"].value.records}
    assert rows["pnl"] == pytest.approx(written["summary"]["pnl"])
    assert len(metadata["slippage"].value.records) == 3
    assert metadata["predictions_cached"].value is False
    assert backtest_job.name == "backtest_job"
