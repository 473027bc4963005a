"""``ours``: the log-linear pool of the weather distribution with the market."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from weather_trader.core.forecasting.pooling import (
    PRIOR_CENTER,
    FittedPool,
    PoolError,
    fit_pool,
)

BRACKETS = 6


def synthetic_events(
    n_events: int, a: float, b: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Independent weather and market opinions; the winner is drawn from p ∝ w^a m^b."""
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.full(BRACKETS, 1.5), n_events)
    m = rng.dirichlet(np.full(BRACKETS, 1.5), n_events)
    m = np.clip(m, 0.01, 0.99)  # prices the pool would clip anyway
    p = w**a * m**b
    p /= p.sum(axis=1, keepdims=True)
    winner = (p.cumsum(axis=1) > rng.uniform(size=(n_events, 1))).argmax(axis=1)
    outcomes = np.zeros((n_events, BRACKETS))
    outcomes[np.arange(n_events), winner] = 1
    ids = np.repeat([f"EV-{i}" for i in range(n_events)], BRACKETS)
    return w.ravel(), m.ravel(), ids, outcomes.ravel()


def test_recovers_known_exponents() -> None:
    w, m, ids, y = synthetic_events(3000, a=0.5, b=0.8)
    pool = fit_pool(w, m, ids, y)
    assert pool.a == pytest.approx(0.5, abs=0.08)
    assert pool.b == pytest.approx(0.8, abs=0.08)
    assert pool.n_events == 3000
    assert pool.log_loss < min(pool.market_log_loss, pool.weather_log_loss)


def test_puts_the_weight_on_the_market_when_the_weather_adds_nothing() -> None:
    w, m, ids, y = synthetic_events(2000, a=0.0, b=1.0, seed=1)
    pool = fit_pool(w, m, ids, y)
    assert pool.a < 0.05
    assert pool.b == pytest.approx(1.0, abs=0.08)


def test_shrinks_to_the_market_with_few_events() -> None:
    w, m, ids, y = synthetic_events(4, a=1.0, b=0.0, seed=2)  # the weather would be right
    pool = fit_pool(w, m, ids, y)
    assert abs(pool.a - PRIOR_CENTER[0]) < 0.3
    assert abs(pool.b - PRIOR_CENTER[1]) < 0.3
    empty = fit_pool([], [], [], [])
    assert (empty.a, empty.b, empty.n_events) == (0.0, 1.0, 0)


def test_pooled_probabilities_sum_to_one_per_event_in_the_callers_order() -> None:
    w, m, ids, _ = synthetic_events(50, a=0.5, b=0.8, seed=3)
    pool = FittedPool(a=0.5, b=0.8, n_events=0)
    order = np.random.default_rng(0).permutation(len(w))  # rows of events interleaved
    p = pool.combine(w[order], m[order], ids[order])
    sums = {}
    for event, value in zip(ids[order], p, strict=True):
        sums[event] = sums.get(event, 0.0) + value
    np.testing.assert_allclose(list(sums.values()), 1.0)
    # Row by row it matches the formula p ∝ w^a m^b on the event's own rows.
    first = ids == "EV-0"
    expected = w[first] ** 0.5 * m[first] ** 0.8
    np.testing.assert_allclose(
        pool.combine(w[first], m[first], ids[first]), expected / expected.sum()
    )


def test_prices_of_zero_and_one_are_clipped_not_vetoes() -> None:
    pool = FittedPool(a=0.5, b=1.0, n_events=0)
    w = np.array([0.0, 0.2, 0.8])
    m = np.array([0.0, 1.0, 0.0])
    p = pool.combine(w, m, ["E"] * 3)
    assert np.all(p > 0) and p.sum() == pytest.approx(1.0)
    assert p.argmax() == 1


