"""Dagster resources, and the one place where the mode (sim, paper, demo, live) picks them.

Assets ask for the abstract resources (``WeatherSourceResource``, ``MarketDataResource``,
``BrokerResource``); :func:`build_resources` binds one concrete class per mode. No resource
looks at the mode itself, and each keeps what it builds (engines, HTTP clients) on the instance.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar
from pydantic import PrivateAttr
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from weather_trader.core.operator_settings import OperatorSettings
from weather_trader.core.ports import Broker, MarketData, PositionReader, WeatherSource
from weather_trader.core.trading import RiskLimits
from weather_trader.settings import Settings
from weather_trader.sim.broker import PaperBroker
from weather_trader.sim.exchange import throwaway_exchange_api
from weather_trader.sim.exchange.clocked import ClockedBroker, ClockedMarketData, ExchangeTime
from weather_trader.sim.exchange.control import SimExchangeControl
from weather_trader.sim.world import build_sim
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader.sources.kalshi.broker import KalshiBroker
from weather_trader.sources.kalshi.market_data import KalshiMarketData
from weather_trader.sources.kalshi.rest import KalshiClient
from weather_trader.sources.kalshi.rest_markets import MarketReads
from weather_trader.sources.live_weather import LiveWeatherSource
from weather_trader.sources.visual_crossing import VisualCrossingClient
from weather_trader.store import repo_settings, secrets
from weather_trader.store.db import make_engine, migrate, session_scope


class ModeUnavailableError(RuntimeError):
    """The configured mode lacks a setting it needs (the message names it)."""


class DatabaseResource(ConfigurableResource):
    """The domain database (SQLAlchemy URL); migrated to the latest schema on first use."""

    url: str
    _engine: Engine | None = PrivateAttr(default=None)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        if self._engine is None:
            self._engine = make_engine(self.url)
            migrate(self._engine)
        with session_scope(self._engine) as session:
            yield session

    def operator_settings(self) -> OperatorSettings:
        """The operator settings stored from the dashboard over the environment's defaults
        (the kill switch, the cities enabled, ...), read afresh on each call."""
        with self.session() as session:
            return repo_settings.stored_settings(
                session, OperatorSettings.defaults_from(Settings.from_env())
            )


# -- weather --------------------------------------------------------------------------------------


class WeatherSourceResource(ConfigurableResource, ABC):
    """Forecasts, observations and climate reports."""

    @abstractmethod
    def client(self) -> WeatherSource:
        """The weather source."""

    def history_providers(self) -> list[VisualCrossingClient]:
        """Extra forecast archives for the backfill (none unless configured)."""
        return []


class SimWeatherResource(WeatherSourceResource):
    """The offline world's weather (sim mode)."""

    sim_seed: int

    def client(self) -> WeatherSource:
        """The sim world's weather source for the seed."""
        return build_sim(self.sim_seed)[0]


class LiveWeatherResource(WeatherSourceResource):
    """NWS, Open-Meteo, IEM and METARs (paper, demo and live modes)."""

    user_agent: str
    open_meteo_api_key: str | None = None
    visual_crossing_api_key: str | None = None
    _source: LiveWeatherSource | None = PrivateAttr(default=None)
    _history: list[VisualCrossingClient] | None = PrivateAttr(default=None)

    def client(self) -> WeatherSource:
        """One source per resource: connections and the NWS /points cache are reused."""
        if self._source is None:
            self._source = LiveWeatherSource.from_settings(
                self.user_agent, self.open_meteo_api_key or None
            )
        return self._source

    def history_providers(self) -> list[VisualCrossingClient]:
        """Visual Crossing historical forecasts when ``VISUAL_CROSSING_API_KEY`` is set."""
        if self._history is None:
            key = self.visual_crossing_api_key
            self._history = [VisualCrossingClient(key, self.user_agent)] if key else []
        return self._history


# -- Kalshi ---------------------------------------------------------------------------------------


