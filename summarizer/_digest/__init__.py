"""The corpus digest: stories, independent sources, cross-source support, contradictions.

:func:`build_digest` works on pipeline results (any engine); ``summarizer digest`` and
:func:`summarizer.adigest` (:mod:`summarizer._digest.corpus`) run the pipeline first
(cached results reused).

Articles with the same text are aligned once (the others are listed as copies);
near-duplicate articles form one source group, and support and contradictions count
source groups. A claim's support has one entry per source group, wording and quote; the
group's other articles that restate it word for word are listed on that entry
(``restated_by``), so a story of 10,000 edited copies does not make 10,000 entries.
Only grounded claims (a quote located in the article) count as support or take part in
contradictions; every quote shown is the article's own text at its span.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from summarizer._digest.align import Item, align, candidate_pairs, claim_numbers, items_of, negated
from summarizer._digest.cluster import Clusters, cluster, forget_names
from summarizer._digest.contradictions import (
    Confirm,
    confirm_all,
    dates,
    find_contradictions,
    number_slots,
)
from summarizer._digest.markdown import markdown_digest
from summarizer._digest.models import (
    DigestClaim,
    DigestReport,
    NearDuplicate,
    Story,
    Support,
    construct,
)
from summarizer._digest.records import Article, Texts, aread_corpus, read_corpus
from summarizer._documents import Document
from summarizer._models import DocumentFailure, DocumentSummary

__all__ = ["DigestReport", "build_digest", "markdown_digest"]

STORY_SUMMARY_WORDS = 150
LARGE_STORY_ITEMS = 10_000  # claims in a story whose working memory is given back after it


@dataclass
class _StoryParts:
    groups: list[list[str]] = field(default_factory=list)
    links: list[NearDuplicate] = field(default_factory=list)
    duplicates: list[NearDuplicate] = field(default_factory=list)


def _by_story(clusters: Clusters) -> dict[int, _StoryParts]:
    """Each story's source groups, links and near-duplicate pairs (one pass over each)."""
    story_of = {doc: n for n, members in enumerate(clusters.stories, start=1) for doc in members}
    parts = {n: _StoryParts() for n in range(1, len(clusters.stories) + 1)}
    for group in clusters.source_groups:
        parts[story_of[group[0]]].groups.append(group)
    for a, b, s in clusters.links:
        parts[story_of[a]].links.append(construct(NearDuplicate, articles=[a, b], similarity=s))
    for a, b, s in clusters.duplicates:
        parts[story_of[a]].duplicates.append(
            construct(NearDuplicate, articles=[a, b], similarity=s)
        )
    return parts


@dataclass
class _Corpus:
    records: dict[str, Article]  # the first article of each text, until its story is built
    clusters: Clusters
    source_of: dict[str, str]
    by_story: dict[int, _StoryParts]
    notes: dict[str, str] = field(default_factory=dict)  # each note and claim id stored once
    notes_by_count: dict[tuple[int, int, int, int], str] = field(default_factory=dict)


def _support(item: Item, corpus: _Corpus, restated_by: list[str]) -> Support:
    stated = item.claim
    grounded = stated.quote is not None
    return construct(
        Support,
        doc_id=item.doc_id,
        claim_id=stated.id,
        claim=stated.text,
        evidence=stated.quote if stated.quote is not None else stated.evidence,
        start=stated.start,
        end=stated.end,
        grounded=grounded,
        source=corpus.source_of[item.doc_id],
        copies=corpus.clusters.copies.get(item.doc_id, []),
        restated_by=restated_by,
    )


def _supports(group: list[Item], corpus: _Corpus) -> list[Support]:
    """One entry per source group, wording and quote: the near-duplicates of a source that
    restate a claim word for word are listed on its first entry (a story of 10,000 edited
    copies gives one entry per source, not 10,000)."""
    if len(group) == 1:  # most claims: one statement, nothing to fold
        return [_support(group[0], corpus, [])]
    first: dict[tuple[str, str, str | None], tuple[Item, list[str]]] = {}
    for item in group:
        key = (corpus.source_of[item.doc_id], item.claim.text, item.quote)
        if key in first:
            first[key][1].extend((item.doc_id, *corpus.clusters.copies.get(item.doc_id, [])))
        else:
            first[key] = (item, [])
    return [_support(item, corpus, restated) for item, restated in first.values()]


