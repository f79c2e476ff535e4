"""The digest of a corpus, end to end: summarise every document with a :class:`Summarizer`
(cached results reused), then build the digest from the results. With a model engine, the
model is asked to confirm each contradiction candidate."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from summarizer._digest import build_digest
from summarizer._digest.models import DigestReport
from summarizer._documents import Document
from summarizer._models import DocumentFailure, DocumentSummary
from summarizer._pipeline import Summarizer


async def adigest(summarizer: Summarizer, documents: Iterable[Document]) -> DigestReport:
    """Summarise ``documents`` with ``summarizer``, then build their digest."""
    items = list(documents)
    results = await summarizer.asummarize_many(items)
    confirm = None
    client = summarizer.client
    if client is not None and summarizer.engine.name == "llm":
        from summarizer._digest.confirm import ModelConfirmation

        confirm = ModelConfirmation(client)
    results.reverse()

    def handed_over() -> Iterator[DocumentSummary | DocumentFailure]:
        """The results in input order, each let go once the digest has read it (the digest
        keeps compact records: the results are not held twice)."""
        while results:
            yield results.pop()

    return await build_digest(handed_over(), items, engine=summarizer.engine.name, confirm=confirm)


def digest(summarizer: Summarizer, documents: Iterable[Document]) -> DigestReport:
    """The sync form of :func:`adigest`."""
    return summarizer.run_sync(adigest(summarizer, documents))
