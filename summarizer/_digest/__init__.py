"""The corpus digest: stories, cross-source support, and contradictions.

:func:`build_digest` works on pipeline results (any engine); ``summarizer digest`` and
:func:`summarizer.adigest` (:mod:`summarizer._digest.corpus`) run the pipeline first
(cached results reused).
"""

from __future__ import annotations

from collections.abc import Sequence

from summarizer._digest.align import Item, align, candidate_pairs, items_of
from summarizer._digest.cluster import UnionFind, cluster, signature
from summarizer._digest.contradictions import Confirm, confirm_all, find_contradictions
from summarizer._digest.models import (
    Contradiction,
    DigestClaim,
    DigestReport,
    NearDuplicate,
    Story,
    Support,
)
from summarizer._documents import Document
from summarizer._models import DocumentFailure, DocumentSummary

__all__ = ["DigestReport", "build_digest", "markdown_digest"]

STORY_SUMMARY_WORDS = 150


def _support(item: Item) -> Support:
    span = next((s for s in item.claim.spans if s.start is not None), None)
    return Support(
        doc_id=item.doc_id,
        claim_id=item.claim.id,
        claim=item.claim.text,
        evidence=item.claim.evidence,
        start=span.start if span else None,
        end=span.end if span else None,
        grounded=item.claim.grounded,
    )


def _digest_claim(
    number: int, group: list[Item], source_of: dict[str, str], total: int
) -> DigestClaim:
    articles = sorted({item.doc_id for item in group})
    sources = len({source_of[doc] for doc in articles})
    note = f"{sources} of {total} source{'s' if total != 1 else ''}"
    if sources != len(articles):
        note += f" ({len(articles)} articles; near-duplicates counted once)"
    text = min((item.claim.text for item in group), key=len)
    return DigestClaim(
        id=f"d{number}",
        text=text,
        support=[_support(item) for item in group],
        articles=len(articles),
        sources=sources,
        support_note=note,
    )


async def build_digest(
    results: Sequence[DocumentSummary | DocumentFailure],
    documents: Sequence[Document],
    *,
    engine: str = "extractive",
    confirm: Confirm | None = None,
) -> DigestReport:
    texts = {d.id: d.text for d in documents}
    ok = [r for r in results if isinstance(r, DocumentSummary)]
    signatures = [signature(r.doc_id, texts.get(r.doc_id, r.summary)) for r in ok]
    stories, links, duplicates = cluster(signatures)
    by_id = {r.doc_id: r for r in ok}
    built = []
    for number, members in enumerate(stories, start=1):
        member_set = set(members)
        sources = UnionFind(members)
        story_duplicates = [(a, b, s) for a, b, s in duplicates if a in member_set]
        for a, b, _ in story_duplicates:
            sources.union(a, b)
        source_of = {doc: sources.find(doc) for doc in members}
        total_sources = len(set(source_of.values()))
        items = [item for doc in members for item in items_of(doc, by_id[doc].claims)]
        pairs = candidate_pairs(items)
        groups = align(items, pairs)
        claims = [
            _digest_claim(i, g, source_of, total_sources) for i, g in enumerate(groups, start=1)
        ]
        consensus = sorted(
            (c for c in claims if c.sources >= 2), key=lambda c: (-c.sources, -c.articles)
        )
        unique = [c for c in claims if c.sources < 2]
        published = {doc: by_id[doc].date for doc in members}
        contradictions: list[Contradiction] = find_contradictions(pairs, items, published)
        if confirm is not None:
            contradictions = await confirm_all(contradictions, confirm)
        built.append(
            Story(
                id=f"s{number}",
                articles=members,
                similarity=[
                    NearDuplicate(articles=[a, b], similarity=s)
                    for a, b, s in links
                    if a in member_set
                ],
                near_duplicates=[
                    NearDuplicate(articles=[a, b], similarity=s) for a, b, s in story_duplicates
                ],
                sources=total_sources,
                summary=_story_summary(members, consensus, by_id),
                consensus=consensus,
                unique=unique,
                contradictions=contradictions,
            )
        )
    return DigestReport(
        engine=engine,
        articles=[r.doc_id for r in results],
        stories=built,
        failures=[r for r in results if isinstance(r, DocumentFailure)],
    )


def _story_summary(
    members: list[str], consensus: list[DigestClaim], by_id: dict[str, DocumentSummary]
) -> str:
    """Offline: the best-supported claims, within a word budget (a single article's summary
    when there is no consensus)."""
    if not consensus:
        return by_id[members[0]].summary
    words: list[str] = []
    for claim in consensus:
        sentence = claim.text.split()
        if len(words) + len(sentence) > STORY_SUMMARY_WORDS:
            continue
        words += sentence
    return " ".join(words) or consensus[0].text


def markdown_digest(report: DigestReport) -> str:
    lines = ["# Digest", ""]
    lines.append(
        f"{len(report.articles)} articles, {len(report.stories)} "
        f"{'story' if len(report.stories) == 1 else 'stories'}; engine: {report.engine}."
    )
    lines.append("")
    for story in report.stories:
        lines += [
            f"## Story {story.id}: {len(story.articles)} articles, "
            f"{story.sources} independent sources",
            "",
        ]
        lines += [story.summary, ""]
        lines.append("Articles: " + ", ".join(f"`{a}`" for a in story.articles))
        lines.append("")
        if story.near_duplicates:
            lines += ["**Near-duplicates** (retell the same source; counted once):", ""]
            lines += [
                f"- `{d.articles[0]}` ≈ `{d.articles[1]}` (similarity {d.similarity:.2f})"
                for d in story.near_duplicates
            ]
            lines.append("")
        if story.contradictions:
            lines += ["### Contradictions", ""]
            for c in story.contradictions:
                verdict = (
                    ""
                    if c.confirmed is None
                    else (" (confirmed)" if c.confirmed else " (not confirmed)")
                )
                lines.append(f"- **{c.slot}**: {c.description}{verdict}")
                for side in c.sides:
                    lines.append(f"  - `{side.doc_id}`: “{' '.join(side.quote.split())}”")
            lines.append("")
        if story.consensus:
            lines += ["### Consensus claims", ""]
            for claim in story.consensus:
                lines.append(f"- {claim.text} — *{claim.support_note}*")
                for support in claim.support:
                    lines.append(f"  - `{support.doc_id}`: “{' '.join(support.evidence.split())}”")
            lines.append("")
        if story.unique:
            lines += ["### Claims from one source only", ""]
            for claim in story.unique:
                lines.append(f"- `{claim.support[0].doc_id}`: {claim.text}")
            lines.append("")
    if report.failures:
        lines += (
            ["## Failures", ""] + [f"- `{f.doc_id}`: {f.message}" for f in report.failures] + [""]
        )
    return "\n".join(lines)
