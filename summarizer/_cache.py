"""A SQLite cache of validated model replies, keyed by everything that shapes a reply.

The key is the sha256 of: model, endpoint, prompt template hash, schema hash, request
parameters and the messages (which hold the article's text). A re-run of the same folder
therefore makes no model call, and a run killed midway resumes paying only for the calls
that had not finished: each reply is committed as soon as it is validated.

The cache is an optimisation and never sinks a run: a file that cannot be opened or
written, is corrupt, or stays locked is reported once (a warning naming the file and the
problem) and the run goes on without it; a corrupt file is moved aside
(``NAME.corrupt-TIME``) and a fresh cache started; a row that does not parse is a miss.

Processes sharing the file do not pay twice for one request: :meth:`ResponseCache.claim`
takes a lease on a key before the call is sent, and another process that finds the lease
held by a live owner waits for that reply instead.

:class:`ReplyCache` is what the model client needs of a cache, so a cache held elsewhere
(one store for a cluster) can stand in for the local SQLite file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

logger = logging.getLogger("summarizer.cache")
R = TypeVar("R")


def cache_key(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class ReplyCache(Protocol):
    def get(self, key: str) -> tuple[str, dict[str, Any]] | None: ...

    def put(self, key: str, value: str, usage: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class ResponseCache:
    """The SQLite reply cache (see the module docstring). Every use of the connection holds
    one lock, so reads and writes may run in worker threads, off the event loop."""

    thread_safe = True  # the client may call it from worker threads

    def __init__(self, path: Path, *, busy_seconds: float = 2.0):
        self.path = path
        self.busy_seconds = busy_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.disabled: str | None = None  # why the cache is off, once it is
        self.read_only = False
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if _corrupt(exc):
                self._move_aside(exc)
            else:
                self._disable(f"cannot open it ({exc})")
        except OSError as exc:
            self._disable(f"cannot open it ({exc.strerror or exc})")

    # -- opening, and what to do when that fails ---------------------------------------------

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=self.busy_seconds
        )
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # a real database?
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY,"
                " value TEXT NOT NULL, usage TEXT NOT NULL, created REAL NOT NULL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY,"
                " owner TEXT NOT NULL, expires REAL NOT NULL)"
            )
        except sqlite3.OperationalError as exc:
            if "readonly" not in str(exc) and "read-only" not in str(exc):
                db.close()
                raise
            self.read_only = True
            self._warn("read-only", "it is read-only: stored replies are used, new ones not kept")
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _move_aside(self, exc: Exception) -> None:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        try:
            self.path.replace(aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self._warn("moved", f"not a valid cache ({exc}); moved to {aside}, starting anew")
            self._db = self._open()
        except (OSError, sqlite3.Error) as again:
            self._disable(f"it is not a valid cache and cannot be replaced ({again})")

    def _warn(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            logger.warning("reply cache %s: %s", self.path, message)

    def _disable(self, why: str) -> None:
        self.disabled = why
        self._warn("disabled", f"{why}; going on without a cache")
        self.close()

    def _failed(self, exc: sqlite3.Error, doing: str) -> None:
        """A failed read or write: a lock is skipped, a read-only file stops the writes,
        anything else (a corrupt page) turns the cache off."""
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            self._warn("locked", f"locked by another process ({doing} skipped)")
        elif isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc):
            self.read_only = True
            self._warn("read-only", "it is read-only: new replies are not stored")
        else:
            self._disable(f"{doing} failed ({exc})")

    def _run(self, doing: str, work: Callable[[sqlite3.Connection], R], default: R) -> R:
        """``work`` on the open database under the lock; on an SQLite error the cache
        reports it (once) and ``default`` stands in."""
        with self._lock:
            db = self._db
            if db is None:
                return default
            try:
                return work(db)
            except sqlite3.Error as exc:
                failure = exc
        self._failed(failure, doing)
        return default

    # -- replies -----------------------------------------------------------------------------

    def get(self, key: str) -> tuple[str, dict[str, Any]] | None:
        row = self._run(
            "reading",
            lambda db: db.execute(
                "SELECT value, usage FROM replies WHERE key = ?", (key,)
            ).fetchone(),
            None,
        )
        if row is None:
            return None
        try:
            usage = json.loads(row[1])
        except (TypeError, ValueError):
            self._warn("row", "a stored row does not parse; treated as missing")
            return None
        return (row[0], usage) if isinstance(row[0], str) and isinstance(usage, dict) else None

    def put(self, key: str, value: str, usage: dict[str, Any]) -> None:
        if self.read_only:
            return

        def store(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO replies (key, value, usage, created) VALUES (?, ?, ?, ?)",
                (key, value, json.dumps(usage), time.time()),
            )
            db.execute("DELETE FROM leases WHERE key = ?", (key,))

        self._run("storing a reply", store, None)

    def forget(self, key: str) -> None:
        """Drop a stored reply that turned out unusable."""
        if not self.read_only:
            self._run(
                "dropping a reply",
                lambda db: db.execute("DELETE FROM replies WHERE key = ?", (key,)),
                None,
            )

    # -- leases: one process pays for a request ----------------------------------------------

    def claim(self, key: str, seconds: float) -> str | None:
        """Take the lease on ``key`` for ``seconds``: None when this process holds it now,
        else the live owner holding it (an expired lease, or one of a dead process on this
        host, is taken over)."""
        if self.read_only:
            return None

        def take(db: sqlite3.Connection) -> str | None:
            now = time.time()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT owner, expires FROM leases WHERE key = ?", (key,)
                ).fetchone()
                if row and row[0] != self.owner and row[1] > now and _alive(row[0]):
                    return str(row[0])
                db.execute(
                    "INSERT OR REPLACE INTO leases (key, owner, expires) VALUES (?, ?, ?)",
                    (key, self.owner, now + seconds),
                )
                return None
            finally:
                db.execute("COMMIT")

        return self._run("taking a lease", take, None)

    def release(self, key: str) -> None:
        if not self.read_only:
            self._run(
                "releasing a lease",
                lambda db: db.execute(
                    "DELETE FROM leases WHERE key = ? AND owner = ?", (key, self.owner)
                ),
                None,
            )

    # -- maintenance (the ``cache`` command) -------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """The open database; the maintenance commands report a broken cache."""
        if self._db is None:
            raise sqlite3.OperationalError(f"cache {self.path} is unusable: {self.disabled}")
        return self._db

    def stats(self) -> dict[str, Any]:
        """Entries, bytes of stored replies, oldest and newest entry time, file size."""
        row = (
            self._connection()
            .execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0), MIN(created), MAX(created)"
                " FROM replies"
            )
            .fetchone()
        )
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
        removed = (
            self._connection().execute("DELETE FROM replies WHERE created < ?", (cutoff,)).rowcount
        )
        self._connection().execute("VACUUM")
        return int(removed)

    def clear(self) -> int:
        """Delete every reply; return how many there were."""
        db = self._connection()
        removed = db.execute("DELETE FROM replies").rowcount
        db.execute("VACUUM")
        return int(removed)

    def __len__(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        with self._lock:  # a read or write still running in a worker thread finishes first
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None


def _corrupt(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc)
    return "not a database" in text or "malformed" in text or "corrupt" in text


def _alive(owner: str) -> bool:
    """Whether the process ``host:pid`` may still be working (other hosts: assume so)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
