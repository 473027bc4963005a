"""A client for the local exchange's sim-only ``/sim`` routes (never sent to a real exchange).

A replay reads the market as it was: :meth:`SimExchangeControl.sync_clock` winds the exchange's
clock to the pipeline's instant, or hands it back to wall time when that instant is now. The
routes answer signed requests from loopback only, so the control signs as the portfolio
clients do.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from weather_trader.kalshi_signing import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    load_private_key,
    sign_with_key,
)

WALL_TIME_TOLERANCE = timedelta(minutes=15)
"""An instant this close to now is "now": the exchange then runs on wall time."""


class SimExchangeControl:
    """Moves a local exchange's clock.

    Args:
        api_url: The exchange's REST base (``http://127.0.0.1:8100/trade-api/v2``); the
            ``/sim`` routes live at its origin.
        key_id: A key registered with the exchange.
        private_key: Its private key (signs each request).
        timeout: Seconds per request.
    """

    def __init__(
        self, api_url: str, key_id: str, private_key: rsa.RSAPrivateKey, timeout: float = 30.0
    ) -> None:
        parts = urlsplit(api_url)
        self.origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        self._key_id = key_id
        self._key = private_key
        self._http = httpx.Client(base_url=self.origin, timeout=timeout)

    @classmethod
    def from_key_file(
        cls,
        api_url: str,
        key_id: str | None,
        private_key_path: str | Path | None,
        passphrase: str | None = None,
    ) -> SimExchangeControl:
        """A control signing with the key in ``private_key_path``.

        Raises:
            ValueError: If the key id or file is missing.
            KalshiKeyError: If the file is not a private key.
        """
        if not key_id or not private_key_path:
            raise ValueError(
                "winding the local exchange's clock needs KALSHI_KEY_ID and "
                "KALSHI_PRIVATE_KEY_PATH (weather-trader exchange create-key)"
            )
        pem = Path(private_key_path).expanduser().read_bytes()
        key = load_private_key(pem, passphrase.encode() if passphrase else None)
        return cls(api_url, key_id, key)

    def _headers(self, method: str, path: str) -> dict[str, str]:
        ts = int(time.time() * 1000)
        return {
            KEY_HEADER: self._key_id,
            TIMESTAMP_HEADER: str(ts),
            SIGNATURE_HEADER: sign_with_key(self._key, ts, method, path),
        }

    def sync_clock(self, as_of: datetime) -> None:
        """Make the exchange's now ``as_of`` (wall time when ``as_of`` is about now).

        Raises:
            httpx.HTTPError: If the exchange refuses or cannot be reached.
        """
        path = "/sim/clock"
        if abs(datetime.now(UTC) - as_of) <= WALL_TIME_TOLERANCE:
            response = self._http.delete(path, headers=self._headers("DELETE", path))
        else:
            body = {"now": as_of.isoformat()}
            response = self._http.put(path, json=body, headers=self._headers("PUT", path))
        response.raise_for_status()

    def close(self) -> None:
        """Close the HTTP connection."""
        self._http.close()
