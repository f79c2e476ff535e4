"""The pipeline and its public face, :class:`Summarizer`.

normalize -> engine (one call, or chunk -> map -> reduce) -> ground every quote in the
original text -> merge claims -> check speakers -> :class:`DocumentSummary`.

``summarize`` raises on failure; ``summarize_many`` never does: a document that fails
gets a :class:`DocumentFailure` in its place and the others go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

import httpx

from summarizer._cache import ResponseCache
from summarizer._claims import ground_claims
from summarizer._client import ChatClient
from summarizer._config import SummarizerConfig, default_cache_path
from summarizer._digest.models import DigestReport
from summarizer._documents import Document
from summarizer._engines import Engine, ExtractiveEngine, LLMEngine, PreparedDocument
from summarizer._errors import ModelError, SummarizerError
from summarizer._models import DocumentFailure, DocumentSummary, Provenance, SummaryWarning, Usage
from summarizer._normalize import normalize_text

T = TypeVar("T")
ResultCallback = Callable[[int, DocumentSummary | DocumentFailure], Awaitable[None] | None]


def make_engine(
    config: SummarizerConfig, *, http_client: httpx.AsyncClient | None = None
) -> Engine:
    """The engine ``config`` asks for: a model when one is configured, else extractive."""
    if not config.uses_llm():
        return ExtractiveEngine()
    cache = None
    if config.cache:
        cache = ResponseCache(config.cache_path or default_cache_path())
    client = ChatClient(config.llm_config(), http_client=http_client, cache=cache)
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
    ):
        self.config = config or SummarizerConfig()
        self._http_client = http_client
        self._owns_engine = engine is None
        self.engine = engine or make_engine(self.config, http_client=http_client)

    # -- one document ------------------------------------------------------------------------

    async def asummarize(self, item: str | Document) -> DocumentSummary:
        """Summarise one article (text or Document); raises SummarizerError on failure."""
        document = item if isinstance(item, Document) else Document.from_text(item)
        started = time.perf_counter()
        prepared = PreparedDocument(document, normalize_text(document.text))
        output = await self.engine.run(prepared, summary_words=self.config.summary_words)
        claims, claim_warnings = ground_claims(
            document.text, output.chunks, fuzzy_threshold=self.config.fuzzy_threshold
        )
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
        return asyncio.run(self._synchronously(self.asummarize(item)))

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
            async with limit:
                result = await self._safe(item)
            results[index] = result
            if on_result is not None:
                maybe = on_result(index, result)
                if maybe is not None:
                    await maybe

        await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
        return [r for r in results if r is not None]

    def summarize_many(
        self, documents: Iterable[str | Document]
    ) -> list[DocumentSummary | DocumentFailure]:
        return asyncio.run(self._synchronously(self.asummarize_many(documents)))

    async def _safe(self, item: str | Document) -> DocumentSummary | DocumentFailure:
        document = item if isinstance(item, Document) else Document.from_text(item)
        try:
            return await self.asummarize(document)
        except SummarizerError as exc:
            usage = exc.usage if isinstance(exc, ModelError) and exc.usage else Usage()
            return DocumentFailure(
                doc_id=document.id,
                source=document.source,
                error_type=type(exc).__name__,
                message=str(exc),
                usage=usage,
            )

    async def adigest(self, documents: Iterable[Document]) -> DigestReport:
        """Summarise every document (cached results reused), then build the corpus digest;
        with a model engine, the model is asked to confirm each contradiction candidate."""
        from summarizer._digest import build_digest

        items = list(documents)
        results = await self.asummarize_many(items)
        confirm = None
        if isinstance(self.engine, LLMEngine) and self.engine.name == "llm":
            from summarizer._digest.confirm import ModelConfirmation

            confirm = ModelConfirmation(self.engine.client)
        return await build_digest(results, items, engine=self.engine.name, confirm=confirm)

    def digest(self, documents: Iterable[Document]) -> DigestReport:
        return asyncio.run(self._synchronously(self.adigest(documents)))

    def _document_concurrency(self) -> int:
        if isinstance(self.engine, LLMEngine):
            return max(1, self.engine.client.config.concurrency * 2)
        return 1

    async def _synchronously(self, work: Awaitable[T]) -> T:
        """Run ``work`` on this event loop, then release the engine's connections, which
        belong to this loop; an engine the Summarizer made is rebuilt for the next call."""
        try:
            return await work
        finally:
            if self._owns_engine:
                await self.engine.aclose()
                self.engine = make_engine(self.config, http_client=self._http_client)

    async def aclose(self) -> None:
        await self.engine.aclose()
