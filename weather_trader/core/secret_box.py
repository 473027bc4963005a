"""Secrets encrypted at rest: AES-256-GCM under a master key, and Kalshi private key checks.

Pure: the master key and the stored ciphertext come from the caller (``store/secrets.py``).
Each encryption uses a fresh random 96-bit nonce; the associated data binds a ciphertext to
what it is for (the Kalshi key id), so a ciphertext moved to another row fails to decrypt.
No function here puts secret material in an exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER_KEY_BYTES = 32
NONCE_BYTES = 12


class SecretBoxError(ValueError):
    """A master key, ciphertext or private key is unusable (never quoting the secret)."""


def parse_master_key(text: str) -> bytes:
    """A master key from its base64 text (32 bytes once decoded).

    Raises:
        SecretBoxError: If it is not base64 of exactly 32 bytes.
    """
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SecretBoxError("the master key is not valid base64") from None
    if len(key) != MASTER_KEY_BYTES:
        raise SecretBoxError(
            f"the master key must be {MASTER_KEY_BYTES} bytes (base64), got {len(key)}"
        )
    return key


def new_master_key() -> str:
    """A fresh random master key as base64 text."""
    return base64.b64encode(os.urandom(MASTER_KEY_BYTES)).decode()


def master_key_id(key: bytes) -> str:
    """A short public identifier of a master key (which key encrypted a row), not the key."""
    return hashlib.sha256(b"weather-trader master key id\x00" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Sealed:
    """An encrypted secret.

    Attributes:
        nonce: The 96-bit GCM nonce.
        ciphertext: Ciphertext and tag.
        master_key_id: :func:`master_key_id` of the key that sealed it.
    """

    nonce: bytes
    ciphertext: bytes = field(repr=False)
    master_key_id: str


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> Sealed:
    """Encrypt ``plaintext`` with AES-256-GCM under ``key``, bound to ``associated_data``."""
    nonce = os.urandom(NONCE_BYTES)
    return Sealed(nonce, AESGCM(key).encrypt(nonce, plaintext, associated_data), master_key_id(key))


def open_sealed(key: bytes, sealed: Sealed, associated_data: bytes) -> bytes:
    """Decrypt ``sealed``.

    Raises:
        SecretBoxError: If ``key`` is not the one that sealed it, or the data was altered.
    """
    if sealed.master_key_id != master_key_id(key):
        raise SecretBoxError(
            "the secret was encrypted under another master key "
            f"(id {sealed.master_key_id}; this key's id is {master_key_id(key)})"
        )
    try:
        return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, associated_data)
    except InvalidTag:
        raise SecretBoxError("the secret failed authentication (altered or misfiled)") from None


def private_key_fingerprint(private_key_pem: bytes) -> str:
    """The SHA-256 (hex) of the public key of an unencrypted RSA private key in PEM.

    Raises:
        SecretBoxError: If the PEM is not an unencrypted RSA private key of >= 2048 bits.
    """
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except TypeError:
        raise SecretBoxError(
            "the private key is encrypted: store it without a passphrase"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise SecretBoxError("not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SecretBoxError("Kalshi keys are RSA; this private key is not")
    if key.key_size < 2048:
        raise SecretBoxError(f"the RSA key has {key.key_size} bits; at least 2048 are needed")
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()
