"""Password hashing for the cockpit's users: argon2id with the library's current parameters."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024


class PasswordError(ValueError):
    """A password that cannot be used (too short or too long); never quotes the password."""


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``.

    Raises:
        PasswordError: If it is shorter than :data:`MIN_PASSWORD_LENGTH` characters or longer
            than :data:`MAX_PASSWORD_LENGTH`.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a malformed hash)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with older parameters than the library's current ones."""
    return _HASHER.check_needs_rehash(password_hash)


DUMMY_HASH = _HASHER.hash("not a real password, for constant-time unknown users")
"""Verified against when the user is unknown, so the answer takes as long as for a known one."""
