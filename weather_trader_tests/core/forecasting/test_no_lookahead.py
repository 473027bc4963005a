"""No look-ahead, proven: what appears after an instant never changes a prediction made at it.

Forecasts issued after the instant are changed, removed and joined by a new source; trades at
or after it are removed and replaced by wild ones; reports issued after it change value, gain
corrections and disappear. Every prediction (each predictor's distribution and each bracket's
probability, market included) of every case decided at or before the instant is identical.
The evaluated range (``--from``/``--to``) changes nothing either.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.forecasting.report import build_report
from weather_trader.core.forecasting.suite import ModelSuite
from weather_trader.core.forecasting.walkforward import DecisionInstant, WalkResult, walk_forward
from weather_trader_tests.core.forecasting.synthetic_archive import (
    Archive,
    make_archive,
    stand_in_components,
)

START = date(2024, 1, 1)
DAYS = 56
CUT_DAY = START + timedelta(days=42)


def _suite_stand_ins() -> ModelSuite:
    return ModelSuite(components=stand_in_components)


def _suite_production() -> ModelSuite:
    for module in ("climatology", "emos", "xgb"):
        pytest.importorskip(f"weather_trader.core.forecasting.{module}")
    return ModelSuite()


SUITES = {"stand-ins": _suite_stand_ins, "production": _suite_production}


def _after(
    frame: pd.DataFrame, column: str, t: pd.Timestamp, inclusive: bool = False
) -> np.ndarray:
    times = pd.to_datetime(frame[column], utc=True)
    return ((times >= t) if inclusive else (times > t)).to_numpy()


def perturb_after(archive: Archive, t: pd.Timestamp, seed: int = 1) -> Archive:
    """Everything a decision at ``t`` cannot know, changed."""
    rng = np.random.default_rng(seed)
    fc = archive.forecasts.copy()
    late = _after(fc, "issued_at", t)
    fc.loc[late, "value_f"] += rng.normal(0, 15, late.sum())
    fc = fc.loc[~(late & (rng.random(len(fc)) < 0.3))]  # some later issues vanish
    new_source = fc.loc[_after(fc, "issued_at", t)].assign(source="late", value_f=120.0)
    fc = pd.concat([fc, new_source], ignore_index=True)

    trades = archive.trades.loc[~_after(archive.trades, "traded_at", t, inclusive=True)]
    wild = pd.DataFrame(
        {
            "trade_id": [f"wild-{i}" for i in range(len(archive.markets))],
            "ticker": archive.markets["ticker"].to_numpy(),
            "traded_at": t,  # exactly at the instant: not before it, so unseen
            "yes_price": 0.99,
            "count": 10_000.0,
            "taker_side": "yes",
        }
    )
    trades = pd.concat([trades, wild, wild.assign(traded_at=t + pd.Timedelta(hours=2))])

    reports = archive.reports.copy()
    late_rep = _after(reports, "issued_at", t)
    reports.loc[late_rep, "value_f"] += 9
    reports = reports.loc[~(late_rep & (rng.random(len(reports)) < 0.3))]
    # Corrections issued after t to days already final before it.
    early = reports.loc[~_after(reports, "issued_at", t)].tail(20)
    corrections = early.assign(value_f=early["value_f"] - 6, issued_at=t + pd.Timedelta(days=1))
    reports = pd.concat([reports, corrections], ignore_index=True)
    return Archive(
        fc.reset_index(drop=True), reports, archive.markets, trades.reset_index(drop=True)
    )


def _walk(archive: Archive, instant: DecisionInstant, suite: ModelSuite, until: date) -> WalkResult:
    return walk_forward(
        instant, archive.forecasts, archive.reports, archive.markets, archive.trades,
        until=until, suite=suite,
    )  # fmt: skip


def _by_case(walk: WalkResult, t: pd.Timestamp) -> dict[tuple, dict[str, np.ndarray]]:
    keep = (walk.cases["decided_at"] <= t).to_numpy()
    keys = walk.cases.loc[keep, ["city", "kind", "climate_date"]].itertuples(index=False)
    rows = np.flatnonzero(keep)
    return {
        tuple(k): {n: p[r] for n, p in walk.pmfs.items()} for k, r in zip(keys, rows, strict=True)
    }


def _bracket_probs(walk: WalkResult, t: pd.Timestamp) -> pd.DataFrame:
    br = walk.brackets
    cols = ["ticker", *walk.predictors]
    return br.loc[(br["decided_at"] <= t).to_numpy(), cols].set_index("ticker").sort_index()


@pytest.mark.parametrize("suite_name", list(SUITES))
@pytest.mark.parametrize("instant_text", ["D-1 16:00", "D 08:00"])
def test_later_data_never_changes_a_prediction(suite_name: str, instant_text: str) -> None:
    suite_factory: Callable[[], ModelSuite] = SUITES[suite_name]
    suite = suite_factory()
    archive = make_archive(start=START, days=DAYS)
    instant = DecisionInstant.parse(instant_text)
    t = instant.utc(["CHI"], [CUT_DAY])[0]
    changed = perturb_after(archive, t)
    assert not changed.forecasts.equals(archive.forecasts)

    base = _walk(archive, instant, suite, until=START + timedelta(days=DAYS))
    other = _walk(changed, instant, suite, until=START + timedelta(days=DAYS))

    want, got = _by_case(base, t), _by_case(other, t)
    assert want.keys() == got.keys() and len(want) > 80
    for key, pmfs in want.items():
        assert pmfs.keys() == got[key].keys()
        for name, pmf in pmfs.items():
            np.testing.assert_array_equal(pmf, got[key][name], err_msg=f"{name} {key}")
    pd.testing.assert_frame_equal(_bracket_probs(base, t), _bracket_probs(other, t))
    # The perturbation did reach later predictions (the test can fail).
    later = ~(base.brackets["decided_at"] <= t)
    assert not np.allclose(
        base.brackets.loc[later, "market_raw"].to_numpy(dtype=float),
        other.brackets.set_index("ticker").loc[base.brackets.loc[later, "ticker"], "market_raw"],
        equal_nan=True,
    )


@pytest.mark.parametrize("suite_name", list(SUITES))
def test_range_never_changes_a_prediction(suite_name: str) -> None:
    suite = SUITES[suite_name]()
    archive = make_archive(start=START, days=DAYS)
    instants = [DecisionInstant.parse("D-1 16:00"), DecisionInstant.parse("D 08:00")]

    def report(start: date, end: date) -> pd.DataFrame:
        walks = [_walk(archive, i, suite, until=end) for i in instants]
        rows = pd.DataFrame(build_report(walks, ["CHI", "NYC"], start, end)["predictions"])
        return rows.set_index(["instant", "market_ticker", "predictor"]).sort_index()

    narrow = report(date(2024, 2, 10), date(2024, 2, 16))
    wide = report(date(2024, 1, 25), date(2024, 2, 25))
    assert len(narrow) and len(wide) > len(narrow)
    pd.testing.assert_frame_equal(narrow, wide.loc[narrow.index])
