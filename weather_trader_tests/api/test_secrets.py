"""The Kalshi key encrypted at rest: AES-256-GCM round trip, the master key, rotation, the API
and CLI never giving it back, no log line holding it, and the brokers loading it."""

from __future__ import annotations

import base64
import io
import logging
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from weather_trader import cli
from weather_trader.core.secret_box import (
    SecretBoxError,
    master_key_id,
    new_master_key,
    open_sealed,
    parse_master_key,
    private_key_fingerprint,
    seal,
)
from weather_trader.defs.resources import KalshiApiResource
from weather_trader.kalshi_signing import generate_key_pair, load_public_key, verify_signature
from weather_trader.store import secrets
from weather_trader.store.db import make_engine, session_scope
from weather_trader.store.models import SecretRow
from weather_trader_tests.api.conftest import TestClient

PRIVATE_PEM, PUBLIC_PEM = generate_key_pair()
KEY_BODY = PRIVATE_PEM.decode().splitlines()[5]
"""A line from inside the PEM: must never show up in a response, a row or a log."""
KEY_ID = "0b5e2a7c-1111-2222-3333-444455556666"


@pytest.fixture(autouse=True)
def no_env_master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(secrets.SECRET_KEY_VARIABLE, raising=False)


def test_seal_round_trip_binds_key_and_associated_data() -> None:
    key, other = parse_master_key(new_master_key()), parse_master_key(new_master_key())
    sealed = seal(key, b"secret", b"kalshi\x00id-1")
    assert len(sealed.nonce) == 12 and b"secret" not in sealed.ciphertext
    assert open_sealed(key, sealed, b"kalshi\x00id-1") == b"secret"
    assert seal(key, b"secret", b"ad").nonce != seal(key, b"secret", b"ad").nonce
    with pytest.raises(SecretBoxError, match="another master key"):
        open_sealed(other, sealed, b"kalshi\x00id-1")
    with pytest.raises(SecretBoxError, match="authentication"):
        open_sealed(key, sealed, b"kalshi\x00id-2")  # moved to another key id
    assert master_key_id(key) != master_key_id(other)


@pytest.mark.parametrize("text", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_master_key_is_refused(text: str) -> None:
    with pytest.raises(SecretBoxError):
        parse_master_key(text)


def test_private_key_checks() -> None:
    from cryptography.hazmat.primitives import hashes, serialization

    der = load_public_key(PUBLIC_PEM).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    assert private_key_fingerprint(PRIVATE_PEM) == digest.finalize().hex()
    with pytest.raises(SecretBoxError, match="not a PEM private key"):
        private_key_fingerprint(PUBLIC_PEM)
    with pytest.raises(SecretBoxError, match="not a PEM"):
        private_key_fingerprint(b"garbage")
    from weather_trader.kalshi_signing import load_private_key

    encrypted = load_private_key(PRIVATE_PEM).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass"),
    )
    with pytest.raises(SecretBoxError, match="encrypted"):
        private_key_fingerprint(encrypted)


def test_master_key_file_is_created_0600_and_the_variable_wins(tmp_path: Path) -> None:
    key = secrets.load_master_key(tmp_path)
    path = secrets.master_key_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secrets.load_master_key(tmp_path) == key  # the same key on every use
    env_key = new_master_key()
    assert secrets.load_master_key(tmp_path, {secrets.SECRET_KEY_VARIABLE: env_key}) == (
        parse_master_key(env_key)
    )
    path.chmod(0o644)
    with pytest.raises(secrets.SecretStoreError, match="chmod 600"):
        secrets.load_master_key(tmp_path)


def test_store_round_trip_and_rotation(database_url: str) -> None:
    engine = make_engine(database_url)
    old, new = parse_master_key(new_master_key()), parse_master_key(new_master_key())
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        info = secrets.store_kalshi_key(session, old, KEY_ID, PRIVATE_PEM, "ops", now)
    with session_scope(engine) as session:
        row = session.scalars(select(SecretRow)).one()
        assert KEY_BODY.encode() not in row.ciphertext and b"PRIVATE KEY" not in row.ciphertext
        assert secrets.load_kalshi_key(session, old) == (KEY_ID, PRIVATE_PEM)
        assert secrets.kalshi_key_info(session) == info
        assert secrets.reencrypt_all(session, old, new) == 1
    with session_scope(engine) as session:
        assert secrets.load_kalshi_key(session, new) == (KEY_ID, PRIVATE_PEM)
        with pytest.raises(secrets.SecretStoreError, match="another master key"):
            secrets.load_kalshi_key(session, old)
    engine.dispose()


