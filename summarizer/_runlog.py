"""A log of runs in SQLite: what ran, on what, with which engine and prompts, and how each
article went (status, calls, tokens, cost, time). ``summarizer logs`` reads it.

The file sits beside the reply cache (``$SUMMARIZER_CACHE_DIR/runs.sqlite3``, by default
``~/.cache/summarizer/runs.sqlite3``). A run is recorded when it starts, so an interrupted
or crashed run still appears, with the status it reached.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summarizer._config import default_cache_path
from summarizer._models import DocumentFailure, DocumentSummary, Usage

Result = DocumentSummary | DocumentFailure

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL, finished REAL, status TEXT NOT NULL,
    command TEXT NOT NULL, inputs TEXT NOT NULL,
    engine TEXT, model TEXT, endpoint TEXT,
    prompt_name TEXT, prompt_version TEXT, prompt_hash TEXT,
    articles INTEGER DEFAULT 0, failed INTEGER DEFAULT 0,
    requests INTEGER DEFAULT 0, cache_hits INTEGER DEFAULT 0,
    prompt_tokens INTEGER DEFAULT 0, completion_tokens INTEGER DEFAULT 0,
    cost_usd REAL, seconds REAL
);
CREATE TABLE IF NOT EXISTS articles (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    doc_id TEXT NOT NULL, source TEXT NOT NULL, status TEXT NOT NULL,
    error_type TEXT, message TEXT, claims INTEGER, grounded INTEGER,
    requests INTEGER, prompt_tokens INTEGER, completion_tokens INTEGER,
    cost_usd REAL, seconds REAL
);
CREATE INDEX IF NOT EXISTS articles_run ON articles(run_id);
"""


def default_log_path() -> Path:
    return default_cache_path().parent / "runs.sqlite3"


@dataclass(frozen=True)
class RunStart:
    """What a run is about to do."""

    command: str
    inputs: Sequence[str]
    engine: str
    model: str | None = None
    endpoint: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_hash: str | None = None


def _usage(result: Result) -> Usage:
    return result.provenance.usage if isinstance(result, DocumentSummary) else result.usage


def _article_row(run_id: int, result: Result) -> tuple[Any, ...]:
    usage = _usage(result)
    if isinstance(result, DocumentSummary):
        claims: int | None = len(result.claims)
        grounded: int | None = sum(c.grounded for c in result.claims)
        error_type = message = None
        seconds: float | None = result.provenance.seconds
    else:
        claims = grounded = seconds = None
        error_type, message = result.error_type, result.message
    return (
        run_id, result.doc_id, result.source, result.status, error_type, message, claims,
        grounded, usage.requests, usage.prompt_tokens, usage.completion_tokens,
        usage.cost_usd, seconds,
    )  # fmt: skip