def test_missing_inputs() -> None:
    pool = FittedPool(a=0.5, b=1.0, n_events=0)
    w = np.array([0.2, 0.8, np.nan, np.nan, 0.3, 0.7, np.nan, 0.5])
    m = np.array([0.6, 0.4, 0.3, 0.7, np.nan, 0.6, np.nan, 0.5])
    ids = ["A", "A", "B", "B", "C", "C", "D", "D"]
    p = pool.combine(w, m, ids)
    np.testing.assert_allclose(p[2:4], [0.3, 0.7])  # no weather: the market (b = 1)
    np.testing.assert_allclose(p[4:6], [0.3, 0.7])  # no market: the weather as it is
    assert np.isnan(p[6:]).all()  # neither
    # Events with a missing input are left out of the fit.
    w2, m2, ids2, y2 = synthetic_events(30, a=0.5, b=0.8, seed=4)
    w2[:BRACKETS] = np.nan
    assert fit_pool(w2, m2, ids2, y2).n_events == 29


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(PoolError, match="exactly one winning"):
        fit_pool([0.5, 0.5], [0.5, 0.5], ["E", "E"], [1, 1])
    with pytest.raises(PoolError, match="rows"):
        fit_pool([0.5, 0.5], [0.5], ["E", "E"], [1, 0])
    with pytest.raises(PoolError, match="0/1"):
        fit_pool([0.5, 0.5], [0.5, 0.5], ["E", "E"], [0.3, 0.7])


def test_pickles_and_describes_itself() -> None:
    w, m, ids, y = synthetic_events(100, a=0.3, b=0.9, seed=5)
    pool = fit_pool(w, m, ids, y)
    again = pickle.loads(pickle.dumps(pool))
    np.testing.assert_array_equal(again.combine(w, m, ids), pool.combine(w, m, ids))
    meta = json.loads(json.dumps(pool.metadata()))
    assert meta["name"] == "ours" and meta["n_events"] == 100
    assert {"a_weather", "b_market", "market_clip", "log_loss", "market_log_loss"} <= set(meta)


def test_groups_get_their_own_exponents_shrunk_toward_the_pooled_fit() -> None:
    w1, m1, ids1, y1 = synthetic_events(1500, a=0.2, b=1.0, seed=6)
    w2, m2, ids2, y2 = synthetic_events(1500, a=0.9, b=0.5, seed=7)
    w3, m3, ids3, y3 = synthetic_events(2, a=3.0, b=0.0, seed=8)  # a tiny group
    w, m, y = np.r_[w1, w2, w3], np.r_[m1, m2, m3], np.r_[y1, y2, y3]
    ids = np.r_[[f"1-{i}" for i in ids1], [f"2-{i}" for i in ids2], [f"3-{i}" for i in ids3]]
    groups = np.repeat(["D-1 16:00", "D 08:00", "rare"], [len(w1), len(w2), len(w3)])
    pool = fit_pool(w, m, ids, y, groups=groups)
    assert pool.groups["D-1 16:00"] == pytest.approx((0.2, 1.0), abs=0.1)
    assert pool.groups["D 08:00"] == pytest.approx((0.9, 0.5), abs=0.1)
    assert pool.groups["rare"] == pytest.approx((pool.a, pool.b), abs=0.3)
    assert pool.group_events == {"D-1 16:00": 1500, "D 08:00": 1500, "rare": 2}
    first = slice(0, BRACKETS)
    a, b = pool.groups["D-1 16:00"]
    expected = w[first] ** a * m[first] ** b
    got = pool.combine(w[first], m[first], ids[first], groups=groups[first])
    np.testing.assert_allclose(got, expected / expected.sum())
    # Without labels, or with an unseen one, the pooled exponents apply.
    pooled = w[first] ** pool.a * m[first] ** pool.b
    np.testing.assert_allclose(pool.combine(w[first], m[first], ids[first]), pooled / pooled.sum())
    unseen = pool.combine(w[first], m[first], ids[first], groups=["new"] * BRACKETS)
    np.testing.assert_allclose(unseen, pooled / pooled.sum())
    json.dumps(pool.metadata())
    with pytest.raises(PoolError, match="different groups"):
        fit_pool(w[first], m[first], ids[first], y[first], groups=["x", "y"] * (BRACKETS // 2))
