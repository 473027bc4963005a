from __future__ import annotations

import os
import stat
import time

import pytest

from weather_trader.kalshi_signing import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    KalshiKeyError,
    load_private_key,
)
from weather_trader.sim.exchange.auth import authenticate
from weather_trader.sim.exchange.errors import AuthError
from weather_trader.sim.exchange.keys import KeyStore, KeyStoreError, account_id, create_key
from weather_trader.sources.kalshi.auth import KalshiCredentials
from weather_trader_tests.sim.exchange.conftest import API, Exchange

BALANCE = "/portfolio/balance"


def test_good_signature_opens_an_account_with_1000_dollars(shared: Exchange) -> None:
    api = shared.api()
    r = api.get(BALANCE)
    assert r.status_code == 200
    assert r.json()["balance"] == 100_000
    assert r.json()["portfolio_value"] == 0
    assert api.checked == ["GET /portfolio/balance 200"]


@pytest.mark.parametrize("case", ["bad-signature", "stale", "future", "unknown-key", "missing"])
def test_bad_credentials_get_401_with_the_envelope(shared: Exchange, case: str) -> None:
    api = shared.api()
    path = API + BALANCE
    headers = api.creds.headers("GET", path)
    if case == "bad-signature":  # signed for another path
        headers = api.creds.headers("GET", API + "/portfolio/positions")
    elif case == "stale":
        headers = api.creds.headers("GET", path, timestamp_ms=int(time.time() * 1000) - 60_000)
    elif case == "future":
        headers = api.creds.headers("GET", path, timestamp_ms=int(time.time() * 1000) + 60_000)
    elif case == "unknown-key":
        headers[KEY_HEADER] = "never-registered"
    else:
        headers = {}
    r = api.client.get(path, headers=headers)
    assert r.status_code == 401
    body = r.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "authentication_error"


def test_public_data_needs_no_key_but_rejects_a_bad_one(shared: Exchange) -> None:
    api = shared.api()
    assert api.get("/markets", sign=False, params={"limit": 1}).status_code == 200
    headers = api.creds.headers("GET", API + "/series")
    assert api.client.get(API + "/markets", headers=headers).status_code == 401


def test_authenticate_window_is_measured_on_the_wall_clock(keypair) -> None:  # type: ignore[no-untyped-def]
    private_pem, public_pem = keypair
    keys = KeyStore()
    keys.register("k", public_pem)
    creds = KalshiCredentials.from_pem("k", private_pem)
    headers = creds.headers("GET", "/trade-api/v2/portfolio/balance", timestamp_ms=1_000_000)
    user = authenticate(keys, headers, "GET", "/trade-api/v2/portfolio/balance?x=1",
                        now_ms=1_020_000)  # fmt: skip
    assert user == account_id("k")
    with pytest.raises(AuthError, match="expired"):
        authenticate(keys, headers, "GET", "/trade-api/v2/portfolio/balance", now_ms=1_040_001)
    tampered = {**headers, SIGNATURE_HEADER: headers[SIGNATURE_HEADER][:-4] + "AAAA"}
    with pytest.raises(AuthError, match="signature"):
        authenticate(keys, tampered, "GET", "/trade-api/v2/portfolio/balance", now_ms=1_000_000)
    with pytest.raises(AuthError, match="timestamp"):
        authenticate(keys, {**headers, TIMESTAMP_HEADER: "soon"}, "GET", "/x", now_ms=1)


def test_key_store_persists_and_refuses_bad_input(tmp_path, keypair) -> None:  # type: ignore[no-untyped-def]
    _, public_pem = keypair
    KeyStore(tmp_path).register("alice", public_pem)
    again = KeyStore(tmp_path)
    assert again.get("alice") is not None
    assert again.key_ids() == ["alice"]
    assert again.get("bob") is None
    with pytest.raises(KeyStoreError):
        again.register("../evil", public_pem)
    with pytest.raises(KalshiKeyError):
        again.register("carol", b"not a pem")


def test_create_key_writes_a_0600_private_key_and_registers_the_public_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = KeyStore(tmp_path / "keys")
    path = tmp_path / "private" / "me.pem"
    key_id = create_key(store, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    private = load_private_key(path.read_bytes())
    assert store.get(key_id).public_numbers() == private.public_key().public_numbers()  # type: ignore[union-attr]
    with pytest.raises(FileExistsError):
        create_key(store, path)