def _digest_claim(number: int, group: list[Item], corpus: _Corpus, total: int) -> DigestClaim:
    if len(group) == 1:  # most claims: one statement, one entry, its source, its articles
        support = [_support(group[0], corpus, [])]
        entry = support[0]
        counted = [entry] if entry.grounded else []
        articles = len({entry.doc_id, *entry.copies}) if entry.copies else 1
        return _claim(number, support, counted, articles if counted else 0, total, corpus)
    support = _supports(group, corpus)
    counted = [s for s in support if s.grounded]
    if len(support) == 1:
        articles = len(set(counted[0].articles)) if counted else 0
    else:
        articles = len({doc for s in counted for doc in s.articles})
    return _claim(number, support, counted, articles, total, corpus)


def _claim(
    number: int,
    support: list[Support],
    counted: list[Support],
    articles: int,
    total: int,
    corpus: _Corpus,
) -> DigestClaim:
    """The claim of ``support`` (``counted``: its grounded entries, in ``articles``)."""
    sources = len(counted) if len(support) == 1 else len({s.source for s in counted})
    ungrounded = sum(len(s.articles) for s in support if not s.grounded)
    key = (sources, total, articles, ungrounded)
    note = corpus.notes_by_count.get(key)
    if note is None:
        note = f"{sources} of {total} source{'s' if total != 1 else ''}"
        if articles != sources:
            note += f" ({articles} articles; near-duplicates counted once)"
        if ungrounded:
            note += f"; {ungrounded} ungrounded, not counted"
        note = corpus.notes_by_count[key] = corpus.notes.setdefault(note, note)
    texts = [s.claim for s in counted] or [s.claim for s in support]
    return construct(
        DigestClaim,
        id=corpus.notes.setdefault(f"d{number}", f"d{number}"),  # d1, d2, ... in every story
        text=texts[0] if len(texts) == 1 else min(texts, key=len),
        support=support,
        articles=articles,
        sources=sources,
        support_note=note,
        disputed_by=[],
    )


