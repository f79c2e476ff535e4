"""The digest of a corpus, end to end: summarise every document with a :class:`Summarizer`
(cached results reused) and build the digest from the results as they come. With a model
engine, the model is asked to confirm each contradiction candidate."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing

from summarizer._digest import build_digest
from summarizer._digest.models import DigestReport
from summarizer._digest.records import Texts
from summarizer._documents import Document
from summarizer._models import DocumentFailure, DocumentSummary
from summarizer._pipeline import Summarizer


async def adigest(summarizer: Summarizer, documents: Iterable[Document]) -> DigestReport:
    """Summarise ``documents`` with ``summarizer``, then build their digest. The documents
    are read as the pipeline goes (a generator that loads one file at a time is never
    held whole), and each result goes into the digest as soon as it and those before it
    are done (:meth:`Summarizer.astream_many`): the digest keeps its compact records, not
    the results or the texts. The digest is the same as of the results in a list."""
    confirm = None
    client = summarizer.client
    if client is not None and summarizer.engine.name == "llm":
        from summarizer._digest.confirm import ModelConfirmation

        confirm = ModelConfirmation(client)
    texts = Texts(())  # each document's text, handed over with its result

    async def handed_over() -> AsyncGenerator[DocumentSummary | DocumentFailure, None]:
        async with aclosing(summarizer.astream_many(documents)) as stream:
            async for document, result in stream:
                if isinstance(result, DocumentSummary):  # a failure reads no text
                    texts.give(document)
                yield result

    async with aclosing(handed_over()) as results:
        return await build_digest(results, texts, engine=summarizer.engine.name, confirm=confirm)


def digest(summarizer: Summarizer, documents: Iterable[Document]) -> DigestReport:
    """The sync form of :func:`adigest`."""
    return summarizer.run_sync(adigest(summarizer, documents))
