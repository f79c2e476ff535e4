"""The digest's streamed input: repeated ids, duplicate documents, bounded read-ahead and
the cycle collector's state (review of the streamed digest)."""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from summarizer import Document, Summarizer, SummarizerConfig, load_articles
from summarizer._digest import build_digest, records
from summarizer._digest.cluster import signature
from summarizer._digest.models import DigestReport
from summarizer._digest.records import READ_AHEAD, Texts, read_corpus
from summarizer._engines import ExtractiveEngine
from summarizer._models import DocumentFailure, DocumentSummary, Provenance


async def _seeds(seeds_dir: Path) -> tuple[list[DocumentSummary], list[Document]]:
    documents = load_articles([seeds_dir]).documents
    summarizer = Summarizer(
        SummarizerConfig(engine="extractive"), engine=ExtractiveEngine(claim_density=4.0)
    )
    results = await summarizer.asummarize_many(documents)
    assert all(isinstance(r, DocumentSummary) for r in results)
    return [r for r in results if isinstance(r, DocumentSummary)], documents


def _stories(report: DigestReport) -> str:
    return "\n".join(s.model_dump_json() for s in report.stories)


def _failure(doc_id: str) -> DocumentFailure:
    return DocumentFailure(doc_id=doc_id, source="x", error_type="E", message="m")


async def test_a_repeated_id_reads_its_document_every_time(seeds_dir: Path) -> None:
    results, documents = await _seeds(seeds_dir)
    # a summary unlike its article: read from it, the first article would be a story apart
    first = results[0].model_copy(update={"summary": "Unrelated words about nothing."})
    results = [first, *results[1:]]
    expected = _stories(await build_digest(results, documents))
    retried = await build_digest([_failure(first.doc_id), *results], iter(documents))
    assert _stories(retried) == expected  # the failure did not take the article away
    twice = await build_digest([*results, first], iter(documents))
    assert len(twice.stories) == len((await build_digest(results, documents)).stories)
    assert twice.summarised == [*[r.doc_id for r in results], first.doc_id]
    for story in twice.stories:
        for claim in (*story.consensus, *story.unique, *story.disputed):
            for support in claim.support:
                if support.grounded and support.doc_id == first.doc_id:
                    text = documents[0].text
                    assert text[support.start : support.end] == support.evidence


