"""The point-in-time case table: what was known at each decision instant, and the truth label.

A *target* is (city, kind, climate_date, decided_at). :func:`build_cases` gives one row per
target with only the forecasts issued at or before ``decided_at`` (the latest issue of each
source/model, members averaged), the observations made by then, and the label: the final
climate report's value with the instant it became known. Training at instant t may use only
rows whose label was known by t (:func:`known_by`).

Output columns (all datetimes tz-aware UTC):

* ``city, kind, climate_date, decided_at``: the target, in the order given;
* ``doy``: day of year of the climate date (1..366); ``lead_hours``: hours from ``decided_at``
  to the end of the climate day (local standard time), negative once the day is over;
* per (source, model) with at least one value known at some target's instant:
  ``fc:{source}/{model}`` (the value, member mean for ensembles), ``age:{source}/{model}``
  (hours from its issue to ``decided_at``), ``sd:{source}/{model}`` (member standard deviation,
  NaN for a deterministic run or a single member);
* ``fc_mean, fc_median, fc_std, fc_n``: statistics over the available ``fc:`` columns of the row
  (``fc_std`` is the population standard deviation, 0 with one source, NaN with none);
* ``obs_extreme``: the running max (high) / min (low) of observations inside the climate day
  made at or before ``decided_at`` (NaN if none); ``obs_hour``: hours of the climate day
  elapsed at ``decided_at`` (NaN before the day starts, capped at 24);
* ``truth_f``: the final report's value (the latest final version, or the latest issued by
  ``truth_as_of`` when given), NaN if none; ``truth_known_at``: ``issued_at`` of the first
  final report (NaT if none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from weather_trader.core.cities import get_city
from weather_trader.core.forecasting.base import ModelInputError, require_columns
from weather_trader.core.forecasting.pmf import SUPPORT, apply_bounds

FC_PREFIX = "fc:"
AGE_PREFIX = "age:"
SD_PREFIX = "sd:"
TARGET_COLUMNS = ("city", "kind", "climate_date", "decided_at")
FORECAST_COLUMNS = (
    "city", "kind", "source", "model", "member", "issued_at", "climate_date", "value_f"
)  # fmt: skip
REPORT_COLUMNS = ("city", "kind", "climate_date", "value_f", "final", "issued_at")
OBSERVATION_COLUMNS = ("city", "observed_at", "temp_f")
STD_OFFSET_COLUMN = "std_utc_offset_hours"
"""Optional target column: a city's standard UTC offset when it is not in the registry."""
_KEY = ["city", "kind", "climate_date"]
_HOUR = pd.Timedelta(hours=1)


def forecast_columns(cases: pd.DataFrame) -> list[str]:
    """The ``fc:{source}/{model}`` columns of a case table, sorted."""
    return sorted(c for c in cases.columns if c.startswith(FC_PREFIX))


def source_key(column: str) -> str:
    """``"{source}/{model}"`` of an ``fc:``, ``age:`` or ``sd:`` column."""
    return column.split(":", 1)[1]


def _utc(series: pd.Series, name: str) -> pd.Series:
    """A tz-aware UTC datetime column; naive values are refused (never guess a zone)."""
    if series.empty:
        return pd.to_datetime(series, utc=True)
    values = pd.to_datetime(series)
    if values.dt.tz is None:
        raise ModelInputError(f"{name} must be timezone-aware (UTC); got naive datetimes")
    return values.dt.tz_convert("UTC")


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.date


def _day_end(targets: pd.DataFrame) -> pd.Series:
    """End of each target's climate day (midnight local standard time after it), UTC."""
    if STD_OFFSET_COLUMN in targets.columns:
        offsets = targets[STD_OFFSET_COLUMN].astype(float)
    else:
        offsets = targets["city"].map(
            {c: float(get_city(c).std_utc_offset_hours) for c in targets["city"].unique()}
        )
    midnight = pd.to_datetime(targets["climate_date"]).dt.tz_localize("UTC")
    return midnight + pd.Timedelta(days=1) - pd.to_timedelta(offsets, unit="h")


