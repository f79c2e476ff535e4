"""The SQLite job store of a batch run: which documents, which requests, which files and
batches, and every answer. Each change is committed at once, so a process killed at any
point loses nothing: the next ``status`` or ``collect`` continues from the store.

Request states: ``new`` (recorded, not yet in a file) -> ``written`` (in a JSONL file) ->
``submitted`` (in a created batch) -> ``answered``, ``failed`` or ``rejected`` (its
structured-output mode refused); a request of an expired batch, or one with an error
and attempts left, goes back to ``new``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summarizer._documents import Document

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, position INTEGER NOT NULL, text TEXT NOT NULL,
    source TEXT NOT NULL, content_hash TEXT NOT NULL, result TEXT);
CREATE TABLE IF NOT EXISTS requests (
    custom_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, body TEXT NOT NULL,
    state TEXT NOT NULL, file TEXT, batch_id TEXT, response TEXT, error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, round INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS requests_doc ON requests (doc_id);
CREATE INDEX IF NOT EXISTS requests_state ON requests (state);
CREATE TABLE IF NOT EXISTS files (
    name TEXT PRIMARY KEY, path TEXT NOT NULL, requests INTEGER NOT NULL,
    bytes INTEGER NOT NULL, file_id TEXT, batch_id TEXT);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, file TEXT NOT NULL, status TEXT NOT NULL,
    output_file_id TEXT, error_file_id TEXT, collected INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS cache_keys (key TEXT PRIMARY KEY);
"""
OPEN_STATES = ("new", "written", "submitted")


@dataclass(frozen=True)
class StoredRequest:
    custom_id: str
    doc_id: str
    body: dict[str, Any]
    state: str
    response: dict[str, Any] | None
    error: str | None
    attempts: int


@dataclass(frozen=True)
class StoredFile:
    name: str
    path: Path
    requests: int
    bytes: int
    file_id: str | None
    batch_id: str | None


