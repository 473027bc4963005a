"""Dagster resources: the only place where the mode (sim, paper, demo, live) matters.

Assets receive the same interfaces in every mode; only the implementations behind these
resources change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from weather_trader.sim.exchange.control import SimExchangeControl
from weather_trader.sim.world import build_sim
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.broker import KalshiBroker
from weather_trader.sources.kalshi.market_data import KalshiMarketData
from weather_trader.sources.kalshi.rest import KalshiClient
from weather_trader.sources.live_weather import LiveWeatherSource
from weather_trader.store.db import make_engine, migrate, session_scope


class ModeUnavailableError(RuntimeError):
    """The configured mode lacks a setting it needs (the message names it)."""


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


class _KalshiConnection(ConfigurableResource):
    """Where Kalshi is: its REST base and the API key (the private key stays in its file).

    Unset ``api_url`` in sim mode means the in-process simulated market; set, the local
    exchange (``weather-trader exchange serve``) is reached over HTTP like the real one.
    """

    mode: str = "sim"
    api_url: str | None = None
    key_id: str | None = None
    private_key_path: str | None = None
    private_key_passphrase: str | None = None

    def over_http(self) -> bool:
        """True when orders and books go through the Kalshi client."""
        return self.mode != "sim" or self.api_url is not None

    def kalshi_client(self, signed: bool) -> KalshiClient:
        """The REST client; ``signed`` ones need the key (orders, the portfolio)."""
        if self.api_url is None:
            raise ModeUnavailableError(f"WEATHER_TRADER_MODE={self.mode!r} needs KALSHI_API_URL")
        if not signed:
            return _kalshi_client(self.api_url, None, None, None)
        if not (self.key_id and self.private_key_path):
            raise ModeUnavailableError(
                "trading through Kalshi needs KALSHI_KEY_ID and KALSHI_PRIVATE_KEY_PATH "
                "(for the local exchange: weather-trader exchange create-key)"
            )
        return _kalshi_client(
            self.api_url, self.key_id, self.private_key_path, self.private_key_passphrase
        )

    def sim_clock(self) -> Callable[[datetime], None] | None:
        """The local exchange's clock setter in sim mode (replays wind it); None otherwise."""
        if self.mode != "sim" or self.api_url is None:
            return None
        return _sim_control(self.api_url).sync_clock


@cache
def _kalshi_client(
    url: str, key_id: str | None, key_path: str | None, passphrase: str | None
) -> KalshiClient:
    credentials = None
    if key_id and key_path:
        credentials = KalshiCredentials.from_file(key_id, key_path, passphrase)
    return KalshiClient(url, credentials)


@cache
def _sim_control(url: str) -> SimExchangeControl:
    return SimExchangeControl(url)


class MarketDataResource(_KalshiConnection):
    """Bracket markets and their order books."""

    sim_seed: int = 7

    def client(self) -> MarketData:
        """The market data feed for the configured mode."""
        if not self.over_http():
            return build_sim(self.sim_seed)[1]
        # Market data is public: signed when a key is set, else anonymous (paper mode).
        signed = bool(self.key_id and self.private_key_path)
        return KalshiMarketData(self.kalshi_client(signed), set_clock=self.sim_clock())


@cache
def _paper_broker() -> PaperBroker:
    return PaperBroker()


class BrokerResource(_KalshiConnection):
    """Where orders go: a paper broker on the books it is handed (sim without an exchange,
    and paper mode on the real books), else Kalshi's V2 orders (the local exchange in sim
    mode, Kalshi's demo, or live)."""

    def client(self) -> Broker:
        """The broker for the configured mode."""
        if self.mode == "paper" or not self.over_http():
            return _paper_broker()
        return KalshiBroker(self.kalshi_client(signed=True), set_clock=self.sim_clock())


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
    kalshi = dict(
        mode=settings.mode,
        api_url=settings.resolved_kalshi_api_url,
        key_id=settings.kalshi_key_id,
        private_key_path=(
            str(settings.kalshi_private_key_path) if settings.kalshi_private_key_path else None
        ),
        private_key_passphrase=(
            EnvVar("KALSHI_PRIVATE_KEY_PASSPHRASE")
            if settings.kalshi_private_key_passphrase
            else None
        ),
    )
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
        "market_data": MarketDataResource(sim_seed=settings.sim_seed, **kalshi),
        "broker": BrokerResource(**kalshi),
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
