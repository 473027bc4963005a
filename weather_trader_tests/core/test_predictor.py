from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.predictor import (
    HISTORY_COLUMNS,
    POOLED,
    PredictorError,
    PredictorParams,
    TrainingMetrics,
    baseline_sigma,
    fit_predictor,
    lead_bucket,
    predict,
    predict_details,
)

BIASES = {"gfs": 3.0, "ecmwf": 1.0, "icon": 0.0}
SIGMA_BY_LEAD = {0: 1.5, 1: 2.5, 2: 3.0, 3: 4.0, 4: 4.0}
MODEL_NOISE = 0.3


def synthetic_history(
    n_days: int = 600, cities: tuple[str, ...] = ("NYC", "CHI"), seed: int = 11
) -> pd.DataFrame:
    """Forecasts = truth + a day error shared by all models (sd by lead) + model bias + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    start = date(2024, 1, 1)
    for city in cities:
        for i in range(n_days):
            day = start + timedelta(days=i)
            truth = round(60 + 20 * math.sin(i / 58) + rng.normal(0, 5))
            for lead, sd in SIGMA_BY_LEAD.items():
                shared = rng.normal(0, sd)
                for model, bias in BIASES.items():
                    fc = truth + shared + bias + rng.normal(0, MODEL_NOISE)
                    rows.append((city, "high", day, model, lead, fc, float(truth)))
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


@pytest.fixture(scope="module")
def params() -> PredictorParams:
    return fit_predictor(synthetic_history())


def forecast_frame(
    values: dict[str, list[float]], lead: int = 1, city: str = "NYC"
) -> pd.DataFrame:
    rows = [
        (city, "high", model, member, lead, v)
        for model, vals in values.items()
        for member, v in enumerate(vals)
    ]
    return pd.DataFrame(rows, columns=["city", "kind", "model", "member", "lead_days", "value_f"])


def test_lead_bucket_and_baseline() -> None:
    assert [lead_bucket(x) for x in (-2, 0, 1, 2, 3, 7)] == [0, 0, 1, 2, 3, 3]
    assert baseline_sigma(0) == 2.5
    assert baseline_sigma(1) < baseline_sigma(2) < baseline_sigma(3) == baseline_sigma(10)


def test_recovers_known_biases(params: PredictorParams) -> None:
    for city in ("NYC", "CHI"):
        for model, bias in BIASES.items():
            for lead in (0, 1, 2, 3, 6):
                assert params.bias(city, "high", model, lead) == pytest.approx(bias, abs=0.45)
    # Tight at short lead, where day errors are small.
    assert params.bias("NYC", "high", "gfs", 0) == pytest.approx(3.0 * 600 / 610, abs=0.15)


def test_recovers_known_sigmas(params: PredictorParams) -> None:
    for lead, sd in ((0, 1.5), (1, 2.5), (2, 3.0), (3, 4.0)):
        expected = math.sqrt(sd**2 + MODEL_NOISE**2 / 3)
        for city in ("NYC", "CHI"):
            assert params.sigma(city, "high", lead) == pytest.approx(expected, rel=0.1)
        assert params.sigma("NEW", "high", lead) == pytest.approx(expected, rel=0.1)  # pooled
    assert params.sigma("NYC", "high", 9) == params.sigma("NYC", "high", 3)


def test_metrics_and_metadata(params: PredictorParams) -> None:
    m = params.metrics
    assert m.n_cases == 2 * 600 * len(SIGMA_BY_LEAD)
    assert params.n_samples == m.n_cases * len(BIASES)
    assert m.rmse_corrected < m.rmse_raw and m.mae_corrected < m.mae_raw
    # Raw mean is off by the average bias (4/3 F) on top of the shared error.
    assert m.rmse_raw**2 - m.rmse_corrected**2 == pytest.approx((4 / 3) ** 2, rel=0.15)
    assert (params.first_date, params.last_date) == (date(2024, 1, 1), date(2025, 8, 22))
    summary = params.summary()
    assert summary["version"] == "predictor-v1" and summary["n_samples"] == params.n_samples
    pooled = [s for s in params.sigmas if s.city == POOLED]
    assert len(pooled) == 4 and all(s.n > 0 for s in pooled)


def test_json_round_trip(params: PredictorParams) -> None:
    text = params.to_json()
    loaded = PredictorParams.from_json(text)
    assert loaded == params
    assert loaded.bias("NYC", "high", "gfs", 1) == params.bias("NYC", "high", "gfs", 1)
    assert loaded.sigma("CHI", "high", 2) == params.sigma("CHI", "high", 2)
    assert PredictorParams.from_json(text.encode()) == params


def test_shrinkage_with_few_samples() -> None:
    rows = [
        ("NYC", "high", date(2024, 1, d), "gfs", 1, 70.0 + 4.0, 70.0) for d in (1, 2)
    ]  # two days, error +4 each
    small = fit_predictor(pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)), shrinkage=10.0)
    assert small.bias("NYC", "high", "gfs", 1) == pytest.approx(8.0 / 12.0)
    unshrunk = fit_predictor(pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)), shrinkage=0.0)
    assert unshrunk.bias("NYC", "high", "gfs", 1) == pytest.approx(4.0)


def test_sigma_floor_and_fallbacks() -> None:
    rows = [("NYC", "high", date(2024, 1, d), "gfs", 0, 70.0, 70.0) for d in range(1, 30)]
    perfect = fit_predictor(pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)), sigma_floor=1.2)
    assert perfect.sigma("NYC", "high", 0) == 1.2
    # A lead or kind never seen falls back to the baseline.
    assert perfect.sigma("NYC", "high", 2) == baseline_sigma(2)
    assert perfect.sigma("NYC", "low", 0) == baseline_sigma(0)
    assert perfect.bias("NYC", "high", "unknown_model", 0) == 0.0


def test_city_sigma_blends_toward_pool() -> None:
    hist = synthetic_history(n_days=300)
    # A third city with only 3 perfect days must not get a tiny sigma.
    extra = pd.DataFrame(
        [("DEN", "high", date(2024, 1, d), m, 1, 50.0 + b, 50.0) for d in (1, 2, 3)
         for m, b in BIASES.items()],
        columns=list(HISTORY_COLUMNS),
    )  # fmt: skip
    fitted = fit_predictor(pd.concat([hist, extra], ignore_index=True))
    assert fitted.sigma("DEN", "high", 1) > 0.8 * fitted.sigma(POOLED, "high", 1)


def test_fit_rejects_bad_history() -> None:
    with pytest.raises(PredictorError, match="observed_f"):
        fit_predictor(pd.DataFrame({"city": ["NYC"]}))
    empty = pd.DataFrame(columns=list(HISTORY_COLUMNS))
    with pytest.raises(PredictorError):
        fit_predictor(empty)
    nan_rows = pd.DataFrame(
        [("NYC", "high", date(2024, 1, 1), "gfs", 1, float("nan"), 50.0)],
        columns=list(HISTORY_COLUMNS),
    )
    with pytest.raises(PredictorError):
        fit_predictor(nan_rows)


# -- predict ---------------------------------------------------------------------------------------


def test_predict_corrects_biases(params: PredictorParams) -> None:
    b = {m: params.bias("NYC", "high", m, 1) for m in BIASES}
    # Each model shows the same truth (70) plus its bias: corrected models agree.
    fc = forecast_frame({"gfs": [72.0 + b["gfs"], 68.0 + b["gfs"]], "ecmwf": [70 + b["ecmwf"]],
                         "icon": [70 + b["icon"]]})  # fmt: skip
    details = predict_details(params, fc)
    assert details.per_model == pytest.approx({"gfs": 70.0, "ecmwf": 70.0, "icon": 70.0})
    assert details.distribution.mu == pytest.approx(70.0)
    assert details.model_spread == pytest.approx(0.0, abs=1e-9)
    assert details.distribution.sigma == pytest.approx(params.sigma("NYC", "high", 1))
    assert details.raw_mean == pytest.approx(70 + sum(b.values()) / 3)
    assert predict(params, fc) == details.distribution


def test_predict_widens_when_models_disagree(params: PredictorParams) -> None:
    b = {m: params.bias("NYC", "high", m, 1) for m in BIASES}
    fc = forecast_frame(
        {"gfs": [74 + b["gfs"]], "ecmwf": [70 + b["ecmwf"]], "icon": [66 + b["icon"]]}
    )
    d = predict_details(params, fc)
    spread = float(np.std([74.0, 70.0, 66.0]))
    assert d.model_spread == pytest.approx(spread)
    assert d.distribution.mu == pytest.approx(70.0)
    assert d.distribution.sigma == pytest.approx(
        math.hypot(params.sigma("NYC", "high", 1), params.spread_weight * spread)
    )


def test_predict_uses_longest_lead_and_filters(params: PredictorParams) -> None:
    fc = pd.concat(
        [forecast_frame({"gfs": [70.0]}, lead=0), forecast_frame({"icon": [71.0]}, lead=2)]
    )
    d = predict_details(params, fc)
    assert d.lead_days == 2 and d.base_sigma == params.sigma("NYC", "high", 2)
    both = pd.concat([forecast_frame({"gfs": [70.0]}), forecast_frame({"gfs": [50.0]}, city="CHI")])
    with pytest.raises(PredictorError, match="one city"):
        predict(params, both)
    assert predict(params, both, city="CHI").mu == pytest.approx(
        50.0 - params.bias("CHI", "high", "gfs", 1)
    )


def test_predict_unknown_city_uses_pooled_sigma(params: PredictorParams) -> None:
    d = predict(params, forecast_frame({"newmodel": [55.0]}, city="ZZZ"))
    assert d.mu == 55.0 and d.sigma == params.sigma(POOLED, "high", 1)


def test_predict_errors(params: PredictorParams) -> None:
    empty = forecast_frame({})
    with pytest.raises(PredictorError, match="no forecasts"):
        predict(params, empty)
    with pytest.raises(PredictorError, match="no forecasts"):
        predict(params, forecast_frame({"gfs": [float("nan")]}))
    with pytest.raises(PredictorError, match="missing columns"):
        predict(params, pd.DataFrame({"value_f": [1.0]}))
    with pytest.raises(PredictorError):
        predict(params, forecast_frame({"gfs": [70.0]}), kind="low")
    assert issubclass(PredictorError, ValueError)


def test_predict_is_calibrated_out_of_sample(params: PredictorParams) -> None:
    # Fresh synthetic days: the z-scores of the truth under the prediction are ~N(0, 1).
    test = synthetic_history(n_days=120, cities=("NYC",), seed=99)
    z = []
    for _key, grp in test.groupby(["climate_date", "lead_days"]):
        fc = grp.rename(columns={"forecast_f": "value_f"}).assign(member=None)
        dist = predict(params, fc)
        z.append((grp["observed_f"].iloc[0] - dist.mu) / dist.sigma)
    z_arr = np.array(z)
    assert abs(z_arr.mean()) < 0.1
    # Spread widening makes it slightly conservative, never over-confident.
    assert 0.85 < z_arr.std() < 1.05


def test_beats_baseline_allows_ties_not_worse() -> None:
    def metrics(rmse_raw: float, rmse_corrected: float) -> TrainingMetrics:
        return TrainingMetrics(
            n_cases=10, mae_raw=1.0, rmse_raw=rmse_raw, mae_corrected=1.0,
            rmse_corrected=rmse_corrected,
        )  # fmt: skip

    assert metrics(2.5, 2.0).beats_baseline
    assert metrics(2.5, 2.5).beats_baseline  # equal RMSE passes
    assert metrics(0.1 + 0.2, 0.3 + 1e-12).beats_baseline  # float round-off is a tie
    assert not metrics(2.5, 2.5001).beats_baseline
    assert not metrics(2.0, 2.5).beats_baseline
