"""The digest's input, read once as a stream: compact records of each article.

:func:`read_corpus` takes results and documents as iterables and reads each once, in
step (a result's text is the next document with its id; documents passed over on the way
wait in a small buffer, none when both come in the same order). From each article it
keeps only what the digest uses: its :class:`~summarizer._digest.cluster.Signature`
(names, word hashes, fingerprint) and, for the first article of each text, its date,
summary and claims as statements (:class:`Statement`) with the article's own quote. The text itself,
the caller's result and its pydantic claims are not kept, so a caller that streams 100,000
results (one file at a time) never holds them all, and neither does the digest.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from summarizer._digest.cluster import Signature, signature
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


class Texts:
    """Article texts by id, read from ``documents`` as far as needed and once."""

    def __init__(self, documents: Iterable[Document] | Mapping[str, str]):
        self._waiting: dict[str, str] = {}
        if isinstance(documents, Mapping):
            self._waiting = dict(documents)
            self._rest: Iterator[Document] = iter(())
        else:
            self._rest = iter(documents)

    def take(self, doc_id: str) -> str | None:
        if doc_id in self._waiting:
            return self._waiting.pop(doc_id)
        for document in self._rest:
            if document.id == doc_id:
                return document.text
            self._waiting.setdefault(document.id, document.text)
        return None


def read_corpus(
    results: Iterable[DocumentSummary | DocumentFailure],
    documents: Iterable[Document] | Mapping[str, str],
) -> Corpus:
    """Read ``results`` (and the documents their texts come from) once, keeping the compact
    records (see the module docstring). An article without a document is read from its
    summary."""
    corpus = Corpus()
    texts = Texts(documents)
    seen: dict[str, Signature] = {}  # fingerprint -> the first signature of that text
    for result in results:
        corpus.articles.append(result.doc_id)
        if isinstance(result, DocumentFailure):
            corpus.failures.append(result)
            texts.take(result.doc_id)  # not needed: let it go
            continue
        text = texts.take(result.doc_id)
        if text is None:
            text = result.summary
        corpus.summarised.append(result.doc_id)
        copies = len(seen)
        corpus.signatures.append(signature(result.doc_id, text, seen))
        if len(seen) > copies:  # a text not seen before (a copy only shares its sets)
            corpus.records[result.doc_id] = Article(
                result.doc_id, result.date, result.summary, statements(result.claims, text)
            )
    return corpus