async def test_duplicate_document_ids_the_first_text_wins_with_a_warning(
    seeds_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    results, documents = await _seeds(seeds_dir)
    doc_id = documents[0].id
    other = Document.from_text(documents[1].text, id=doc_id)
    first_wins = {doc_id: other.text, **{d.id: d.text for d in documents[1:]}}
    expected = _stories(await build_digest(results, first_wins))
    with caplog.at_level(logging.WARNING, logger="summarizer.digest"):
        assert _stories(await build_digest(results, [other, *documents])) == expected
        assert _stories(await build_digest(results, iter([other, *documents]))) == expected
    warned = [r.getMessage() for r in caplog.records if r.name == "summarizer.digest"]
    assert warned and all(doc_id in message for message in warned)
    caplog.clear()
    same = Document.from_text(documents[0].text, id=doc_id)  # the same text twice: no warning
    with caplog.at_level(logging.WARNING, logger="summarizer.digest"):
        await build_digest(results, [same, *documents])
    assert not [r for r in caplog.records if r.name == "summarizer.digest"]


def _counted(n: int, pulled: list[int]) -> Iterator[Document]:
    for k in range(n):
        pulled.append(k)
        yield Document.from_text(f"Text number {k} about things.", id=f"a{k}")


def test_a_failure_never_reads_ahead_and_a_success_reads_a_bounded_window() -> None:
    pulled: list[int] = []
    texts = Texts(_counted(3 * READ_AHEAD, pulled))
    corpus = read_corpus([_failure("unreadable.txt")], texts)
    assert corpus.failures and pulled == []  # a failure reads no document
    assert texts.take("never-there") is None
    assert len(pulled) == READ_AHEAD and len(texts.waiting) == READ_AHEAD
    assert texts.take("a5") == "Text number 5 about things."  # from the buffer
    far = f"a{2 * READ_AHEAD + 10}"  # past one window from where the stream stands
    assert texts.take(far) is None and len(pulled) == 2 * READ_AHEAD
    assert texts.take(f"a{READ_AHEAD + 3}") is not None  # buffered on the way: still there


def test_a_failure_leaves_its_document_for_a_later_success() -> None:
    texts = Texts([Document.from_text("The text.", id="x"), Document.from_text("T.", id="y")])
    assert texts.take("y") == "T."
    corpus = read_corpus(
        [
            _failure("x"),
            DocumentSummary(
                doc_id="x",
                source="x",
                content_hash="",
                title=None,
                date=None,
                summary="S.",
                key_points=[],
                claims=[],
                provenance=Provenance(engine="extractive"),
            ),
        ],
        texts,
    )
    assert corpus.signatures[0].fingerprint == signature("x", "The text.").fingerprint


async def test_the_collector_is_restored_when_the_input_fails(seeds_dir: Path) -> None:
    results, documents = await _seeds(seeds_dir)
    frozen = gc.get_freeze_count()

    def broken() -> Iterator[DocumentSummary]:
        yield results[0]
        raise RuntimeError("disk")

    with pytest.raises(RuntimeError, match="disk"):
        await build_digest(broken(), documents)
    assert gc.isenabled() and gc.get_freeze_count() <= frozen


class _Cycle:
    def __init__(self) -> None:
        self.me = self


async def test_the_callers_cyclic_garbage_is_not_moved_to_the_oldest_generation(
    seeds_dir: Path,
) -> None:
    results, documents = await _seeds(seeds_dir)

    def leaving_cycles() -> Iterator[DocumentSummary]:
        for _ in range(20):
            for result in results:
                _Cycle()  # e.g. a parser leaving a reference cycle behind per file
                yield result

    gc.collect()
    await build_digest(leaving_cycles(), {d.id: d.text for d in documents})
    gc.collect(1)  # the young generations only: no full collection
    assert not [o for o in gc.get_objects() if type(o) is _Cycle]


async def test_cyclic_garbage_made_before_a_digest_of_lists_is_not_moved_to_the_oldest_generation(
    seeds_dir: Path,
) -> None:
    results, documents = await _seeds(seeds_dir)
    gc.collect()
    for _ in range(50):
        _Cycle()  # the caller's garbage, made before the call (no caller code runs in it)
    await build_digest(results, documents)
    gc.collect(1)  # the young generations only: no full collection
    assert not [o for o in gc.get_objects() if type(o) is _Cycle]


class _LazyTexts(Mapping[str, str]):
    """Texts read on access (from disk, say): the caller's code, run inside the digest."""

    def __init__(self, texts: dict[str, str]):
        self._texts = texts

    def __getitem__(self, key: str) -> str:
        _Cycle()  # e.g. a parser leaving a reference cycle behind per file
        return self._texts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


async def test_cyclic_garbage_of_a_lazy_mapping_and_of_the_digest_itself_is_freed_young(
    seeds_dir: Path,
) -> None:
    results, documents = await _seeds(seeds_dir)

    def libraries() -> int:  # ctypes' library handles alive (each one is a small cycle)
        return sum(isinstance(o, ctypes.CDLL) for o in gc.get_objects())

    await build_digest(results, documents)
    gc.collect()
    before = libraries()
    for _ in range(3):
        await build_digest(results, _LazyTexts({d.id: d.text for d in documents}))
    gc.collect(1)  # the young generations only: no full collection
    assert not [o for o in gc.get_objects() if type(o) is _Cycle]
    assert libraries() == before  # the digest's own: none left for a full collection


async def test_worker_processes_read_the_same_names_and_words(
    seeds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past PARALLEL_AFTER texts, names and words are read by worker processes: the same
    signatures and the same digest; copies and repeated ids made before their text's
    sets came back get them too."""
    results, documents = await _seeds(seeds_dir)
    copies = [r.model_copy(update={"doc_id": f"copy-{r.doc_id}"}) for r in results]
    texts = {d.id: d.text for d in documents} | {f"copy-{d.id}": d.text for d in documents}
    stream = [*results, *copies, results[0]]  # copies and a repeated id while pending
    alone = read_corpus(stream, texts, parallel_after=10**9)
    pools: list[int] = []
    real_workers = records._workers

    def counted_workers() -> int:
        pools.append(1)
        return real_workers()

    monkeypatch.setattr(records, "_workers", counted_workers)
    if not records._forks():
        pytest.skip(f"no safe fork here ({threading.active_count()} threads run)")
    parallel = read_corpus(stream, texts, parallel_after=1)
    assert pools == [1]  # the names and words past the first text came from a worker
    assert len(parallel.signatures) == len(alone.signatures) == 2 * len(results) + 1
    for made, expected in zip(parallel.signatures, alone.signatures, strict=True):
        assert made.doc_id == expected.doc_id and made.fingerprint == expected.fingerprint
        assert made.entities == expected.entities and made.entities
        assert made.words.tolist() == expected.words.tolist() and made.words.size
    in_process = _stories(await build_digest(stream, texts))
    monkeypatch.setattr("summarizer._digest.records.PARALLEL_AFTER", 0)
    assert _stories(await build_digest(iter(stream), texts)) == in_process


async def test_a_worker_that_dies_leaves_its_texts_to_the_reading_process(
    seeds_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker killed mid-stream (as the OOM killer would): no hang, the same signatures,
    a warning; the rest is read in this process."""
    results, documents = await _seeds(seeds_dir)
    copies = [r.model_copy(update={"doc_id": f"copy-{r.doc_id}"}) for r in results]
    texts = {d.id: d.text for d in documents} | {f"copy-{d.id}": d.text for d in documents}
    stream = [*results, *copies]
    alone = read_corpus(stream, texts, parallel_after=10**9)
    if not records._forks():
        pytest.skip(f"no safe fork here ({threading.active_count()} threads run)")
    monkeypatch.setattr(records, "BATCH", 1)
    killed: list[int] = []

    def killing() -> Iterator[DocumentSummary]:
        for i, result in enumerate(stream):
            if i == 3:  # texts 2 and 3 went to the worker
                for worker in multiprocessing.active_children():
                    assert worker.pid is not None
                    os.kill(worker.pid, signal.SIGKILL)
                    worker.join(10)  # dead before the stream goes on
                    killed.append(worker.pid)
            yield result

    with caplog.at_level(logging.WARNING, logger="summarizer.digest"):
        survived = read_corpus(killing(), texts, parallel_after=1)
    # (the executor's own thread reaps the killed worker: its exit code is not ours to read)
    assert killed
    assert "digest worker process failed" in caplog.text
    assert not multiprocessing.active_children()
    for made, expected in zip(survived.signatures, alone.signatures, strict=True):
        assert made.entities == expected.entities and made.entities
        assert made.words.tolist() == expected.words.tolist() and made.words.size


def test_workers_leave_signals_to_the_reading_process() -> None:
    """A forked worker ignores Ctrl-C (the reading process handles it and stops the
    workers), dies on SIGTERM, and writes no signal into the caller's event loop."""
    if not records._forks():
        pytest.skip(f"no safe fork here ({threading.active_count()} threads run)")
    with records.Signer(parallel_after=0) as signer:
        signer.sign(signature("a", "Alice met Bob in Paris."), "Alice met Bob in Paris.")
        assert signer.pool is not None
        handlers = signer.pool.submit(_worker_signals).result(timeout=30)
    assert handlers == (signal.SIG_IGN, signal.SIG_DFL, -1)


def _worker_signals() -> tuple[object, object, int]:
    wakeup = signal.set_wakeup_fd(-1)
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), wakeup
