"""The client's Kalshi API credentials: a key id and its loaded private key, signing headers.

The signature itself is :mod:`weather_trader.kalshi_signing` (shared with the local exchange).
Key material never reaches a log or a repr.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from weather_trader.kalshi_signing import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    KalshiKeyError,
    load_private_key,
    sign_with_key,
)


@dataclass(frozen=True)
class KalshiCredentials:
    """An API key id and its private key; ``repr`` shows the id only.

    Attributes:
        key_id: The API key id (``KALSHI-ACCESS-KEY``).
        private_key: The loaded RSA private key.
    """

    key_id: str
    private_key: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def from_pem(
        cls, key_id: str, private_key_pem: bytes, passphrase: bytes | None = None
    ) -> KalshiCredentials:
        """Credentials from a key id and a PEM private key (optionally encrypted)."""
        return cls(key_id, load_private_key(private_key_pem, passphrase))

    @classmethod
    def from_file(
        cls, key_id: str, private_key_path: str | Path, passphrase: str | None = None
    ) -> KalshiCredentials:
        """Credentials from a key id and a PEM file.

        Raises:
            KalshiKeyError: If the file is missing or unreadable as a key.
        """
        path = Path(private_key_path).expanduser()
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise KalshiKeyError(
                f"cannot read the Kalshi private key {path}: {exc.strerror}"
            ) from None
        return cls.from_pem(key_id, pem, passphrase.encode() if passphrase else None)

    def headers(self, method: str, path: str, timestamp_ms: int | None = None) -> dict[str, str]:
        """The three auth headers for a request to ``path`` (signed now unless given a time)."""
        ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        return {
            KEY_HEADER: self.key_id,
            TIMESTAMP_HEADER: str(ts),
            SIGNATURE_HEADER: sign_with_key(self.private_key, ts, method, path),
        }
