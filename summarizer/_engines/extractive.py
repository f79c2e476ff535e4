"""The offline extractive engine: no model, deterministic, the eval baseline.

Summary: whole sentences (a quotation running over several is one unit) chosen for
coverage of the article's concepts under the word budget, each concept weighted by its
positional frequency, redundancy earning nothing (:mod:`._selection`), in article order.
Page furniture (video prompts, bylines, photo captions), questions and fragments are never
candidates, though they still count towards which concepts the article is about.

Key points: up to five further units that best cover what the summary leaves out, so they
never repeat a summary sentence.

Claims: the article's important checkable facts, a number that grows with the article
(:func:`._facts.claim_budget`), each an atomic clause whose evidence is its verbatim span
of the original text, with the speaker from attribution and pronoun resolution
(:mod:`._speakers`) and a kind from tense and modality (:func:`._facts.claim_kind`).
"""

from __future__ import annotations

from summarizer._engines._facts import (
    CLAIM_DENSITY,
    Clause,
    claim_budget,
    claim_kind,
    claim_text,
    clauses,
    is_checkable,
)
from summarizer._engines._selection import (
    Unit,
    concept_weights,
    greedy_cover,
    is_story_sentence,
    quote_units,
    quotes_open,
    select,
)
from summarizer._engines._speakers import SpeakerTracker
from summarizer._engines.base import Engine, EngineName, EngineOutput, PreparedDocument
from summarizer._models import ChunkResult, ClaimDraft, SummaryWarning
from summarizer._text import content_words, split_sentences

MAX_UNITS = 400
KEY_POINTS = 5
EXTRACTIVE_NOTE = (
    "Made by the offline extractive engine (no language model): summary and claims are whole "
    "sentences and clauses selected from the article. Set OPENAI_API_KEY or OPENAI_BASE_URL (or "
    "pass --engine llm --model NAME --base-url URL) to use a model."
)


class ExtractiveEngine(Engine):
    """The offline engine; ``claim_density`` scales the claim budget (see claim_budget)."""

    name: EngineName = "extractive"

    def __init__(self, *, claim_density: float = CLAIM_DENSITY) -> None:
        self.claim_density = claim_density

    async def run(self, prepared: PreparedDocument, *, summary_words: int) -> EngineOutput:
        return self.summarize(prepared, summary_words=summary_words)

    def summarize(self, prepared: PreparedDocument, *, summary_words: int) -> EngineOutput:
        normalized = prepared.normalized
        title = normalized.title
        sentences = [
            s
            for s in split_sentences(normalized.text)
            if len(s.text.split()) >= 3 and not (title and s.text.startswith(title))
        ]
        units = quote_units(normalized.text, sentences)[:MAX_UNITS]
        bags = [set(content_words(u.text)) for u in units]
        weights = concept_weights(bags)
        # A unit whose quotation never closes is not shown on its own, nor is page furniture
        # (unless nothing else is left).
        whole = [u for u in units if not quotes_open(u.text) and is_story_sentence(u.text)]
        whole = whole or [u for u in units if not quotes_open(u.text)] or units
        chosen = select(whole, summary_words, weights)
        if not chosen and whole:  # the first sentence alone is over the budget
            summary = " ".join(whole[0].text.split()[:summary_words]) + " …"
        else:
            summary = " ".join(u.text for u in chosen)
        in_summary = {u.index for u in chosen}
        rest = [u for u in whole if u.index not in in_summary]
        covered = set().union(*(bags[i] for i in in_summary))
        picked = greedy_cover([bags[u.index] for u in rest], weights, KEY_POINTS, covered=covered)
        key_points = [rest[i].text for i in picked]
        claims = self._claims(prepared, units, weights)
        original_start, original_end = normalized.span_to_original(0, len(normalized.text))
        chunk = ChunkResult(
            index=0,
            start=0,
            end=len(normalized.text),
            original_start=original_start,
            original_end=original_end,
            token_count=0,
            summary=summary,
            key_points=key_points,
            claims=claims,
        )
        note = SummaryWarning(code="engine_note", message=EXTRACTIVE_NOTE)
        return EngineOutput(summary=summary, key_points=key_points, chunks=[chunk], warnings=[note])

    def _claims(
        self, prepared: PreparedDocument, units: list[Unit], weights: dict[str, float]
    ) -> list[ClaimDraft]:
        """The article's most important checkable clauses, in article order."""
        normalized = prepared.normalized
        tracker = SpeakerTracker()
        candidates: list[tuple[Clause, str | None]] = []
        for unit in units:
            speaker = tracker.speaker(unit.text)
            if quotes_open(unit.text):
                continue
            for clause in clauses(normalized.text, unit.start, unit.end):
                if is_checkable(clause.text):
                    candidates.append((clause, speaker))
        bags = [set(content_words(c.text)) for c, _ in candidates]
        picked = greedy_cover(bags, weights, claim_budget(len(units), self.claim_density))
        claims: list[ClaimDraft] = []
        for clause, speaker in (candidates[i] for i in picked):
            start, end = normalized.span_to_original(clause.start, clause.end)
            claims.append(
                ClaimDraft(
                    claim=claim_text(clause.text),
                    evidence=prepared.document.text[start:end],
                    speaker=speaker,
                    kind=claim_kind(clause.text, speaker),
                )
            )
        return claims
