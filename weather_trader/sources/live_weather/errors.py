"""What :class:`~weather_trader.sources.live_weather.LiveWeatherSource` raises, and how it
describes a source that failed during a call."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from weather_trader.sources.errors import WeatherSourceError

__all__ = [
    "SOURCE",
    "AllSourcesFailed",
    "AmbiguousClimateReport",
    "LiveWeatherError",
    "MissingSource",
    "PointInTimeUnavailable",
]

SOURCE = "live-weather"


class LiveWeatherError(WeatherSourceError):
    """An error of :class:`LiveWeatherSource` itself rather than of one HTTP request."""

    def __init__(self, detail: str, url: str = "") -> None:
        super().__init__(SOURCE, url, detail)
        self.args = (f"{SOURCE}: {detail}",)


class PointInTimeUnavailable(LiveWeatherError):
    """Live sources cannot answer as of a past instant; read the archive or run the backfill."""


class AllSourcesFailed(LiveWeatherError):
    """Every source able to answer a request failed.

    Attributes:
        failures: What each source reported.
    """

    def __init__(self, what: str, failures: Sequence[MissingSource]) -> None:
        self.failures = tuple(failures)
        listed = "; ".join(f"{f.component}: {f.detail}" for f in self.failures)
        super().__init__(f"every source failed for {what}: {listed}")


class AmbiguousClimateReport(LiveWeatherError):
    """A CLI product has several station sections and nothing says which is the city's."""


class MissingSource(BaseModel):
    """A source that failed during a call (the call may still have succeeded without it).

    Attributes:
        component: Which part failed (``open-meteo``, ``open-meteo-ensemble``, ``nws``,
            ``aviationweather``, ``iem-asos``, ``nws-cli``, ``iem-afos``).
        source: The client's source name from the error (``open-meteo``).
        url: The failing URL, secrets redacted.
        status: HTTP status when one was received.
        error: The exception class name (``SourceUnavailable``).
        detail: The error message (already redacted by the clients).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    component: str
    source: str
    url: str
    status: int | None = None
    error: str
    detail: str

    @classmethod
    def from_error(cls, component: str, exc: WeatherSourceError) -> MissingSource:
        """Describe ``exc`` raised while fetching ``component``."""
        return cls(
            component=component,
            source=exc.source,
            url=exc.url,
            status=exc.status,
            error=type(exc).__name__,
            detail=str(exc),
        )
