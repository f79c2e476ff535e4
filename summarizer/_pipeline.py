"""The pipeline and its public face, :class:`Summarizer`.

normalize -> engine (one call, or chunk -> map -> reduce) -> ground every quote in the
original text -> merge claims -> check speakers -> :class:`DocumentSummary`.

``summarize`` raises on failure; ``summarize_many`` never does: a document that fails
gets a :class:`DocumentFailure` in its place and the others go on. Only cancellation
escapes the per-document boundary: an unexpected exception (a bug) becomes that document's
failure. An :class:`EndpointError` (no request can succeed) stops the run: documents not
yet started get a ``NotAttempted`` failure naming the cause, and :attr:`Summarizer.stopped_by`
keeps the error.

A :class:`Summarizer` resolves its configuration once, at construction, and owns one engine
(and so one model client, its cache and the structured-output mode it learned) for its
life; use it as a context manager, sync or async, to release them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TypeVar

import httpx

from summarizer._cache import ResponseCache
from summarizer._claims import ground_claims
from summarizer._client import ChatClient
from summarizer._config import ResolvedConfig, SummarizerConfig
from summarizer._documents import Document
from summarizer._endpoints import EndpointState
from summarizer._engines import Engine, ExtractiveEngine, LLMEngine, PreparedDocument
from summarizer._errors import EndpointError, SummarizerError
from summarizer._eventloop import run as run_on_loop
from summarizer._models import DocumentFailure, DocumentSummary, Provenance, SummaryWarning, Usage
from summarizer._quality import Checker

logger = logging.getLogger("summarizer")
T = TypeVar("T")
# documents read and not yet handed out by a stream, per document in flight: results wait
# behind a slow document (a retry, a long article) until this many later ones are done
STREAM_AHEAD = 64
ResultCallback = Callable[[int, DocumentSummary | DocumentFailure], Awaitable[None] | None]


def make_engine(
    resolved: ResolvedConfig, *, http_client: httpx.AsyncClient | None = None
) -> Engine:
    """The engine a resolved config decided on."""
    llm = resolved.llm
    if llm is None:
        return ExtractiveEngine()
    config = resolved.config
    cache = ResponseCache(config.cache_path) if config.cache_path is not None else None
    state = EndpointState.beside(config.cache_path) if config.cache_path is not None else None
    client = ChatClient(llm, http_client=http_client, cache=cache, state=state)
    return LLMEngine(client, config)


class Summarizer:
    """Summaries and grounded claims for articles.

    >>> summarizer = Summarizer(SummarizerConfig(engine="extractive"))
    >>> result = summarizer.summarize("Officials said 40 people were rescued on Monday.")
    """

    def __init__(
        self,
        config: SummarizerConfig | None = None,
        *,
        engine: Engine | None = None,
        http_client: httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
    ):
        """``env`` stands in for the process environment (read once, here)."""
        config = config or SummarizerConfig()
        if engine is None:
            self.resolved = config.resolve(env)
            engine = make_engine(self.resolved, http_client=http_client)
        else:
            self.resolved = ResolvedConfig(config, engine.name, "an engine was passed in")
        self.config = self.resolved.config
        self.engine = engine
        self.checker = Checker(engine.instructions)
        self.stopped_by: EndpointError | None = None

    @property
    def client(self) -> ChatClient | None:
        """The model client of an llm engine (None for the extractive engine)."""
        return self.engine.client if isinstance(self.engine, LLMEngine) else None

    # -- lifetime ----------------------------------------------------------------------------

    def __enter__(self) -> Summarizer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Summarizer:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def close(self) -> None:
        run_on_loop(self.aclose())

    async def aclose(self) -> None:
        await self.engine.aclose()

    def run_sync(self, work: Awaitable[T]) -> T:
        """Run ``work`` to the end on an event loop of its own, for the sync API; the
        connections of that loop are closed with it, the engine and what it learned stay."""

        async def run() -> T:
            try:
                return await work
            finally:
                await self.engine.release_connections()

        return run_on_loop(run())

    # -- one document ------------------------------------------------------------------------

    async def asummarize(self, item: str | Document) -> DocumentSummary:
        """Summarise one article (text or Document); raises SummarizerError on failure."""
        document = item if isinstance(item, Document) else Document.from_text(item)
        started = time.perf_counter()
        prepared = PreparedDocument.prepare(document, fuzzy_threshold=self.config.fuzzy_threshold)
        output = await self.engine.run(prepared, summary_words=self.config.summary_words)
        claims, claim_warnings = ground_claims(prepared.locator, output.chunks)
        warnings = list(output.warnings) + claim_warnings
        words = len(output.summary.split())
        if words > self.config.summary_words * 1.1:
            warnings.append(
                SummaryWarning(
                    code="summary_over_budget",
                    message=f"summary has {words} words; the budget is {self.config.summary_words}",
                )
            )
        engine = self.engine
        return DocumentSummary(
            doc_id=document.id,
            source=document.source,
            content_hash=document.content_hash,
            title=prepared.normalized.title,
            date=prepared.normalized.date,
            summary=output.summary,
            key_points=output.key_points,
            claims=claims,
            warnings=warnings,
            suspect=self.checker.reasons(
                doc_id=document.id,
                article=document.text,
                summary=output.summary,
                key_points=output.key_points,
                claims=claims,
            ),
            provenance=Provenance(
                engine=engine.name,
                model=engine.model,
                endpoint=engine.endpoint,
                prompt_name=engine.prompt_name,
                prompt_version=engine.prompt_version,
                prompt_hash=engine.prompt_hash,
                usage=output.usage,
                seconds=round(time.perf_counter() - started, 4),
            ),
            normalization=prepared.normalized.removed_counts(),
            chunks=len(output.chunks),
        )

    def summarize(self, item: str | Document) -> DocumentSummary:
        return self.run_sync(self.asummarize(item))

    # -- many documents ----------------------------------------------------------------------

    async def asummarize_many(
        self,
        documents: Iterable[str | Document],
        *,
        on_result: ResultCallback | None = None,
        concurrency: int | None = None,
    ) -> list[DocumentSummary | DocumentFailure]:
        """Every document's result, in input order; failures are records, not exceptions."""
        items: Sequence[str | Document] = list(documents)
        limit = asyncio.Semaphore(concurrency or self._document_concurrency())
        results: list[DocumentSummary | DocumentFailure | None] = [None] * len(items)

        async def one(index: int, item: str | Document) -> None:
            result = await self._limited(item, limit)
            results[index] = result
            if on_result is not None:
                try:
                    maybe = on_result(index, result)
                    if maybe is not None:
                        await maybe
                except Exception:  # a broken callback must not sink the other documents
                    logger.exception("result callback failed for document %s", result.doc_id)

        await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
        return [r for r in results if r is not None]

    def summarize_many(
        self, documents: Iterable[str | Document]
    ) -> list[DocumentSummary | DocumentFailure]:
        return self.run_sync(self.asummarize_many(documents))

    async def astream_many(
        self, documents: Iterable[str | Document], *, concurrency: int | None = None
    ) -> AsyncGenerator[tuple[Document, DocumentSummary | DocumentFailure], None]:
        """Each document with its result, in input order, as soon as it and those before
        it are done (failures are records, as in :meth:`asummarize_many`). ``documents``
        is read as the work goes (a generator that loads one file at a time works): the
        concurrency bounds the documents in flight, and at most :data:`STREAM_AHEAD` times
        it are read and not yet handed out (done, or waiting for a slot), so neither the
        documents nor the results are ever all held, and a slow document holds the others
        back only once that many after it are done. When reading ``documents`` raises,
        what was read is still finished and handed out, then the error is raised.
        Closing the stream early cancels the documents still in flight."""
        limit = asyncio.Semaphore(concurrency or self._document_concurrency())
        ahead = STREAM_AHEAD * (concurrency or self._document_concurrency())
        waiting: deque[tuple[Document, asyncio.Task[DocumentSummary | DocumentFailure]]]
        waiting = deque()
        items = iter(documents)
        reading = True
        unreadable: Exception | None = None
        try:
            while True:
                while reading and len(waiting) < ahead:
                    try:
                        item = next(items)
                    except StopIteration:
                        reading = False
                        break
                    except Exception as exc:  # the caller's iterable: its error, after
                        reading, unreadable = False, exc  # what it gave is handed out
                        break
                    document = item if isinstance(item, Document) else Document.from_text(item)
                    waiting.append((document, asyncio.create_task(self._limited(document, limit))))
                if not waiting:
                    if unreadable is not None:
                        raise unreadable
                    return
                document, task = waiting[0]
                result = await task
                waiting.popleft()
                yield document, result
        finally:
            for _, task in waiting:
                task.cancel()
            await asyncio.gather(*(task for _, task in waiting), return_exceptions=True)

    async def _limited(
        self, item: str | Document, limit: asyncio.Semaphore
    ) -> DocumentSummary | DocumentFailure:
        """One document's result under ``limit``; not attempted once the run has stopped."""
        async with limit:
            if self.stopped_by is None:
                return await self._safe(item)
            return _not_attempted(item, self.stopped_by)

    async def _safe(self, item: str | Document) -> DocumentSummary | DocumentFailure:
        document = item if isinstance(item, Document) else Document.from_text(item)
        try:
            return await self.asummarize(document)
        except EndpointError as exc:
            if self.stopped_by is None:
                self.stopped_by = exc
            return _failure(document, exc)
        except SummarizerError as exc:
            return _failure(document, exc)
        except Exception as exc:  # a bug is this document's failure, not the run's
            logger.exception("unexpected error on document %s", document.id)
            return _failure(document, exc, message=f"internal error: {type(exc).__name__}: {exc}")

    def _document_concurrency(self) -> int:
        client = self.client
        return max(1, client.config.concurrency * 2) if client is not None else 1


def _failure(document: Document, exc: Exception, *, message: str | None = None) -> DocumentFailure:
    usage = getattr(exc, "usage", None)
    return DocumentFailure(
        doc_id=document.id,
        source=document.source,
        error_type=type(exc).__name__,
        message=message or str(exc),
        usage=usage if isinstance(usage, Usage) else Usage(),
    )


def _not_attempted(item: str | Document, cause: EndpointError) -> DocumentFailure:
    document = item if isinstance(item, Document) else Document.from_text(item)
    return DocumentFailure(
        doc_id=document.id,
        source=document.source,
        error_type="NotAttempted",
        message=f"not attempted: the run stopped ({cause.detail})",
    )
