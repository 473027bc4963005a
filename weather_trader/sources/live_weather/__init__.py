"""The real weather behind the :class:`~weather_trader.core.ports.WeatherSource` port.

:class:`LiveWeatherSource` composes the four source clients for paper, demo and live modes:

* forecasts: Open-Meteo deterministic models and ensemble members, and the NWS raw grid;
* observations: aviationweather.gov METARs for recent windows, else the IEM ASOS archive;
* climate reports: NWS CLI products, falling back to IEM's archived AFOS text;
* history (backfill): IEM CLI history as truth, Open-Meteo previous runs as leak-free forecasts.

Live sources only know the present: :meth:`LiveWeatherSource.forecasts` refuses an ``as_of``
in the past (:class:`PointInTimeUnavailable`); the point-in-time archive and
:meth:`LiveWeatherSource.history` answer questions about the past.

Time stamps. ``retrieved_at`` is always when a value was (or, for history, first could have
been) retrieved; ``issued_at`` is never after it:

* NWS grid: ``issued_at`` = the grid's ``updateTime``.
* Open-Meteo forecast/ensemble: the API does not report the run, so ``issued_at`` is the
  newest 6-hourly cycle (00/06/12/18Z) at least the model's :data:`AVAILABILITY_DELAY` older
  than the retrieval: an estimate erring early (longer lead).
* Open-Meteo previous runs (history): ``temperature_2m_previous_dayN`` is the forecast made
  about N x 24 h before each hour, so ``issued_at`` = the climate day's last hour minus N days
  (an upper bound on every hour's run, see
  :meth:`~weather_trader.sources.open_meteo.OpenMeteoClient.previous_runs`) and
  ``retrieved_at`` = ``issued_at`` + the model's availability delay.

Every successful HTTP response is captured as a :class:`~weather_trader.core.records.RawPayload`
(URL redacted) for the audit archive; :meth:`LiveWeatherSource.drain_payloads` hands them over.

Modules:

* :mod:`.source`: :class:`LiveWeatherSource` itself (forecasts, observations, reports);
* :mod:`.errors`: its errors and :class:`MissingSource`;
* :mod:`.publication`: when Open-Meteo publishes a run (the ``issued_at`` estimates);
* :mod:`.history`: the archive backfill behind :meth:`LiveWeatherSource.history`.
"""

from weather_trader.sources.live_weather.errors import (
    AllSourcesFailed,
    AmbiguousClimateReport,
    LiveWeatherError,
    MissingSource,
    PointInTimeUnavailable,
)
from weather_trader.sources.live_weather.history import (
    FORECAST_COLUMNS,
    FORECAST_DTYPES,
    forecast_frame,
)
from weather_trader.sources.live_weather.publication import (
    AVAILABILITY_DELAY,
    ENSEMBLE_SUFFIX,
    availability_delay,
    estimated_run,
)
from weather_trader.sources.live_weather.source import (
    AS_OF_TOLERANCE,
    ForecastPull,
    LiveWeatherSource,
)

__all__ = [
    "AS_OF_TOLERANCE",
    "AVAILABILITY_DELAY",
    "ENSEMBLE_SUFFIX",
    "FORECAST_COLUMNS",
    "FORECAST_DTYPES",
    "AllSourcesFailed",
    "AmbiguousClimateReport",
    "ForecastPull",
    "LiveWeatherError",
    "LiveWeatherSource",
    "MissingSource",
    "PointInTimeUnavailable",
    "availability_delay",
    "estimated_run",
    "forecast_frame",
]
