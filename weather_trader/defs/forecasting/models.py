"""The forecast models as versioned assets, and the walk-forward evaluation that gates trading.

``forecast_models`` fits the production suite (``core.forecasting.suite``) once a week on the
archive, point in time, and stores one pickled artifact per model under one suite version:
``climatology_model``, ``emos_model``, ``xgboost_model`` (the components), ``weather_model``
(their stack) and ``ours_model`` (the pool of weather with the market's prices). One
multi-asset, because the stack is fitted on the components' out-of-sample predictions and the
pool on the stack's: they are one fit, but each model is its own asset with its own metrics.

``forecast_evaluation`` walks forward over the archive's recorded markets (weekly refits, each
prediction from data known at its instant) and stores, per city and decision instant, whether
``ours`` beat the market's event Brier. ``trade_decisions`` trades on model edge only where it
did (``core/gating.py``).
"""

# No `from __future__ import annotations`: Dagster reads these annotations at definition time.

import hashlib
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    AutomationCondition,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)
from sqlalchemy import Engine

from weather_trader.core.cities import CITIES, KINDS
from weather_trader.core.forecasting.base import ModelInputError
from weather_trader.core.forecasting.cases import build_cases, known_by
from weather_trader.core.forecasting.market_prices import add_market_probabilities
from weather_trader.core.forecasting.pmf import crps, nan_pmf, valid_rows
from weather_trader.core.forecasting.stacking import fit_stack, out_of_sample_pmfs
from weather_trader.core.forecasting.suite import (
    OURS,
    WEATHER,
    FittedSuite,
    History,
    ModelSuite,
    bracket_outcomes,
    default_components,
    match_cases,
    pmf_bracket_probs,
)
from weather_trader.core.forecasting.walkforward import (
    DecisionInstant,
    event_brackets,
    walk_forward,
)
from weather_trader.core.gating import DEFAULT_MIN_EVENTS, MeasuredEdge
from weather_trader.core.instants import parse_instant
from weather_trader.core.model_choice import (
    ModelCandidate,
    ModelChooser,
    model_version_id,
    training_known_at,
)
from weather_trader.core.skill import (
    calibration_table,
    event_briers,
    measured_edges,
    pit_table,
    weather_beats_climatology,
)
from weather_trader.defs.common import metadata_table
from weather_trader.defs.resources import ClockResource, DatabaseResource, ModelStoreResource
from weather_trader.store import repo
from weather_trader.store.repo_history import (
    forecast_history,
    market_history,
    report_history,
    trade_history,
)
from weather_trader.store.schemas import ModelVersionRecord

COMPONENT_ASSETS = {
    "climatology": "climatology_model",
    "emos": "emos_model",
    "xgboost": "xgboost_model",
}
"""The stacked components, by model name, and the asset each is stored as."""
DEFAULT_COMPONENTS = list(COMPONENT_ASSETS)
WEATHER_ASSET = "weather_model"
OURS_ASSET = "ours_model"
MODEL_ASSETS = (*COMPONENT_ASSETS.values(), WEATHER_ASSET, OURS_ASSET)
EVALUATION = "forecast_evaluation"
DEFAULT_INSTANTS = ["D-1 16:00", "D 08:00"]
"""Decision instants (local standard time, relative to the climate day D) trained and measured."""

# Weekly, whether or not `weather_archive` was backfilled since: the live pipeline keeps adding
# forecasts and final reports to the tables the models train on (`on_cron` would wait for the
# archive asset, which nothing materialises under `make dev`).
WEEKLY_RETRAIN = (
    AutomationCondition.cron_tick_passed("0 6 * * 1", "UTC").since_last_handled()
    & ~AutomationCondition.in_progress()
).with_label("weekly_retrain(0 6 * * 1, UTC)")


