"""The backtest as a Dagster asset: ``backtest_report``, run by ``backtest_job``.

A thin wrapper around :mod:`weather_trader.backtest.pipeline` (the code behind
``weather-trader backtest``): the run config mirrors :class:`BacktestConfig`, the report's JSON
and HTML go to the home's ``backtests/`` folder (where the dashboard lists them) and the
materialisation carries the summary, per-city and slippage tables as metadata. Walk-forward
predictions are cached in ``backtests/cache/`` like the command's.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.

from decimal import Decimal
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    define_asset_job,
)
from sqlalchemy import Engine

from weather_trader.backtest import pipeline
from weather_trader.backtest.config import BacktestConfig
from weather_trader.defs.common import metadata_table
from weather_trader.defs.resources import DatabaseResource
from weather_trader.settings import Settings

BACKTEST_ASSET = "backtest_report"
SUMMARY_ROWS = (
    "trades", "win_rate", "pnl", "roi", "fees", "turnover", "sharpe", "sortino", "max_drawdown",
    "max_drawdown_days", "mean_daily_pnl", "mean_daily_pnl_ci_low", "mean_daily_pnl_ci_high",
    "kelly_effectiveness", "brier_model", "brier_market",
)  # fmt: skip
CITY_COLUMNS = {"city": "string", "trades": "int", "win_rate": "float", "pnl": "float",
                "roi": "float", "fees": "float"}  # fmt: skip
SLIPPAGE_COLUMNS = {
    "slippage": "float", "trades": "int", "pnl": "float", "roi": "float", "sharpe": "float",
    "max_drawdown": "float", "mean_daily_pnl_ci_low": "float", "mean_daily_pnl_ci_high": "float",
}  # fmt: skip
_DEFAULTS = BacktestConfig()
DEFAULT_CITIES = list(_DEFAULTS.cities)
DEFAULT_INSTANTS = list(_DEFAULTS.instants)
DEFAULT_KINDS = list(_DEFAULTS.kinds)


class BacktestRunConfig(Config):
    """The run config: :class:`BacktestConfig`'s settings (money as numbers in dollars), the
    nested ones as JSON text, and where the report goes.

    Attributes:
        strategy_params_json: The strategy's parameters (JSON object).
        risk_json: Risk limits that differ from the defaults (JSON object, ``RiskConfig``).
        out_dir: Report folder (default: the home's ``backtests/``).
        name: Report file name without extension (default: strategy, cities, days, time).
        use_cache: Reuse (and store) cached walk-forward predictions.
    """

    cities: list[str] = DEFAULT_CITIES
    start: str | None = None
    end: str | None = None
    instants: list[str] = DEFAULT_INSTANTS
    kinds: list[str] = DEFAULT_KINDS
    strategy: str = _DEFAULTS.strategy
    strategy_params_json: str = "{}"
    predictor: str = _DEFAULTS.predictor
    bankroll: float = float(_DEFAULTS.bankroll)
    compound: bool = _DEFAULTS.compound
    kelly_fraction: float = float(_DEFAULTS.kelly_fraction)
    min_edge: float = float(_DEFAULTS.min_edge)
    risk_json: str = "{}"
    slippage_cents: int = _DEFAULTS.slippage_cents
    latency_seconds: float = _DEFAULTS.latency_seconds
    taker_window_seconds: float | None = _DEFAULTS.taker_window_seconds
    half_spread_cents: int = _DEFAULTS.half_spread_cents
    exit: str = _DEFAULTS.exit
    exit_margin: float = float(_DEFAULTS.exit_margin)
    out_dir: str | None = None
    name: str | None = None
    use_cache: bool = True

    def backtest_config(self) -> BacktestConfig:
        """The validated :class:`BacktestConfig` (ConfigError / ValueError say what is wrong)."""
        import json

        money = {"bankroll", "kelly_fraction", "min_edge", "exit_margin"}
        values: dict[str, Any] = {}
        for name in ("cities", "start", "end", "instants", "kinds", "strategy", "predictor",
                     "bankroll", "compound", "kelly_fraction", "min_edge", "slippage_cents",
                     "latency_seconds", "taker_window_seconds", "half_spread_cents", "exit",
                     "exit_margin"):  # fmt: skip
            value = getattr(self, name)
            values[name] = Decimal(repr(value)) if name in money else value
        values["strategy_params"] = json.loads(self.strategy_params_json)
        values["risk"] = json.loads(self.risk_json)
        return BacktestConfig.model_validate(values)


def _engine(database: DatabaseResource) -> Engine:
    with database.session() as session:
        bind = session.get_bind()
    assert isinstance(bind, Engine)
    return bind


@asset(
    name=BACKTEST_ASSET,
    group_name="backtest",
    kinds={"python", "pandas"},
    description="Replay a strategy on the archive's recorded markets (walk-forward predictions, "
    "production decisions, conservative fills on the recorded tapes) and write the report "
    "(JSON + HTML) to the home's backtests/ folder.",
)
def backtest_report(
    context: AssetExecutionContext, config: BacktestRunConfig, database: DatabaseResource
) -> MaterializeResult:
    """Run the backtest of ``config`` and write its report."""
    run_config = config.backtest_config()
    out_dir = (
        Path(config.out_dir) if config.out_dir else Settings.from_env().resolved_home / "backtests"
    )
    prepared = pipeline.prepare(
        _engine(database),
        run_config,
        cache_dir=out_dir / "cache" if config.use_cache else None,
        log=context.log.info,
    )
    done = pipeline.run(run_config, prepared.inputs, input_seconds=prepared.seconds)
    name = config.name or pipeline.default_report_name(run_config)
    json_path, html_path = pipeline.write_outputs(
        done.report, out_dir / f"{name}.json", out_dir / f"{name}.html",
        title=f"Backtest: {run_config.strategy} on {', '.join(run_config.cities)}",
    )  # fmt: skip
    summary = done.report["summary"]
    return MaterializeResult(
        metadata={
            "report": MetadataValue.path(str(json_path)),
            "html": MetadataValue.path(str(html_path)),
            "trades": summary["trades"],
            "pnl": MetadataValue.float(float(summary["pnl"])),
            "summary": metadata_table(
                [{"metric": k, "value": summary.get(k)} for k in SUMMARY_ROWS],
                {"metric": "string", "value": "float"},
            ),
            "by_city": metadata_table(done.report["by_city"], CITY_COLUMNS),
            "slippage": metadata_table(done.report["slippage"], SLIPPAGE_COLUMNS),
            "predictions_cached": prepared.cached,
            "seconds": MetadataValue.json(done.report["seconds"]),
        }
    )


backtest_job = define_asset_job(
    "backtest_job",
    selection=AssetSelection.assets(BACKTEST_ASSET),
    description="Backtest a strategy on the recorded markets and write the report.",
)