class RunLog:
    """The runs database; one connection, every write committed at once."""

    def __init__(self, path: Path | None = None):
        self.path = path or default_log_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    def start(self, run: RunStart) -> int:
        cursor = self._db.execute(
            "INSERT INTO runs (started, status, command, inputs, engine, model, endpoint,"
            " prompt_name, prompt_version, prompt_hash) VALUES (?, 'running', ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
            (
                time.time(),
                run.command,
                json.dumps(list(run.inputs)),
                run.engine,
                run.model,
                run.endpoint,
                run.prompt_name,
                run.prompt_version,
                run.prompt_hash,
            ),  # fmt: skip
        )
        return int(cursor.lastrowid or 0)

    def finish(
        self,
        run_id: int,
        results: Sequence[Result],
        *,
        status: str,
        seconds: float,
        total: int | None = None,
    ) -> None:
        """Record every article's outcome and the run's totals; ``total`` counts the run's
        articles when ``results`` holds only some of them (a digest records its failures)."""
        usage = sum((_usage(r) for r in results), Usage())
        failed = sum(isinstance(r, DocumentFailure) for r in results)
        self._db.execute("BEGIN")
        self._db.execute("DELETE FROM articles WHERE run_id = ?", (run_id,))
        self._db.executemany(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_article_row(run_id, r) for r in results],
        )
        self._db.execute(
            "UPDATE runs SET finished = ?, status = ?, articles = ?, failed = ?, requests = ?,"
            " cache_hits = ?, prompt_tokens = ?, completion_tokens = ?, cost_usd = ?,"
            " seconds = ? WHERE id = ?",
            (
                time.time(),
                status,
                len(results) if total is None else total,
                failed,
                usage.requests,
                usage.cache_hits,
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.cost_usd,
                seconds,
                run_id,
            ),  # fmt: skip
        )
        self._db.execute("COMMIT")

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(row) for row in rows]

    def run(self, run_id: int | None) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """One run (the latest when ``run_id`` is None) and its articles, or None."""
        if run_id is None:
            row = self._db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        else:
            row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        articles = self._db.execute(
            "SELECT * FROM articles WHERE run_id = ? ORDER BY rowid", (row["id"],)
        )
        return dict(row), [dict(a) for a in articles]

    def close(self) -> None:
        self._db.close()


def _cost(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def format_runs(runs: list[dict[str, Any]]) -> str:
    """The ``summarizer logs`` table, newest first."""
    if not runs:
        return "no runs recorded yet"
    lines = [
        f"{'run':>5}  {'started':<19}  {'command':<7} {'status':<11} {'engine':<10} "
        f"{'model':<20} {'ok/all':>8} {'calls':>6} {'cost':>10} {'time':>7}"
    ]
    for run in runs:
        ok = run["articles"] - run["failed"]
        seconds = f"{run['seconds']:.1f}s" if run["seconds"] is not None else "-"
        lines.append(
            f"{run['id']:>5}  {_when(run['started']):<19}  {run['command']:<7} "
            f"{run['status']:<11} {run['engine'] or '-':<10} {(run['model'] or '-')[:20]:<20} "
            f"{str(ok) + '/' + str(run['articles']):>8} "
            f"{run['requests']:>6} {_cost(run['cost_usd']):>10} {seconds:>7}"
        )
    return "\n".join(lines)


def format_run(run: dict[str, Any], articles: list[dict[str, Any]]) -> str:
    """``summarizer logs show RUN``: the run's settings, totals and every article."""
    prompts = run["prompt_name"] and f"{run['prompt_name']}@{run['prompt_version']}"
    fields = [
        ("run", str(run["id"])),
        ("started", _when(run["started"])),
        ("status", run["status"]),
        ("command", run["command"]),
        ("inputs", ", ".join(json.loads(run["inputs"]))),
        ("engine", run["engine"] or "-"),
        ("model", run["model"] or "-"),
        ("endpoint", run["endpoint"] or "-"),
        ("prompts", f"{prompts} ({run['prompt_hash']})" if prompts else "-"),
        ("articles", f"{run['articles']} ({run['failed']} failed)"),
        ("calls", f"{run['requests']} ({run['cache_hits']} from cache)"),
        ("tokens in / out", f"{run['prompt_tokens']:,} / {run['completion_tokens']:,}"),
        ("cost", _cost(run["cost_usd"])),
        ("time", f"{run['seconds']:.1f}s" if run["seconds"] is not None else "-"),
    ]
    width = max(len(name) for name, _ in fields)
    lines = [f"{name:<{width}}  {value}" for name, value in fields] + [""]
    for article in articles:
        if article["status"] == "ok":
            detail = (
                f"ok  {article['claims']} claims, {article['grounded']} grounded, "
                f"{article['requests']} calls, {_cost(article['cost_usd'])}"
            )
        else:
            detail = f"FAILED  {article['error_type']}: {article['message']}"
        lines.append(f"{article['doc_id']}  {detail}")
    return "\n".join(lines)
