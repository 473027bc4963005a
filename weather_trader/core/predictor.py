"""Predictor v1: bias-corrected multi-model mean with a spread learnt from past errors.

For each city, kind (high/low) and lead bucket the predictor learns

* each model's mean error (forecast - observed), shrunk toward 0 when samples are few;
* the RMS error of the bias-corrected multi-model mean, blended toward the pooled all-city
  value when samples are few and floored, so a new city cannot look over-confident.

At prediction time the members of each model are averaged, each model's bias is removed, the
models are averaged, and the learnt sigma is combined in quadrature with the current spread
between models (the day is less certain when the models disagree).

Tabular schemas (pandas):

* training history: ``city`` str, ``kind`` "high"/"low", ``climate_date`` date, ``model`` str,
  ``lead_days`` int, ``forecast_f`` float (ensemble members already averaged), ``observed_f``
  float (the CLI value).
* forecasts to predict from: ``city``, ``kind``, ``model``, ``member`` (int or None/NaN),
  ``lead_days``, ``value_f``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from weather_trader.core.distribution import NormalTemperature

PREDICTOR_VERSION = "predictor-v1"
MAX_LEAD_BUCKET = 3
"""Lead buckets are 0, 1, 2 and 3+ days."""
POOLED = "*"
"""City code of the pooled (all-city) sigma entries."""

HISTORY_COLUMNS: tuple[str, ...] = (
    "city",
    "kind",
    "climate_date",
    "model",
    "lead_days",
    "forecast_f",
    "observed_f",
)
FORECAST_COLUMNS: tuple[str, ...] = ("city", "kind", "model", "member", "lead_days", "value_f")


class PredictorError(ValueError):
    """Raised for missing or malformed predictor inputs."""


def lead_bucket(lead_days: int) -> int:
    """Bucket a lead time: 0, 1, 2 or 3 (= 3 days and more); hindcasts (< 0) count as 0."""
    return min(max(int(lead_days), 0), MAX_LEAD_BUCKET)


def baseline_sigma(lead_days: int) -> float:
    """Fallback sigma (degrees F) for a lead never seen in training.

    Deliberately wide: typical same-day errors of daily highs are ~2 F RMS, growing by roughly
    0.75 F a day of lead; uncertainty this generous keeps an untrained predictor from trading
    with false confidence.
    """
    return 2.5 + 0.75 * lead_bucket(lead_days)


class BiasEntry(BaseModel):
    """A model's shrunk mean error for one city, kind and lead bucket."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    city: str
    kind: str
    model: str
    lead_bucket: int
    bias: float
    n: int


class SigmaEntry(BaseModel):
    """The error spread of the corrected mean for one city (or ``"*"``), kind and lead bucket."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    city: str
    kind: str
    lead_bucket: int
    sigma: float
    n: int


class TrainingMetrics(BaseModel):
    """In-sample accuracy of the raw vs the bias-corrected multi-model mean (degrees F)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_cases: int
    mae_raw: float
    rmse_raw: float
    mae_corrected: float
    rmse_corrected: float

    @property
    def beats_baseline(self) -> bool:
        """Whether the correction is no worse than the raw mean; a model failing this is
        stored but never used."""
        return self.rmse_corrected <= self.rmse_raw + 1e-9


class PredictorParams(BaseModel):
    """Fitted predictor parameters; JSON-serialisable for the model store and asset metadata.

    Attributes:
        version: Predictor logic version.
        n_samples: Training rows (one per city, kind, day, model, lead).
        first_date: Earliest climate date in training, None if unknown.
        last_date: Latest climate date in training.
        shrinkage: Prior weight (in samples) pulling biases to 0 and sigmas to the pool.
        sigma_floor: Smallest sigma ever predicted (degrees F).
        spread_weight: Weight of the between-model spread added in quadrature.
        biases: Per (city, kind, model, lead bucket) biases.
        sigmas: Per (city, kind, lead bucket) sigmas, plus pooled ``"*"`` entries.
        metrics: In-sample training metrics.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = PREDICTOR_VERSION
    n_samples: int
    first_date: date | None = None
    last_date: date | None = None
    shrinkage: float = Field(ge=0)
    sigma_floor: float = Field(gt=0)
    spread_weight: float = Field(ge=0)
    biases: tuple[BiasEntry, ...] = ()
    sigmas: tuple[SigmaEntry, ...] = ()
    metrics: TrainingMetrics

    _bias: dict[tuple[str, str, str, int], float] = PrivateAttr(default_factory=dict)
    _sigma: dict[tuple[str, str, int], float] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object) -> None:
        """Index the entries for O(1) look-ups."""
        self._bias = {(b.city, b.kind, b.model, b.lead_bucket): b.bias for b in self.biases}
        self._sigma = {(s.city, s.kind, s.lead_bucket): s.sigma for s in self.sigmas}

    def to_json(self) -> str:
        """Serialise to a JSON string."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> PredictorParams:
        """Load from :meth:`to_json` output."""
        return cls.model_validate_json(text)

    def bias(self, city: str, kind: str, model: str, lead_days: int) -> float:
        """A model's learnt bias (degrees F, forecast minus observed); 0 when never seen."""
        return self._bias.get((city, kind, model, lead_bucket(lead_days)), 0.0)

    def sigma(self, city: str, kind: str, lead_days: int) -> float:
        """Sigma of the corrected mean: the city's, else the pooled one, else the baseline."""
        bucket = lead_bucket(lead_days)
        for key in ((city, kind, bucket), (POOLED, kind, bucket)):
            if key in self._sigma:
                return self._sigma[key]
        return max(baseline_sigma(lead_days), self.sigma_floor)

    def summary(self) -> dict[str, float | int | str]:
        """Flat metadata for the Dagster asset."""
        return {
            "version": self.version,
            "n_samples": self.n_samples,
            "n_cases": self.metrics.n_cases,
            "mae_raw": self.metrics.mae_raw,
            "rmse_raw": self.metrics.rmse_raw,
            "mae_corrected": self.metrics.mae_corrected,
            "rmse_corrected": self.metrics.rmse_corrected,
            "n_bias_entries": len(self.biases),
            "n_sigma_entries": len(self.sigmas),
        }


