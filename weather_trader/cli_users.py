"""``weather-trader users`` and ``weather-trader kalshi-key``: the cockpit's logins and the
Kalshi key stored encrypted in the domain database.

Passwords and private keys are read from stdin or a file, never from the command line (where
``ps`` and shell history would show them), and never printed.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from weather_trader.core.passwords import PasswordError, hash_password
from weather_trader.core.secret_box import SecretBoxError, new_master_key, parse_master_key
from weather_trader.settings import Settings
from weather_trader.store import repo_users, secrets
from weather_trader.store.db import StoreError, make_engine, migrate, session_scope

USERNAME_HELP = "letters, digits, '.', '_' or '-', at most 64"


def add_arguments(subparsers: Any) -> None:
    """Add the ``users`` and ``kalshi-key`` sub-commands."""
    users = subparsers.add_parser("users", help="who may log in to the dashboard")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    add = users_commands.add_parser("add", help="add a user (or, with --replace, a new password)")
    add.add_argument("name", help=USERNAME_HELP)
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (one line)"
    )
    add.add_argument("--replace", action="store_true", help="set a new password of a user")
    users_commands.add_parser("list", help="list the users")
    remove = users_commands.add_parser("remove", help="remove a user and end their sessions")
    remove.add_argument("name")

    key = subparsers.add_parser(
        "kalshi-key", help="the Kalshi API key, stored encrypted (AES-256-GCM) in the database"
    )
    key_commands = key.add_subparsers(dest="key_command", required=True)
    set_key = key_commands.add_parser("set", help="store a key id and its RSA private key")
    set_key.add_argument("key_id")
    source = set_key.add_mutually_exclusive_group(required=True)
    source.add_argument("--pem-file", type=Path, help="the private key (unencrypted PEM)")
    source.add_argument("--pem-stdin", action="store_true", help="read the PEM from stdin")
    key_commands.add_parser("show", help="the stored key id and public-key fingerprint")
    key_commands.add_parser("delete", help="forget the stored key")
    rotate = key_commands.add_parser(
        "rotate-master-key", help="re-encrypt the stored secrets under a new master key"
    )
    rotate.add_argument(
        "--new-key-file",
        type=Path,
        default=None,
        help="the new master key (base64) in this file, created 0600 with a fresh key if "
        "missing; required when the current key comes from WEATHER_TRADER_SECRET_KEY",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``users`` or ``kalshi-key``; 0 on success, 2 with a message on stderr otherwise."""
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        if args.command == "users":
            return _users(engine, args)
        return _kalshi_key(engine, settings.resolved_home, args)
    except (StoreError, SecretBoxError, PasswordError, OSError, ValueError) as exc:
        print(f"weather-trader: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the passwords differ")
    return first


def _users(engine: Any, args: argparse.Namespace) -> int:
    import re

    now = datetime.now(UTC)
    if args.users_command == "list":
        with session_scope(engine) as session:
            for name, created in repo_users.list_users(session):
                print(f"{name}\tsince {created:%Y-%m-%d %H:%M} UTC")
        return 0
    if args.users_command == "remove":
        with session_scope(engine) as session:
            repo_users.remove_user(session, args.name)
        print(f"removed user {args.name}")
        return 0
    if not re.match(repo_users.USERNAME_PATTERN, args.name):
        raise ValueError(f"invalid user name {args.name!r}: {USERNAME_HELP}")
    password_hash = hash_password(_read_password(args))
    with session_scope(engine) as session:
        if args.replace:
            repo_users.set_password_hash(session, args.name, password_hash)
        else:
            repo_users.add_user(session, args.name, password_hash, now)
    print(f"{'new password for' if args.replace else 'added'} user {args.name}")
    return 0


def _kalshi_key(engine: Any, home: Path, args: argparse.Namespace) -> int:
    if args.key_command == "rotate-master-key":
        return _rotate(engine, home, args.new_key_file)
    if args.key_command == "set":
        pem = sys.stdin.buffer.read() if args.pem_stdin else args.pem_file.read_bytes()
        master = secrets.load_master_key(home)
        with session_scope(engine) as session:
            info = secrets.store_kalshi_key(
                session, master, args.key_id, pem, getpass.getuser(), datetime.now(UTC)
            )
        print(f"stored Kalshi key {info.key_id} (public key SHA-256 {info.fingerprint})")
        return 0
    with session_scope(engine) as session:
        if args.key_command == "delete":
            print("deleted" if secrets.delete_kalshi_key(session) else "no key stored")
            return 0
        info = secrets.kalshi_key_info(session)
    if info is None:
        print("no Kalshi key stored")
        return 1
    print(f"key id: {info.key_id}")
    print(f"public key SHA-256: {info.fingerprint}")
    print(f"stored {info.updated_at:%Y-%m-%d %H:%M} UTC by {info.updated_by}")
    return 0


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 holding ``text`` (fails if it exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")


def _rotate(engine: Any, home: Path, new_key_file: Path | None) -> int:
    """Re-encrypt every secret under a new master key, crash-safely.

    The new key is written to its file before the database changes; the home's key file is
    replaced only after the transaction committed, so at every instant one of the two files
    holds the key the database needs.
    """
    from_env = bool(os.environ.get(secrets.SECRET_KEY_VARIABLE))
    if from_env and new_key_file is None:
        raise ValueError(
            f"the master key comes from {secrets.SECRET_KEY_VARIABLE}: pass --new-key-file, "
            "then set the variable to that file's content"
        )
    old = secrets.load_master_key(home)
    home_file = secrets.master_key_path(home)
    target = new_key_file or home_file.with_name(home_file.name + ".new")
    if not target.exists():
        _write_private(target, new_master_key())
    new = parse_master_key(target.read_text())
    with session_scope(engine) as session:
        count = secrets.reencrypt_all(session, old, new)
    if new_key_file is None:
        target.replace(home_file)
        print(f"re-encrypted {count} secret(s); the new master key is in {home_file}")
    else:
        print(
            f"re-encrypted {count} secret(s) under the key in {new_key_file}; set "
            f"{secrets.SECRET_KEY_VARIABLE} to its content (or move it to {home_file})"
        )
    return 0