def _latest_forecasts(targets: pd.DataFrame, forecasts: pd.DataFrame) -> pd.DataFrame:
    """Per (target row, source/model): the latest issue at or before decided_at."""
    fc = forecasts.loc[:, list(FORECAST_COLUMNS)].copy()
    fc["issued_at"] = _utc(fc["issued_at"], "forecasts.issued_at")
    fc["climate_date"] = _dates(fc["climate_date"])
    fc["value_f"] = pd.to_numeric(fc["value_f"], errors="coerce")
    fc = fc[fc["value_f"].notna()]
    fc["key"] = fc["source"].astype(str) + "/" + fc["model"].astype(str)
    tgt = targets.loc[:, [*_KEY, "decided_at"]].assign(row=np.arange(len(targets)))
    joined = tgt.merge(fc.drop(columns=["source", "model"]), on=_KEY, how="inner")
    joined = joined[joined["issued_at"] <= joined["decided_at"]]
    if joined.empty:
        return joined.assign(value=[], sd=[], age=[])
    latest = joined.groupby(["row", "key"])["issued_at"].transform("max")
    joined = joined[joined["issued_at"] == latest]
    grouped = joined.groupby(["row", "key"], sort=False)
    out = grouped.agg(
        value=("value_f", "mean"),
        sd=("value_f", "std"),  # sample std of the members; NaN for a single value
        issued_at=("issued_at", "first"),
        decided_at=("decided_at", "first"),
    ).reset_index()
    out["age"] = (out["decided_at"] - out["issued_at"]) / _HOUR
    return out


def _observed_extremes(
    targets: pd.DataFrame, day_end: pd.Series, observations: pd.DataFrame | None
) -> pd.Series:
    """Running max (high) / min (low) inside the climate day, observed by decided_at."""
    result = pd.Series(np.nan, index=targets.index, dtype=float)
    if observations is None or observations.empty:
        return result
    require_columns(observations, OBSERVATION_COLUMNS, "observations")
    obs = observations.loc[:, list(OBSERVATION_COLUMNS)].copy()
    obs["observed_at"] = _utc(obs["observed_at"], "observations.observed_at")
    obs["temp_f"] = pd.to_numeric(obs["temp_f"], errors="coerce")
    obs = obs[obs["temp_f"].notna()]
    tgt = pd.DataFrame(
        {
            "row": np.arange(len(targets)),
            "city": targets["city"].to_numpy(),
            "kind": targets["kind"].to_numpy(),
            "start": (day_end - pd.Timedelta(days=1)).to_numpy(),
            "until": np.minimum(day_end.to_numpy(), targets["decided_at"].to_numpy()),
        }
    )
    joined = tgt.merge(obs, on="city", how="inner")
    # Half-open climate day [start, end); an observation at decided_at itself is known.
    inside = (joined["observed_at"] >= joined["start"]) & (joined["observed_at"] <= joined["until"])
    inside &= joined["observed_at"] < joined["start"] + pd.Timedelta(days=1)
    joined = joined[inside]
    highs = joined[joined["kind"] == "high"].groupby("row")["temp_f"].max()
    lows = joined[joined["kind"] == "low"].groupby("row")["temp_f"].min()
    values = np.full(len(targets), np.nan)
    values[highs.index.to_numpy()] = highs.to_numpy()
    values[lows.index.to_numpy()] = lows.to_numpy()
    return pd.Series(values, index=targets.index)


