"""Persistence of the exchange state in a small SQLite file (stdlib ``sqlite3``).

Every record is one JSON row keyed by (kind, id); each engine operation writes the records it
changed in one transaction, so a restart resumes exactly where the last operation left off.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class ExchangeStore:
    """Records of the exchange in ``path`` (created if missing).

    Args:
        path: SQLite file, e.g. ``$WEATHER_TRADER_HOME/exchange/exchange.sqlite``.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def load(self) -> dict[str, list[dict[str, Any]]]:
        """All records by kind, in insertion order."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self._lock:
            rows = self._conn.execute("SELECT kind, data FROM records ORDER BY rowid").fetchall()
        for kind, data in rows:
            out.setdefault(kind, []).append(json.loads(data))
        return out

    def records(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Every record as ``(kind, id, data)``, in insertion order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT kind, id, data FROM records ORDER BY rowid"
            ).fetchall()
        return [(kind, key, json.loads(data)) for kind, key, data in rows]

    def meta(self) -> dict[str, str]:
        """Every meta value."""
        with self._lock:
            rows = self._conn.execute("SELECT key, value FROM meta").fetchall()
        return {str(k): str(v) for k, v in rows}

    def write(
        self, records: list[tuple[str, str, dict[str, Any]]], meta: dict[str, str] | None = None
    ) -> None:
        """Upsert ``(kind, id, data)`` records and meta values in one transaction."""
        if not records and not meta:
            return
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT INTO records (kind, id, data) VALUES (?, ?, ?) "
                    "ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data",
                    [(k, i, json.dumps(d, separators=(",", ":"))) for k, i, d in records],
                )
                if meta:
                    self._conn.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        list(meta.items()),
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def get_meta(self, key: str) -> str | None:
        """A meta value, or None."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
