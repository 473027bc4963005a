"""The Dagster code location: every asset, check, job, schedule and sensor, bound to resources.

The mode (``WEATHER_TRADER_MODE``) only changes which resources are bound; see
:mod:`weather_trader.defs.resources`.
"""

from __future__ import annotations

from dagster import Definitions, load_assets_from_modules

from weather_trader.defs import backtest as backtest_assets
from weather_trader.defs.automation import (
    JOBS,
    approval_sensor,
    automation_sensor,
    climate_report_sensor,
    forecast_schedule,
    live_refresh_sensor,
    registry_schedule,
    registry_startup_sensor,
    trading_sensor,
)
from weather_trader.defs.forecasting import assets as forecasting_assets
from weather_trader.defs.markets import assets as markets_assets
from weather_trader.defs.markets import registry as registry_assets
from weather_trader.defs.resources import build_resources
from weather_trader.defs.trading import assets as trading_assets
from weather_trader.defs.weather import assets as weather_assets
from weather_trader.settings import Settings


def build_definitions(settings: Settings | None = None) -> Definitions:
    """The code location for ``settings`` (default: read from the environment)."""
    settings = settings or Settings.from_env()
    return Definitions(
        assets=load_assets_from_modules(
            [
                weather_assets,
                forecasting_assets,
                markets_assets,
                registry_assets,
                trading_assets,
                backtest_assets,
            ]
        ),
        jobs=[*JOBS, backtest_assets.backtest_job],
        schedules=[forecast_schedule, registry_schedule],
        sensors=[
            automation_sensor,
            live_refresh_sensor,
            trading_sensor,
            climate_report_sensor,
            approval_sensor,
            registry_startup_sensor,
        ],
        resources=build_resources(settings),
    )


defs = build_definitions()