def _truth(
    targets: pd.DataFrame, reports: pd.DataFrame, truth_as_of: datetime | None
) -> tuple[pd.Series, pd.Series]:
    """Final report value and the instant the first final report was out, per target."""
    require_columns(reports, REPORT_COLUMNS, "reports")
    rep = reports.loc[:, list(REPORT_COLUMNS)].copy()
    rep["issued_at"] = _utc(rep["issued_at"], "reports.issued_at")
    rep["climate_date"] = _dates(rep["climate_date"])
    rep["value_f"] = pd.to_numeric(rep["value_f"], errors="coerce")
    rep = rep[rep["final"].astype(bool) & rep["value_f"].notna()]
    if truth_as_of is not None:
        rep = rep[rep["issued_at"] <= pd.Timestamp(truth_as_of).tz_convert("UTC")]
    rep = rep.sort_values("issued_at", kind="stable")
    grouped = rep.groupby(_KEY, sort=False)
    # Corrections replace earlier finals: the value is the latest, known since the first.
    summary = grouped.agg(truth_f=("value_f", "last"), truth_known_at=("issued_at", "first"))
    keyed = targets.loc[:, _KEY].merge(summary.reset_index(), on=_KEY, how="left")
    known_at = pd.to_datetime(keyed["truth_known_at"], utc=True)
    return keyed["truth_f"].astype(float).set_axis(targets.index), known_at.set_axis(targets.index)


def build_cases(
    targets: pd.DataFrame,
    forecasts: pd.DataFrame,
    reports: pd.DataFrame,
    observations: pd.DataFrame | None = None,
    truth_as_of: datetime | None = None,
) -> pd.DataFrame:
    """One row per target with what was known at ``decided_at`` and the truth label.

    Args:
        targets: ``city, kind, climate_date, decided_at`` (tz-aware), optionally
            ``std_utc_offset_hours`` for cities outside the registry.
        forecasts: ``city, kind, source, model, member, issued_at, climate_date, value_f``
            (``store.repo_history.forecast_history``); only rows issued at or before each
            target's ``decided_at`` are used.
        reports: ``city, kind, climate_date, value_f, final, issued_at`` (every version).
        observations: Optional ``city, observed_at, temp_f`` station observations.
        truth_as_of: When given, reports issued after it are ignored (the labels exactly as
            known then, corrections included); otherwise the latest final value is the label.

    Returns:
        The case table described in the module docstring, index 0..n-1.

    Raises:
        ModelInputError: For missing columns, naive datetimes or unknown cities.
    """
    require_columns(targets, TARGET_COLUMNS, "targets")
    require_columns(forecasts, FORECAST_COLUMNS, "forecasts")
    tgt = targets.reset_index(drop=True).copy()
    tgt["decided_at"] = _utc(tgt["decided_at"], "targets.decided_at")
    tgt["climate_date"] = _dates(tgt["climate_date"])
    bad_kind = set(tgt["kind"].unique()) - {"high", "low"}
    if bad_kind:
        raise ModelInputError(f"targets.kind must be 'high' or 'low'; got {sorted(bad_kind)}")
    try:
        day_end = _day_end(tgt)
    except KeyError as exc:  # UnknownCityError
        raise ModelInputError(f"{exc}; give targets a {STD_OFFSET_COLUMN} column") from None

    out = tgt.loc[:, list(TARGET_COLUMNS)].copy()
    out["doy"] = pd.to_datetime(out["climate_date"]).dt.day_of_year.astype(int)
    out["lead_hours"] = (day_end - out["decided_at"]) / _HOUR

    latest = _latest_forecasts(tgt, forecasts)
    keys = sorted(latest["key"].unique()) if len(latest) else []
    columns: dict[str, np.ndarray] = {}
    for prefix, field in ((FC_PREFIX, "value"), (AGE_PREFIX, "age"), (SD_PREFIX, "sd")):
        wide = latest.pivot(index="row", columns="key", values=field) if keys else None
        for key in keys:
            values = np.full(len(tgt), np.nan)
            col = wide[key].dropna()  # type: ignore[index]
            values[col.index.to_numpy(dtype=int)] = col.to_numpy(dtype=float)
            columns[f"{prefix}{key}"] = values
    ordered = [f"{p}{k}" for k in keys for p in (FC_PREFIX, AGE_PREFIX, SD_PREFIX)]
    out = pd.concat([out, pd.DataFrame({c: columns[c] for c in ordered})], axis=1)

    fc = out[[f"{FC_PREFIX}{k}" for k in keys]].to_numpy(dtype=float)
    n_avail = np.isfinite(fc).sum(axis=1)
    stats = {"fc_mean": np.full(len(out), np.nan), "fc_median": np.full(len(out), np.nan)}
    stats["fc_std"] = np.full(len(out), np.nan)
    some = n_avail > 0  # nan-aware reductions warn on all-NaN rows: skip them
    if some.any():
        stats["fc_mean"][some] = np.nanmean(fc[some], axis=1)
        stats["fc_median"][some] = np.nanmedian(fc[some], axis=1)
        stats["fc_std"][some] = np.nanstd(fc[some], axis=1)
    for name, values in stats.items():
        out[name] = values
    out["fc_n"] = n_avail.astype(int)

    out["obs_extreme"] = _observed_extremes(tgt, day_end, observations).to_numpy()
    elapsed = 24.0 - out["lead_hours"]
    out["obs_hour"] = np.where(elapsed >= 0, np.minimum(elapsed, 24.0), np.nan)
    truth_f, known_at = _truth(tgt, reports, truth_as_of)
    out["truth_f"] = truth_f.to_numpy()
    out["truth_known_at"] = known_at.to_numpy()
    out["truth_known_at"] = pd.to_datetime(out["truth_known_at"], utc=True)
    return out