def _require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise PredictorError(f"{what} is missing columns {missing}; has {list(df.columns)}")


def fit_predictor(
    history: pd.DataFrame,
    *,
    shrinkage: float = 10.0,
    sigma_floor: float = 1.0,
    spread_weight: float = 0.5,
) -> PredictorParams:
    """Fit biases and sigmas from past forecasts and their observed outcomes.

    Args:
        history: Training rows with :data:`HISTORY_COLUMNS` (one per city, kind, climate date,
            model and lead; rows with a missing forecast or observation are dropped).
        shrinkage: Prior weight in samples: ``bias = sum(err) / (n + shrinkage)``, and a city's
            variance is blended with the pooled variance by weights ``n`` and ``shrinkage``.
        sigma_floor: Smallest sigma (degrees F).
        spread_weight: Stored for :func:`predict` (weight of the model spread).

    Returns:
        The fitted :class:`PredictorParams` with in-sample metrics.

    Raises:
        PredictorError: If columns are missing or no usable rows remain.
    """
    _require_columns(history, HISTORY_COLUMNS, "history")
    df = history.loc[:, list(HISTORY_COLUMNS)].dropna(subset=["forecast_f", "observed_f"])
    if df.empty:
        raise PredictorError("history has no rows with both a forecast and an observation")
    df = df.assign(
        lead_bucket=df["lead_days"].astype(int).clip(lower=0, upper=MAX_LEAD_BUCKET),
        error=df["forecast_f"].astype(float) - df["observed_f"].astype(float),
    )

    # Per-model bias, shrunk toward zero: with few samples a mean error is mostly noise.
    grouped = df.groupby(["city", "kind", "model", "lead_bucket"], sort=True)["error"]
    bias_table = grouped.agg(["sum", "count"]).reset_index()
    bias_table["bias"] = bias_table["sum"] / (bias_table["count"] + shrinkage)
    biases = tuple(
        BiasEntry(
            city=str(r.city),
            kind=str(r.kind),
            model=str(r.model),
            lead_bucket=int(r.lead_bucket),
            bias=float(r.bias),
            n=int(r["count"]),
        )
        for _, r in bias_table.iterrows()
    )

    # One case = one (city, kind, day, lead): the multi-model mean we would have predicted.
    df = df.merge(
        bias_table[["city", "kind", "model", "lead_bucket", "bias"]],
        on=["city", "kind", "model", "lead_bucket"],
        how="left",
    )
    df["corrected_f"] = df["forecast_f"].astype(float) - df["bias"]
    cases = (
        df.groupby(["city", "kind", "climate_date", "lead_days", "lead_bucket"], sort=True)
        .agg(
            raw=("forecast_f", "mean"),
            corrected=("corrected_f", "mean"),
            obs=("observed_f", "first"),
        )
        .reset_index()
    )
    cases["err_raw"] = cases["raw"] - cases["obs"]
    cases["err_cor"] = cases["corrected"] - cases["obs"]
    cases["sq"] = cases["err_cor"] ** 2

    pooled = cases.groupby(["kind", "lead_bucket"])["sq"].agg(["mean", "count"]).reset_index()
    pooled_var = {(r.kind, int(r.lead_bucket)): float(r["mean"]) for _, r in pooled.iterrows()}
    sigmas: list[SigmaEntry] = [
        SigmaEntry(
            city=POOLED,
            kind=str(r.kind),
            lead_bucket=int(r.lead_bucket),
            sigma=max(math.sqrt(float(r["mean"])), sigma_floor),
            n=int(r["count"]),
        )
        for _, r in pooled.iterrows()
    ]
    per_city = cases.groupby(["city", "kind", "lead_bucket"])["sq"].agg(["sum", "count"])
    for (city, kind, bucket), r in per_city.iterrows():
        n = int(r["count"])
        # Blend toward the pooled variance so a city with 3 lucky days is not over-confident.
        var = (float(r["sum"]) + shrinkage * pooled_var[(kind, int(bucket))]) / (n + shrinkage)
        sigmas.append(
            SigmaEntry(
                city=str(city),
                kind=str(kind),
                lead_bucket=int(bucket),
                sigma=max(math.sqrt(var), sigma_floor),
                n=n,
            )
        )

    metrics = TrainingMetrics(
        n_cases=len(cases),
        mae_raw=float(cases["err_raw"].abs().mean()),
        rmse_raw=float(np.sqrt((cases["err_raw"] ** 2).mean())),
        mae_corrected=float(cases["err_cor"].abs().mean()),
        rmse_corrected=float(np.sqrt(cases["sq"].mean())),
    )
    dates = pd.to_datetime(df["climate_date"], errors="coerce").dropna()
    return PredictorParams(
        n_samples=len(df),
        first_date=dates.min().date() if not dates.empty else None,
        last_date=dates.max().date() if not dates.empty else None,
        shrinkage=shrinkage,
        sigma_floor=sigma_floor,
        spread_weight=spread_weight,
        biases=biases,
        sigmas=tuple(sigmas),
        metrics=metrics,
    )


