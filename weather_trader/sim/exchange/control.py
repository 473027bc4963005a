"""A client for the local exchange's sim-only ``/sim`` routes (never sent to a real exchange).

A replay reads the market as it was: :meth:`SimExchangeControl.sync_clock` winds the exchange's
clock to the pipeline's instant, or hands it back to wall time when that instant is now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx

WALL_TIME_TOLERANCE = timedelta(minutes=15)
"""An instant this close to now is "now": the exchange then runs on wall time."""


class SimExchangeControl:
    """Moves a local exchange's clock.

    Args:
        api_url: The exchange's REST base (``http://127.0.0.1:8100/trade-api/v2``); the
            ``/sim`` routes live at its origin.
        timeout: Seconds per request.
    """

    def __init__(self, api_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(api_url)
        self.origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        self._http = httpx.Client(base_url=self.origin, timeout=timeout)

    def sync_clock(self, as_of: datetime) -> None:
        """Make the exchange's now ``as_of`` (wall time when ``as_of`` is about now).

        Raises:
            httpx.HTTPError: If the exchange refuses or cannot be reached.
        """
        if abs(datetime.now(UTC) - as_of) <= WALL_TIME_TOLERANCE:
            self._http.delete("/sim/clock").raise_for_status()
        else:
            self._http.put("/sim/clock", json={"now": as_of.isoformat()}).raise_for_status()

    def close(self) -> None:
        """Close the HTTP connection."""
        self._http.close()