def _all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)


def test_the_api_stores_the_key_and_never_gives_it_back(
    client: TestClient, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    assert client.get("/api/settings/kalshi-key").json() == {
        "configured": False, "key_id": None, "fingerprint": None, "updated_at": None,
        "updated_by": None,
    }  # fmt: skip
    put = client.put(
        "/api/settings/kalshi-key", json={"key_id": KEY_ID, "private_key_pem": PRIVATE_PEM.decode()}
    )
    assert put.status_code == 200, put.text
    got = client.get("/api/settings/kalshi-key").json()
    assert got["key_id"] == KEY_ID and got["fingerprint"] == private_key_fingerprint(PRIVATE_PEM)
    assert got["updated_by"] == "tester"

    bad = client.put(
        "/api/settings/kalshi-key",
        json={"key_id": KEY_ID, "private_key_pem": PRIVATE_PEM.decode()[:-80]},  # truncated
    )
    assert bad.status_code == 422 and "private_key_pem" in bad.json()["error"]["message"]
    wrong_id = client.put(
        "/api/settings/kalshi-key", json={"key_id": "a b", "private_key_pem": PRIVATE_PEM.decode()}
    )
    assert wrong_id.status_code == 422

    every_response = [
        put.text, bad.text, wrong_id.text,
        *(client.get(p).text for p in ("/api/settings", "/api/settings/kalshi-key",
                                       "/api/settings/audit", "/api/overview", "/openapi.json")),
    ]  # fmt: skip
    for text in every_response:
        assert KEY_BODY not in text and "PRIVATE KEY-----" not in text.replace("\\n", "")
    assert KEY_BODY not in _all_log_text(caplog)
    assert stat.S_IMODE(secrets.master_key_path(tmp_path).stat().st_mode) == 0o600

    assert client.delete("/api/settings/kalshi-key").json()["configured"] is False


def test_the_broker_signs_with_the_stored_key_when_no_path_is_set(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    client.put(
        "/api/settings/kalshi-key", json={"key_id": KEY_ID, "private_key_pem": PRIVATE_PEM.decode()}
    )
    resource = KalshiApiResource(
        api_url="https://demo-api.kalshi.co/trade-api/v2",
        database_url=database_url,
        home=str(tmp_path),
    )
    assert resource.has_key
    rest = resource.rest(signed=True)
    credentials = rest._credentials  # the loaded key (private to the transport)
    headers = credentials.headers("GET", "/trade-api/v2/portfolio/balance", 1_700_000_000_000)
    assert headers["KALSHI-ACCESS-KEY"] == KEY_ID
    assert verify_signature(
        load_public_key(PUBLIC_PEM), 1_700_000_000_000, "GET",
        "/trade-api/v2/portfolio/balance", headers["KALSHI-ACCESS-SIGNATURE"],
    )  # fmt: skip
    assert "PRIVATE" not in repr(credentials)
    empty = KalshiApiResource(api_url="https://x.example", database_url=None, home=None)
    assert not empty.has_key


def test_cli_users_and_kalshi_key(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("WEATHER_TRADER_HOME", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert cli.main(["users", "add", "ops", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["users", "add", "bob", "--password-stdin"]) == 2
    assert cli.main(["users", "add", "bad name", "--password-stdin"]) == 2
    assert cli.main(["users", "list"]) == 0
    out = capsys.readouterr()
    assert "ops\tsince" in out.out and "bob" not in out.out and "at least 12" in out.err

    pem_file = tmp_path / "k.pem"
    pem_file.write_bytes(PRIVATE_PEM)
    assert cli.main(["kalshi-key", "set", KEY_ID, "--pem-file", str(pem_file)]) == 0
    assert cli.main(["kalshi-key", "show"]) == 0
    before = secrets.load_master_key(tmp_path)
    assert cli.main(["kalshi-key", "rotate-master-key"]) == 0
    after = secrets.load_master_key(tmp_path)
    assert after != before
    assert stat.S_IMODE(secrets.master_key_path(tmp_path).stat().st_mode) == 0o600
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        assert secrets.load_kalshi_key(session, after) == (KEY_ID, PRIVATE_PEM)
    engine.dispose()
    assert cli.main(["users", "remove", "ops"]) == 0
    out = capsys.readouterr().out
    assert KEY_ID in out and private_key_fingerprint(PRIVATE_PEM) in out
    assert KEY_BODY not in out
    assert os.environ.get(secrets.SECRET_KEY_VARIABLE) is None
