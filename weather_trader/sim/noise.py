"""Counter-based random numbers: every draw is a pure function of (seed, stream, keys).

The offline world must give the same value for any slice generated in any order (a backtest
of one city-day must see exactly what a year-long history saw), so nothing here keeps state.
Keys are hashed with splitmix64 in numpy, which also makes whole grids of draws one vector op.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Hashable

import numpy as np
from scipy.special import ndtri

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)

Key = int | str | np.ndarray


@functools.lru_cache(maxsize=65536)
def stable_id(text: str) -> int:
    """A 64-bit id of a string that is stable across processes (unlike ``hash()``)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _mix(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser; uint64 arithmetic wraps by design.
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def _as_u64(key: Key) -> np.ndarray:
    if isinstance(key, str):
        return np.uint64(stable_id(key))  # type: ignore[return-value]
    # int64 -> uint64 wraps negatives, which is fine for hashing.
    return np.asarray(key, dtype=np.int64).astype(np.uint64)


class KeyedNoise:
    """Deterministic noise addressed by keys.

    Args:
        seed: World seed; different seeds give independent worlds.

    Example:
        ``KeyedNoise(7).normal("eps", "NYC", ordinals)`` gives one N(0, 1) per ordinal.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        with np.errstate(over="ignore"):
            self._base = _mix(np.asarray(stable_id(f"seed:{self.seed}"), dtype=np.uint64))

    def bits(self, stream: str, *keys: Key) -> np.ndarray:
        """64 random bits per broadcast key combination."""
        with np.errstate(over="ignore"):
            h = self._base ^ _as_u64(stream)
            for key in keys:
                h = _mix(h ^ _mix(_as_u64(key) + _GOLD))
        return np.asarray(h)

    def uniform(self, stream: str, *keys: Key) -> np.ndarray:
        """U(0, 1) draws, strictly inside the interval."""
        return ((self.bits(stream, *keys) >> _S11).astype(np.float64) + 0.5) * 2.0**-53

    def normal(self, stream: str, *keys: Key) -> np.ndarray:
        """N(0, 1) draws (inverse-CDF of :meth:`uniform`)."""
        return ndtri(self.uniform(stream, *keys))

    def scalar_normal(self, stream: str, *keys: Hashable) -> float:
        """One N(0, 1) draw as a float (keys must be ints or strings)."""
        return float(self.normal(stream, *keys))  # type: ignore[arg-type]

    def scalar_uniform(self, stream: str, *keys: Hashable) -> float:
        """One U(0, 1) draw as a float (keys must be ints or strings)."""
        return float(self.uniform(stream, *keys))  # type: ignore[arg-type]