def known_by(cases: pd.DataFrame, instant: datetime) -> pd.DataFrame:
    """The labelled rows a model trained at ``instant`` may use.

    Both the decision (``decided_at <= instant``) and the final report
    (``truth_known_at <= instant``) must be in the past; rows without a label are dropped.
    """
    t = pd.Timestamp(instant)
    if t.tzinfo is None:
        raise ModelInputError(f"instant must be timezone-aware; got {instant!r}")
    mask = (
        cases["truth_f"].notna()
        & cases["truth_known_at"].notna()
        & (cases["truth_known_at"] <= t)
        & (cases["decided_at"] <= t)
    )
    return cases[mask]


def observed_bounds(cases: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(floor, cap)`` per case: the running max so far bounds a high from below, the running
    min a low from above (NaN where nothing was observed or the column is absent)."""
    n = len(cases)
    if "obs_extreme" not in cases.columns:
        return np.full(n, np.nan), np.full(n, np.nan)
    obs = pd.to_numeric(cases["obs_extreme"], errors="coerce").to_numpy(dtype=float)
    kind = cases["kind"].astype(str).to_numpy()
    return np.where(kind == "high", obs, np.nan), np.where(kind == "low", obs, np.nan)


@dataclass(frozen=True)
class IntradayPrior:
    """What the hour of the climate day says about a running extreme (``docs/lows.md``).

    Attributes:
        not_final: P(the day's extreme is still ahead) after h = 0..24 hours of the climate day
            (interpolated between whole hours; the last value, at 24, should be 0).
        gap_f: Mean distance (F) between the running and the final extreme on the days it is
            still ahead, at h = 0..24 (a geometric law over whole degrees, mean >= 1).
        between_obs: P(the sensor's extreme went one degree beyond the running extreme of the
            routine observations between two of them): the day's value can pass the running
            extreme by a degree even once the day is over.
    """

    not_final: tuple[float, ...]
    gap_f: tuple[float, ...]
    between_obs: float = 0.0

    def __post_init__(self) -> None:
        if len(self.not_final) != 25 or len(self.gap_f) != 25:
            raise ModelInputError("an intraday prior needs 25 hourly values (h = 0..24)")
        if not all(0.0 <= p <= 1.0 for p in (*self.not_final, self.between_obs)):
            raise ModelInputError("intraday prior probabilities must lie in [0, 1]")

    def at(self, hours_elapsed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(not_final, gap_f)`` after ``hours_elapsed`` (clipped to 0..24)."""
        h = np.clip(np.asarray(hours_elapsed, dtype=float), 0.0, 24.0)
        grid = np.arange(25.0)
        return np.interp(h, grid, self.not_final), np.interp(h, grid, self.gap_f)


LOW_PRIOR = IntradayPrior(
    # Measured by benchmarks/lows_timing.py on real hourly data (KNYC observations, January
    # 2018; Visual Crossing hourly forecasts for Chicago, Philadelphia and Los Angeles,
    # 2023-2025), rounded and pooled: the low is usually still ahead before sunrise, reached
    # by 08:00 LST on ~78% of days, and on ~20% of days set in the evening, mostly in the
    # last two hours before midnight.
    not_final=(0.95, 0.90, 0.87, 0.78, 0.62, 0.43, 0.30, 0.23, 0.22, 0.22, 0.22, 0.22, 0.22,
               0.22, 0.22, 0.22, 0.22, 0.22, 0.21, 0.21, 0.20, 0.20, 0.18, 0.10, 0.0),
    gap_f=(4.0, 3.5, 3.0, 3.0, 3.0, 3.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0,
           4.0, 3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 1.0, 1.0),
    # KNYC January 2018: the 24-hour minimum group (the sensor's low) was a whole degree
    # below the hourly observations' minimum on 9 of 28 days. One winter month: a rough figure.
    between_obs=0.25,
)  # fmt: skip
"""The prior for daily lows; highs have none (their running max is only a bound)."""
INTRADAY_PRIORS: Mapping[str, IntradayPrior] = {"low": LOW_PRIOR}
FORECAST_DOUBT = 0.01
"""Weight of a flat pmf mixed into the forecast when it is conditioned on the running extreme."""


def condition_on_running_extreme(
    pmf: np.ndarray,
    kind: str,
    extreme: np.ndarray,
    hours_elapsed: np.ndarray,
    prior: IntradayPrior,
    tolerance_f: float = 0.0,
) -> np.ndarray:
    """The pmf of the day's ``kind`` once its running extreme and the hour are known.

    Bayes on the forecast pmf f (the prior over the day's value) with the likelihood of what was
    observed: the integers at the running extreme m (within 0.5 + ``tolerance_f``) keep
    weight ``(1 - a) (1 - b)``, with a the chance the extreme is still ahead at that hour and b
    that it slipped past m between observations; an integer d degrees beyond m gets
    ``a g(d) + (1 - a) b [d = 1]`` with g geometric of the prior's mean gap; integers m rules
    out (above a low's running min, below a high's running max) get 0. So the pmf never goes
    past m + tolerance on the impossible side, keeps mass beyond m while hours remain (as the
    prior says, more when the forecast says so), and at the end of the day collapses onto m and
    the between-observation slip. The forecast is mixed with a little of a flat pmf
    (:data:`FORECAST_DOUBT`). Rows with NaN ``extreme`` or ``hours_elapsed`` are only
    truncated (:func:`apply_bounds`).
    """
    arr = np.atleast_2d(np.asarray(pmf, dtype=float))
    n = arr.shape[0]
    m = np.broadcast_to(np.asarray(extreme, dtype=float), (n,))
    hours = np.broadcast_to(np.asarray(hours_elapsed, dtype=float), (n,))
    low = kind == "low"
    bounded = apply_bounds(
        arr, floor=None if low else m - tolerance_f, cap=m + tolerance_f if low else None
    )
    rows = np.flatnonzero(np.isfinite(m) & np.isfinite(hours) & np.isfinite(arr).all(axis=1))
    if len(rows) == 0:
        return bounded
    a, gap = prior.at(hours[rows])
    r = 1.0 - 1.0 / np.maximum(gap, 1.0)  # geometric on d >= 1 with mean ``gap``
    k = SUPPORT[None, :].astype(float)
    mm = m[rows, None]
    # Signed distance beyond the running extreme, in the direction the day can still go.
    beyond = (mm - k) if low else (k - mm)
    reach = 0.5 + tolerance_f
    possible = beyond >= -reach
    at = possible & (beyond <= reach)
    d = np.where(at | ~possible, 0.0, np.ceil(beyond - reach))  # 1, 2, ... degrees past m
    b = prior.between_obs
    like_beyond = a[:, None] * (1 - r[:, None]) * r[:, None] ** np.maximum(d - 1, 0) + (
        1 - a[:, None]
    ) * b * (d == 1)
    like = np.where(at, ((1 - a) * (1 - b))[:, None], np.where(possible, like_beyond, 0.0))
    # A forecast is never surer than 1 - FORECAST_DOUBT: far in a normal's tail the ratio of
    # neighbouring masses is huge and would otherwise outvote what the day has shown.
    f = (1 - FORECAST_DOUBT) * arr[rows] + FORECAST_DOUBT / arr.shape[1]
    post = np.where(possible, f, 0.0) * like
    out = bounded.copy()
    out[rows] = post / post.sum(axis=1, keepdims=True)
    return out


def bound_observed_pmf(
    pmf: np.ndarray,
    kind: str,
    floor: float | None,
    cap: float | None,
    hours_elapsed: float | None,
    priors: Mapping[str, IntradayPrior] | None = None,
) -> np.ndarray:
    """One stored pmf (a row) given the running max (``floor``, highs) or min (``cap``, lows)
    observed ``hours_elapsed`` into the climate day: as :func:`bound_by_observed` does for a
    case table (a kind with a prior is conditioned on the hour, others truncated)."""
    row = np.atleast_2d(pmf)
    extreme = floor if kind == "high" else cap
    prior = (INTRADAY_PRIORS if priors is None else priors).get(kind)
    if prior is None or extreme is None or hours_elapsed is None:
        return apply_bounds(row, floor=floor, cap=cap)
    return condition_on_running_extreme(
        row, kind, np.array([extreme]), np.array([hours_elapsed]), prior
    )


def bound_by_observed(
    pmf: np.ndarray,
    cases: pd.DataFrame,
    tolerance_f: float = 0.0,
    priors: Mapping[str, IntradayPrior] | None = None,
) -> np.ndarray:
    """``pmf`` (one row per case) given each case's observed running extreme
    (:func:`observed_bounds`), loosened by ``tolerance_f`` degrees.

    A kind with an intraday prior (``priors``, default :data:`INTRADAY_PRIORS`: lows) is
    conditioned on the running extreme and the hours of the climate day elapsed
    (``obs_hour``) by :func:`condition_on_running_extreme`; others, and rows without
    ``obs_hour``, are truncated only. ``priors={}`` truncates every kind.
    """
    floor, cap = observed_bounds(cases)
    out = apply_bounds(pmf, floor=floor - tolerance_f, cap=cap + tolerance_f)
    priors = INTRADAY_PRIORS if priors is None else priors
    if not priors or "obs_hour" not in cases.columns or len(cases) == 0:
        return out
    hours = pd.to_numeric(cases["obs_hour"], errors="coerce").to_numpy(dtype=float)
    kinds = cases["kind"].astype(str).to_numpy()
    extreme = np.where(np.isfinite(floor), floor, cap)
    for kind, prior in priors.items():
        rows = np.flatnonzero((kinds == kind) & np.isfinite(extreme) & np.isfinite(hours))
        if len(rows):
            out[rows] = condition_on_running_extreme(
                np.atleast_2d(pmf)[rows], kind, extreme[rows], hours[rows], prior, tolerance_f
            )
    return out


def labelled(cases: pd.DataFrame) -> pd.DataFrame:
    """Rows with a truth label (``truth_f`` not NaN)."""
    return cases[cases["truth_f"].notna()]
