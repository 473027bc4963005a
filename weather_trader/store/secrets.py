"""Secrets encrypted at rest in the ``secrets`` table, and the master key that protects them.

The master key comes from ``WEATHER_TRADER_SECRET_KEY`` (base64 of 32 bytes) or, when that is
unset, from ``<home>/secret.key``, created with mode 0600 on first use. Rotation: decrypt
every row under the old key and encrypt it under the new one (:func:`reencrypt_all`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from weather_trader.core.secret_box import (
    Sealed,
    SecretBoxError,
    new_master_key,
    open_sealed,
    parse_master_key,
    private_key_fingerprint,
    seal,
)
from weather_trader.store.db import StoreError
from weather_trader.store.models import SecretRow

SECRET_KEY_VARIABLE = "WEATHER_TRADER_SECRET_KEY"
SECRET_KEY_FILE = "secret.key"
KALSHI_KEY = "kalshi_private_key"
"""Row name of the Kalshi API private key."""


class SecretStoreError(StoreError):
    """The master key or a stored secret is unusable (the message never holds the secret)."""


@dataclass(frozen=True)
class StoredKeyInfo:
    """What may be shown of the stored Kalshi key: never the key itself.

    Attributes:
        key_id: The Kalshi API key id.
        fingerprint: SHA-256 (hex) of the public key.
        updated_at: When it was stored.
        updated_by: Who stored it.
    """

    key_id: str
    fingerprint: str
    updated_at: datetime
    updated_by: str


def master_key_path(home: Path) -> Path:
    """Where the master key file lives in the home folder."""
    return home.expanduser() / SECRET_KEY_FILE


def load_master_key(home: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The master key: ``WEATHER_TRADER_SECRET_KEY``, else the home's key file (created 0600).

    Raises:
        SecretStoreError: If the variable or the file holds no valid key, or the file is
            readable by others.
    """
    environ = os.environ if environ is None else environ
    text = environ.get(SECRET_KEY_VARIABLE, "")
    source = SECRET_KEY_VARIABLE
    if not text:
        path = master_key_path(home)
        source = str(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it first: read theirs
                pass
            else:
                with os.fdopen(fd, "w") as out:
                    out.write(new_master_key() + "\n")
        if path.stat().st_mode & 0o077:
            raise SecretStoreError(f"{path} is readable by other users: chmod 600 it")
        text = path.read_text()
    try:
        return parse_master_key(text)
    except SecretBoxError as exc:
        raise SecretStoreError(f"{source}: {exc}") from None


def _aad(name: str, key_id: str) -> bytes:
    return f"weather-trader secret\x00{name}\x00{key_id}".encode()


def store_kalshi_key(
    session: Session,
    master: bytes,
    key_id: str,
    private_key_pem: bytes,
    username: str,
    now: datetime,
) -> StoredKeyInfo:
    """Validate and store a Kalshi key encrypted (replacing any stored one).

    Raises:
        SecretBoxError: If the PEM is not an unencrypted RSA private key of >= 2048 bits.
    """
    fingerprint = private_key_fingerprint(private_key_pem)
    sealed = seal(master, private_key_pem, _aad(KALSHI_KEY, key_id))
    row = session.get(SecretRow, KALSHI_KEY) or SecretRow(name=KALSHI_KEY)
    row.key_id, row.fingerprint = key_id, fingerprint
    row.nonce, row.ciphertext, row.master_key_id = (
        sealed.nonce,
        sealed.ciphertext,
        sealed.master_key_id,
    )
    row.updated_at, row.updated_by = now, username
    session.add(row)
    session.flush()
    return StoredKeyInfo(key_id, fingerprint, now, username)


def kalshi_key_info(session: Session) -> StoredKeyInfo | None:
    """The stored Kalshi key's id and fingerprint, None when none is stored."""
    row = session.get(SecretRow, KALSHI_KEY)
    if row is None:
        return None
    return StoredKeyInfo(row.key_id, row.fingerprint, row.updated_at, row.updated_by)


def load_kalshi_key(session: Session, master: bytes) -> tuple[str, bytes] | None:
    """The stored Kalshi key id and private key PEM, decrypted; None when none is stored.

    Raises:
        SecretStoreError: If it cannot be decrypted with ``master``.
    """
    row = session.get(SecretRow, KALSHI_KEY)
    if row is None:
        return None
    try:
        pem = open_sealed(master, _sealed(row), _aad(row.name, row.key_id))
    except SecretBoxError as exc:
        raise SecretStoreError(f"the stored Kalshi key: {exc}") from None
    return row.key_id, pem


def delete_kalshi_key(session: Session) -> bool:
    """Forget the stored Kalshi key; return whether one was stored."""
    row = session.get(SecretRow, KALSHI_KEY)
    if row is not None:
        session.delete(row)
        session.flush()
    return row is not None


def reencrypt_all(session: Session, old: bytes, new: bytes) -> int:
    """Re-encrypt every stored secret from master key ``old`` to ``new``; return how many.

    All or nothing within the caller's transaction.

    Raises:
        SecretStoreError: If a row does not decrypt under ``old``.
    """
    rows = list(session.scalars(select(SecretRow)))
    for row in rows:
        aad = _aad(row.name, row.key_id)
        try:
            plain = open_sealed(old, _sealed(row), aad)
        except SecretBoxError as exc:
            raise SecretStoreError(f"secret {row.name}: {exc}") from None
        sealed = seal(new, plain, aad)
        row.nonce, row.ciphertext, row.master_key_id = (
            sealed.nonce,
            sealed.ciphertext,
            sealed.master_key_id,
        )
    session.flush()
    return len(rows)


def _sealed(row: SecretRow) -> Sealed:
    return Sealed(row.nonce, row.ciphertext, row.master_key_id)
