"""Kalshi's request signature, shared by the client and the local exchange.

RSA-PSS (SHA-256, MGF1-SHA-256, salt = digest length), base64. The signed message is
``timestamp_ms + METHOD + path``, where ``path`` includes ``/trade-api/v2`` and excludes the
query string. A leaf module (stdlib and ``cryptography`` only), so the exchange can check
signatures without importing the client. Key material never reaches a log or a repr.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_HEADER = "KALSHI-ACCESS-KEY"
TIMESTAMP_HEADER = "KALSHI-ACCESS-TIMESTAMP"
SIGNATURE_HEADER = "KALSHI-ACCESS-SIGNATURE"

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


class KalshiKeyError(ValueError):
    """A key could not be loaded (wrong format, wrong passphrase, not RSA)."""


def _message(timestamp_ms: int, method: str, path: str) -> bytes:
    return f"{int(timestamp_ms)}{method.upper()}{path.split('?', 1)[0]}".encode()


def load_private_key(pem: bytes, passphrase: bytes | None = None) -> rsa.RSAPrivateKey:
    """Load an RSA private key from PEM (PKCS#1 or PKCS#8, optionally encrypted).

    Raises:
        KalshiKeyError: If the PEM is unreadable, the passphrase wrong, or the key not RSA.
    """
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError) as exc:
        # The library's message never contains key material; keep it for the reason.
        raise KalshiKeyError(f"cannot load the Kalshi private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KalshiKeyError("the Kalshi private key must be an RSA key")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """Load an RSA public key from PEM.

    Raises:
        KalshiKeyError: If the PEM is unreadable or the key is not RSA.
    """
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise KalshiKeyError(f"cannot load the Kalshi public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KalshiKeyError("the Kalshi public key must be an RSA key")
    return key


def sign_with_key(key: rsa.RSAPrivateKey, timestamp_ms: int, method: str, path: str) -> str:
    """Sign one request with an already loaded key (the fast path for clients)."""
    return base64.b64encode(
        key.sign(_message(timestamp_ms, method, path), _PSS, hashes.SHA256())
    ).decode()


def sign_request(private_key_pem: bytes, timestamp_ms: int, method: str, path: str) -> str:
    """Kalshi's ``KALSHI-ACCESS-SIGNATURE`` for one request.

    Args:
        private_key_pem: The unencrypted RSA private key in PEM.
        timestamp_ms: Milliseconds since the epoch, as sent in ``KALSHI-ACCESS-TIMESTAMP``.
        method: HTTP method (any case).
        path: Request path including ``/trade-api/v2``; a query string is ignored.

    Returns:
        The base64 signature.
    """
    return sign_with_key(load_private_key(private_key_pem), timestamp_ms, method, path)


def verify_signature(
    public_key: rsa.RSAPublicKey, timestamp_ms: int, method: str, path: str, signature: str
) -> bool:
    """True when ``signature`` is a valid Kalshi signature of the request by ``public_key``."""
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, _message(timestamp_ms, method, path), _PSS, hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def generate_key_pair() -> tuple[bytes, bytes]:
    """A new 2048-bit RSA key pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public
