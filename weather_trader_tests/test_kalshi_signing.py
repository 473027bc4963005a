"""Kalshi request signing: RSA-PSS over timestamp + METHOD + path, and key handling."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from weather_trader.kalshi_signing import (
    KalshiKeyError,
    generate_key_pair,
    load_private_key,
    load_public_key,
    sign_request,
    verify_signature,
)

PRIVATE, PUBLIC = generate_key_pair()
TS = 1_764_172_800_000
PATH = "/trade-api/v2/portfolio/balance"


def test_signature_is_rsa_pss_sha256_with_digest_length_salt_over_ts_method_path() -> None:
    signature = sign_request(PRIVATE, TS, "get", PATH + "?limit=5")
    # Verified independently of our verify_signature: exactly Kalshi's parameters.
    load_public_key(PUBLIC).verify(
        base64.b64decode(signature),
        f"{TS}GET{PATH}".encode(),  # upper-cased method, no query string
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    assert signature != sign_request(PRIVATE, TS, "GET", PATH)  # PSS is randomised


def test_verify_rejects_another_request_key_or_garbage() -> None:
    public = load_public_key(PUBLIC)
    good = sign_request(PRIVATE, TS, "POST", PATH)
    assert verify_signature(public, TS, "POST", PATH, good)
    assert not verify_signature(public, TS + 1, "POST", PATH, good)
    assert not verify_signature(public, TS, "GET", PATH, good)
    assert not verify_signature(public, TS, "POST", PATH + "x", good)
    assert not verify_signature(load_public_key(generate_key_pair()[1]), TS, "POST", PATH, good)
    assert not verify_signature(public, TS, "POST", PATH, "not base64!")


def test_encrypted_keys_need_their_passphrase() -> None:
    key = load_private_key(PRIVATE)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    assert load_private_key(encrypted, b"s3cret").key_size == 2048
    with pytest.raises(KalshiKeyError, match="cannot load the Kalshi private key"):
        load_private_key(encrypted, b"wrong")
    with pytest.raises(KalshiKeyError):
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KalshiKeyError):
        load_public_key(b"garbage")
