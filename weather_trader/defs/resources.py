"""Dagster resources: the only place where the mode (sim, paper, demo, live) matters.

Assets receive the same interfaces in every mode; only the implementations behind these
resources change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from dagster import ConfigurableResource, EnvVar
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from weather_trader.core.ports import Broker, MarketData, WeatherSource
from weather_trader.core.trading import RiskLimits
from weather_trader.settings import Settings
from weather_trader.sim.broker import PaperBroker
from weather_trader.sim.world import build_sim
from weather_trader.sources.live_weather import LiveWeatherSource
from weather_trader.store.db import make_engine, migrate, session_scope


class ModeUnavailableError(RuntimeError):
    """The configured mode needs a component that is not built yet."""


def _require_sim(mode: str, what: str) -> None:
    if mode != "sim":
        raise ModeUnavailableError(
            f"WEATHER_TRADER_MODE={mode!r} needs the real {what}, which this build does not "
            "have yet; use WEATHER_TRADER_MODE=sim"
        )


@cache
def _engine(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine


class DatabaseResource(ConfigurableResource):
    """The domain database (SQLAlchemy URL); migrated to the latest schema on first use."""

    url: str

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with session_scope(_engine(self.url)) as session:
            yield session


@cache
def _live_weather(user_agent: str, open_meteo_api_key: str | None) -> LiveWeatherSource:
    # One set of HTTP clients per process: connections and the NWS /points cache are reused.
    return LiveWeatherSource.from_settings(user_agent, open_meteo_api_key)


class WeatherSourceResource(ConfigurableResource):
    """Forecasts, observations and climate reports: the sim world, or NWS, Open-Meteo, IEM and
    METARs in the other modes."""

    mode: str = "sim"
    sim_seed: int = 7
    user_agent: str = ""
    open_meteo_api_key: str | None = None

    def client(self) -> WeatherSource:
        """The weather source for the configured mode."""
        if self.mode == "sim":
            return build_sim(self.sim_seed)[0]
        return _live_weather(self.user_agent, self.open_meteo_api_key or None)


class MarketDataResource(ConfigurableResource):
    """Bracket markets and their order books."""

    mode: str = "sim"
    sim_seed: int = 7

    def client(self) -> MarketData:
        """The market data feed for the configured mode."""
        _require_sim(self.mode, "Kalshi market data client")
        return build_sim(self.sim_seed)[1]


@cache
def _paper_broker() -> PaperBroker:
    return PaperBroker()


class BrokerResource(ConfigurableResource):
    """Where orders go: the paper broker on the simulated market in sim mode."""

    mode: str = "sim"

    def client(self) -> Broker:
        """The broker for the configured mode."""
        _require_sim(self.mode, "Kalshi broker")
        return _paper_broker()


_DEFAULTS = Settings()


class TradingConfigResource(ConfigurableResource):
    """Bankroll, risk limits and the staleness rule for trading."""

    # Defaults come from Settings, the one place they are defined.
    bankroll: str = str(_DEFAULTS.bankroll)
    kelly_fraction: str = str(_DEFAULTS.kelly_fraction)
    min_edge: str = str(_DEFAULTS.min_edge)
    max_order_cost: str = str(_DEFAULTS.max_order_cost)
    max_event_exposure: str = str(_DEFAULTS.max_event_exposure)
    max_total_exposure: str = str(_DEFAULTS.max_total_exposure)
    daily_loss_limit: str = str(_DEFAULTS.daily_loss_limit)
    kill_switch: bool = _DEFAULTS.kill_switch
    max_forecast_age_hours: float = _DEFAULTS.max_forecast_age_hours

    def limits(self) -> RiskLimits:
        """The risk limits as the trading rule takes them."""
        return RiskLimits(
            kelly_fraction=Decimal(self.kelly_fraction),
            min_edge=Decimal(self.min_edge),
            max_order_cost=Decimal(self.max_order_cost),
            max_event_exposure=Decimal(self.max_event_exposure),
            max_total_exposure=Decimal(self.max_total_exposure),
            daily_loss_limit=Decimal(self.daily_loss_limit),
            kill_switch=self.kill_switch,
        )


class ClockResource(ConfigurableResource):
    """Wall-clock time; tests pin it with ``fixed_now`` (ISO-8601 with offset)."""

    fixed_now: str | None = None

    def now(self) -> datetime:
        """The current instant, UTC-aware."""
        if self.fixed_now:
            return datetime.fromisoformat(self.fixed_now).astimezone(UTC)
        return datetime.now(UTC)


class ModelStoreResource(ConfigurableResource):
    """Folder holding trained model artifacts, one file per model version."""

    path: str

    def save(self, name: str, version: str, text: str) -> Path:
        """Write an artifact atomically (a crash never leaves half a file) and return its path."""
        target = Path(self.path) / name / f"{version}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_text(text)
        partial.replace(target)
        return target

    def load(self, name: str, version: str) -> str:
        """Read an artifact written by :meth:`save`."""
        return (Path(self.path) / name / f"{version}.json").read_text()


def build_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    """All resources for ``settings``' mode, keyed by the names the assets ask for."""
    return {
        "database": DatabaseResource(url=settings.resolved_database_url),
        "weather": WeatherSourceResource(
            mode=settings.mode,
            sim_seed=settings.sim_seed,
            user_agent=settings.user_agent,
            # Read from the environment at run time, so the key never sits in run config.
            open_meteo_api_key=EnvVar("OPEN_METEO_API_KEY")
            if settings.open_meteo_api_key
            else None,
        ),
        "market_data": MarketDataResource(mode=settings.mode, sim_seed=settings.sim_seed),
        "broker": BrokerResource(mode=settings.mode),
        "trading": TradingConfigResource(
            bankroll=str(settings.bankroll),
            kelly_fraction=str(settings.kelly_fraction),
            min_edge=str(settings.min_edge),
            max_order_cost=str(settings.max_order_cost),
            max_event_exposure=str(settings.max_event_exposure),
            max_total_exposure=str(settings.max_total_exposure),
            daily_loss_limit=str(settings.daily_loss_limit),
            kill_switch=settings.kill_switch,
            max_forecast_age_hours=settings.max_forecast_age_hours,
        ),
        "clock": ClockResource(),
        "model_store": ModelStoreResource(path=str(settings.model_store)),
    }
