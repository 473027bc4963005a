"""The production combination of models: components, the ``weather`` stack, the ``ours`` pool.

:meth:`ModelSuite.fit` at instant ``fit_at`` uses only what was known then:

1. each component (climatology, EMOS, XGBoost) is fitted on the cases whose decision and final
   report both precede ``fit_at`` (:func:`cases.known_by`);
2. the ``weather`` stack is fitted on *out-of-sample* component pmfs of those cases: either the
   ones a walk-forward already made (``history``, each by the suite of its own week) or, without
   a history, an expanding-window refit (:func:`stacking.out_of_sample_pmfs`);
3. the ``ours`` pool (weather x market) is fitted on out-of-sample weather bracket probabilities
   and the market's prices of the events decided and settled before ``fit_at``.

Baselines (e.g. the best raw forecast) are fitted alongside for evaluation but never stacked.
:class:`FittedSuite` pickles and describes itself (:meth:`FittedSuite.metadata`); H6's weekly
model asset and the walk-forward evaluation use the same class.

Bracket frames (the market side of a prediction) have one row per bracket market:
``event_ticker, ticker, city, kind, climate_date, decided_at, lo, hi`` (the YES integers
``lo..hi`` inclusive, open ends at the support's ends: :func:`bracket_bounds`) and, for the
pool, ``p_market`` (normalised over the event) and ``p_market_raw``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from weather_trader.core.forecasting.base import FittedForecast, ForecastModel, ModelInputError
from weather_trader.core.forecasting.cases import known_by
from weather_trader.core.forecasting.pmf import N_SUPPORT, SUPPORT, nan_pmf

WEATHER = "weather"
OURS = "ours"
MARKET = "market"
MARKET_RAW = "market_raw"
CASE_KEY = ["city", "kind", "climate_date", "decided_at"]
BRACKET_COLUMNS = (
    "event_ticker",
    "ticker",
    "city",
    "kind",
    "climate_date",
    "decided_at",
    "lo",
    "hi",
)


def default_components() -> list[ForecastModel]:
    """Climatology, EMOS and XGBoost with their default (fixed) settings."""
    from weather_trader.core.forecasting.climatology import Climatology
    from weather_trader.core.forecasting.emos import Emos
    from weather_trader.core.forecasting.xgb import XGBoostModel

    return [Climatology(), Emos(), XGBoostModel()]


def default_baselines() -> list[ForecastModel]:
    """The best raw single forecast (evaluation only)."""
    from weather_trader.core.forecasting.baseline import RawBestBaseline

    return [RawBestBaseline()]


def bracket_bounds(markets: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive YES integers ``(lo, hi)`` of each market (core.brackets semantics).

    ``between`` F..C is F..C; ``less`` with cap C is ..C-1; ``greater`` with floor F is F+1..;
    open ends are the support's ends.
    """
    st = markets["strike_type"].astype(str).to_numpy()
    floor = pd.to_numeric(markets["floor_strike"], errors="coerce").to_numpy(dtype=float)
    cap = pd.to_numeric(markets["cap_strike"], errors="coerce").to_numpy(dtype=float)
    lo = np.where(st == "between", floor, np.where(st == "greater", floor + 1, SUPPORT[0]))
    hi = np.where(st == "between", cap, np.where(st == "less", cap - 1, SUPPORT[-1]))
    known = np.isin(st, ("between", "less", "greater")) & np.isfinite(lo) & np.isfinite(hi)
    if not known.all():
        bad = markets.loc[~known].index.tolist()[:5]
        raise ModelInputError(f"markets without a usable bracket (rows {bad})")
    return lo.astype(int), hi.astype(int)


def bracket_frame(markets: pd.DataFrame, decided_at: Any) -> pd.DataFrame:
    """The bracket frame of ``markets`` (``market_history`` columns) decided at ``decided_at``.

    ``decided_at`` is one tz-aware instant or one per market. Add the market's prices with
    :func:`market_prices.add_market_probabilities` before :meth:`FittedSuite.predict`.
    """
    lo, hi = bracket_bounds(markets)
    out = markets.loc[:, ["event_ticker", "ticker", "city", "kind", "climate_date"]].copy()
    out["climate_date"] = pd.to_datetime(out["climate_date"]).dt.date
    out["decided_at"] = pd.to_datetime(decided_at, utc=True) if np.ndim(decided_at) else (
        pd.Timestamp(decided_at).tz_convert("UTC"))  # fmt: skip
    out["lo"], out["hi"] = lo, hi
    return out.reset_index(drop=True)