def production_suite(components: Sequence[str] = tuple(COMPONENT_ASSETS)) -> ModelSuite:
    """The suite's fixed settings with the named components (tests replace this with light
    stand-ins).

    Raises:
        ValueError: For a component name the suite does not know.
    """
    unknown = sorted(set(components) - set(COMPONENT_ASSETS))
    if unknown:
        raise ValueError(f"unknown forecast components {unknown}; known: {list(COMPONENT_ASSETS)}")
    chosen = [m for m in default_components() if m.name in components]
    return ModelSuite(components=lambda: chosen)


class SuiteConfig(Config):
    """Which history the models learn from and where they are measured.

    Attributes:
        train_end: Last climate day of the training window (ISO date); default yesterday.
            A backtest sets it before its first traded day so nothing leaks.
        lookback_days: Length of the window in days.
        instants: Decision instants whose cases the models are fitted (and measured) on.
        min_events: Fewest scored events for a measured edge to count (evaluation only).
        components: The stacked components to fit (a component left out is stored as absent).
    """

    train_end: str | None = None
    lookback_days: int = 365
    instants: list[str] = DEFAULT_INSTANTS
    min_events: int = DEFAULT_MIN_EVENTS
    components: list[str] = DEFAULT_COMPONENTS


def _window(config: SuiteConfig, now: datetime) -> tuple[date, date]:
    end = (
        date.fromisoformat(config.train_end) if config.train_end else now.date() - timedelta(days=1)
    )
    return end - timedelta(days=config.lookback_days - 1), end


# -- the archive as frames -------------------------------------------------------------------------


class Archive:
    """The archive's frames for a window (``store.repo_history``), as the core wants them."""

    def __init__(self, engine: Engine, start: date, end: date) -> None:
        cities = sorted(CITIES)
        self.start, self.end = start, end
        self.forecasts = forecast_history(engine, cities, start, end)
        self.reports = report_history(engine, cities, start, end)
        self.markets = market_history(engine, cities, start, end)
        tickers = self.markets["ticker"].tolist()
        self.trades = trade_history(engine, tickers) if tickers else _no_trades()

    def targets(self, instants: Sequence[DecisionInstant]) -> pd.DataFrame:
        """Every (city, kind, day) with a final report, at each instant."""
        finals = self.reports[self.reports["final"].astype(bool)]
        keys = finals.loc[:, ["city", "kind", "climate_date"]].drop_duplicates()
        frames = []
        for instant in instants:
            at = keys.reset_index(drop=True).copy()
            at["decided_at"] = instant.utc(at["city"], at["climate_date"]).to_numpy()
            frames.append(at)
        return pd.concat(frames, ignore_index=True) if frames else keys.assign(decided_at=[])

    def brackets(self, instants: Sequence[DecisionInstant]) -> pd.DataFrame | None:
        """The bracket frame of every recorded market at each instant, with its market prices
        (None when the archive holds no markets)."""
        if not len(self.markets):
            return None
        frames = [
            add_market_probabilities(event_brackets(self.markets, i), self.trades) for i in instants
        ]
        return pd.concat(frames, ignore_index=True)


def _no_trades() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trade_id": pd.Series(dtype=str),
            "ticker": pd.Series(dtype=str),
            "traded_at": pd.Series(dtype="datetime64[ns, UTC]"),
            "yes_price": pd.Series(dtype=float),
            "count": pd.Series(dtype=float),
            "taker_side": pd.Series(dtype=str),
        }
    )


def _engine(database: DatabaseResource) -> Engine:
    with database.session() as session:
        bind = session.get_bind()
    assert isinstance(bind, Engine)
    return bind


# -- artifacts -------------------------------------------------------------------------------------


def _artifact_path(store: ModelStoreResource, name: str, version: str) -> Path:
    return Path(store.path) / name / f"{version}.pkl"


def save_artifact(store: ModelStoreResource, name: str, version: str, payload: bytes) -> Path:
    """Write a pickled model atomically (a crash never leaves half a file); return its path."""
    target = _artifact_path(store, name, version)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(payload)
    partial.replace(target)
    return target


