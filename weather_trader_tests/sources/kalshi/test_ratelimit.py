"""Kalshi token buckets: tier sizes, refill, reservations, waits and thread safety."""

from __future__ import annotations

import threading

import pytest

from weather_trader.sources.kalshi.ratelimit import (
    CANCEL_COST,
    DEFAULT_COST,
    TIERS,
    KalshiRateLimiter,
    TokenBucket,
    get_tier,
)


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def test_tiers_match_kalshi_docs() -> None:
    assert (TIERS["basic"].read_per_second, TIERS["basic"].write_per_second) == (200, 100)
    assert (TIERS["advanced"].read_per_second, TIERS["advanced"].write_per_second) == (300, 300)
    assert TIERS["premier"].read_per_second == 1000
    assert TIERS["paragon"].write_per_second == 2000
    assert TIERS["prime"].read_per_second == 4000
    assert (DEFAULT_COST, CANCEL_COST) == (10, 2)
    assert get_tier(" Basic ").name == "basic"
    with pytest.raises(ValueError, match="unknown Kalshi API tier"):
        get_tier("platinum")


def test_basic_limiter_bucket_sizes() -> None:
    t = FakeTime()
    limiter = KalshiRateLimiter("basic", clock=t.clock, sleep=t.sleep)
    assert (limiter.read.rate, limiter.read.capacity) == (200, 200)
    assert (limiter.write.rate, limiter.write.capacity) == (100, 200)  # two seconds of burst
    assert limiter.bucket("read") is limiter.read and limiter.bucket("write") is limiter.write
    assert "basic" in repr(limiter)


def test_burst_then_wait_for_refill() -> None:
    t = FakeTime()
    limiter = KalshiRateLimiter("basic", clock=t.clock, sleep=t.sleep)
    for _ in range(20):  # 20 reads x 10 tokens = the whole 200-token read bucket
        assert limiter.acquire("read") == 0.0
    assert t.sleeps == []
    waited = limiter.acquire("read")  # the 21st read waits 10 tokens / 200 per s
    assert waited == pytest.approx(0.05)
    assert t.sleeps == [pytest.approx(0.05)]
    # Reads and writes are independent budgets.
    assert limiter.acquire("write", 200) == 0.0
    assert limiter.acquire("write", CANCEL_COST) == pytest.approx(0.02)


def test_refill_caps_at_capacity() -> None:
    t = FakeTime()
    bucket = TokenBucket(10, 20, clock=t.clock, sleep=t.sleep)
    assert bucket.try_acquire(20)
    assert not bucket.try_acquire(1)
    t.now += 1.0
    assert bucket.available == pytest.approx(10)
    t.now += 100.0
    assert bucket.available == pytest.approx(20)


def test_reservations_queue_in_order() -> None:
    t = FakeTime()
    bucket = TokenBucket(10, 10, clock=t.clock, sleep=t.sleep)
    assert bucket.acquire(10) == 0.0
    # Nothing left: each further 10-token request owes one more second than the previous,
    # measured at the time it was made (the fake clock only moves when someone sleeps).
    assert bucket.acquire(10) == pytest.approx(1.0)
    assert bucket.acquire(10) == pytest.approx(1.0)
    assert t.now == pytest.approx(102.0)
    assert bucket.available == pytest.approx(0.0)


def test_invalid_requests() -> None:
    bucket = TokenBucket(10, 20)
    for bad in (0, -1, 21):
        with pytest.raises(ValueError):
            bucket.acquire(bad)
        with pytest.raises(ValueError):
            bucket.try_acquire(bad)
    with pytest.raises(ValueError):
        TokenBucket(0, 10)
    with pytest.raises(ValueError):
        TokenBucket(10, 0)
    assert "rate=10.0" in repr(bucket)


def test_thread_safe_accounting() -> None:
    t = FakeTime()
    bucket = TokenBucket(100, 1000, clock=t.clock, sleep=t.sleep)
    granted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            ok = bucket.try_acquire(1)
            with lock:
                granted.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 2000 attempts on a frozen clock: exactly the 1000 tokens in the bucket are granted.
    assert granted.count(True) == 1000
    assert bucket.available == pytest.approx(0.0)
