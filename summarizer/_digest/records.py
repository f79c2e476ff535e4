"""The digest's input, read once as a stream: compact records of each article.

:func:`read_corpus` takes results and documents as iterables and reads each once, in
step (a result's text is the next document with its id; documents passed over on the way
wait in a small buffer, none when both come in the same order). From each article it
keeps only what the digest uses: its :class:`~summarizer._digest.cluster.Signature`
(names, word hashes, fingerprint) and, for the first article of each text, its date,
summary and claims as statements (:class:`Statement`) with the article's own quote. The text itself,
the caller's result and its pydantic claims are not kept, so a caller that streams 100,000
results (one file at a time) never holds them all, and neither does the digest. Past
the first few thousand texts of a stream, names and words are read by worker processes
(:class:`Signer`) while this process reads on.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import islice
from types import TracebackType
from typing import Any

import numpy as np

from summarizer._digest.cluster import Signature, fingerprint, names_and_words
from summarizer._documents import Document
from summarizer._models import Claim, DocumentFailure, DocumentSummary


@dataclass(slots=True)
class Statement:
    """One claim as the digest needs it: ``quote`` is the article's own text at
    [start, end) when the claim is grounded (None otherwise)."""

    id: str
    text: str
    evidence: str
    quote: str | None = None
    start: int | None = None
    end: int | None = None


def statements(claims: Iterable[Claim], text: str | None = None) -> list[Statement]:
    """Each claim as a :class:`Statement`; with the article's ``text``, a grounded claim's
    quote is the text at its first located span (never the engine's paraphrase). Equal
    strings are stored once (a quote is often the claim's own words)."""
    made = []
    for claim in claims:
        said = claim.text
        evidence = said if claim.evidence == said else claim.evidence
        statement = Statement(sys.intern(claim.id), said, evidence)  # c1, c2, ...
        if text is not None and claim.grounded:
            _locate(statement, claim, text)
        made.append(statement)
    return made


def _locate(statement: Statement, claim: Claim, text: str) -> None:
    """The quote at the claim's first located span."""
    for span in claim.spans:
        start, end = span.start, span.end
        if start is not None and end is not None:
            quote = text[start:end]
            statement.quote = statement.text if quote == statement.text else quote
            statement.start, statement.end = start, end
            return


@dataclass(slots=True)
class Article:
    """What the digest keeps of the first article with a text (its copies: the id only)."""

    doc_id: str
    date: str | None
    summary: str
    statements: list[Statement]


@dataclass
class Corpus:
    """Every article read: ids in input order, the summarised ones' signatures, the records
    of the first article of each text, and the failures."""

    articles: list[str] = field(default_factory=list)
    summarised: list[str] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    records: dict[str, Article] = field(default_factory=dict)
    failures: list[DocumentFailure] = field(default_factory=list)


READ_AHEAD = 1_000  # documents a result's text is looked for past those already waiting

logger = logging.getLogger("summarizer.digest")


class Texts:
    """Article texts by id. A mapping or a sequence is indexed at once; any other iterable
    is read as far as needed and once: a text is looked for at most :data:`READ_AHEAD`
    documents past those already read (which wait in a buffer), so a result whose document
    never comes does not read and keep the whole stream. Of documents sharing an id the
    first text wins (a different later text is logged as a warning)."""

    def __init__(
        self, documents: Iterable[Document] | Mapping[str, str], read_ahead: int = READ_AHEAD
    ):
        self.waiting: dict[str, str] = {}
        self._given: dict[str, int] = {}  # id -> hash of the text handed out
        self._read_ahead = read_ahead
        self._rest: Iterator[Document] = iter(())
        if isinstance(documents, Mapping):
            self.waiting = dict(documents)
        elif isinstance(documents, Sequence):  # already in memory: indexed, any order
            for document in documents:
                self._keep(document)
        else:
            self._rest = iter(documents)

    def _keep(self, document: Document) -> None:
        doc_id, text = document.id, document.text
        kept = self.waiting.get(doc_id)
        if kept is None and doc_id not in self._given:
            self.waiting[doc_id] = text
        elif (text != kept) if kept is not None else (hash(text) != self._given[doc_id]):
            logger.warning(
                "documents share the id %r with different texts: the first is read", doc_id
            )

    def give(self, document: Document) -> None:
        """Keep ``document``'s text until a result takes it (a stream that hands each
        document over with its result: nothing is read ahead)."""
        self._keep(document)

    def take(self, doc_id: str) -> str | None:
        """The text of ``doc_id``, handed out once (None when it is not found)."""
        text = self.waiting.pop(doc_id, None)
        if text is None:
            for document in islice(self._rest, self._read_ahead):
                if document.id == doc_id and doc_id not in self._given:
                    text = document.text
                    break
                self._keep(document)
        if text is not None:
            self._given[doc_id] = hash(text)
        return text


PARALLEL_AFTER = 2_000  # distinct texts read in the process before workers take over
BATCH = 256  # texts sent to a worker at once
IN_FLIGHT = 8  # batches sent and not yet received, at most
_PENDING = np.empty(0, dtype=np.int64)  # a signature's words until its worker has read them


def _names_and_words(texts: list[str]) -> list[tuple[set[str], np.ndarray]]:
    return [names_and_words(text) for text in texts]


def _quiet_worker() -> None:
    """A worker's signals: not its parent's (a forked child inherits the caller's Python
    handlers and the event loop's wakeup socket, so one Ctrl-C would reach the caller's
    handler once per worker, and a handled SIGTERM would keep the worker alive). Ctrl-C
    is the parent's to handle; the parent then stops the workers."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Signer:
    """Fills each new text's signature with its names and word hashes: the first
    :data:`PARALLEL_AFTER` texts in this process, the rest in worker processes (forked,
    so they hash words as this process does; one per core but this one's, and none where
    the system cannot fork or this process runs other threads). Texts go in batches, at
    most :data:`IN_FLIGHT` of them away at once, so a stream is never held whole; when
    the workers are behind, this process reads the next batch itself, and a batch whose
    worker died or failed is read here too (the same sets). A signature's sets are in
    place once :meth:`close` has returned. Reading names and words is half of reading a
    corpus: with workers it runs beside the rest (the caller's input, the claims, the
    fingerprints)."""

    def __init__(self, parallel_after: int | None = None) -> None:
        self.parallel_after = PARALLEL_AFTER if parallel_after is None else parallel_after
        self.signed = 0
        self.pool: ProcessPoolExecutor | None = None
        self.broken = False  # a worker died: the rest is read here
        self.batch: list[tuple[Signature, str]] = []
        self.sent: deque[tuple[list[Signature], list[str], Future[list[Any]]]] = deque()

    def sign(self, made: Signature, text: str) -> None:
        self.signed += 1
        if self.pool is None and (
            self.broken or self.signed <= self.parallel_after or not _forks()
        ):
            made.entities, made.words = names_and_words(text)
            return
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                _workers(),
                mp_context=multiprocessing.get_context("fork"),
                initializer=_quiet_worker,
            )
        made.words = _PENDING
        self.batch.append((made, text))
        if len(self.batch) >= BATCH:
            self._send()

    def _send(self) -> None:
        signatures = [made for made, _ in self.batch]
        texts = [text for _, text in self.batch]
        self.batch = []
        if self.pool is None or (len(self.sent) >= IN_FLIGHT and not self.sent[0][2].done()):
            _fill(signatures, _names_and_words(texts))  # workers behind or gone: read here
        else:
            try:
                future = self.pool.submit(_names_and_words, texts)
            except BrokenProcessPool as error:  # a worker died since the last batch
                self._give_up(error)
                _fill(signatures, _names_and_words(texts))
            else:
                self.sent.append((signatures, texts, future))
        while self.sent and self.sent[0][2].done():
            self._receive()

    def _receive(self) -> None:
        signatures, texts, future = self.sent.popleft()
        try:
            read = future.result()
        except Exception as error:  # a worker died (BrokenProcessPool) or failed
            self._give_up(error)
            read = _names_and_words(texts)
        _fill(signatures, read)

    def _give_up(self, error: Exception) -> None:
        """No more workers: what they had and what comes is read in this process."""
        if not self.broken:
            logger.warning("digest worker process failed (%r); reading here", error)
            self.broken = True
            self._stop()

    def close(self) -> None:
        """Every signature filled; the workers stopped."""
        if self.batch:
            self._send()
        while self.sent:
            self._receive()
        self._stop()

    def _stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def __enter__(self) -> Signer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self.close()
        finally:  # an error (in the stream or in close()): nothing more to read
            self._stop()


def _fill(signatures: list[Signature], read: list[tuple[set[str], np.ndarray]]) -> None:
    for made, (names, words) in zip(signatures, read, strict=True):
        made.entities, made.words = names, words


def _forks() -> bool:
    """Whether worker processes can be forked safely: the system forks, and this process
    runs one thread (a fork copies no other thread, whose locks could stay held)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _workers() -> int:
    """One worker per core but the one this process reads on (at least one, at most 4)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, (cores or 1) - 1))


class _Reader:
    """The reading of :func:`read_corpus`, one result at a time (:meth:`add`), for a
    stream of results pushed in (:func:`aread_corpus`) as well as pulled."""

    def __init__(self, texts: Texts, signer: Signer) -> None:
        self.corpus = Corpus()
        self.texts = texts
        self.signer = signer
        self.seen: dict[str, Signature] = {}  # fingerprint -> the first signature of that text
        self.read: dict[str, Signature] = {}  # doc id -> the first signature read for that id
        self.copied = False  # a copy made before its first text's sets were in

    def add(self, result: DocumentSummary | DocumentFailure) -> None:
        corpus = self.corpus
        corpus.articles.append(result.doc_id)
        if isinstance(result, DocumentFailure):
            corpus.failures.append(result)
            return
        corpus.summarised.append(result.doc_id)
        first = self.read.get(result.doc_id)
        if first is None:
            taken = self.texts.take(result.doc_id)
            text = result.summary if taken is None else taken
            printed = fingerprint(text)
            first = self.seen.get(printed)
        if first is not None:  # a copy of a text already read: it shares its sets
            made = Signature(result.doc_id, first.entities, first.words, first.fingerprint)
            self.copied = self.copied or first.words is _PENDING
            self.read.setdefault(result.doc_id, made)
            corpus.signatures.append(made)
            return
        self.read[result.doc_id] = self.seen[printed] = made = Signature(
            result.doc_id, set(), _PENDING, printed
        )
        self.signer.sign(made, text)
        corpus.signatures.append(made)
        corpus.records[result.doc_id] = Article(
            result.doc_id, result.date, result.summary, statements(result.claims, text)
        )

    def finish(self) -> Corpus:
        """The corpus, once the signer has closed: copies take their first text's sets."""
        for made in self.corpus.signatures if self.copied else ():
            if made.words is _PENDING:
                first = self.seen[made.fingerprint]
                made.entities, made.words = first.entities, first.words
        return self.corpus


def read_corpus(
    results: Iterable[DocumentSummary | DocumentFailure],
    documents: Iterable[Document] | Mapping[str, str] | Texts,
    parallel_after: int | None = None,
) -> Corpus:
    """Read ``results`` (and the documents their texts come from) once, keeping the compact
    records (see the module docstring). An article without a document is read from its
    summary. A repeated id is read as the first article with that id (a copy of its
    text); a failure takes no text, so a retry's success after it still reads its
    article. Names and words of the texts past the first ``parallel_after``
    (:data:`PARALLEL_AFTER`) are read by worker processes (:class:`Signer`); by default
    only when ``results`` is a stream (results already in a list or tuple mean a large
    heap, which forked workers made slower, not faster)."""
    texts = documents if isinstance(documents, Texts) else Texts(documents)
    if parallel_after is None and isinstance(results, Sequence):  # in memory: no workers
        parallel_after = sys.maxsize  # (measured slower: 65 against 61 s at 100,000)
    with Signer(parallel_after) as signer:
        reader = _Reader(texts, signer)
        for result in results:
            reader.add(result)
    return reader.finish()


YOUNG_GARBAGE = 100_000  # objects made, at most, between collections of the young generations


async def aread_corpus(
    results: AsyncIterable[DocumentSummary | DocumentFailure],
    documents: Iterable[Document] | Mapping[str, str] | Texts,
    parallel_after: int | None = None,
) -> Corpus:
    """:func:`read_corpus` of results that come as they are made (the pipeline's stream,
    :meth:`~summarizer.Summarizer.astream_many`): each is read as it arrives. The caller
    pauses the cycle collector for the digest; the pipeline that runs meanwhile makes
    cyclic garbage (an HTTP client's futures, exceptions), so the young generations are
    collected here every :data:`YOUNG_GARBAGE` objects made (each object is looked at
    once there; the digest's own records, which make no cycles, then wait in the oldest
    generation, unexamined)."""
    texts = documents if isinstance(documents, Texts) else Texts(documents)
    paused = not gc.isenabled()
    with Signer(parallel_after) as signer:
        reader = _Reader(texts, signer)
        async for result in results:
            reader.add(result)
            if paused and gc.get_count()[0] > YOUNG_GARBAGE:
                gc.collect(1)
    return reader.finish()
