"""From per-chunk claim drafts to a document's grounded, merged claim list.

Every evidence quote is located in the article's original text (see
:mod:`summarizer._grounding`), searched first in the span of the chunk it came from.
Claims are then merged: the same claim text (ignoring case and punctuation), or a near
duplicate (content-word Jaccard similarity of at least ``NEAR_DUPLICATE`` with the same
numbers) becomes one claim that keeps every evidence span. Claims are ordered by where
their evidence first appears; a claim whose quote was not found is kept, flagged and
placed after its chunk's located claims.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from summarizer._grounding import QuoteLocator
from summarizer._models import (
    ChunkResult,
    Claim,
    ClaimDraft,
    ClaimKind,
    EvidenceSpan,
    SummaryWarning,
)
from summarizer._text import (
    STOPWORDS,
    content_words,
    jaccard,
    numbers,
    split_sentences,
    stem,
    words,
)

NEAR_DUPLICATE = 0.8
_PUNCTUATION = re.compile(r"[^\w\s]")


def claim_key(text: str) -> str:
    return " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())


@dataclass
class _Group:
    key: str
    words: set[str]
    numbers: set[str]
    text: str
    speaker: str | None
    kind: ClaimKind
    spans: list[EvidenceSpan] = field(default_factory=list)
    chunks: list[int] = field(default_factory=list)
    order: float = math.inf
    arrival: int = 0

    def add(self, span: EvidenceSpan, chunk: int) -> None:
        if not any(
            (s.start, s.end, s.quote) == (span.start, span.end, span.quote) for s in self.spans
        ):
            self.spans.append(span)
        if chunk not in self.chunks:
            self.chunks.append(chunk)
        if span.start is not None:
            self.order = min(self.order, span.start)


def merge_claims(items: list[tuple[ClaimDraft, int, EvidenceSpan]]) -> list[Claim]:
    """Collapse exact and near-duplicate claims; order by first evidence position."""
    groups: list[_Group] = []
    for arrival, (draft, chunk, span) in enumerate(items):
        key = claim_key(draft.claim)
        words = set(content_words(draft.claim))
        stated = numbers(draft.claim)
        for group in groups:
            if group.key == key or (
                group.numbers == stated and jaccard(group.words, words) >= NEAR_DUPLICATE
            ):
                group.speaker = group.speaker or draft.speaker
                group.add(span, chunk)
                break
        else:
            group = _Group(
                key, words, stated, draft.claim, draft.speaker, draft.kind, arrival=arrival
            )
            group.add(span, chunk)
            groups.append(group)
    # Ungrounded claims sit after the located ones of their chunk.
    chunk_end: dict[int, float] = {}
    for group in groups:
        if group.order != math.inf:
            first = group.chunks[0]
            chunk_end[first] = max(chunk_end.get(first, -1.0), group.order)
    for group in groups:
        if group.order == math.inf:
            group.order = chunk_end.get(group.chunks[0], -1.0) + 0.5
    groups.sort(key=lambda g: (g.order, g.arrival))
    claims = []
    for number, group in enumerate(groups, start=1):
        grounded = [s for s in group.spans if s.start is not None]
        claims.append(
            Claim(
                id=f"c{number}",
                text=group.text,
                evidence=(grounded[0] if grounded else group.spans[0]).quote,
                speaker=group.speaker,
                kind=group.kind,
                grounded=bool(grounded),
                spans=grounded + [s for s in group.spans if s.start is None],
                chunks=sorted(group.chunks),
            )
        )
    return claims


def speaker_in_text(speaker: str, text: str) -> bool:
    """True when ``speaker`` is a name the text uses. A name is one phrase, not a sentence
    or two, and every word of it occurs in the text (ignoring case, a possessive 's, a
    plural s and words like "the" or "of"): "Shen Dingli", "Dingli" and "Professor Shen
    Dingli" pass for an article that calls him "Shen Dingli, a professor"; a sentence that
    merely mentions "China" does not, and neither does a made-up "Ministry of Truth"."""
    if len(split_sentences(speaker)) > 1:
        return False
    named = [stem(word) for word in words(speaker) if word.casefold() not in STOPWORDS]
    if not named:
        return False
    used = {stem(word) for word in words(text)}
    return all(word in used for word in named)


def ground_claims(
    locator: QuoteLocator, chunks: list[ChunkResult]
) -> tuple[list[Claim], list[SummaryWarning]]:
    """Locate, merge and check every claim of ``chunks`` against the article's text (the
    locator's, which remembers what the engine already looked up)."""
    text = locator.text
    items = []
    for chunk in chunks:
        hint = None
        if chunk.original_start is not None and chunk.original_end is not None:
            hint = (chunk.original_start, chunk.original_end)
        for draft in chunk.claims:
            items.append((draft, chunk.index, locator.locate(draft.evidence, hint)))
    claims = merge_claims(items)
    warnings = []
    for claim in claims:
        if not claim.grounded:
            warnings.append(
                SummaryWarning(
                    code="ungrounded_claim",
                    message=f"evidence not found in the article: {claim.evidence[:120]!r}",
                    claim_id=claim.id,
                )
            )
        if claim.speaker and not speaker_in_text(claim.speaker, text):
            warnings.append(
                SummaryWarning(
                    code="speaker_not_in_article",
                    message=f"speaker {claim.speaker!r} is not named in the article",
                    claim_id=claim.id,
                )
            )
    return claims, warnings
