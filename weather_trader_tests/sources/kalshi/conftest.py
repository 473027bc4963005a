"""Fixtures of the Kalshi client tests: one API key per test module."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from weather_trader.kalshi_signing import generate_key_pair, load_public_key
from weather_trader.sources.kalshi.auth import KalshiCredentials


@pytest.fixture(scope="module")
def keys() -> tuple[KalshiCredentials, rsa.RSAPublicKey]:
    private_pem, public_pem = generate_key_pair()
    return KalshiCredentials.from_pem("key-id-123", private_pem), load_public_key(public_pem)


@pytest.fixture
def creds(keys: tuple[KalshiCredentials, rsa.RSAPublicKey]) -> KalshiCredentials:
    return keys[0]