class JobStore:
    """One batch job's state in one SQLite file (autocommit: every write is durable)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a killed process loses no commit (only a power cut could lose the
        # last ones), without an fsync per recorded request.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- meta --------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- documents ---------------------------------------------------------------------------

    def add_documents(self, documents: list[Document]) -> int:
        """Record documents not yet in the job; returns how many were new."""
        start = int(self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
        added = 0
        for document in documents:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO documents VALUES (?, ?, ?, ?, ?, NULL)",
                (document.id, start + added, document.text, document.source, document.content_hash),
            )
            added += cursor.rowcount
        return added

    def add_failure(self, doc_id: str, source: str, result_json: str) -> None:
        """A document that could not be loaded: finished, with its failure as the result."""
        position = int(self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
        self._db.execute(
            "INSERT OR IGNORE INTO documents VALUES (?, ?, '', ?, '', ?)",
            (doc_id, position, source, result_json),
        )

    def documents(self, *, unfinished: bool = False) -> list[Document]:
        where = " WHERE result IS NULL" if unfinished else ""
        rows = self._db.execute(
            f"SELECT doc_id, text, source, content_hash FROM documents{where} ORDER BY position"
        )
        return [Document(id=r[0], text=r[1], source=r[2], content_hash=r[3]) for r in rows]

    def set_result(self, doc_id: str, result_json: str) -> None:
        self._db.execute("UPDATE documents SET result = ? WHERE doc_id = ?", (result_json, doc_id))

    def results(self) -> list[tuple[str, str | None]]:
        rows = self._db.execute("SELECT doc_id, result FROM documents ORDER BY position")
        return [(str(r[0]), r[1]) for r in rows]

    def waiting_documents(self) -> set[str]:
        """Documents with a request still open (not yet answered or failed)."""
        marks = ",".join("?" * len(OPEN_STATES))
        rows = self._db.execute(
            f"SELECT DISTINCT doc_id FROM requests WHERE state IN ({marks})", OPEN_STATES
        )
        return {str(r[0]) for r in rows}

    # -- requests ----------------------------------------------------------------------------

    def request(self, custom_id: str) -> StoredRequest | None:
        row = self._db.execute(
            "SELECT custom_id, doc_id, body, state, response, error, attempts FROM requests"
            " WHERE custom_id = ?",
            (custom_id,),
        ).fetchone()
        if row is None:
            return None
        response = json.loads(row[4]) if row[4] else None
        return StoredRequest(row[0], row[1], json.loads(row[2]), row[3], response, row[5], row[6])

    def add_request(self, custom_id: str, doc_id: str, body: dict[str, Any], round_: int) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO requests (custom_id, doc_id, body, state, round)"
            " VALUES (?, ?, ?, 'new', ?)",
            (custom_id, doc_id, json.dumps(body, sort_keys=True), round_),
        )

    def new_requests(self) -> list[tuple[str, str]]:
        """(custom_id, body JSON) of every request not yet in a file, in recording order."""
        rows = self._db.execute("SELECT custom_id, body FROM requests WHERE state = 'new'")
        return [(str(r[0]), str(r[1])) for r in rows]

    def answer(self, custom_id: str, response: dict[str, Any]) -> bool:
        """Store a reply body; False for a custom_id this job never asked."""
        cursor = self._db.execute(
            "UPDATE requests SET state = 'answered', response = ?, error = NULL"
            " WHERE custom_id = ? AND state != 'answered'",
            (json.dumps(response), custom_id),
        )
        return cursor.rowcount > 0 or self.request(custom_id) is not None

    def fail(self, custom_id: str, error: str, *, max_attempts: int) -> None:
        """Count a failed attempt: back to ``new`` to be sent again, or ``failed`` for good."""
        self._db.execute(
            "UPDATE requests SET attempts = attempts + 1, error = ?,"
            " state = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE 'new' END,"
            " file = NULL, batch_id = NULL"
            " WHERE custom_id = ? AND state IN ('written', 'submitted')",
            (error, max_attempts, custom_id),
        )

    def reject(self, custom_id: str, error: str) -> None:
        """The server refused the request's structured-output mode: closed, not answered
        (the document's next round asks again in the next mode)."""
        self._db.execute(
            "UPDATE requests SET state = 'rejected', error = ?"
            " WHERE custom_id = ? AND state IN ('written', 'submitted')",
            (error, custom_id),
        )

    def requeue(self, custom_id: str) -> int:
        """A request that never ran goes back to ``new`` (no attempt counted)."""
        cursor = self._db.execute(
            "UPDATE requests SET state = 'new', file = NULL, batch_id = NULL"
            " WHERE custom_id = ? AND state IN ('written', 'submitted')",
            (custom_id,),
        )
        return cursor.rowcount

    def reopen_batch(self, batch_id: str) -> int:
        """Requests of an ended batch that got no answer go back to ``new``."""
        cursor = self._db.execute(
            "UPDATE requests SET state = 'new', file = NULL, batch_id = NULL"
            " WHERE batch_id = ? AND state = 'submitted'",
            (batch_id,),
        )
        return cursor.rowcount

    def open_in_batch(self, batch_id: str) -> list[str]:
        rows = self._db.execute(
            "SELECT custom_id FROM requests WHERE batch_id = ? AND state = 'submitted'",
            (batch_id,),
        )
        return [str(r[0]) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT state, COUNT(*) FROM requests GROUP BY state")
        return {str(r[0]): int(r[1]) for r in rows}

    # -- files and batches -------------------------------------------------------------------

    def add_file(self, name: str, path: Path, custom_ids: list[str], size: int) -> None:
        self._db.execute("BEGIN")
        self._db.execute(
            "INSERT INTO files (name, path, requests, bytes) VALUES (?, ?, ?, ?)",
            (name, str(path), len(custom_ids), size),
        )
        self._db.executemany(
            "UPDATE requests SET state = 'written', file = ? WHERE custom_id = ?",
            [(name, c) for c in custom_ids],
        )
        self._db.execute("COMMIT")

    def files(self, *, unsubmitted: bool = False) -> list[StoredFile]:
        where = " WHERE batch_id IS NULL" if unsubmitted else ""
        rows = self._db.execute(
            f"SELECT name, path, requests, bytes, file_id, batch_id FROM files{where}"
            " ORDER BY rowid"
        )
        return [StoredFile(r[0], Path(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def set_file_id(self, name: str, file_id: str) -> None:
        self._db.execute("UPDATE files SET file_id = ? WHERE name = ?", (file_id, name))

    def add_batch(self, batch_id: str, file_name: str, status: str) -> None:
        self._db.execute("BEGIN")
        self._db.execute(
            "INSERT OR IGNORE INTO batches (batch_id, file, status) VALUES (?, ?, ?)",
            (batch_id, file_name, status),
        )
        self._db.execute("UPDATE files SET batch_id = ? WHERE name = ?", (batch_id, file_name))
        self._db.execute(
            "UPDATE requests SET state = 'submitted', batch_id = ?"
            " WHERE file = ? AND state = 'written'",
            (batch_id, file_name),
        )
        self._db.execute("COMMIT")

    def open_batches(self) -> list[str]:
        rows = self._db.execute("SELECT batch_id FROM batches WHERE collected = 0 ORDER BY rowid")
        return [str(r[0]) for r in rows]

    def update_batch(
        self, batch_id: str, status: str, output_file_id: str | None, error_file_id: str | None
    ) -> None:
        self._db.execute(
            "UPDATE batches SET status = ?, output_file_id = ?, error_file_id = ?"
            " WHERE batch_id = ?",
            (status, output_file_id, error_file_id, batch_id),
        )

    def batch_file_ids(self, batch_id: str) -> list[str]:
        """The output and error file ids of a batch (those it has)."""
        row = self._db.execute(
            "SELECT output_file_id, error_file_id FROM batches WHERE batch_id = ?", (batch_id,)
        ).fetchone()
        return [str(i) for i in (row or ()) if i]

    def mark_collected(self, batch_id: str) -> None:
        self._db.execute("UPDATE batches SET collected = 1 WHERE batch_id = ?", (batch_id,))

    def batches(self) -> list[tuple[str, str, int]]:
        """(batch id, status, collected) of every batch, oldest first."""
        rows = self._db.execute("SELECT batch_id, status, collected FROM batches ORDER BY rowid")
        return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    # -- the keys this job wrote into the shared reply cache ---------------------------------

    def owns_cache_key(self, key: str) -> bool:
        row = self._db.execute("SELECT 1 FROM cache_keys WHERE key = ?", (key,)).fetchone()
        return row is not None

    def add_cache_key(self, key: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO cache_keys VALUES (?)", (key,))