class KalshiApiResource(ConfigurableResource):
    """Where Kalshi is (real, its demo, or the local exchange) and the API key.

    The private key stays in its file; its passphrase is read from the environment at run time.
    """

    api_url: str
    key_id: str | None = None
    private_key_path: str | None = None
    private_key_passphrase: str | None = None
    tier: str = "basic"
    """The API tier sizing the client's rate-limit buckets (the local exchange has no limits)."""
    database_url: str | None = None
    """Where a key stored with ``weather-trader kalshi-key set`` is read when no path is set."""
    home: str | None = None
    """The home folder holding the master key file (unless ``WEATHER_TRADER_SECRET_KEY``)."""
    _clients: dict[bool, KalshiClient] = PrivateAttr(default_factory=dict)
    _stored: tuple[str, bytes] | None = PrivateAttr(default=None)

    def _stored_key(self) -> tuple[str, bytes] | None:
        """The key id and PEM stored encrypted in the database, when no key file is set."""
        if self.private_key_path or not (self.database_url and self.home):
            return None
        if self._stored is None:
            engine = make_engine(self.database_url)
            try:
                migrate(engine)
                with session_scope(engine) as session:
                    if secrets.kalshi_key_info(session) is None:
                        return None
                    master = secrets.load_master_key(Path(self.home))
                    self._stored = secrets.load_kalshi_key(session, master)
            finally:
                engine.dispose()
        return self._stored

    @property
    def has_key(self) -> bool:
        """Whether requests can be signed (a key file, or a key stored in the database)."""
        return bool(self.key_id and self.private_key_path) or self._stored_key() is not None

    def local_exchange_time(self) -> ExchangeTime:
        """The local exchange's clock, wound with signed ``/sim`` requests (sim mode only)."""
        self._require_key()
        control = SimExchangeControl.from_key_file(
            self.api_url, self.key_id, self.private_key_path, self.private_key_passphrase
        )
        return ExchangeTime(control.sync_clock)

    def _require_key(self) -> None:
        if not self.has_key:
            raise ModeUnavailableError(
                "trading through Kalshi needs KALSHI_KEY_ID and KALSHI_PRIVATE_KEY_PATH, or a "
                "key stored with `weather-trader kalshi-key set` "
                "(for the local exchange: weather-trader exchange create-key)"
            )

    def rest(self, signed: bool) -> KalshiClient:
        """The REST client; ``signed`` ones need the key (orders, the portfolio)."""
        if signed:
            self._require_key()
        if signed not in self._clients:
            credentials = None
            if signed and self.private_key_path:
                credentials = KalshiCredentials.from_file(
                    self.key_id, self.private_key_path, self.private_key_passphrase
                )
            elif signed:
                stored = self._stored_key()
                assert stored is not None  # _require_key passed
                credentials = KalshiCredentials.from_pem(*stored)
            self._clients[signed] = KalshiClient(self.api_url, credentials, tier=self.tier)
        return self._clients[signed]


class MarketDataResource(ConfigurableResource, ABC):
    """Bracket markets and their order books."""

    @abstractmethod
    def client(self) -> MarketData:
        """The market data port."""

    @abstractmethod
    def exchange_reads(self) -> AbstractContextManager[MarketReads]:
        """The exchange's REST reads (series, events, their rules), to discover the series."""


class SimMarketDataResource(MarketDataResource):
    """The offline world's crowd-quoted market, in process (sim mode without an exchange)."""

    sim_seed: int

    def client(self) -> MarketData:
        """The sim world's market for the seed."""
        return build_sim(self.sim_seed)[1]

    @contextmanager
    def exchange_reads(self) -> Iterator[MarketReads]:
        """An in-memory local exchange over the same sim world, served for the discovery only:
        the series are discovered through the same REST calls as on Kalshi."""
        with (
            throwaway_exchange_api(self.sim_seed) as url,
            KalshiClient(url) as client,
        ):
            yield client


class KalshiMarketDataResource(MarketDataResource):
    """Kalshi's markets (paper, demo and live modes); signed when a key is set."""

    kalshi: KalshiApiResource

    def client(self) -> MarketData:
        """The Kalshi adapter over the REST client."""
        return KalshiMarketData(self.kalshi.rest(signed=self.kalshi.has_key))

    @contextmanager
    def exchange_reads(self) -> Iterator[MarketReads]:
        """Kalshi's REST client (signed when a key is set)."""
        yield self.kalshi.rest(signed=self.kalshi.has_key)


