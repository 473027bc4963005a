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

from datetime import datetime

import numpy as np
import pandas as pd

from weather_trader.core.cities import get_city
from weather_trader.core.forecasting.base import ModelInputError, require_columns
from weather_trader.core.forecasting.pmf import apply_bounds

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


def bound_by_observed(pmf: np.ndarray, cases: pd.DataFrame, tolerance_f: float = 0.0) -> np.ndarray:
    """``pmf`` (one row per case) truncated by each case's observed running extreme
    (:func:`observed_bounds`), loosened by ``tolerance_f`` degrees."""
    floor, cap = observed_bounds(cases)
    return apply_bounds(pmf, floor=floor - tolerance_f, cap=cap + tolerance_f)


def labelled(cases: pd.DataFrame) -> pd.DataFrame:
    """Rows with a truth label (``truth_f`` not NaN)."""
    return cases[cases["truth_f"].notna()]
