"""Users and their login sessions (the sidecar's authentication), in the domain database.

A session is stored by the SHA-256 of its cookie token, so the table alone cannot log anyone
in; logging out deletes the row, which ends the session at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from weather_trader.store.db import StoreError
from weather_trader.store.models import UserRow, UserSessionRow

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class UserExistsError(StoreError):
    """A user of that name exists already."""


class UnknownUserError(StoreError):
    """No user of that name."""


@dataclass(frozen=True)
class UserSession:
    """A valid login session.

    Attributes:
        username: Who is logged in.
        csrf_token: The value state-changing requests must send back.
        expires_at: When the session ends.
    """

    username: str
    csrf_token: str
    expires_at: datetime


def add_user(session: Session, username: str, password_hash: str, now: datetime) -> None:
    """Create a user.

    Raises:
        UserExistsError: If the name is taken.
    """
    if session.get(UserRow, username) is not None:
        raise UserExistsError(f"user {username!r} exists already")
    session.add(UserRow(username=username, password_hash=password_hash, created_at=now))
    session.flush()


def set_password_hash(session: Session, username: str, password_hash: str) -> None:
    """Replace a user's password hash (a new password, or a rehash with newer parameters).

    Raises:
        UnknownUserError: If there is no such user.
    """
    row = session.get(UserRow, username)
    if row is None:
        raise UnknownUserError(f"no user {username!r}")
    row.password_hash = password_hash
    session.flush()


def remove_user(session: Session, username: str) -> None:
    """Delete a user and end all their sessions.

    Raises:
        UnknownUserError: If there is no such user.
    """
    row = session.get(UserRow, username)
    if row is None:
        raise UnknownUserError(f"no user {username!r}")
    session.execute(delete(UserSessionRow).where(UserSessionRow.username == username))
    session.delete(row)
    session.flush()


def list_users(session: Session) -> list[tuple[str, datetime]]:
    """Every user's name and creation time, by name."""
    rows = session.execute(select(UserRow.username, UserRow.created_at).order_by(UserRow.username))
    return [(name, created) for name, created in rows]


def password_hash_of(session: Session, username: str) -> str | None:
    """The user's password hash, or None for an unknown user."""
    row = session.get(UserRow, username)
    return None if row is None else row.password_hash


def create_session(
    session: Session,
    token_hash: str,
    username: str,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a new login session (also dropping every expired one)."""
    session.execute(delete(UserSessionRow).where(UserSessionRow.expires_at <= now))
    session.add(
        UserSessionRow(
            token_hash=token_hash,
            username=username,
            csrf_token=csrf_token,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()


def active_session(session: Session, token_hash: str, now: datetime) -> UserSession | None:
    """The unexpired session of ``token_hash``, or None."""
    row = session.get(UserSessionRow, token_hash)
    if row is None or row.expires_at <= now:
        return None
    return UserSession(row.username, row.csrf_token, row.expires_at)


def end_session(session: Session, token_hash: str) -> None:
    """Delete a session (logout); nothing happens when it does not exist."""
    session.execute(delete(UserSessionRow).where(UserSessionRow.token_hash == token_hash))
