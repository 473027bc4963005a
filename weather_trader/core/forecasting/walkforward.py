"""Walk-forward predictions: every event predicted by a suite fitted only on what was known.

A decision instant is written relative to the climate day D in the city's local *standard*
time (``"D-1 16:00"``, ``"D 08:00"``): the fixed standard UTC offset of :mod:`core.cities`,
never daylight time, like the climate day itself.

The walk refits on a fixed calendar, every Monday 00:00 UTC, starting from the first Monday on
or after the first case of the data (not from the range someone asks to evaluate). The suite
fitted at Monday M predicts every case whose decision instant falls in [M, M + 7 days), using
only inputs known at that instant (the case table and the market prices are point in time);
the fit itself uses only cases decided and settled by M, and its stack and pool are fitted on
the walk's own earlier (out-of-sample) predictions. So a prediction depends only on data known
at its instant and on fixed settings; evaluating a sub-range changes nothing but what is
reported.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.core.forecasting.base import ModelInputError
from weather_trader.core.forecasting.cases import build_cases
from weather_trader.core.forecasting.market_prices import add_market_probabilities
from weather_trader.core.forecasting.pmf import nan_pmf
from weather_trader.core.forecasting.suite import (
    MARKET,
    MARKET_RAW,
    WEATHER,
    History,
    ModelSuite,
    bracket_frame,
    bracket_outcomes,
)
from weather_trader.core.instants import DecisionInstant

WEEK = pd.Timedelta(days=7)


def refit_instant(decided_at: pd.Timestamp) -> pd.Timestamp:
    """The Monday 00:00 UTC at or before ``decided_at``: when its suite was fitted."""
    t = pd.Timestamp(decided_at).tz_convert("UTC")
    day = t.normalize()
    return day - pd.Timedelta(days=day.weekday())


@dataclass
class WalkResult:
    """Everything one instant's walk predicted.

    Attributes:
        instant: The decision instant.
        cases: Every predicted case (``city, kind, climate_date, decided_at, truth_f, ...``)
            plus ``fit_at`` (the refit that predicted it) and ``score_truth`` (the event's
            settlement value when known, else the final report).
        pmfs: ``predictor -> (len(cases), S)``.
        brackets: One row per bracket market of every event: the bracket frame with
            ``p_market``, ``p_market_raw``, a column per predictor, ``score_truth`` and
            ``outcome`` (1/0, NaN without truth).
        refits: Per refit: ``fit_at``, seconds, and the suite's metadata.
        seconds: Time spent building cases, fitting and predicting.
    """

    instant: DecisionInstant
    cases: pd.DataFrame
    pmfs: dict[str, np.ndarray]
    brackets: pd.DataFrame
    refits: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def predictors(self) -> list[str]:
        """Distributional predictors first, then the market."""
        return [*self.pmfs, MARKET, MARKET_RAW]


_KEY = ["city", "kind", "climate_date"]


def _keys(frame: pd.DataFrame, kinds: set[str]) -> pd.DataFrame:
    keys = frame.loc[frame["kind"].isin(kinds), _KEY].copy()
    keys["climate_date"] = pd.to_datetime(keys["climate_date"]).dt.date
    return keys.drop_duplicates()


def walk_targets(
    forecasts: pd.DataFrame,
    reports: pd.DataFrame,
    markets: pd.DataFrame,
    kinds: set[str],
    max_train_days: int | None,
) -> tuple[pd.DataFrame, date | None]:
    """Every (city, kind, climate day) worth a case, and the first day worth predicting.

    Days with a forecast or a market are predicted, from the first of them on (the walk's
    fixed origin: a property of the data, not of any evaluated range). Days with only a final
    report are training rows, kept back to ``max_train_days`` before the origin.
    """
    finals = reports[reports["final"].astype(bool)] if len(reports) else reports
    useful = pd.concat([_keys(forecasts, kinds), _keys(markets, kinds)]).drop_duplicates()
    origin = min(useful["climate_date"]) if len(useful) else None
    keys = pd.concat([_keys(finals, kinds), useful]).drop_duplicates()
    if origin is not None and max_train_days is not None:
        keys = keys[keys["climate_date"] >= origin - timedelta(days=max_train_days)]
    keys = keys.sort_values(["climate_date", "city", "kind"]).reset_index(drop=True)
    return keys, origin


def event_brackets(markets: pd.DataFrame, instant: DecisionInstant) -> pd.DataFrame:
    """The bracket frame of every market at ``instant`` (without prices)."""
    days = pd.to_datetime(markets["climate_date"]).dt.date
    out = bracket_frame(markets, instant.utc(markets["city"], days).to_numpy())
    settled = pd.to_numeric(markets.get("settled_value"), errors="coerce")
    # One settlement value per event (the markets of an event share it).
    out["settled_value"] = settled.groupby(markets["event_ticker"]).transform("max").to_numpy()
    return out.reset_index(drop=True)


def _mondays(decided: pd.Series) -> pd.Series:
    """:func:`refit_instant` of each value, vectorised."""
    day = decided.dt.tz_convert("UTC").dt.normalize()
    return day - pd.to_timedelta(day.dt.day_of_week, unit="D")


class LabelsAsOf:
    """The case table with each label as it was known at a refit instant.

    A corrected final report (issued later) replaces the value from its issue on; before it,
    a fit must see the value as first reported. Only cases with several final versions
    change, so the table is copied only when some of them exist.
    """

    def __init__(self, cases: pd.DataFrame, reports: pd.DataFrame) -> None:
        self.cases = cases
        finals = reports[reports["final"].astype(bool) & reports["value_f"].notna()]
        finals = finals.assign(climate_date=pd.to_datetime(finals["climate_date"]).dt.date)
        key = ["city", "kind", "climate_date"]
        counts = finals.groupby(key)["value_f"].transform("size")
        revised = finals[counts > 1].sort_values("issued_at", kind="stable")
        rows = cases.loc[:, key].assign(_row=np.arange(len(cases)))
        revised = revised.merge(rows, on=key, how="inner")
        self.versions = {
            int(row): (
                pd.to_datetime(group["issued_at"], utc=True).dt.tz_localize(None).to_numpy(),
                group["value_f"].to_numpy(dtype=float),
            )
            for row, group in revised.groupby("_row")
        }

    def __call__(self, t: pd.Timestamp) -> pd.DataFrame:
        if not self.versions:
            return self.cases
        out = self.cases.copy()
        truth = out["truth_f"].to_numpy(dtype=float).copy()
        stamp = pd.Timestamp(t).tz_convert("UTC").tz_localize(None).to_datetime64()
        for row, (issued, values) in self.versions.items():
            known = np.searchsorted(issued, stamp, side="right")
            if known:
                truth[row] = values[known - 1]
        out["truth_f"] = truth
        return out


def walk_forward(
    instant: DecisionInstant,
    forecasts: pd.DataFrame,
    reports: pd.DataFrame,
    markets: pd.DataFrame,
    trades: pd.DataFrame,
    *,
    until: date | None = None,
    suite: ModelSuite | None = None,
    observations: pd.DataFrame | None = None,
    kinds: Iterable[str] = ("high",),
) -> WalkResult:
    """Predict every case and event of the data at ``instant``, refitting weekly.

    Args:
        instant: The decision instant.
        forecasts, reports, markets, trades: The archive frames (``store.repo_history``), all
            of it: training uses every city in them; nothing filters by the evaluated range.
        until: Last climate day to predict (later days are not needed by earlier predictions;
            stopping early saves time and changes no prediction).
        suite: Model settings (default :class:`ModelSuite`).
        observations: Optional station observations for the case table.
        kinds: ``high`` and/or ``low``; each kind is its own target.
    """
    suite = suite or ModelSuite()
    clock = time.perf_counter()
    kinds = set(kinds)
    markets = markets[markets["kind"].isin(kinds)].reset_index(drop=True)
    targets, origin = walk_targets(forecasts, reports, markets, kinds, suite.max_train_days)
    if until is not None:
        targets = targets[targets["climate_date"] <= until].reset_index(drop=True)
        in_range = pd.to_datetime(markets["climate_date"]).dt.date <= until
        markets = markets[in_range.to_numpy()].reset_index(drop=True)
    targets["decided_at"] = instant.utc(targets["city"], targets["climate_date"]).to_numpy()
    cases = build_cases(targets, forecasts, reports, observations)
    brackets = add_market_probabilities(event_brackets(markets, instant), trades)
    seconds = {"cases": time.perf_counter() - clock}

    # Rows before the origin are training data only; the walk predicts the rest.
    predicted = (
        np.flatnonzero((cases["climate_date"] >= origin).to_numpy())
        if origin is not None
        else np.empty(0, dtype=int)
    )
    n = len(predicted)
    names = [m.name for m in suite.components()]
    pmfs: dict[str, np.ndarray] = {}
    history = History(cases=cases.iloc[predicted], component_pmfs={}, weather_pmf=nan_pmf(n))
    relabel = LabelsAsOf(cases, reports)
    fit_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    decided = pd.to_datetime(cases["decided_at"].iloc[predicted], utc=True)
    mondays = _mondays(decided)
    bracket_mondays = _mondays(pd.to_datetime(brackets["decided_at"], utc=True))
    predicted_brackets = []
    refits = []
    fit_seconds = predict_seconds = 0.0
    for monday in sorted(mondays.unique()):
        rows = np.flatnonzero((mondays == monday).to_numpy())
        tick = time.perf_counter()
        labelled = relabel(monday)
        history.cases = labelled.iloc[predicted].reset_index(drop=True)
        fitted = suite.fit(labelled, brackets, monday, history=history)
        fit_seconds += (took := time.perf_counter() - tick)
        refits.append({"fit_at": monday.isoformat(), "seconds": took, **fitted.metadata()})
        tick = time.perf_counter()
        week = brackets[(bracket_mondays == monday).to_numpy()]
        prediction = fitted.predict(cases.iloc[predicted[rows]], week)
        for name, pmf in prediction.pmfs.items():
            pmfs.setdefault(name, nan_pmf(n))[rows] = pmf
        history.component_pmfs = {k: pmfs[k] for k in names if k in pmfs}
        history.weather_pmf = pmfs.get(WEATHER, history.weather_pmf)
        fit_at[rows] = monday.tz_convert(None).to_datetime64()
        if prediction.brackets is not None and len(prediction.brackets):
            predicted_brackets.append(prediction.brackets.drop(columns=["case_row"]))
        predict_seconds += time.perf_counter() - tick
    seconds |= {"fit": fit_seconds, "predict": predict_seconds}

    out_cases = cases.iloc[predicted].reset_index(drop=True)
    out_cases["fit_at"] = pd.to_datetime(fit_at).tz_localize("UTC")
    scored = (
        pd.concat(predicted_brackets, ignore_index=True)
        if predicted_brackets
        else brackets.iloc[:0]
    )
    truth_by_case = out_cases.set_index(["city", "kind", "climate_date"])["truth_f"]
    report_truth = truth_by_case.reindex(
        pd.MultiIndex.from_frame(scored.loc[:, ["city", "kind", "climate_date"]])
    ).to_numpy(dtype=float)
    scored["score_truth"] = np.where(
        np.isfinite(scored["settled_value"].to_numpy(dtype=float)),
        scored["settled_value"].to_numpy(dtype=float),
        report_truth,
    )
    lo, hi = scored["lo"].to_numpy(dtype=int), scored["hi"].to_numpy(dtype=int)
    scored["outcome"] = bracket_outcomes(scored["score_truth"].to_numpy(dtype=float), lo, hi)
    event_truth = scored.groupby(["city", "kind", "climate_date"])["score_truth"].first()
    case_key = pd.MultiIndex.from_frame(out_cases.loc[:, ["city", "kind", "climate_date"]])
    from_event = event_truth.reindex(case_key).to_numpy(dtype=float)
    out_cases["score_truth"] = np.where(np.isfinite(from_event), from_event, out_cases["truth_f"])
    for name in names:
        pmfs.setdefault(name, nan_pmf(n))
    return WalkResult(instant, out_cases, pmfs, scored, refits, seconds)


def require_instants(texts: Iterable[str]) -> list[DecisionInstant]:
    """Parse several ``--at`` values (duplicates kept once, order kept).

    Raises:
        ModelInputError: For an unparseable instant.
    """
    out: dict[str, DecisionInstant] = {}
    for text in texts:
        try:
            parsed = DecisionInstant.parse(text)
        except ValueError as exc:
            raise ModelInputError(str(exc)) from None
        out.setdefault(parsed.label, parsed)
    return list(out.values())
