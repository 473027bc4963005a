from __future__ import annotations

import numpy as np

from weather_trader.sim.noise import KeyedNoise, stable_id


def test_stable_id_is_fixed_across_processes() -> None:
    # A literal: Python's hash() would change with PYTHONHASHSEED, this must not.
    assert stable_id("NYC") == stable_id("NYC")
    assert stable_id("NYC") != stable_id("CHI")
    assert stable_id("gfs") == 0x4BE57E214B312747


def test_same_keys_same_draws_and_slices_agree() -> None:
    noise = KeyedNoise(7)
    full = noise.normal("eps", "NYC", np.arange(100))
    part = noise.normal("eps", "NYC", np.arange(40, 60))
    assert np.array_equal(full[40:60], part)
    assert noise.scalar_normal("eps", "NYC", 41) == full[41]


def test_seed_stream_and_key_all_change_the_draws() -> None:
    a = KeyedNoise(7).normal("eps", "NYC", np.arange(50))
    assert not np.allclose(a, KeyedNoise(8).normal("eps", "NYC", np.arange(50)))
    assert not np.allclose(a, KeyedNoise(7).normal("other", "NYC", np.arange(50)))
    assert not np.allclose(a, KeyedNoise(7).normal("eps", "CHI", np.arange(50)))


def test_normal_and_uniform_have_the_right_moments() -> None:
    noise = KeyedNoise(3)
    z = noise.normal("z", np.arange(200_000))
    u = noise.uniform("u", np.arange(200_000))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert u.min() > 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.005
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 0.01