def _give_back_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``; elsewhere
    nothing). The signatures' name sets are freed after clustering, but their pages stay
    in the heap, where the digest's outputs (Python's own small-object arenas) never reuse
    them: 100-200 MB of the process's peak at 100,000 articles."""
    trim = _malloc_trim()
    if trim is not None:  # not glibc: the pages stay
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, looked up once (each ``ctypes.CDLL`` makes a small reference
    cycle: the digest makes none of its own)."""
    try:
        import ctypes

        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim  # the process's C library
    except (ImportError, OSError, AttributeError, TypeError):
        return None
    return trim


@contextmanager
def _collector_paused(collect_first: bool = False, caller_runs: bool = True) -> Iterator[None]:
    """Python's cycle collector paused while the digest computes (reference counting
    still frees everything at once; the digest makes no cycles). The digest allocates
    millions of small objects, and each full collection walks every object of the process,
    the caller's results included: a fifth of the digest's CPU time at 20,000 articles.
    On the way out the objects made meanwhile go to the oldest generation unexamined
    (``gc.freeze`` then ``gc.unfreeze``, unless the caller keeps objects frozen): left in
    the youngest, the first collection after would walk every one of them (2 s at
    100,000 articles); there they wait for the next full collection, as old objects do.
    With ``collect_first`` the young generations are collected first, so cyclic garbage
    the caller made is freed now rather than moved to the oldest generation: on the way
    out when the caller's code ran meanwhile (its generators, read by the digest: the
    collection walks every object made since, 1-2 s at 100,000 articles), otherwise
    (input already in lists) on the way in, where the young generations are small. On an
    exception too, the collector is left as it was found."""
    enabled = gc.isenabled()
    if enabled and collect_first and not caller_runs:
        gc.collect(1)
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if collect_first and caller_runs:
                gc.collect(1)
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


async def build_digest(
    results: Iterable[DocumentSummary | DocumentFailure]
    | AsyncIterable[DocumentSummary | DocumentFailure],
    documents: Iterable[Document] | Mapping[str, str] | Texts = (),
    *,
    engine: str = "extractive",
    confirm: Confirm | None = None,
) -> DigestReport:
    """The digest of ``results``, each article read from its document in ``documents``
    (documents, or a mapping of doc id to text; an article without one is read from
    its summary). Both are iterables read once, in step (:mod:`summarizer._digest.records`):
    lists work, and so do generators that read one result file at a time, of which the
    digest keeps only compact records. A result's document is looked for at most
    :data:`~summarizer._digest.records.READ_AHEAD` documents ahead of a streamed
    ``documents`` (lists and mappings: anywhere); a failure reads none. ``results`` may
    also be an async iterable (the pipeline's :meth:`~summarizer.Summarizer.astream_many`,
    read as each result is made, :func:`~summarizer._digest.corpus.adigest`); the digest
    is the same as of the results in a list, in the order they come.

    A doc id given to several results (a retry streamed from two result files, or the
    same result twice) is read from its document each time (as a copy of the first
    article with that id). Of several documents with one id the **first** text wins (a
    stream cannot know the last without reading everything); one with a different text
    is logged as a warning (logger ``summarizer.digest``) naming the id."""
    # the caller's code (generators, a lazy mapping) runs inside the digest unless the
    # input is built-in containers
    caller_runs = not (type(results) in (list, tuple) and type(documents) in (list, tuple, dict))
    with _collector_paused(collect_first=True, caller_runs=caller_runs):
        if isinstance(results, AsyncIterable):
            read = await aread_corpus(results, documents)
        else:
            read = read_corpus(results, documents)
        clusters = cluster(read.signatures)
        read.signatures.clear()  # every text's word and name sets: not needed past clustering
        forget_names()
        _give_back_freed_memory()
        source_of = {doc: group[0] for group in clusters.source_groups for doc in group}
        by_story = _by_story(clusters)
    corpus = _Corpus(read.records, clusters, source_of, by_story)
    with _collector_paused() if confirm is None else nullcontext():  # no await without a model
        stories = [
            await _story(number, members, corpus, confirm)
            for number, members in enumerate(clusters.stories, start=1)
        ]
    return DigestReport(
        engine=engine,
        articles=read.articles,
        summarised=read.summarised,
        stories=stories,
        failures=read.failures,
    )


async def _story(
    number: int, members: list[str], corpus: _Corpus, confirm: Confirm | None
) -> Story:
    primaries = [doc for doc in members if doc in corpus.clusters.copies]
    parts = corpus.by_story[number]
    groups = parts.groups
    records = {doc: corpus.records.pop(doc) for doc in primaries}  # read once: let them go
    words: dict[str, set[str]] = {}  # content words by claim text, for this story only
    items = [
        item
        for doc in primaries
        for item in items_of(doc, records[doc].statements, None, words, compared=len(primaries) > 1)
    ]
    same_text: dict[tuple[str, str | None], list[Item]] = {}
    for item in items:  # near-duplicates repeat most claims word for word: align each once
        same_text.setdefault((item.claim.text, item.quote), []).append(item)
    twins = {group[0].key: group for group in same_text.values()}
    distinct = [group[0] for group in same_text.values()]
    pairs = candidate_pairs(distinct) if len(primaries) > 1 else []  # pairs span articles
    claims = [
        _digest_claim(i, [twin for item in group for twin in twins[item.key]], corpus, len(groups))
        for i, group in enumerate(align(distinct, pairs), start=1)
    ]
    published = {doc: records[doc].date for doc in primaries}
    contradictions, involved = find_contradictions(
        pairs, distinct, published, corpus.source_of, corpus.clusters.copies, twins
    )
    if confirm is not None:
        contradictions = await confirm_all(contradictions, confirm)
    if len(primaries) > 1:  # the claim memos serve one story's comparisons: let them go
        _forget_claim_memos()
    if len(items) >= LARGE_STORY_ITEMS:  # its claim words and pairs: back to the system
        _give_back_freed_memory()
    for claim in claims if involved else ():
        keys = {f"{s.doc_id}#{s.claim_id}" for s in claim.support}
        claim.disputed_by = [x for x, keyed in involved.items() if keys & keyed]
    consensus = sorted(
        (c for c in claims if c.sources >= 2 and not c.disputed_by),
        key=lambda c: (-c.sources, -c.articles, c.id),
    )
    return construct(
        Story,
        id=f"s{number}",
        articles=members,
        similarity=parts.links,
        near_duplicates=parts.duplicates,
        source_groups=groups,
        sources=len(groups),
        summary=_story_summary(primaries, consensus, records),
        consensus=consensus,
        disputed=[c for c in claims if c.disputed_by],
        unique=[c for c in claims if c.sources < 2 and not c.disputed_by],
        contradictions=contradictions,
    )


def _forget_claim_memos() -> None:
    """Clear the memos of per-claim parses (negation, numbers, number slots, dates): claims
    are compared only within a story, and 65,536 entries each, kept to the end, were about
    a tenth of the digest's peak memory at 100,000 articles."""
    for memo in (negated, claim_numbers, number_slots, dates):
        memo.cache_clear()


def _story_summary(
    members: list[str], consensus: list[DigestClaim], records: dict[str, Article]
) -> str:
    """Offline: the best-supported claims, within a word budget (a single article's summary,
    attributed, when no two sources agree on a grounded claim)."""
    if not consensus:
        return f"From `{members[0]}` alone: {records[members[0]].summary}"
    words: list[str] = []
    for claim in consensus:
        sentence = claim.text.split()
        if len(words) + len(sentence) > STORY_SUMMARY_WORDS:
            continue
        words += sentence
    return " ".join(words) or consensus[0].text
