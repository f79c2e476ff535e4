"""A SQLite cache of validated model replies, keyed by everything that shapes a reply.

The key is the sha256 of: model, endpoint, prompt template hash, schema hash, request
parameters and the messages (which hold the article's text). A re-run of the same folder
therefore makes no model call, and a run killed midway resumes paying only for the calls
that had not finished: each reply is committed as soon as it is validated.

:class:`ReplyCache` is what the model client needs of a cache, so a cache held elsewhere
(one store for a cluster) can stand in for the local SQLite file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Protocol


def cache_key(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class ReplyCache(Protocol):
    def get(self, key: str) -> tuple[str, dict[str, Any]] | None: ...

    def put(self, key: str, value: str, usage: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class ResponseCache:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY,"
            " value TEXT NOT NULL, usage TEXT NOT NULL, created REAL NOT NULL)"
        )

    def get(self, key: str) -> tuple[str, dict[str, Any]] | None:
        row = self._db.execute("SELECT value, usage FROM replies WHERE key = ?", (key,)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def put(self, key: str, value: str, usage: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO replies (key, value, usage, created) VALUES (?, ?, ?, ?)",
            (key, value, json.dumps(usage), time.time()),
        )

    def stats(self) -> dict[str, Any]:
        """Entries, bytes of stored replies, oldest and newest entry time, file size."""
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0), MIN(created), MAX(created)"
            " FROM replies"
        ).fetchone()
        return {
            "path": str(self.path),
            "entries": int(row[0]),
            "reply_bytes": int(row[1]),
            "oldest": row[2],
            "newest": row[3],
            "file_bytes": self.path.stat().st_size if self.path.exists() else 0,
        }

    def prune(self, older_than_seconds: float) -> int:
        """Delete replies stored more than ``older_than_seconds`` ago; return how many."""
        cutoff = time.time() - older_than_seconds
        removed = self._db.execute("DELETE FROM replies WHERE created < ?", (cutoff,)).rowcount
        self._db.execute("VACUUM")
        return int(removed)

    def clear(self) -> int:
        """Delete every reply; return how many there were."""
        removed = self._db.execute("DELETE FROM replies").rowcount
        self._db.execute("VACUUM")
        return int(removed)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        self._db.close()
