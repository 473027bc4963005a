"""The synthetic weather: true daily highs/lows, intraday curves and model forecasts.

Everything is a pure function of (seed, city, day, model, run, member) through
:class:`~weather_trader.sim.noise.KeyedNoise`, so any slice can be generated on its own, in any
order, in any process, and always comes out the same.

Model of the world (degrees F):

* truth: ``normal(doy) + sd(doy) * z`` with ``z`` a standardised AR(1) anomaly (persistence
  :data:`PERSISTENCE`), the high and low anomalies correlated (:data:`HIGH_LOW_CORRELATION`).
  The AR(1) is realised as a truncated moving average (:data:`AR_TERMS` lags), which is what
  makes each day computable without its predecessors.
* intraday: 24 hourly observations at hh:51 local standard time inside the climate-day window,
  minimum near sunrise, maximum mid-afternoon, a synoptic tilt and noise, rescaled so that the
  hourly maximum/minimum *equal* the day's true high/low. The tilt follows the weather of the
  neighbouring days (a colder next day cools the evening: cold advection), so some lows are set
  at the very end of the climate day and some highs at its start, as in the real data
  (``docs/lows.md``, ``benchmarks/lows_timing.py``).
* forecasts: ``truth + bias(model, city, kind, season) + error``. The error of a run ``n``
  12-hour steps before the end of the climate day is the sum of ``n`` independent increments,
  so its variance grows with lead, successive runs revise towards the truth, and a shared
  component correlates all models. The ensemble (:data:`ENSEMBLE_MODEL`) spreads its members
  around its own deterministic forecast by much less than its error (under-dispersive).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from weather_trader.core.cities import Kind, get_city
from weather_trader.sim.climatology import climate_for, doy_from_ordinals, sunrise_hour_lst
from weather_trader.sim.noise import KeyedNoise

PERSISTENCE = 0.65
HIGH_LOW_CORRELATION = 0.65
AR_TERMS = 40  # 0.65**40 ~ 3e-8: the truncated moving average is the AR(1) to float precision
MIN_DIURNAL_RANGE_F = 3.0
OBS_MINUTE = 51  # ASOS routine observations land at hh:51
NIGHT_COOLING_DECAY = 1.0
"""Rate of the exponential night cooling from the afternoon peak to the next sunrise. 1.0 leaves
the 23:00 LST temperature about 0.3 of the diurnal range above the morning minimum on a median
day, as the real hourly data of Chicago, Philadelphia and Los Angeles (2023-2025) show; the
earlier 2.5 left 0.15-0.2 and made end-of-day lows depend on noise more than on fronts."""
TREND_TILT = 2.0
"""Weight of the synoptic trend (half the change in daily mean from the day before to the day
after, in units of the day's own diurnal range) in the intraday tilt. Calibrated so that the
share of lows first reached after 18:00 LST matches the real data: measured 14-29% of days
(KNYC January 2018 29%; hourly forecasts: Chicago 26%, Philadelphia 18%, Los Angeles 14%),
higher in winter; the sim gives 12-23% by city, 21-25% in winter outside Los Angeles."""
TILT_NOISE_SD = 0.1
"""Sd of the tilt that the neighbouring days do not explain (a front's timing, showers)."""

DETERMINISTIC_MODELS: tuple[str, ...] = ("gfs", "ecmwf", "icon")
ENSEMBLE_MODEL = "gefs"
ENSEMBLE_MEMBERS = 10
MODELS: tuple[str, ...] = (*DETERMINISTIC_MODELS, ENSEMBLE_MODEL)
RUN_HOURS_UTC: tuple[int, ...] = (0, 12)
MAX_LEAD_DAYS = 6
AVAILABILITY_DELAY: dict[str, timedelta] = {
    "gfs": timedelta(hours=4),
    "ecmwf": timedelta(hours=5),
    "icon": timedelta(hours=4),
    ENSEMBLE_MODEL: timedelta(hours=5),
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORD = date(1970, 1, 1).toordinal()
_MAX_STEPS = 14  # 12-hour steps from the earliest (lead 6) run to the end of the day
_SHARED_ERROR_FRACTION = 0.55  # share of error variance common to all models
_ENSEMBLE_SPREAD_FRACTION = 0.45  # member spread / forecast error sd: under-dispersive
_STEP_INDEX = np.arange(1, _MAX_STEPS + 1)[None, :]


@dataclass(frozen=True)
class ModelSpec:
    """How a sim forecast model errs.

    Attributes:
        error_scale: Multiplier of the common lead-dependent error sd.
        high_bias: Mean bias of its daily-high forecasts (F), before per-city variation.
        low_bias: Mean bias of its daily-low forecasts (F), before per-city variation.
    """

    error_scale: float
    high_bias: float
    low_bias: float


MODEL_SPECS: dict[str, ModelSpec] = {
    "gfs": ModelSpec(1.10, -0.8, 0.6),
    "ecmwf": ModelSpec(0.90, 0.3, -0.2),
    "icon": ModelSpec(1.00, 0.6, 0.8),
    ENSEMBLE_MODEL: ModelSpec(1.05, -0.5, 0.3),
}


class SimWeatherError(ValueError):
    """Raised for a request the offline weather cannot answer (unknown model, bad lead)."""


def hours_since_epoch(at: datetime) -> int:
    """Whole hours since 1970-01-01 UTC (``at`` must be timezone-aware)."""
    if at.tzinfo is None:
        raise SimWeatherError(f"datetime must be timezone-aware, got {at!r}")
    return int((at - _EPOCH).total_seconds() // 3600)


def from_hours(hours: int) -> datetime:
    """Inverse of :func:`hours_since_epoch`."""
    return _EPOCH + timedelta(hours=int(hours))


def round_half_up(x: np.ndarray | float) -> np.ndarray | int:
    """Whole degrees as the CLI reports them (x.5 rounds up)."""
    out = np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)
    return int(out) if out.ndim == 0 else out


def _window_start_hours(city: str, ordinals: np.ndarray) -> np.ndarray:
    # Climate day = local-standard midnight to midnight, so UTC start = midnight - offset.
    offset = get_city(city).std_utc_offset_hours
    return (np.asarray(ordinals, dtype=np.int64) - _EPOCH_ORD) * 24 - offset


class SimWeather:
    """The offline world's weather.

    Args:
        seed: World seed; the same seed always gives the same weather and forecasts.
    """

    def __init__(self, seed: int = 7) -> None:
        self.seed = int(seed)
        self.noise = KeyedNoise(self.seed)

    # -- truth --------------------------------------------------------------------------------

    def true_high_low(self, city: str, ordinals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The continuous true daily high and low for ``date.toordinal()`` values.

        Args:
            city: Registry city code.
            ordinals: 1-D array of day ordinals (any order, duplicates allowed).

        Returns:
            ``(high, low)`` arrays aligned with ``ordinals``; high - low >= 3 F.
        """
        ords = np.asarray(ordinals, dtype=np.int64).ravel()
        if ords.size == 0:
            return np.empty(0), np.empty(0)
        first, last = int(ords.min()), int(ords.max())
        high, low = self._truth_span(city, first, last)
        idx = ords - first
        return high[idx], low[idx]

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - pure per instance; instances are few
    def _truth_span(self, city: str, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        clim = climate_for(city)
        span = np.arange(first - AR_TERMS, last + 1, dtype=np.int64)
        eps_h = self.noise.normal("truth-high", city, span)
        eps_x = self.noise.normal("truth-low", city, span)
        rho = HIGH_LOW_CORRELATION
        eps_l = rho * eps_h + math.sqrt(1 - rho * rho) * eps_x
        n = last - first + 1
        z_h, z_l = np.zeros(n), np.zeros(n)
        # Fixed-order sum per day: the value never depends on the requested range.
        for k in range(AR_TERMS + 1):
            w = PERSISTENCE**k
            z_h += w * eps_h[AR_TERMS - k : AR_TERMS - k + n]
            z_l += w * eps_l[AR_TERMS - k : AR_TERMS - k + n]
        scale = math.sqrt(1 - PERSISTENCE**2)
        days = np.arange(first, last + 1)
        doy = doy_from_ordinals(days)
        high = clim.normal("high", doy) + clim.sd("high", doy) * scale * z_h
        low = clim.normal("low", doy) + clim.sd("low", doy) * scale * z_l
        mid = (high + low) / 2
        squeezed = high - low < MIN_DIURNAL_RANGE_F
        high = np.where(squeezed, mid + MIN_DIURNAL_RANGE_F / 2, high)
        low = np.where(squeezed, mid - MIN_DIURNAL_RANGE_F / 2, low)
        high.setflags(write=False)  # cached: callers must not mutate
        low.setflags(write=False)
        return high, low

    def true_value(self, city: str, day: date, kind: Kind) -> float:
        """The continuous true daily ``high`` or ``low`` of one climate day."""
        high, low = self.true_high_low(city, np.array([day.toordinal()]))
        return float(high[0] if kind == "high" else low[0])

    # -- intraday -----------------------------------------------------------------------------

    def hourly_temps(self, city: str, ordinals: np.ndarray) -> np.ndarray:
        """Hourly temperatures at hh:51 LST (hh = 0..23) of each climate day.

        The row maximum equals the day's true high and the row minimum its true low exactly.

        Returns:
            Array of shape ``(len(ordinals), 24)``.
        """
        ords = np.asarray(ordinals, dtype=np.int64).ravel()
        n = ords.size
        highs, lows = self.true_high_low(city, np.concatenate([ords - 1, ords, ords + 1]))
        high, low = highs[n : 2 * n], lows[n : 2 * n]
        clim = climate_for(city)
        doy = doy_from_ordinals(ords)[:, None]
        col = ords[:, None]
        t = np.arange(24)[None, :] + OBS_MINUTE / 60.0
        t_min = sunrise_hour_lst(city, doy) + 0.5 + 0.3 * self.noise.normal("tmin", city, col)
        t_max = np.clip(clim.max_hour_lst + 0.8 * self.noise.normal("tmax", city, col), 12.0, 17.5)
        rising = 0.5 - 0.5 * np.cos(np.pi * (t - t_min) / (t_max - t_min))
        # Night: fast cooling after the peak, slowing towards the next sunrise.
        since_peak = np.where(t > t_max, t - t_max, t + 24 - t_max) / (t_min + 24 - t_max)
        k = NIGHT_COOLING_DECAY
        falling = (np.exp(-k * since_peak) - math.exp(-k)) / (1 - math.exp(-k))
        shape = np.where((t >= t_min) & (t <= t_max), rising, falling)
        # The synoptic trend through the day (a front): the daily mean's change from yesterday to
        # tomorrow, per day, in units of today's range (the shape spans about 0..1).
        trend = ((highs[2 * n :] + lows[2 * n :]) - (highs[:n] + lows[:n])) / 4.0 / (high - low)
        tilt = TREND_TILT * trend[:, None] + TILT_NOISE_SD * self.noise.normal("tilt", city, col)
        jitter = 0.04 * self.noise.normal("hourly", city, col, np.arange(24)[None, :])
        shape = shape + tilt * (t - 12.0) / 24.0 + jitter
        lo_s, hi_s = shape.min(axis=1, keepdims=True), shape.max(axis=1, keepdims=True)
        g = (shape - lo_s) / (hi_s - lo_s)
        h, lw = high[:, None], low[:, None]
        # Pin the extremes exactly: low + (high - low) * 1.0 need not equal high in floats.
        return np.where(g == 1.0, h, np.where(g == 0.0, lw, lw + (h - lw) * g))

    def observation_times(self, city: str, day: date) -> list[datetime]:
        """UTC times of the 24 hourly observations of a climate day (hh:51 LST)."""
        start = from_hours(int(_window_start_hours(city, np.array([day.toordinal()]))[0]))
        return [start + timedelta(hours=h, minutes=OBS_MINUTE) for h in range(24)]

    # -- forecasts ----------------------------------------------------------------------------

    def model_bias(self, city: str, kind: Kind, model: str, ordinals: np.ndarray) -> np.ndarray:
        """The model's true (seasonally varying) bias for ``city``/``kind`` on those days."""
        offset, amp, phase = self._bias_params(city, kind, model)
        doy = doy_from_ordinals(np.asarray(ordinals, dtype=np.int64).ravel())
        return offset + amp * np.cos(2 * math.pi * (doy - phase) / 365.25)

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - pure per instance; instances are few
    def _bias_params(self, city: str, kind: Kind, model: str) -> tuple[float, float, float]:
        spec = _spec(model)
        base = spec.high_bias if kind == "high" else spec.low_bias
        offset = base + 0.8 * self.noise.scalar_normal("bias", model, city, kind)
        amp = 0.6 * self.noise.scalar_normal("bias-season", model, city, kind)
        phase = 365.25 * self.noise.scalar_uniform("bias-phase", model, city, kind)
        return offset, amp, phase

    def error_sd(
        self, city: str, kind: Kind, ordinals: np.ndarray, steps: np.ndarray
    ) -> np.ndarray:
        """Common forecast-error sd of a run ``steps`` 12-hour steps before the day's end.

        Scaled by the city's day-to-day variability and capped just above it (a forecast
        should not be much worse than climatology).
        """
        doy = doy_from_ordinals(np.asarray(ordinals, dtype=np.int64))
        sd_clim = np.asarray(climate_for(city).sd(kind, doy), dtype=np.float64)
        scale = 0.4 + 0.6 * sd_clim / 8.0
        raw = scale * (1.3 + 0.65 * np.asarray(steps) / 2.0)
        return np.minimum(raw, 1.15 * sd_clim)

    def forecast_values(
        self,
        city: str,
        kind: Kind,
        model: str,
        ordinals: np.ndarray,
        run_hours: np.ndarray,
        member: np.ndarray | int | None = None,
    ) -> np.ndarray:
        """Vectorised forecasts of climate days ``ordinals`` from runs at ``run_hours``.

        Args:
            city: Registry city code.
            kind: ``"high"`` or ``"low"``.
            model: One of :data:`MODELS`.
            ordinals: Target days (``date.toordinal()``), 1-D.
            run_hours: Run times as :func:`hours_since_epoch`, aligned with ``ordinals``; each
                must be a 00Z/12Z run on the target's UTC date or up to 6 days before.
            member: Ensemble member(s) (only for :data:`ENSEMBLE_MODEL`), broadcastable.

        Returns:
            Forecast values in F rounded to 0.1.

        Raises:
            SimWeatherError: On an unknown model, a member for a deterministic model, a
                run that is not 00Z/12Z or a lead outside 0..6 days.
        """
        spec = _spec(model)
        ords = np.asarray(ordinals, dtype=np.int64).ravel()
        runs = np.broadcast_to(np.asarray(run_hours, dtype=np.int64), ords.shape)
        if member is not None and model != ENSEMBLE_MODEL:
            raise SimWeatherError(f"model {model!r} has no ensemble members")
        if np.any(runs % 12 != 0):
            raise SimWeatherError("runs are issued at 00Z and 12Z only")
        day_start = _window_start_hours(city, ords)
        # Lead = climate day of the run (local standard time) to the target day, as in core.
        if np.any((runs < day_start - 24 * MAX_LEAD_DAYS) | (runs >= day_start + 24)):
            raise SimWeatherError(f"lead must be 0..{MAX_LEAD_DAYS} days")
        steps = np.clip(-((runs - day_start - 24) // 12), 1, _MAX_STEPS)  # ceil((end - run)/12h)
        # Work per distinct day (ensemble calls repeat days), then spread back to the rows.
        days, inverse = np.unique(ords, return_inverse=True)
        if days.size == 1:
            truth, var, shared_z, bias = self._one_day_parts(city, kind, model, int(days[0]))
        else:
            truth, var, shared_z, bias = self._day_parts(city, kind, model, days)
        own = self.noise.normal("ferr-own", model, city, kind, days[:, None], _STEP_INDEX)
        z = shared_z + math.sqrt(1 - _SHARED_ERROR_FRACTION) * own
        # Error of a run = the increments not yet resolved at its lead; newer runs drop some.
        cum = np.cumsum(np.sqrt(np.diff(var, axis=1, prepend=0.0)) * z, axis=1)
        rows = np.arange(ords.size)
        err = spec.error_scale * cum[inverse, steps - 1]
        value = truth[inverse] + bias[inverse] + err
        var = var[inverse]
        if member is not None:
            spread = _ENSEMBLE_SPREAD_FRACTION * np.sqrt(var[rows, steps - 1])
            value = value + spread * self.noise.normal("ens", city, kind, ords, runs, member)
        return np.round(value, 1)

    def _day_parts(
        self, city: str, kind: Kind, model: str, days: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-day pieces of a forecast: truth, error variance by step, shared error, bias."""
        high, low = self.true_high_low(city, days)
        var = self.error_sd(city, kind, days[:, None], _STEP_INDEX) ** 2
        shared = self.noise.normal("ferr-shared", city, kind, days[:, None], _STEP_INDEX)
        bias = self.model_bias(city, kind, model, days)
        return (
            high if kind == "high" else low,
            var,
            math.sqrt(_SHARED_ERROR_FRACTION) * shared,
            bias,
        )

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - pure per instance; instances are few
    def _one_day_parts(
        self, city: str, kind: Kind, model: str, ordinal: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        # Single-day calls (books, point-in-time pulls) repeat a lot; same maths as the bulk path.
        return self._day_parts(city, kind, model, np.array([ordinal], dtype=np.int64))

    def forecast(
        self, city: str, day: date, kind: Kind, model: str, run: datetime, member: int | None = None
    ) -> float:
        """One forecast of ``day``'s ``kind`` from ``model``'s run at ``run`` (see
        :meth:`forecast_values`)."""
        out = self.forecast_values(
            city,
            kind,
            model,
            np.array([day.toordinal()]),
            np.array([hours_since_epoch(run)]),
            member,
        )
        return float(out[0])

    def latest_run(self, city: str, model: str, day: date, as_of: datetime) -> datetime | None:
        """The newest run of ``model`` for ``city``'s ``day`` available at ``as_of``, or None.

        A run is a forecast of ``day`` when its own climate day is 0..6 days before ``day``; it
        is available :data:`AVAILABILITY_DELAY` after its nominal time.
        """
        delay = AVAILABILITY_DELAY[_check_model(model)]
        newest = hours_since_epoch(as_of - delay)
        newest -= newest % 12
        start = int(_window_start_hours(city, np.array([day.toordinal()]))[0])
        last_run = start + 23 - (start + 23) % 12  # the last run before the window ends
        first_run = start - 24 * MAX_LEAD_DAYS + (-(start - 24 * MAX_LEAD_DAYS)) % 12
        run = min(newest, last_run)
        return from_hours(run) if run >= first_run else None

    def runs_for_lead(self, city: str, day: date, lead: int) -> list[datetime]:
        """The two runs (00Z and 12Z) issued during the climate day ``lead`` days before ``day``."""
        if not 0 <= lead <= MAX_LEAD_DAYS:
            raise SimWeatherError(f"lead must be 0..{MAX_LEAD_DAYS} days, got {lead}")
        start = int(_window_start_hours(city, np.array([day.toordinal()]))[0]) - 24 * lead
        first = start + (-start) % 12
        return [from_hours(first), from_hours(first + 12)]


def _check_model(model: str) -> str:
    if model not in MODEL_SPECS:
        raise SimWeatherError(f"unknown sim model {model!r}; known: {list(MODEL_SPECS)}")
    return model


def _spec(model: str) -> ModelSpec:
    return MODEL_SPECS[_check_model(model)]
