"""Client-side token buckets matching Kalshi's rate limits.

Kalshi bills every authenticated request in tokens from two independent per-second budgets:
*read* (GET endpoints and anything not routed elsewhere) and *write* (order placement, amends,
cancels, order groups). Most requests cost 10 tokens; a cancel costs 2; batch endpoints bill
every item (a batch create of N orders costs 10 N, a batch cancel 2 N). The write bucket holds
two seconds of budget, so idle time builds burst headroom. A 429 carries no ``Retry-After``,
so the cheapest way to stay fast is never to send a request the exchange would refuse.

The buckets here *reserve* tokens: :meth:`TokenBucket.acquire` takes its tokens at once (the
balance may go negative) and then sleeps until the balance is paid back. Concurrent threads so
queue in arrival order without busy-waiting, and the clock and sleep are injectable for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Bucket = Literal["read", "write"]

DEFAULT_COST = 10
"""Tokens most requests cost."""
CANCEL_COST = 2
"""Tokens one order cancellation costs (single cancel, or per item of a batch cancel)."""


@dataclass(frozen=True)
class TierLimits:
    """Per-second token budgets of one Kalshi API tier.

    Attributes:
        name: Tier name (``basic``).
        read_per_second: Read-bucket refill rate in tokens per second.
        write_per_second: Write-bucket refill rate in tokens per second.
    """

    name: str
    read_per_second: int
    write_per_second: int


TIERS: dict[str, TierLimits] = {
    t.name: t
    for t in (
        TierLimits("basic", 200, 100),
        TierLimits("advanced", 300, 300),
        TierLimits("premier", 1000, 1000),
        TierLimits("paragon", 2000, 2000),
        TierLimits("prime", 4000, 4000),
    )
}
"""Kalshi's published tiers (docs.kalshi.com, "Rate limits and tiers")."""

READ_BURST_SECONDS = 1.0
"""Read-bucket capacity in seconds of budget (Kalshi documents no read burst; be safe)."""
WRITE_BURST_SECONDS = 2.0
"""Write-bucket capacity in seconds of budget, as Kalshi documents it."""


def get_tier(name: str) -> TierLimits:
    """The limits of tier ``name`` (case-insensitive).

    Raises:
        ValueError: For an unknown tier name.
    """
    try:
        return TIERS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown Kalshi API tier {name!r}; known: {sorted(TIERS)}") from None


class TokenBucket:
    """A thread-safe token bucket that refills continuously.

    Args:
        rate: Tokens added per second.
        capacity: Most tokens the bucket holds (the burst); it starts full.
        clock: Monotonic clock in seconds.
        sleep: Sleep function used while waiting for tokens.

    Raises:
        ValueError: If ``rate`` or ``capacity`` is not positive.
    """

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError(f"rate and capacity must be positive; got {rate}, {capacity}")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._updated = clock()

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate}, capacity={self.capacity})"

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._updated = now

    def _check(self, tokens: float) -> None:
        if tokens <= 0 or tokens > self.capacity:
            raise ValueError(f"cannot take {tokens} tokens from a bucket of {self.capacity}")

    @property
    def available(self) -> float:
        """Tokens available now (negative while earlier reservations are being paid back)."""
        with self._lock:
            self._refill()
            return self._tokens

    def try_acquire(self, tokens: float) -> bool:
        """Take ``tokens`` if they are available now, without waiting.

        Raises:
            ValueError: If ``tokens`` is not positive or exceeds the capacity.
        """
        self._check(tokens)
        with self._lock:
            self._refill()
            if self._tokens >= tokens:
                self._tokens -= tokens
                return True
            return False

    def acquire(self, tokens: float) -> float:
        """Take ``tokens``, sleeping until the bucket can afford them.

        Returns:
            The seconds slept (0.0 when the tokens were there).

        Raises:
            ValueError: If ``tokens`` is not positive or exceeds the capacity (it could never
                be granted).
        """
        self._check(tokens)
        with self._lock:
            self._refill()
            self._tokens -= tokens
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait


class KalshiRateLimiter:
    """The read and write buckets of one API key, sized for its tier.

    Args:
        tier: Tier name (``basic``, ``advanced``, ``premier``, ``paragon``, ``prime``).
        clock: Monotonic clock shared by both buckets.
        sleep: Sleep function shared by both buckets.
        read_burst_seconds: Read capacity in seconds of the read budget.
        write_burst_seconds: Write capacity in seconds of the write budget.

    Raises:
        ValueError: For an unknown tier.
    """

    def __init__(
        self,
        tier: str = "basic",
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        read_burst_seconds: float = READ_BURST_SECONDS,
        write_burst_seconds: float = WRITE_BURST_SECONDS,
    ) -> None:
        self.tier = get_tier(tier)
        limits = self.tier
        self.read = TokenBucket(
            limits.read_per_second,
            limits.read_per_second * read_burst_seconds,
            clock=clock,
            sleep=sleep,
        )
        self.write = TokenBucket(
            limits.write_per_second,
            limits.write_per_second * write_burst_seconds,
            clock=clock,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"KalshiRateLimiter(tier={self.tier.name!r})"

    def bucket(self, kind: Bucket) -> TokenBucket:
        """The ``read`` or ``write`` bucket."""
        return self.read if kind == "read" else self.write

    def acquire(self, kind: Bucket, cost: float = DEFAULT_COST) -> float:
        """Take ``cost`` tokens from the ``kind`` bucket, waiting if needed.

        Returns:
            The seconds slept.

        Raises:
            ValueError: If ``cost`` exceeds the bucket's capacity (split the batch).
        """
        return self.bucket(kind).acquire(cost)