def pmf_bracket_probs(
    pmf: np.ndarray, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """P(lo <= T <= hi) under ``pmf[rows]``, one value per bracket (vectorised over brackets)."""
    cum = np.concatenate([np.zeros((pmf.shape[0], 1)), np.cumsum(pmf, axis=1)], axis=1)
    i_lo = np.clip(lo - SUPPORT[0], 0, N_SUPPORT)
    i_hi = np.clip(hi - SUPPORT[0] + 1, 0, N_SUPPORT)
    p = cum[rows, np.maximum(i_hi, i_lo)] - cum[rows, i_lo]
    return np.where(p < 0, 0.0, p)


def rescale_pmf(
    pmf: np.ndarray,
    rows: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    old_p: np.ndarray,
    new_p: np.ndarray,
) -> np.ndarray:
    """A pmf per case whose bracket masses are ``new_p``, keeping ``pmf``'s shape inside each.

    Used to give the pooled bracket probabilities (``ours``) a full distribution (for CRPS):
    mass within a bracket keeps the weather distribution's shape. Cases not covered by any
    bracket row are NaN.
    """  # fmt: skip
    out = nan_pmf(pmf.shape[0])
    covered = np.zeros(pmf.shape[0], dtype=bool)
    for r, a, b, old, new in zip(rows, lo, hi, old_p, new_p, strict=True):
        i, j = a - SUPPORT[0], b - SUPPORT[0] + 1
        if not covered[r]:
            out[r] = 0.0
            covered[r] = True
        if old > 0:
            out[r, i:j] = pmf[r, i:j] * (new / old)
        else:  # no weather mass in the bracket: spread the new mass evenly over it
            out[r, i:j] = new / (j - i)
    total = out.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return out / total


def _case_index(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [
            frame["city"].astype(str).to_numpy(),
            frame["kind"].astype(str).to_numpy(),
            pd.to_datetime(frame["climate_date"]).to_numpy(dtype="datetime64[ns]"),
            pd.to_datetime(frame["decided_at"], utc=True).dt.tz_localize(None).to_numpy(),
        ]
    )


def match_cases(cases: pd.DataFrame, brackets: pd.DataFrame) -> np.ndarray:
    """Row in ``cases`` of each bracket's (city, kind, climate_date, decided_at); -1 if none.

    Raises:
        ModelInputError: If ``cases`` holds a key twice.
    """
    index = _case_index(cases)
    if not index.is_unique:
        raise ModelInputError("cases hold the same (city, kind, climate_date, decided_at) twice")
    if not len(brackets):
        return np.empty(0, dtype=int)
    return index.get_indexer(_case_index(brackets))


def bracket_outcomes(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """1.0 where ``lo <= round(truth) <= hi``, 0.0 where not, NaN without a truth."""
    t = np.rint(np.asarray(truth, dtype=float))
    with np.errstate(invalid="ignore"):
        out = ((t >= lo) & (t <= hi)).astype(float)
    return np.where(np.isfinite(t), out, np.nan)


@dataclass
class History:
    """Out-of-sample predictions made earlier (by a walk-forward), for stack and pool fits.

    ``cases`` holds at least ``city, kind, climate_date, decided_at, truth_f, truth_known_at``;
    ``component_pmfs[name]`` and ``weather_pmf`` are ``(len(cases), S)`` aligned with it.
    """

    cases: pd.DataFrame
    component_pmfs: dict[str, np.ndarray]
    weather_pmf: np.ndarray

    def known_mask(self, fit_at: pd.Timestamp) -> np.ndarray:
        """Rows decided and settled by ``fit_at`` (the only ones a fit then may use)."""
        known = pd.to_datetime(self.cases["truth_known_at"], utc=True)
        decided = pd.to_datetime(self.cases["decided_at"], utc=True)
        return ((known <= fit_at) & (decided <= fit_at) & self.cases["truth_f"].notna()).to_numpy()


@dataclass
class SuitePrediction:
    """A suite's prediction for n cases and (optionally) their brackets.

    ``pmfs`` maps every distributional predictor (components, baselines, ``weather``, ``ours``)
    to ``(n, S)``; ``brackets`` is the bracket frame given, plus one probability column per
    predictor (``ours``, ``weather``, components, baselines, ``market``, ``market_raw``) and
    ``case_row`` (the row of its case).
    """

    pmfs: dict[str, np.ndarray]
    brackets: pd.DataFrame | None = None


@dataclass
class FittedSuite:
    """Fitted components, stack and pool: what trading and the evaluation predict with."""

    fit_at: pd.Timestamp
    components: dict[str, FittedForecast | None]
    baselines: dict[str, FittedForecast | None]
    stack: Any
    pool: Any
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def predictors(self) -> list[str]:
        """Names of every distributional predictor this suite outputs."""
        return [*self.components, *self.baselines, WEATHER, OURS]

    def predict_pmfs(self, cases: pd.DataFrame) -> dict[str, np.ndarray]:
        """Component, baseline and ``weather`` pmfs (``(n, S)`` each; NaN rows: no inputs)."""
        n = len(cases)
        out: dict[str, np.ndarray] = {}
        for name, fitted in (*self.components.items(), *self.baselines.items()):
            out[name] = nan_pmf(n) if fitted is None or n == 0 else fitted.predict_pmf(cases)
        components = {k: out[k] for k in self.components}
        out[WEATHER] = self.stack.combine(components) if n else nan_pmf(0)
        return out

    def predict(self, cases: pd.DataFrame, brackets: pd.DataFrame | None = None) -> SuitePrediction:
        """Pmfs for ``cases`` and, given a bracket frame, every predictor's bracket probabilities.

        ``ours`` needs the market: each bracket row's ``p_market``. Its pmf keeps the weather
        distribution's shape inside each bracket, scaled to the pooled bracket mass.
        """
        cases = cases.reset_index(drop=True)
        pmfs = self.predict_pmfs(cases)
        pmfs[OURS] = nan_pmf(len(cases))
        if brackets is None:
            return SuitePrediction(pmfs=pmfs)
        out = brackets.reset_index(drop=True).copy()
        rows = match_cases(cases, out)
        has = rows >= 0
        lo, hi = out["lo"].to_numpy(dtype=int), out["hi"].to_numpy(dtype=int)
        for name, pmf in pmfs.items():
            if name == OURS:
                continue
            p = np.full(len(out), np.nan)
            p[has] = pmf_bracket_probs(pmf, rows[has], lo[has], hi[has])
            out[name] = p
        market = out["p_market"].to_numpy(dtype=float) if "p_market" in out else np.nan
        event_key = out["event_ticker"].astype(str) + "@" + out["decided_at"].astype(str)
        out[OURS] = self.pool.combine(out[WEATHER].to_numpy(), market, event_key.to_numpy())
        if has.any():
            pmfs[OURS] = rescale_pmf(
                pmfs[WEATHER], rows[has], lo[has], hi[has],
                out.loc[has, WEATHER].to_numpy(), out.loc[has, OURS].to_numpy(),
            )  # fmt: skip
        if "p_market" in out:
            out[MARKET] = out["p_market"]
        if "p_market_raw" in out:
            out[MARKET_RAW] = out["p_market_raw"]
        out["case_row"] = rows
        return SuitePrediction(pmfs=pmfs, brackets=out)

    def metadata(self) -> dict[str, Any]:
        """JSON-able summary: fit instant, each model's metadata, stack weights, pool weights."""
        return {
            "fit_at": self.fit_at.isoformat(),
            "components": {
                k: (None if f is None else f.metadata()) for k, f in self.components.items()
            },
            "baselines": {
                k: (None if f is None else f.metadata()) for k, f in self.baselines.items()
            },
            "stack": self.stack.metadata(),
            "pool": self.pool.metadata(),
            **self.info,
        }


@dataclass
class ModelSuite:
    """Fixed settings of the production combination (no data).

    Attributes:
        components: Factory of the stacked component models.
        baselines: Factory of evaluation-only baselines (fitted and predicted, never stacked).
        min_train: Fewest labelled known cases a component is fitted on (else it is absent).
        cv_folds: Expanding-window blocks for out-of-sample pmfs when no history is given.
        max_train_days: Components train on climate days at most this old at the fit (a
            fixed window: ten years of station history is plenty for a day-of-year normal
            and keeps weekly refits fast); None for all.
    """

    components: Callable[[], Sequence[ForecastModel]] = default_components
    baselines: Callable[[], Sequence[ForecastModel]] = default_baselines
    min_train: int = 30
    cv_folds: int = 4
    max_train_days: int | None = 3650

    def fit(
        self,
        cases: pd.DataFrame,
        brackets: pd.DataFrame | None,
        fit_at: datetime,
        history: History | None = None,
    ) -> FittedSuite:
        """Fit everything on what was known at ``fit_at``.

        Args:
            cases: Case table (:func:`cases.build_cases`); rows not known by ``fit_at`` are
                ignored, so the caller may pass all of them.
            brackets: Bracket frame with ``p_market`` of past events at their decision instants
                (for the pool); None fits no pool (``ours`` = the market alone).
            fit_at: The fit instant (tz-aware).
            history: Out-of-sample predictions a walk-forward made before ``fit_at``; without
                it, they are made here by expanding-window refits.
        """
        t = pd.Timestamp(fit_at)
        if t.tzinfo is None:
            raise ModelInputError(f"fit_at must be timezone-aware; got {fit_at!r}")
        t = t.tz_convert("UTC")
        train = known_by(cases, t)
        if self.max_train_days is not None:
            oldest = (t - pd.Timedelta(days=self.max_train_days)).date()
            train = train[pd.to_datetime(train["climate_date"]).dt.date >= oldest]
        train = train.reset_index(drop=True)
        components = {m.name: self._fit_one(m, train) for m in self.components()}
        baselines = {m.name: self._fit_one(m, train) for m in self.baselines()}
        oos_cases, oos, oos_weather, stack = self._stack(train, t, history)
        # The pool learns from events whose weather had every component's inputs (as the
        # evaluation scores them): a weather made of climatology alone is another predictor.
        complete = np.ones(len(oos_cases), dtype=bool)
        for pmf in oos.values():
            complete &= np.isfinite(pmf).all(axis=1)
        pool = self._pool(brackets, t, oos_cases.loc[complete], oos_weather[complete])
        info = {
            "n_train": len(train),
            "n_stack": stack.n_train,
            "oos_source": (
                "walk-forward history" if history is not None else "expanding-window refits"
            ),
        }
        return FittedSuite(t, components, baselines, stack, pool, info)

    def _fit_one(self, model: ForecastModel, train: pd.DataFrame) -> FittedForecast | None:
        if len(train) < self.min_train:
            return None
        try:
            return model.fit(train)
        except ModelInputError:
            return None  # no usable inputs yet (e.g. no forecast known): the model is absent

    def _stack(
        self, train: pd.DataFrame, t: pd.Timestamp, history: History | None
    ) -> tuple[pd.DataFrame, dict[str, np.ndarray], np.ndarray | None, Any]:
        from weather_trader.core.forecasting.stacking import fit_stack, out_of_sample_pmfs

        names = [m.name for m in self.components()]
        if history is not None:
            mask = history.known_mask(t)
            oos_cases = history.cases.loc[mask].reset_index(drop=True)
            oos = {k: history.component_pmfs[k][mask] for k in names if k in history.component_pmfs}
            weather = history.weather_pmf[mask]
        else:
            made = out_of_sample_pmfs(list(self.components()), train, n_folds=self.cv_folds,
                                      min_train=self.min_train)  # fmt: skip
            oos_cases, oos, weather = train, made.pmfs, None
        oos = {k: oos.get(k, nan_pmf(len(oos_cases))) for k in names}
        stack = fit_stack(oos, oos_cases["truth_f"].to_numpy(dtype=float))
        if weather is None:  # no history: the stack just fitted mixes the refits' pmfs
            weather = stack.combine(oos) if len(oos_cases) else nan_pmf(0)
        return oos_cases, oos, weather, stack

    def _pool(
        self,
        brackets: pd.DataFrame | None,
        t: pd.Timestamp,
        oos_cases: pd.DataFrame,
        oos_weather: np.ndarray | None,
    ) -> Any:
        from weather_trader.core.forecasting.pooling import fit_pool

        if brackets is None or oos_weather is None or not len(oos_cases) or not len(brackets):
            return fit_pool([], [], [], [])
        past = brackets[pd.to_datetime(brackets["decided_at"], utc=True) <= t].reset_index(
            drop=True
        )
        oos_cases = oos_cases.reset_index(drop=True)
        rows = match_cases(oos_cases, past)
        keep = rows >= 0
        past, rows = past.loc[keep].reset_index(drop=True), rows[keep]
        lo, hi = past["lo"].to_numpy(dtype=int), past["hi"].to_numpy(dtype=int)
        truth = oos_cases["truth_f"].to_numpy(dtype=float)[rows]
        outcome = bracket_outcomes(truth, lo, hi)
        w = pmf_bracket_probs(oos_weather, rows, lo, hi)
        m = past["p_market"].to_numpy(dtype=float)
        event = (past["event_ticker"].astype(str) + "@" + past["decided_at"].astype(str)).to_numpy()
        # Only whole events with one winner (a truth outside every bracket would be bad data).
        frame = pd.DataFrame({"e": event, "o": outcome, "w": w, "m": m})
        per_event = frame.groupby("e")["o"].transform("sum")
        ok = (per_event == 1).to_numpy() & np.isfinite(outcome)
        return fit_pool(w[ok], m[ok], event[ok], outcome[ok])


def component_names(suite: FittedSuite) -> list[str]:
    """The stacked components' names, in order."""
    return list(suite.components)


def as_history(
    cases: pd.DataFrame, pmfs: Mapping[str, np.ndarray], names: Sequence[str]
) -> History:
    """A :class:`History` from predicted pmfs of ``cases`` (components ``names`` + weather)."""
    return History(
        cases=cases.reset_index(drop=True),
        component_pmfs={k: pmfs[k] for k in names},
        weather_pmf=pmfs[WEATHER],
    )