@dataclass(frozen=True)
class PredictionDetails:
    """A prediction and how it was made (for asset metadata and debugging).

    Attributes:
        distribution: The predictive distribution.
        raw_mean: Mean of the per-model means before bias correction.
        corrected_mean: Mean of the bias-corrected per-model means (= distribution mean).
        model_spread: Standard deviation across the corrected model means.
        base_sigma: Learnt sigma for the lead before widening.
        lead_days: The lead used for sigma (the longest among the models: conservative).
        per_model: Bias-corrected mean of each model.
    """

    distribution: NormalTemperature
    raw_mean: float
    corrected_mean: float
    model_spread: float
    base_sigma: float
    lead_days: int
    per_model: dict[str, float]


def predict_details(
    params: PredictorParams,
    forecasts: pd.DataFrame,
    city: str | None = None,
    kind: str | None = None,
) -> PredictionDetails:
    """Like :func:`predict`, returning the intermediate quantities too."""
    _require_columns(forecasts, FORECAST_COLUMNS, "forecasts")
    df = forecasts
    if city is not None:
        df = df[df["city"] == city]
    if kind is not None:
        df = df[df["kind"] == kind]
    df = df.dropna(subset=["value_f", "lead_days"])
    if df.empty:
        raise PredictorError(f"no forecasts to predict from (city={city!r}, kind={kind!r})")
    cities, kinds = df["city"].unique(), df["kind"].unique()
    if len(cities) != 1 or len(kinds) != 1:
        raise PredictorError(
            f"predict needs one city and kind; got cities {list(cities)}, kinds {list(kinds)}"
        )
    the_city, the_kind = str(cities[0]), str(kinds[0])

    # Plain Python over a few dozen rows: pandas groupby costs ~15 ms a call here.
    sums: dict[str, list[float]] = {}
    leads: dict[str, int] = {}
    for model, value, lead_days in zip(
        df["model"].astype(str),
        df["value_f"].astype(float),
        df["lead_days"].astype(int),
        strict=True,
    ):
        acc = sums.setdefault(model, [0.0, 0.0])
        acc[0] += value
        acc[1] += 1
        # A model's freshest run (shortest lead) is the one its members belong to.
        leads[model] = min(leads.get(model, lead_days), lead_days)
    raw_means = {m: total / n for m, (total, n) in sorted(sums.items())}
    per_model = {m: v - params.bias(the_city, the_kind, m, leads[m]) for m, v in raw_means.items()}
    corrected = np.array(list(per_model.values()))
    lead = max(leads.values())
    base = params.sigma(the_city, the_kind, lead)
    spread = float(corrected.std()) if len(corrected) > 1 else 0.0
    sigma = max(math.hypot(base, params.spread_weight * spread), params.sigma_floor)
    mu = float(corrected.mean())
    return PredictionDetails(
        distribution=NormalTemperature(mu, sigma),
        raw_mean=float(np.mean(list(raw_means.values()))),
        corrected_mean=mu,
        model_spread=spread,
        base_sigma=base,
        lead_days=lead,
        per_model=per_model,
    )


def predict(
    params: PredictorParams,
    forecasts: pd.DataFrame,
    city: str | None = None,
    kind: str | None = None,
) -> NormalTemperature:
    """Predictive distribution of one city's daily high or low.

    Members are averaged per model, each model's bias for its lead is removed, the models are
    averaged, and sigma is the learnt sigma for the longest lead among the models combined in
    quadrature with ``spread_weight`` times the spread between the corrected models.

    Args:
        params: Fitted parameters (unseen models get bias 0, unseen cities the pooled sigma).
        forecasts: Rows with :data:`FORECAST_COLUMNS` for one city and kind.
        city: Optional filter when ``forecasts`` holds several cities.
        kind: Optional filter when ``forecasts`` holds both kinds.

    Raises:
        PredictorError: If there are no usable forecasts, or several cities or kinds remain.
    """
    return predict_details(params, forecasts, city, kind).distribution
