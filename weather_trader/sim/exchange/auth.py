"""Checking Kalshi's signed-request headers against the key store.

A request is accepted when ``KALSHI-ACCESS-KEY`` names a registered key, the RSA-PSS
signature over ``timestamp + METHOD + path`` verifies, and ``KALSHI-ACCESS-TIMESTAMP`` is
within :data:`MAX_SKEW_MS` of the REAL wall clock (not the exchange clock, which the sim may
have moved into the past). Kalshi's documentation does not state its window; 30 s is ours.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from weather_trader.kalshi_signing import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from weather_trader.sim.exchange.errors import AuthError
from weather_trader.sim.exchange.keys import KeyStore, account_id

MAX_SKEW_MS = 30_000


def has_credentials(headers: Mapping[str, str]) -> bool:
    """Whether any of the three auth headers is present."""
    return any(h in headers for h in (KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))


def authenticate(
    keys: KeyStore,
    headers: Mapping[str, str],
    method: str,
    path: str,
    *,
    max_skew_ms: int = MAX_SKEW_MS,
    now_ms: int | None = None,
) -> str:
    """The account id of a correctly signed request.

    Args:
        keys: Registered public keys.
        headers: Request headers (case-insensitive mapping).
        method: HTTP method.
        path: Request path including ``/trade-api/v2`` (a query string is ignored).
        max_skew_ms: Largest accepted distance between the timestamp and the wall clock.
        now_ms: The wall clock in ms (for tests); default the real time.

    Raises:
        AuthError: Missing header, unknown key, stale timestamp or bad signature.
    """
    key_id = headers.get(KEY_HEADER)
    stamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not key_id or not stamp or not signature:
        raise AuthError(
            "missing authentication headers",
            details=f"{KEY_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required",
        )
    public_key = keys.get(key_id)
    if public_key is None:
        raise AuthError("unknown API key", details="the key id is not registered")
    try:
        timestamp_ms = int(stamp)
    except ValueError:
        raise AuthError("invalid timestamp", details="timestamp must be milliseconds") from None
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now - timestamp_ms) > max_skew_ms:
        raise AuthError(
            "request timestamp expired",
            details=f"timestamp must be within {max_skew_ms // 1000} s of the server clock",
        )
    if not verify_signature(public_key, timestamp_ms, method, path, signature):
        raise AuthError("invalid signature", details="signature does not verify")
    return account_id(key_id)
