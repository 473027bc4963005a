"""The client's Kalshi credentials: signed headers from a key file, never showing the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from weather_trader.kalshi_signing import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    KalshiKeyError,
    generate_key_pair,
    load_public_key,
    verify_signature,
)
from weather_trader.sources.kalshi.auth import KalshiCredentials

PRIVATE, PUBLIC = generate_key_pair()
TS = 1_764_172_800_000
PATH = "/trade-api/v2/portfolio/balance"


def test_credentials_sign_headers_and_never_show_the_key(tmp_path: Path) -> None:
    path = tmp_path / "kalshi.pem"
    path.write_bytes(PRIVATE)
    creds = KalshiCredentials.from_file("key-1", path)
    headers = creds.headers("GET", PATH, timestamp_ms=TS)
    assert headers[KEY_HEADER] == "key-1" and headers[TIMESTAMP_HEADER] == str(TS)
    assert verify_signature(load_public_key(PUBLIC), TS, "GET", PATH, headers[SIGNATURE_HEADER])
    assert repr(creds) == "KalshiCredentials(key_id='key-1')"
    with pytest.raises(KalshiKeyError, match="cannot read the Kalshi private key"):
        KalshiCredentials.from_file("key-1", tmp_path / "missing.pem")
