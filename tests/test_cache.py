"""The reply cache is an optimisation: a broken, unreadable or locked cache is reported once
and the run goes on; processes sharing a cache pay once per request."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from summarizer import Document, DocumentSummary, LLMConfig, Summarizer, SummarizerConfig
from summarizer._cache import ResponseCache
from summarizer._client import ChatClient
from summarizer._models import ExtractionDraft
from summarizer._prompts import load_prompt
from summarizer._testing import ScriptedModel

from .fakes import BASE_URL

DOCS = [
    Document.from_text(
        f"Officials said {n + 3} bridges in district {n} reopened on Monday after repairs. "
        f"The mayor said traffic on route {n} would return to normal by Friday.",
        id=f"doc-{n}",
    )
    for n in range(8)
]


def settings(cache: Path) -> SummarizerConfig:
    llm = LLMConfig(base_url=BASE_URL, api_key="sk-test", max_attempts=1)
    return SummarizerConfig(engine="llm", llm=llm, cache_path=cache)


def summarise(cache: Path) -> tuple[list[object], int]:
    """Results of a run over DOCS with ``cache``, and the requests the server saw."""
    scripted = ScriptedModel()
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.post("/chat/completions").mock(side_effect=scripted.handle)
        with Summarizer(settings(cache)) as summarizer:
            results = summarizer.summarize_many(DOCS)
    return list(results), route.call_count


def all_ok(results: list[object]) -> bool:
    return len(results) == len(DOCS) and all(isinstance(r, DocumentSummary) for r in results)


def test_a_warm_cache_makes_the_rerun_free(tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    assert summarise(cache)[1] == len(DOCS)
    results, calls = summarise(cache)
    assert all_ok(results) and calls == 0


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_file_that_is_no_cache_is_moved_aside_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    cache = tmp_path / "c.sqlite3"
    if damage == "garbage":
        cache.write_bytes(b"this is not a database at all\n" * 200)
    else:
        summarise(cache)
        data = cache.read_bytes()
        cache.write_bytes(data[:100])  # the header cut short
    results, calls = summarise(cache)
    assert all_ok(results) and calls == len(DOCS)
    assert list(tmp_path.glob("c.sqlite3.corrupt-*")), "the bad file is kept aside"
    assert caplog.text.count("moved to") == 1
    assert summarise(cache)[1] == 0  # the fresh cache works


def test_corrupted_pages_mid_run_turn_the_cache_off_not_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "c.sqlite3"
    summarise(cache)
    with sqlite3.connect(cache) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(cache.read_bytes())
    for page in range(1, len(data) // 4096):
        data[page * 4096 + 8 : page * 4096 + 200] = b"\xff" * 192  # wreck every page's cells
    cache.write_bytes(bytes(data))
    caplog.set_level(logging.WARNING)
    results, calls = summarise(cache)
    assert all_ok(results) and calls >= 1
    assert "reply cache" in caplog.text


def test_a_row_that_does_not_validate_is_a_miss(tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    summarise(cache)
    with sqlite3.connect(cache) as db:
        db.execute("UPDATE replies SET value = '{\"summary\": 5'")  # invalid JSON everywhere
        db.execute("UPDATE replies SET usage = 'not json' WHERE rowid % 2 = 0")
    results, calls = summarise(cache)
    assert all_ok(results) and calls == len(DOCS)
    assert summarise(cache)[1] == 0  # the replies were stored again


def test_an_unusable_cache_folder_means_no_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    results, calls = summarise(blocker / "c.sqlite3")
    assert all_ok(results) and calls == len(DOCS)
    assert caplog.text.count("going on without a cache") == 1


def test_a_read_only_cache_is_read_but_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "c.sqlite3"
    summarise(cache)
    extra = Document.from_text("A new article about a new harbour opening in the spring.", id="n")
    real_connect = sqlite3.connect

    def read_only(database: str, **options: Any) -> sqlite3.Connection:
        return real_connect(f"file:{database}?mode=ro", uri=True, **options)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    scripted = ScriptedModel()
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.post("/chat/completions").mock(side_effect=scripted.handle)
        with Summarizer(settings(cache)) as summarizer:
            results = summarizer.summarize_many([*DOCS, extra])
    assert all(isinstance(r, DocumentSummary) for r in results)
    assert route.call_count == 1  # only the new article was paid for
    assert "read-only" in caplog.text


def test_a_cache_locked_by_another_process_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.sqlite3"
    ResponseCache(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock throughout
    try:
        cache = ResponseCache(path, busy_seconds=0.05)
        cache.put("k", "{}", {})
        assert cache.get("k") is None and cache.disabled is None
        assert "locked by another process" in caplog.text
        cache.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_two_processes_on_one_cache_pay_once_per_request(tmp_path: Path) -> None:
    """Two clients with their own cache connections and owners (two processes, as far as
    the cache can tell) ask the same question at once: one request reaches the server."""
    path = tmp_path / "c.sqlite3"
    first, second = ResponseCache(path), ResponseCache(path)
    second.owner = f"{socket.gethostname()}:{os.getppid()}"  # a live process that is not us
    template = load_prompt("extract")
    messages = template.messages(summary_words=50, part_note="", doc_id="d", article=DOCS[0].text)
    scripted = ScriptedModel()

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.5)
        return scripted.handle(request)

    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.post("/chat/completions").mock(side_effect=slow)
        clients = [
            ChatClient(LLMConfig(base_url=BASE_URL, api_key="k"), cache=cache)
            for cache in (first, second)
        ]
        replies = await asyncio.gather(
            *(c.structured(messages, ExtractionDraft, template=template) for c in clients)
        )
        for client in clients:
            await client.aclose()
    assert route.call_count == 1
    assert replies[0].value == replies[1].value
    assert sorted(r.cached for r in replies) == [False, True]


def test_a_lease_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3")
    dead = f"{socket.gethostname()}:{2**22 + 12345}"  # above pid_max: never a live pid
    other = ResponseCache(tmp_path / "c.sqlite3")
    other.owner = dead
    assert other.claim("k", 600) is None
    assert cache.claim("k", 600) is None  # taken over, not waited for
    cache.close()
    other.close()