class LocalExchangeMarketDataResource(MarketDataResource):
    """The local exchange's markets, wound to each read's instant (sim mode with an exchange)."""

    kalshi: KalshiApiResource

    def client(self) -> MarketData:
        """The Kalshi adapter on the exchange's clock."""
        time = self.kalshi.local_exchange_time()
        return ClockedMarketData(
            KalshiMarketData(self.kalshi.rest(signed=True), now=time.now), time
        )

    @contextmanager
    def exchange_reads(self) -> Iterator[MarketReads]:
        """The local exchange's REST client; listing series needs no clock winding."""
        yield self.kalshi.rest(signed=self.kalshi.has_key)


class BrokerResource(ConfigurableResource, ABC):
    """Where orders go."""

    @abstractmethod
    def client(self) -> Broker:
        """The broker port."""

    def exchange_positions(self) -> PositionReader | None:
        """The exchange's record of our positions to reconcile with, or None without one.

        The paper broker has none: it forgets between processes, so the database is its only
        record and there is nothing independent to compare with.
        """
        return None


class PaperBrokerResource(BrokerResource):
    """Fills locally against the books it is handed (sim without an exchange, and paper)."""

    # One broker per resource: it remembers order ids and the liquidity already taken.
    _broker: PaperBroker = PrivateAttr(default_factory=PaperBroker)

    def client(self) -> Broker:
        """The paper broker."""
        return self._broker


class KalshiBrokerResource(BrokerResource):
    """Kalshi's V2 orders (demo and live modes)."""

    kalshi: KalshiApiResource

    def client(self) -> Broker:
        """The Kalshi broker over a signed client."""
        return KalshiBroker(self.kalshi.rest(signed=True))

    def exchange_positions(self) -> PositionReader | None:
        """Kalshi's positions."""
        return KalshiBroker(self.kalshi.rest(signed=True))


class LocalExchangeBrokerResource(BrokerResource):
    """The local exchange's V2 orders, each at its decision instant (sim with an exchange)."""

    kalshi: KalshiApiResource

    def client(self) -> Broker:
        """The Kalshi broker on the exchange's clock."""
        time = self.kalshi.local_exchange_time()
        return ClockedBroker(KalshiBroker(self.kalshi.rest(signed=True)), time)

    def exchange_positions(self) -> PositionReader | None:
        """The local exchange's positions (a read needs no clock winding)."""
        return KalshiBroker(self.kalshi.rest(signed=True))


# -- trading, clock, model store ------------------------------------------------------------------


def _setting(name: str) -> Any:
    """A setting's default as Dagster config holds it (money as a decimal string)."""
    default = Settings.model_fields[name].default
    return str(default) if isinstance(default, Decimal) else default


class TradingConfigResource(ConfigurableResource):
    """Bankroll, risk limits and the staleness rule for trading (defaults from Settings)."""

    bankroll: str = _setting("bankroll")
    kelly_fraction: str = _setting("kelly_fraction")
    min_edge: str = _setting("min_edge")
    max_order_cost: str = _setting("max_order_cost")
    max_event_exposure: str = _setting("max_event_exposure")
    max_total_exposure: str = _setting("max_total_exposure")
    daily_loss_limit: str = _setting("daily_loss_limit")
    kill_switch: bool = _setting("kill_switch")
    max_forecast_age_hours: float = _setting("max_forecast_age_hours")
    database_url: str | None = None
    """Where the operator settings stored from the dashboard are read (None: these values)."""

    @classmethod
    def from_settings(
        cls, settings: Settings, database_url: str | None = None
    ) -> TradingConfigResource:
        """The resource holding ``settings``' values of its fields."""
        values = {
            name: getattr(settings, name) for name in cls.model_fields if name != "database_url"
        }
        return cls(
            **{k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()},
            database_url=database_url,
        )

    def operator(self) -> OperatorSettings:
        """The operator settings stored in the database over this resource's values, read
        afresh on each call (a change from the dashboard applies to the next run)."""
        defaults = OperatorSettings.defaults_from(self)
        if self.database_url is None:
            return defaults
        return stored_operator_settings(self.database_url, defaults)

    def limits(self) -> RiskLimits:
        """The risk limits as the trading rule takes them (stored settings over the config)."""
        own = type(self).model_fields
        values = {name: getattr(self, name) for name in RiskLimits.model_fields if name in own}
        stored = self.operator().limits_values()
        values.update({k: v for k, v in stored.items() if k in RiskLimits.model_fields})
        return RiskLimits(**values)


