"""The exchange clock: real wall time, or a simulated instant moved by the offline demo."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from weather_trader.sim.exchange.errors import BadRequestError


def aware_utc(moment: datetime) -> datetime:
    """``moment`` in UTC.

    Raises:
        BadRequestError: If ``moment`` is naive (an instant needs an offset).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadRequestError(f"time must carry a UTC offset, got {moment.isoformat()}")
    return moment.astimezone(UTC)


class ExchangeClock:
    """What time it is on the exchange.

    By default it reads the real wall clock. Once :meth:`set` (or :meth:`advance`) is called,
    or when built with :meth:`simulated`, it is frozen at the given instant until moved again:
    the sim drives it (the offline demo replays past days). Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fixed: datetime | None = None

    @classmethod
    def simulated(cls, start: datetime) -> ExchangeClock:
        """A clock frozen at ``start`` until moved."""
        clock = cls()
        clock.set(start)
        return clock

    @property
    def is_simulated(self) -> bool:
        """True when the clock is sim-driven rather than wall time."""
        return self._fixed is not None

    def now(self) -> datetime:
        """The exchange's current instant (UTC, timezone-aware)."""
        fixed = self._fixed
        return datetime.now(UTC) if fixed is None else fixed

    def set(self, moment: datetime) -> datetime:
        """Move the clock to ``moment`` (forward or back) and freeze it there.

        Returns:
            The previous instant.

        Raises:
            BadRequestError: If ``moment`` is naive.
        """
        moment = aware_utc(moment)
        with self._lock:
            previous = self.now()
            self._fixed = moment
        return previous

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta``; returns the new instant."""
        with self._lock:
            self._fixed = self.now() + delta
            return self._fixed

    def use_wall_time(self) -> None:
        """Go back to the real wall clock."""
        with self._lock:
            self._fixed = None
