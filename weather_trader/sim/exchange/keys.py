"""API keys of the local exchange: public keys registered by key id, one account per key.

On disk (``$WEATHER_TRADER_HOME/exchange/keys/<key_id>.pem``) or in memory for tests. Only
public keys are stored; :func:`create_key` hands the private key to its owner in a 0600 file,
as Kalshi's site does (it never keeps the private key either).
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from weather_trader.kalshi_signing import generate_key_pair, load_public_key

_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ACCOUNT_NAMESPACE = uuid.UUID("5f0b1a52-6c1e-4c53-9d4e-3f1f2a7c9b10")


class KeyStoreError(ValueError):
    """A key id or key file is invalid."""


def account_id(key_id: str) -> str:
    """The account (``user_id``) a key id trades for: a stable UUID derived from the id."""
    return str(uuid.uuid5(_ACCOUNT_NAMESPACE, key_id))


def _check_key_id(key_id: str) -> str:
    if not _KEY_ID.match(key_id):
        raise KeyStoreError(
            f"invalid key id {key_id!r}: use 1-128 letters, digits, '.', '_' or '-'"
        )
    return key_id


class KeyStore:
    """Registered public keys by key id.

    Args:
        directory: Folder of ``<key_id>.pem`` public keys; None keeps keys in memory only.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def register(self, key_id: str, public_pem: bytes) -> str:
        """Register (or replace) the public key of ``key_id``.

        Returns:
            The account id the key trades for.

        Raises:
            KeyStoreError: On an invalid key id.
            KalshiKeyError: If the PEM is not an RSA public key.
        """
        _check_key_id(key_id)
        key = load_public_key(public_pem)
        if self.directory is not None:
            target = self.directory / f"{key_id}.pem"
            tmp = target.with_suffix(".pem.tmp")
            tmp.write_bytes(public_pem)
            os.replace(tmp, target)
        with self._lock:
            self._keys[key_id] = key
        return account_id(key_id)

    def get(self, key_id: str) -> rsa.RSAPublicKey | None:
        """The public key of ``key_id``, or None when unknown."""
        key = self._keys.get(key_id)
        if key is not None or self.directory is None or not _KEY_ID.match(key_id):
            return key
        path = self.directory / f"{key_id}.pem"
        if not path.is_file():
            return None
        key = load_public_key(path.read_bytes())
        with self._lock:
            self._keys[key_id] = key
        return key

    def key_ids(self) -> list[str]:
        """All registered key ids."""
        ids = set(self._keys)
        if self.directory is not None:
            ids.update(p.stem for p in self.directory.glob("*.pem"))
        return sorted(ids)


def create_key(store: KeyStore, private_key_path: Path, key_id: str | None = None) -> str:
    """Make an RSA key pair as Kalshi's site does: register the public half, hand out the other.

    The private key is written to ``private_key_path`` with 0600 permissions (created
    exclusively: an existing file is never overwritten).

    Returns:
        The new key id.

    Raises:
        FileExistsError: If ``private_key_path`` already exists.
    """
    key_id = _check_key_id(key_id or str(uuid.uuid4()))
    private_pem, public_pem = generate_key_pair()
    private_key_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    os.chmod(private_key_path, 0o600)
    store.register(key_id, public_pem)
    return key_id


LOCAL_KEY_ID = "local"


def local_key(exchange_home: Path) -> tuple[str, Path]:
    """The key the offline demo and ``make dev`` trade with, created on first use.

    Returns:
        ``(key id, private key file)``; the public key is registered in ``exchange_home``.
    """
    path = exchange_home / "private" / f"{LOCAL_KEY_ID}.pem"
    if not path.exists():
        create_key(KeyStore(exchange_home / "keys"), path, LOCAL_KEY_ID)
    return LOCAL_KEY_ID, path