def stored_operator_settings(
    database_url: str, defaults: OperatorSettings | None = None
) -> OperatorSettings:
    """The operator settings stored in the database over ``defaults`` (else the environment's).

    Raises:
        OperatorSettingsError: If a stored value is invalid.
    """
    defaults = defaults or OperatorSettings.defaults_from(Settings.from_env())
    engine = make_engine(database_url)  # no migration: the settings table is in the first one
    try:
        with session_scope(engine) as session:
            return repo_settings.stored_settings(session, defaults)
    finally:
        engine.dispose()


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


# -- binding --------------------------------------------------------------------------------------


def _kalshi_api(settings: Settings) -> KalshiApiResource:
    url = settings.resolved_kalshi_api_url
    assert url is not None  # every mode but in-process sim has one
    return KalshiApiResource(
        api_url=url,
        tier=settings.kalshi_api_tier,
        database_url=_database_url(settings),
        home=str(settings.resolved_home),
        key_id=settings.kalshi_key_id,
        private_key_path=(
            str(settings.kalshi_private_key_path) if settings.kalshi_private_key_path else None
        ),
        # Read from the environment at run time, so the passphrase never sits in run config.
        private_key_passphrase=(
            EnvVar("KALSHI_PRIVATE_KEY_PASSPHRASE")
            if settings.kalshi_private_key_passphrase
            else None
        ),
    )


def _mode_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    """The weather, market data and broker resources of ``settings``' mode."""
    if settings.mode == "sim":
        if settings.resolved_kalshi_api_url is None:  # the fast, in-process offline world
            return {
                "weather": SimWeatherResource(sim_seed=settings.sim_seed),
                "market_data": SimMarketDataResource(sim_seed=settings.sim_seed),
                "broker": PaperBrokerResource(),
            }
        exchange = _kalshi_api(settings)
        return {
            "weather": SimWeatherResource(sim_seed=settings.sim_seed),
            "market_data": LocalExchangeMarketDataResource(kalshi=exchange),
            "broker": LocalExchangeBrokerResource(kalshi=exchange),
        }
    kalshi = _kalshi_api(settings)
    weather = LiveWeatherResource(
        user_agent=settings.user_agent,
        # Read from the environment at run time, so the key never sits in run config.
        open_meteo_api_key=EnvVar("OPEN_METEO_API_KEY") if settings.open_meteo_api_key else None,
        visual_crossing_api_key=(
            EnvVar("VISUAL_CROSSING_API_KEY") if settings.visual_crossing_api_key else None
        ),
    )
    broker = (
        PaperBrokerResource() if settings.mode == "paper" else KalshiBrokerResource(kalshi=kalshi)
    )
    return {
        "weather": weather,
        "market_data": KalshiMarketDataResource(kalshi=kalshi),
        "broker": broker,
    }


def _database(settings: Settings) -> DatabaseResource:
    """The domain database; a ``DATABASE_URL`` from the environment is bound as ``EnvVar``.

    The URL may carry a password, and plain config is shown in the Dagster UI; bound as
    ``EnvVar`` it is read at run time and only the variable's name is shown. The default SQLite
    file carries no secret. Settings built from an explicit mapping (tests, tools) whose URL is
    not the environment's are bound as given.
    """
    return DatabaseResource(url=_database_url(settings))


def _database_url(settings: Settings) -> str:
    """The database URL as resource config: ``EnvVar("DATABASE_URL")`` when it comes from the
    environment (see :func:`_database`), else the URL."""
    if settings.database_url and os.environ.get("DATABASE_URL") == settings.database_url:
        return EnvVar("DATABASE_URL")
    return settings.resolved_database_url


def build_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    """All resources for ``settings``' mode, keyed by the names the assets ask for.

    Secrets (the database URL from the environment, the Kalshi key's passphrase, the
    Open-Meteo key) are bound as ``EnvVar``, so no resource config shows them.
    """
    return {
        "database": _database(settings),
        **_mode_resources(settings),
        "trading": TradingConfigResource.from_settings(settings, _database_url(settings)),
        "clock": ClockResource(),
        "model_store": ModelStoreResource(path=str(settings.model_store)),
    }