def load_artifact(store: ModelStoreResource, name: str, version: str) -> Any:
    """Unpickle a model written by :func:`save_artifact` (our own folder: trusted content)."""
    return pickle.loads(_artifact_path(store, name, version).read_bytes())


def load_suite(store: ModelStoreResource, version: str) -> FittedSuite:
    """The fitted suite of ``version`` from its five artifacts."""
    components = {m: load_artifact(store, a, version) for m, a in COMPONENT_ASSETS.items()}
    weather = load_artifact(store, WEATHER_ASSET, version)
    pool = load_artifact(store, OURS_ASSET, version)
    return FittedSuite(weather["fit_at"], components, {}, weather["stack"], pool)


def suite_chooser(
    database: DatabaseResource, model_store: ModelStoreResource
) -> ModelChooser[FittedSuite]:
    """A chooser over the stored suite versions (those whose weather model passed its check)."""
    with database.session() as session:
        versions = repo.model_versions(session, WEATHER_ASSET)
    candidates = [
        ModelCandidate(
            version=v.version,
            known_at=datetime.fromisoformat(v.params["known_at"]),
            beats_baseline=bool(v.metrics.get("beats_baseline")),
        )
        for v in versions
    ]
    return ModelChooser(candidates, lambda v: load_suite(model_store, v), name=WEATHER_ASSET)


# -- forecast_models -------------------------------------------------------------------------------


class _NoInputs:
    """A component that could not be fitted on a fold: it predicts "no inputs" (NaN rows)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def predict_pmf(self, cases: pd.DataFrame) -> np.ndarray:
        return nan_pmf(len(cases))

    def metadata(self) -> dict[str, Any]:
        return {"name": self.name, "fitted": False}


class _AbsentWhenUnfit:
    """A component whose fit on too little data leaves it absent for that fold (as the suite
    treats a component it cannot fit) instead of failing the whole out-of-sample pass."""

    def __init__(self, model: Any) -> None:
        self.model, self.name = model, model.name

    def fit(self, cases: pd.DataFrame) -> Any:
        try:
            return self.model.fit(cases)
        except ModelInputError:
            return _NoInputs(self.name)


def _fit(
    suite: ModelSuite, cases: pd.DataFrame, brackets: pd.DataFrame | None, fit_at: datetime
) -> tuple[FittedSuite, pd.DataFrame, dict[str, np.ndarray]]:
    """Fit the suite at ``fit_at`` and return it with the training cases and their
    out-of-sample pmfs (expanding-window refits: the stack's inputs and the metrics' basis)."""
    train = known_by(cases, fit_at).reset_index(drop=True)
    names = [m.name for m in suite.components()]
    oos = out_of_sample_pmfs(
        [_AbsentWhenUnfit(m) for m in suite.components()],
        train,
        n_folds=suite.cv_folds,
        min_train=suite.min_train,
    ).pmfs
    oos = {k: oos.get(k, nan_pmf(len(train))) for k in names}
    weather = fit_stack(oos, train["truth_f"].to_numpy(dtype=float)).combine(oos)
    history = History(cases=train, component_pmfs=oos, weather_pmf=weather)
    fitted = suite.fit(cases, brackets, fit_at, history=history)
    return fitted, train, {**oos, WEATHER: weather}


def _crps_figures(oos: dict[str, np.ndarray], truth: np.ndarray) -> dict[str, Any]:
    """Mean out-of-sample CRPS of each model on the cases every one of them predicted."""
    common = np.isfinite(truth) & np.logical_and.reduce([valid_rows(p) for p in oos.values()])
    return {
        "cases_scored": int(common.sum()),
        **{
            name: (float(np.mean(crps(p[common], truth[common]))) if common.any() else None)
            for name, p in oos.items()
        },
    }


def _bracket_figures(
    fitted: FittedSuite, train: pd.DataFrame, weather: np.ndarray, brackets: pd.DataFrame | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Event Brier of weather (out of sample), ours (pool in sample) and the market on the
    training window's recorded events, and weather's bracket calibration."""
    if brackets is None or not len(brackets):
        return {"events_scored": 0}, []
    rows = match_cases(train, brackets)
    keep = rows >= 0
    scored = brackets.loc[keep].reset_index(drop=True)
    rows = rows[keep]
    lo, hi = scored["lo"].to_numpy(dtype=int), scored["hi"].to_numpy(dtype=int)
    scored["outcome"] = bracket_outcomes(train["truth_f"].to_numpy(dtype=float)[rows], lo, hi)
    scored[WEATHER] = pmf_bracket_probs(weather, rows, lo, hi)
    events = (
        scored["event_ticker"].astype(str) + "@" + scored["decided_at"].astype(str)
    ).to_numpy()
    scored[OURS] = fitted.pool.combine(scored[WEATHER].to_numpy(), scored["p_market"], events)
    scored["market"] = scored["p_market"]
    overall = event_briers(scored, [WEATHER, OURS, "market"], by=())
    if not len(overall):
        return {"events_scored": 0}, []
    row = overall.iloc[0]
    figures = {
        "events_scored": int(row["events"]),
        "event_brier_weather": float(row[WEATHER]),
        "event_brier_ours": float(row[OURS]),
        "event_brier_market": float(row["market"]),
    }
    return figures, calibration_table(scored[WEATHER].to_numpy(), scored["outcome"].to_numpy())


