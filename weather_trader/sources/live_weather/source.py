""":class:`LiveWeatherSource`: the four source clients composed behind the
:class:`~weather_trader.core.ports.WeatherSource` port (see the package docstring).

Forecasts, observations and climate reports are read here; the Open-Meteo run estimates live in
:mod:`~weather_trader.sources.live_weather.publication` and the archive backfill in
:mod:`~weather_trader.sources.live_weather.history`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from pydantic import AwareDatetime, BaseModel, ConfigDict

from weather_trader.core.cities import City, get_city
from weather_trader.core.climate_day import climate_date_of, climate_day_window
from weather_trader.core.records import ClimateReport, ForecastPoint, Observation
from weather_trader.sources.cli_report import (
    CliParseError,
    StationSectionError,
    parse_cli,
    select_sections,
)
from weather_trader.sources.errors import WeatherSourceError
from weather_trader.sources.http import RawPayload, SourceHttp
from weather_trader.sources.iem import IemClient
from weather_trader.sources.live_weather.errors import (
    SOURCE,
    AllSourcesFailed,
    AmbiguousClimateReport,
    MissingSource,
    PointInTimeUnavailable,
)
from weather_trader.sources.live_weather.history import HISTORY_LEAD_DAYS, backfill
from weather_trader.sources.live_weather.publication import ENSEMBLE_SUFFIX, estimated_run
from weather_trader.sources.metar import MetarClient
from weather_trader.sources.nws import NwsClient
from weather_trader.sources.open_meteo import (
    DEFAULT_ENSEMBLE_MODELS,
    DEFAULT_MODELS,
    OpenMeteoClient,
)

__all__ = [
    "AS_OF_TOLERANCE",
    "ForecastPull",
    "LiveWeatherSource",
]

# The package's name, as before the module was split (handlers and filters keyed on it).
logger = logging.getLogger(__package__)

AS_OF_TOLERANCE = timedelta(minutes=15)
"""How far ``as_of`` may lie before now and still be answered with the current forecasts."""
METAR_MAX_AGE = timedelta(days=7)
"""Windows starting at most this long ago are read from aviationweather.gov (which keeps 15
days and caps a response at 400 reports: a week of a station's METARs and SPECIs fits);
older windows come from the IEM ASOS archive."""
REPORT_LOOKAHEAD = timedelta(days=2)
"""CLI products issued up to this long after the climate day ends are searched (the final
comes the next morning; corrections may follow)."""
MAX_FORECAST_DAYS = 16
"""Open-Meteo's largest ``forecast_days``; days further ahead get no Open-Meteo request."""
MAX_BUFFERED_PAYLOADS = 2000
"""Captured payloads kept until drained; the oldest are dropped (with a warning) beyond it."""

COMPONENT_FORECAST = "open-meteo"
COMPONENT_ENSEMBLE = "open-meteo-ensemble"
COMPONENT_NWS_GRID = "nws"
COMPONENT_METAR = "aviationweather"
COMPONENT_IEM_ASOS = "iem-asos"
COMPONENT_NWS_CLI = "nws-cli"
COMPONENT_IEM_AFOS = "iem-afos"


# ------------------------------------------------------------------------------ result types


class ForecastPull(BaseModel):
    """The result of one forecast pull: the points and the sources that were missing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    city: str
    climate_date: date
    retrieved_at: AwareDatetime
    points: tuple[ForecastPoint, ...]
    missing: tuple[MissingSource, ...] = ()


# ------------------------------------------------------------------------------ pure helpers


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")


def _dedupe_reports(reports: Iterable[ClimateReport]) -> list[ClimateReport]:
    seen: dict[tuple[Any, ...], ClimateReport] = {}
    for report in reports:
        key = (
            report.issued_at,
            report.climate_date,
            report.final,
            report.correction,
            report.max_f,
            report.min_f,
        )
        seen.setdefault(key, report)
    return sorted(seen.values(), key=lambda r: (r.issued_at, r.final))


def _in_window(
    observations: Iterable[Observation], start: datetime, end: datetime
) -> list[Observation]:
    """Observations in ``[start, end)``, sorted by time, one per instant (the first kept)."""
    seen: dict[datetime, Observation] = {}
    for obs in observations:
        if start <= obs.observed_at < end:
            seen.setdefault(obs.observed_at, obs)
    return [seen[at] for at in sorted(seen)]


# ----------------------------------------------------------------------------------- source


class LiveWeatherSource:
    """:class:`~weather_trader.core.ports.WeatherSource` over NWS, Open-Meteo, IEM and METARs.

    The clients are injected (tests build them on pytest-httpx); :meth:`from_settings` builds
    them with their defaults. When ``capture_payloads`` is set, a payload listener is added to
    every client's :class:`~weather_trader.sources.http.SourceHttp`.

    :meth:`forecasts`, :meth:`observations` and :meth:`climate_reports` set
    :attr:`last_missing_sources` to the sources that failed during that call (a fallback may
    have covered them); :meth:`pull_forecasts` returns them with the points instead, which is
    the thread-safe form.

    Args:
        nws: api.weather.gov client.
        open_meteo: Open-Meteo client.
        iem: Iowa Environmental Mesonet client.
        metar: aviationweather.gov client.
        now: Wall clock (UTC-aware).
        forecast_models: Open-Meteo deterministic models.
        ensemble_models: Open-Meteo ensemble models (members get
            :data:`~.publication.ENSEMBLE_SUFFIX`).
        history_models: Open-Meteo models read from the previous-runs API.
        history_lead_days: The N of ``temperature_2m_previous_dayN`` (each >= 1).
        capture_payloads: Capture every successful response for :meth:`drain_payloads`.
    """

    def __init__(
        self,
        nws: NwsClient,
        open_meteo: OpenMeteoClient,
        iem: IemClient,
        metar: MetarClient,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        forecast_models: Sequence[str] = DEFAULT_MODELS,
        ensemble_models: Sequence[str] = DEFAULT_ENSEMBLE_MODELS,
        history_models: Sequence[str] = DEFAULT_MODELS,
        history_lead_days: Sequence[int] = HISTORY_LEAD_DAYS,
        capture_payloads: bool = True,
    ) -> None:
        if any(n < 1 for n in history_lead_days) or not history_lead_days:
            raise ValueError(f"history_lead_days must be >= 1, got {tuple(history_lead_days)}")
        self.nws = nws
        self.open_meteo = open_meteo
        self.iem = iem
        self.metar = metar
        self.forecast_models = tuple(forecast_models)
        self.ensemble_models = tuple(ensemble_models)
        self.history_models = tuple(history_models)
        self.history_lead_days = tuple(history_lead_days)
        self._now = now
        self._missing: tuple[MissingSource, ...] = ()
        self._payloads: deque[RawPayload] = deque()
        self._payload_lock = threading.Lock()
        if capture_payloads:
            for http in self._http_clients():
                http.add_payload_listener(self._collect)

    @classmethod
    def from_settings(
        cls,
        user_agent: str,
        open_meteo_api_key: str | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        forecast_models: Sequence[str] = DEFAULT_MODELS,
        ensemble_models: Sequence[str] = DEFAULT_ENSEMBLE_MODELS,
        history_models: Sequence[str] = DEFAULT_MODELS,
        history_lead_days: Sequence[int] = HISTORY_LEAD_DAYS,
        capture_payloads: bool = True,
        **http_options: Any,
    ) -> LiveWeatherSource:
        """Build the four clients with their defaults.

        Args:
            user_agent: User-Agent with contact details (every source asks for one).
            open_meteo_api_key: Optional commercial Open-Meteo key (customer hosts; never
                logged nor captured).
            now: Wall clock for the clients' and the source's time stamps.
            forecast_models: See :class:`LiveWeatherSource`.
            ensemble_models: See :class:`LiveWeatherSource`.
            history_models: See :class:`LiveWeatherSource`.
            history_lead_days: See :class:`LiveWeatherSource`.
            capture_payloads: See :class:`LiveWeatherSource`.
            **http_options: :class:`~weather_trader.sources.http.SourceHttp` options applied
                to every client over its own defaults (``timeout``, ``max_attempts``, ...).

        Raises:
            ValueError: On an empty User-Agent.
        """
        return cls(
            NwsClient(user_agent, now=now, **http_options),
            OpenMeteoClient(user_agent, api_key=open_meteo_api_key, now=now, **http_options),
            IemClient(user_agent, **http_options),
            MetarClient(user_agent, **http_options),
            now=now,
            forecast_models=forecast_models,
            ensemble_models=ensemble_models,
            history_models=history_models,
            history_lead_days=history_lead_days,
            capture_payloads=capture_payloads,
        )

    # --------------------------------------------------------------------------- plumbing

    def _http_clients(self) -> list[SourceHttp]:
        return [self.nws.http, *self.open_meteo.http.values(), self.iem.http, self.metar.http]

    def _collect(self, payload: RawPayload) -> None:
        with self._payload_lock:
            if len(self._payloads) >= MAX_BUFFERED_PAYLOADS:
                dropped = self._payloads.popleft()
                logger.warning(
                    "%s: payload buffer full (%d); dropping the oldest (%s)",
                    SOURCE,
                    MAX_BUFFERED_PAYLOADS,
                    dropped.url,
                    extra={"weather_source": dropped.source, "url": dropped.url},
                )
            self._payloads.append(payload)

    def drain_payloads(self) -> list[RawPayload]:
        """Every payload captured since the last drain, oldest first (the buffer is emptied)."""
        with self._payload_lock:
            out = list(self._payloads)
            self._payloads.clear()
        return out

    @property
    def last_missing_sources(self) -> tuple[MissingSource, ...]:
        """The sources that failed during the latest forecasts/observations/reports call.

        Set by :meth:`forecasts`, :meth:`observations` and :meth:`climate_reports`; empty when
        every source asked answered.
        """
        return self._missing

    def close(self) -> None:
        """Close every client."""
        for client in (self.nws, self.open_meteo, self.iem, self.metar):
            client.close()

    def __enter__(self) -> LiveWeatherSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _failed(component: str, exc: WeatherSourceError, what: str) -> MissingSource:
        missing = MissingSource.from_error(component, exc)
        logger.warning(
            "%s: %s failed for %s: %s",
            SOURCE,
            component,
            what,
            missing.detail,
            extra={
                "weather_source": missing.source,
                "component": component,
                "url": missing.url,
                "http_status": missing.status,
                "error_type": missing.error,
            },
        )
        return missing

    def _current(self, as_of: datetime) -> datetime:
        """Now, after checking that ``as_of`` is not in the past."""
        _require_aware(as_of, "as_of")
        now = self._now().astimezone(UTC)
        if as_of < now - AS_OF_TOLERANCE:
            raise PointInTimeUnavailable(
                f"as_of {as_of.astimezone(UTC).isoformat()} is {now - as_of} before now "
                f"({now.isoformat()}); live sources only serve the current forecasts (tolerance "
                f"{AS_OF_TOLERANCE}). Read the point-in-time archive (forecast_snapshots) or run "
                "the backfill (history) for the past instead."
            )
        return now

    # -------------------------------------------------------------------------- forecasts

    def forecasts(self, city: str, day: date, as_of: datetime) -> list[ForecastPoint]:
        """The current forecasts of ``day``'s high and low from every source.

        See :meth:`pull_forecasts`; the failed sources land in :attr:`last_missing_sources`.
        """
        try:
            pull = self.pull_forecasts(city, day, as_of)
        except AllSourcesFailed as exc:
            self._missing = exc.failures
            raise
        self._missing = pull.missing
        return list(pull.points)

    def pull_forecasts(self, city: str, day: date, as_of: datetime) -> ForecastPull:
        """Fetch Open-Meteo models, Open-Meteo ensemble members and the NWS raw grid for ``day``.

        A source that fails (any :class:`WeatherSourceError`) is logged and listed in
        ``missing``; the others still answer. Open-Meteo is not asked about days outside its
        horizon (today .. today + 15 in the city's standard time).

        Args:
            city: Registry city code.
            day: Target climate day.
            as_of: The caller's view time; must be within :data:`AS_OF_TOLERANCE` of now.

        Returns:
            The points of ``day`` (both kinds), with ``retrieved_at`` the real retrieval time.

        Raises:
            ValueError: If ``as_of`` is naive.
            UnknownCityError: If the city is not registered.
            PointInTimeUnavailable: If ``as_of`` is in the past.
            AllSourcesFailed: If every source asked failed.
        """
        get_city(city)
        now = self._current(as_of)
        ahead = (day - climate_date_of(city, now)).days
        fetchers: list[tuple[str, Callable[[], list[ForecastPoint]]]] = []
        if 0 <= ahead < MAX_FORECAST_DAYS:
            days = ahead + 1
            fetchers += [
                (COMPONENT_FORECAST, lambda: self._deterministic(city, days)),
                (COMPONENT_ENSEMBLE, lambda: self._ensemble(city, days)),
            ]
        fetchers.append((COMPONENT_NWS_GRID, lambda: self._nws_grid(city)))
        points: list[ForecastPoint] = []
        missing: list[MissingSource] = []
        what = f"{city} {day.isoformat()} forecasts"
        for component, fetch in fetchers:
            try:
                points += [p for p in fetch() if p.climate_date == day]
            except WeatherSourceError as exc:
                missing.append(self._failed(component, exc, what))
        if len(missing) == len(fetchers):
            raise AllSourcesFailed(what, missing)
        return ForecastPull(
            city=city,
            climate_date=day,
            retrieved_at=now,
            points=tuple(points),
            missing=tuple(missing),
        )

    def _deterministic(self, city: str, days: int) -> list[ForecastPoint]:
        points = self.open_meteo.forecast(city, self.forecast_models, days)
        return [
            p.model_copy(update={"issued_at": estimated_run(p.retrieved_at, p.model)})
            for p in points
        ]

    def _ensemble(self, city: str, days: int) -> list[ForecastPoint]:
        out = []
        for p in self.open_meteo.ensemble(city, self.ensemble_models, days):
            model = p.model + ENSEMBLE_SUFFIX
            issued = estimated_run(p.retrieved_at, model)
            out.append(p.model_copy(update={"model": model, "issued_at": issued}))
        return out

    def _nws_grid(self, city: str) -> list[ForecastPoint]:
        return [
            p.model_copy(update={"issued_at": min(p.issued_at, p.retrieved_at)})
            for p in self.nws.grid_forecast_points(city)
        ]

    # ----------------------------------------------------------------------- observations

    def observations(self, city: str, start: datetime, end: datetime) -> list[Observation]:
        """Settlement-station observations in ``[start, end)``, by time, one per instant.

        Windows starting within :data:`METAR_MAX_AGE` of now come from aviationweather.gov
        (``/api/data/metar?hours=...``, falling back to the IEM ASOS archive when it fails);
        older windows from IEM ``asos.py``.

        Raises:
            ValueError: If a bound is naive.
            UnknownCityError: If the city is not registered.
            AllSourcesFailed: If every source asked failed.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        station = get_city(city).station
        self._missing = ()
        now = self._now().astimezone(UTC)
        if end <= start or start >= now:
            return []
        what = f"{city} observations {start.isoformat()}..{end.isoformat()}"
        missing: list[MissingSource] = []
        if start >= now - METAR_MAX_AGE:
            hours = math.ceil((now - start) / timedelta(hours=1)) + 1
            try:
                found = self.metar.observations(station, hours, city=city)
                return _in_window(found, start, end)
            except WeatherSourceError as exc:
                missing.append(self._failed(COMPONENT_METAR, exc, what))
                self._missing = tuple(missing)
        try:
            found = self.iem.asos(station, start, end, city=city)
        except WeatherSourceError as exc:
            missing.append(self._failed(COMPONENT_IEM_ASOS, exc, what))
            self._missing = tuple(missing)
            raise AllSourcesFailed(what, missing) from None
        return _in_window(found, start, end)

    # -------------------------------------------------------------------- climate reports

    def climate_reports(self, city: str, day: date, as_of: datetime) -> list[ClimateReport]:
        """The city's CLI reports for ``day`` issued before ``as_of`` (prelim, final, corrections).

        Products issued in the climate day's window up to :data:`REPORT_LOOKAHEAD` after it are
        read from NWS (``/products/types/CLI/locations/{loc}`` + ``/products/{id}``). When NWS
        fails, or its listing no longer reaches back to the day (NWS keeps only recent
        products), IEM's archived text (AFOS ``retrieve.py``) for the same window is used.
        Products that are not readable CLI text are logged and skipped.

        Returns:
            Reports sorted by issue time, each with its product text.

        Raises:
            ValueError: If ``as_of`` is naive.
            UnknownCityError: If the city is not registered.
            AmbiguousClimateReport: If a product of the city has no section headed with the
                city's ``cli_section`` (a city reads only its own station's section).
            AllSourcesFailed: If NWS and IEM both failed.
        """
        _require_aware(as_of, "as_of")
        info = get_city(city)
        self._missing = ()
        start, end = climate_day_window(city, day)
        cutoff = min(as_of.astimezone(UTC), end + REPORT_LOOKAHEAD)
        if cutoff <= start:
            return []
        what = f"{city} {day.isoformat()} climate reports"
        missing: list[MissingSource] = []
        texts: list[str] | None = None
        try:
            texts = self._nws_cli_texts(info, start, cutoff)
        except WeatherSourceError as exc:
            missing.append(self._failed(COMPONENT_NWS_CLI, exc, what))
        if texts is None:
            try:
                texts = self.iem.afos_text(info.cli_product, start, cutoff)
            except WeatherSourceError as exc:
                missing.append(self._failed(COMPONENT_IEM_AFOS, exc, what))
                self._missing = tuple(missing)
                raise AllSourcesFailed(what, missing) from None
        self._missing = tuple(missing)
        reports = [
            report
            for text in texts
            for report in self._parse_reports(info, text)
            if report.climate_date == day and report.issued_at < as_of
        ]
        return _dedupe_reports(reports)

    def _nws_cli_texts(self, city: City, start: datetime, cutoff: datetime) -> list[str] | None:
        """Texts of the NWS CLI products issued in ``[start, cutoff)``, oldest first.

        None when the NWS listing no longer reaches back to ``start``.
        """
        listing = self.nws.cli_products(city.cli_product)
        if not listing or min(p.issuance_time for p in listing) > start:
            logger.info(
                "%s: NWS no longer lists %s products from %s; reading the IEM archive",
                SOURCE,
                city.cli_product,
                start.isoformat(),
                extra={"weather_source": "nws", "product": city.cli_product},
            )
            return None
        wanted = [p for p in listing if start <= p.issuance_time < cutoff]
        return [self.nws.product_text(p.id).product_text for p in reversed(wanted)]

    @staticmethod
    def _parse_reports(city: City, text: str) -> list[ClimateReport]:
        try:
            parsed = parse_cli(text)
        except CliParseError as exc:
            logger.warning(
                "%s: skipping an unreadable %s product: %s",
                SOURCE,
                city.cli_product,
                exc,
                extra={"product": city.cli_product},
            )
            return []
        try:
            sections = select_sections(parsed, city)
        except StationSectionError as exc:
            raise AmbiguousClimateReport(str(exc)) from None
        return [r.to_record(city.code, text) for r in sections]

    # ---------------------------------------------------------------------------- history

    def history(
        self, city: str, start: date, end: date
    ) -> tuple[pd.DataFrame, list[ClimateReport]]:
        """The archive of climate days ``start..end`` (inclusive) as it was published.

        Truth: IEM ``/json/cli.py`` year by year (final reports). Forecasts: Open-Meteo previous
        runs (``temperature_2m_previous_dayN``, N in ``history_lead_days``) in requests of up
        to :data:`~.history.HISTORY_CHUNK_DAYS` days, under the deterministic model ids of the
        live forecasts (the lead lives in ``issued_at``); ``retrieved_at`` = ``issued_at`` + the
        model's availability delay, and rows not available by now are dropped. Open-Meteo
        keeps previous runs from 2024 (GFS 2 m temperature from April 2021); earlier days come
        back without forecasts. Any failure raises: a backfill must not be partial. The work is
        done by :func:`~.history.backfill`.

        Returns:
            ``(forecasts, reports)``: a frame with :data:`~.history.FORECAST_COLUMNS` typed as
            the sim's history frame, and the reports sorted by date.

        Raises:
            ValueError: If ``end`` is before ``start``.
            UnknownCityError: If the city is not registered.
            WeatherSourceError: If a request fails.
        """
        return backfill(
            self.iem,
            self.open_meteo,
            city,
            start,
            end,
            models=self.history_models,
            lead_days=self.history_lead_days,
            now=self._now,
        )