PIT_COLUMNS = {"pit_from": "float", "pit_to": "float", "cases": "int", "share": "float"}
CALIBRATION_COLUMNS = {
    "p_from": "float",
    "p_to": "float",
    "n": "int",
    "mean_p": "float",
    "observed": "float",
}


@multi_asset(
    name="forecast_models",
    specs=[
        *(
            AssetSpec(
                asset,
                deps=["weather_archive"],
                group_name="forecasting",
                kinds={"python", "pandas"},
                automation_condition=WEEKLY_RETRAIN,
                description=f"The {model} component of the forecast suite (integer pmf of the "
                "day's high/low), fitted point in time on the archive; pickled per version.",
            )
            for model, asset in COMPONENT_ASSETS.items()
        ),
        AssetSpec(
            WEATHER_ASSET,
            deps=[*COMPONENT_ASSETS.values()],
            group_name="forecasting",
            kinds={"python", "pandas"},
            automation_condition=WEEKLY_RETRAIN,
            description="The weather distribution: the components stacked by minimum "
            "out-of-sample CRPS. temperature_distribution predicts with it.",
        ),
        AssetSpec(
            OURS_ASSET,
            deps=[WEATHER_ASSET],
            group_name="forecasting",
            kinds={"python", "pandas"},
            automation_condition=WEEKLY_RETRAIN,
            description="ours: weather pooled with the market's prices (log-linear, weights "
            "learnt out of sample, shrunk toward the market). trade_decisions trades on it.",
        ),
    ],
    check_specs=[
        AssetCheckSpec(
            "beats_climatology",
            asset=WEATHER_ASSET,
            blocking=True,
            description="The weather stack's out-of-sample CRPS is no worse than climatology's.",
        )
    ],
    can_subset=False,
)
def forecast_models(
    context: AssetExecutionContext,
    config: SuiteConfig,
    database: DatabaseResource,
    model_store: ModelStoreResource,
    clock: ClockResource,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Fit the suite on the archive up to ``train_end`` and store each model as a version.

    Point in time: the fit instant is when ``train_end``'s final report is out in every city
    (:func:`training_known_at`); only cases decided and settled by then are used, and the
    version is usable from then on.
    """
    start, end = _window(config, clock.now())
    known_at = training_known_at(end)
    instants = [DecisionInstant.parse(i) for i in config.instants]
    archive = Archive(_engine(database), start, end)
    cases = build_cases(archive.targets(instants), archive.forecasts, archive.reports)
    brackets = archive.brackets(instants)
    fitted, train, oos = _fit(production_suite(config.components), cases, brackets, known_at)
    truth = train["truth_f"].to_numpy(dtype=float)
    scores = _crps_figures(oos, truth)
    brier, calibration = _bracket_figures(fitted, train, oos[WEATHER], brackets)
    climatology_crps = scores.get("climatology")
    beats = weather_beats_climatology(scores.get(WEATHER), climatology_crps)
    payloads = {
        **{a: pickle.dumps(fitted.components.get(m)) for m, a in COMPONENT_ASSETS.items()},
        WEATHER_ASSET: pickle.dumps({"fit_at": fitted.fit_at, "stack": fitted.stack}),
        OURS_ASSET: pickle.dumps(fitted.pool),
    }
    digest = hashlib.sha256(b"".join(payloads[a] for a in MODEL_ASSETS)).hexdigest()
    version = model_version_id("suite", end, digest)
    common = {
        "version": version,
        "components": ", ".join(config.components),
        "train_start": str(start),
        "train_end": str(end),
        "known_at": known_at.isoformat(),
        "instants": ", ".join(config.instants),
        "cases_trained": len(train),
    }
    meta = fitted.metadata()
    own: dict[str, dict[str, Any]] = {
        **{
            a: {
                "crps_oos": scores.get(m),
                "fitted": fitted.components.get(m) is not None,
                "details": MetadataValue.json(meta["components"].get(m) or {}),
                "pit": metadata_table(
                    pit_table(oos.get(m, nan_pmf(len(train))), truth), PIT_COLUMNS
                ),
            }
            for m, a in COMPONENT_ASSETS.items()
        },
        WEATHER_ASSET: {
            "crps_oos": scores.get(WEATHER),
            "crps_oos_by_model": MetadataValue.json(scores),
            "stack": MetadataValue.json(meta["stack"]),
            "pit": metadata_table(pit_table(oos[WEATHER], truth), PIT_COLUMNS),
            "bracket_calibration": metadata_table(calibration, CALIBRATION_COLUMNS),
            **{k: v for k, v in brier.items() if k != "event_brier_ours"},
        },
        OURS_ASSET: {
            "pool": MetadataValue.json(meta["pool"]),
            **brier,
            "note": "event Brier of ours is in sample for its two pool weights",
        },
    }
    with database.session() as session:
        for asset_name in MODEL_ASSETS:
            path = save_artifact(model_store, asset_name, version, payloads[asset_name])
            figures = {
                k: v for k, v in own[asset_name].items() if isinstance(v, int | float | bool | None)
            }
            repo.save_model_version(
                session,
                ModelVersionRecord(
                    name=asset_name,
                    version=version,
                    created_at=clock.now(),
                    params={**common, "artifact": str(path)},
                    metrics={**figures, "beats_baseline": beats},
                ),
            )
        repo.append_event(
            session,
            "model",
            {"version": version, "crps_weather": scores.get(WEATHER), **brier},
            key=version,
        )
    for asset_name in MODEL_ASSETS:
        yield MaterializeResult(
            asset_key=asset_name,
            metadata={
                **common,
                "artifact": str(_artifact_path(model_store, asset_name, version)),
                **{k: v for k, v in own[asset_name].items() if v is not None},
            },
        )
    yield AssetCheckResult(
        check_name="beats_climatology",
        asset_key=AssetKey(WEATHER_ASSET),
        passed=bool(beats),
        metadata={
            "crps_weather": scores.get(WEATHER) or float("nan"),
            "crps_climatology": climatology_crps if climatology_crps is not None else float("nan"),
        },
    )


# -- forecast_evaluation ---------------------------------------------------------------------------

EDGE_COLUMNS = {
    "city": "string",
    "instant": "string",
    "events": "int",
    "brier_ours": "float",
    "brier_market": "float",
    "diff_se": "float",
    "edge": "string",
}


@asset(
    name=EVALUATION,
    deps=[OURS_ASSET],
    group_name="forecasting",
    kinds={"python", "pandas"},
    automation_condition=AutomationCondition.eager(),
    description="Walk-forward evaluation on the archive's recorded markets (weekly refits, "
    "every prediction from data known at its instant): per city and decision instant, "
    "whether ours beat the market's event Brier. Trading is gated on it.",
)
def forecast_evaluation(
    context: AssetExecutionContext,
    config: SuiteConfig,
    database: DatabaseResource,
    clock: ClockResource,
) -> MaterializeResult:
    """Measure ours against the market per city and instant, and store it as a version
    usable from ``train_end``'s :func:`training_known_at` (like the models)."""
    start, end = _window(config, clock.now())
    archive = Archive(_engine(database), start, end)
    edges: list[MeasuredEdge] = []
    overall = []
    instants = [DecisionInstant.parse(label) for label in config.instants]
    for instant in instants:
        if not len(archive.markets):
            edges += [MeasuredEdge(c, instant.label, 0, None, None) for c in sorted(CITIES)]
            continue
        walk = walk_forward(
            instant,
            archive.forecasts,
            archive.reports,
            archive.markets,
            archive.trades,
            until=end,
            suite=production_suite(config.components),
            kinds=KINDS,
        )
        scored = walk.brackets.assign(market=walk.brackets["p_market"])
        edges += measured_edges(scored, instant.label)
        both = event_briers(scored, [OURS, "market", WEATHER], by=())
        overall += [{"instant": instant.label, **r} for r in both.to_dict("records")]
    known_at = training_known_at(end)
    records = [asdict(e) for e in edges]
    digest = hashlib.sha256(repr(records).encode()).hexdigest()
    version = model_version_id("evaluation", end, digest)
    with database.session() as session:
        repo.save_model_version(
            session,
            ModelVersionRecord(
                name=EVALUATION,
                version=version,
                created_at=clock.now(),
                params={
                    "known_at": known_at.isoformat(),
                    "train_start": str(start),
                    "train_end": str(end),
                    "instants": [i.label for i in instants],
                },
                metrics={"edges": records, "min_events": config.min_events, "overall": overall},
            ),
        )
    rows = [
        {
            **asdict(e),
            "edge": "yes" if e.beats_market(config.min_events) else "no",
        }
        for e in edges
    ]
    return MaterializeResult(
        metadata={
            "version": version,
            "known_at": known_at.isoformat(),
            "train_end": str(end),
            "min_events": config.min_events,
            "cities_with_edge": sum(r["edge"] == "yes" for r in rows),
            "edges": metadata_table(rows, EDGE_COLUMNS),
            "overall": MetadataValue.json(overall),
        }
    )


class Evaluation:
    """A stored evaluation: its instants and the measured edge per (city, instant)."""

    def __init__(self, record: ModelVersionRecord) -> None:
        self.version = record.version
        self.instants = [parse_instant(i) for i in record.params["instants"]]
        self.min_events = int(record.metrics.get("min_events", DEFAULT_MIN_EVENTS))
        self.edges = {
            (e["city"], e["instant"]): MeasuredEdge(**e) for e in record.metrics.get("edges", [])
        }


def evaluation_chooser(database: DatabaseResource) -> ModelChooser[Evaluation]:
    """A chooser over the stored evaluations: the newest known at a decision's instant."""
    with database.session() as session:
        records = {r.version: r for r in repo.model_versions(session, EVALUATION)}
    candidates = [
        ModelCandidate(v, datetime.fromisoformat(r.params["known_at"]), beats_baseline=True)
        for v, r in records.items()
    ]
    load: Callable[[str], Evaluation] = lambda v: Evaluation(records[v])  # noqa: E731
    return ModelChooser(candidates, load, name=EVALUATION)
