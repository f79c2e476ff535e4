"""The offline extractive engine: no model, deterministic, the eval baseline.

Summary: the most central sentences by TextRank (Mihalcea & Tarau, 2004) over
content-word overlap, with a lead bias for news (PageRank personalised towards early
sentences, as in position-biased TextRank), kept in article order within the word budget.

Claims: sentences that carry checkable content (a number, a date, an attribution such as
"X said" or "according to X", or two or more named entities); each claim's evidence is
its own sentence, copied from the original text, and its speaker the attributed name.
"""

from __future__ import annotations

import math
import re

from summarizer._engines.base import Engine, EngineName, EngineOutput, PreparedDocument
from summarizer._models import ChunkResult, ClaimDraft, ClaimKind, SummaryWarning
from summarizer._text import ATTRIBUTION_VERB, Sentence, attribution, content_words, split_sentences

DAMPING = 0.85
MAX_RANKED_SENTENCES = 400
MAX_CLAIMS = 40
_MONTH_OR_YEAR = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|"
    r"last (?:week|month|year)|this week|(?:1[89]|20)\d\d)\b"
)
_PREDICTION = re.compile(
    r"\b(?:will|won't|is expected to|are expected to|is likely to|are likely to|could|may|"
    r"might|would|risks?)\b"
)
_OPINION_VERB = re.compile(
    r"\b(?:believes?|argues?|thinks?|warns?|suggests?|fears?|contends?|views?|sees?|"
    r"analysts? (?:say|suggest|believe)|concern|uneasy|awkward|crucial|dangerous)\b",
    re.IGNORECASE,
)
_ENTITY = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_NUMBER = re.compile(r"\d")
EXTRACTIVE_NOTE = (
    "Made by the offline extractive engine (no language model): summary and claims are "
    "sentences selected from the article. Set OPENAI_API_KEY or OPENAI_BASE_URL (or pass "
    "--engine llm --model NAME --base-url URL) to use a model."
)


def textrank(
    sentences: list[Sentence], *, lead_bias: float = 1.0, iterations: int = 60
) -> list[float]:
    """Position-biased TextRank scores, one per sentence."""
    count = len(sentences)
    if count == 0:
        return []
    bags = [set(content_words(s.text)) for s in sentences]
    edges: list[tuple[int, int, float]] = []
    out_sums = [0.0] * count
    for i in range(count):
        for j in range(i + 1, count):
            shared = len(bags[i] & bags[j])
            if shared and len(bags[i]) > 1 and len(bags[j]) > 1:
                weight = shared / (math.log(len(bags[i])) + math.log(len(bags[j])))
                edges.append((i, j, weight))
                out_sums[i] += weight
                out_sums[j] += weight
    incoming: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    for i, j, weight in edges:
        incoming[j].append((i, weight / out_sums[i]))
        incoming[i].append((j, weight / out_sums[j]))
    prior = [1.0 / (i + 1) ** lead_bias for i in range(count)]
    total = sum(prior)
    prior = [p / total for p in prior]
    dangling_nodes = [i for i in range(count) if not out_sums[i]]
    scores = prior[:]
    for _ in range(iterations):
        dangling = sum(scores[i] for i in dangling_nodes)
        updated = [
            (1 - DAMPING) * prior[j]
            + DAMPING * (sum(share * scores[i] for i, share in incoming[j]) + dangling * prior[j])
            for j in range(count)
        ]
        converged = sum(abs(a - b) for a, b in zip(updated, scores, strict=True)) < 1e-9
        scores = updated
        if converged:
            break
    return scores


def _word_count(text: str) -> int:
    return len(text.split())


def choose_summary(sentences: list[Sentence], scores: list[float], budget: int) -> list[Sentence]:
    chosen: list[int] = []
    used = 0
    for index in sorted(range(len(sentences)), key=lambda i: (-scores[i], i)):
        words = _word_count(sentences[index].text)
        if used + words <= budget:
            chosen.append(index)
            used += words
    return [sentences[i] for i in sorted(chosen)]


def claim_kind(sentence: str, speaker: str | None) -> ClaimKind:
    if _PREDICTION.search(sentence):
        return ClaimKind.PREDICTION
    if _OPINION_VERB.search(sentence) or (speaker and not _NUMBER.search(sentence)):
        return ClaimKind.OPINION
    return ClaimKind.FACT


def is_checkable(sentence: str) -> bool:
    if len(sentence.split()) < 6 or sentence.rstrip().endswith("?"):
        return False
    if _NUMBER.search(sentence) or _MONTH_OR_YEAR.search(sentence):
        return True
    if ATTRIBUTION_VERB.search(sentence):
        return True
    return len(set(_ENTITY.findall(sentence))) >= 2


class ExtractiveEngine(Engine):
    name: EngineName = "extractive"

    def __init__(self, *, lead_bias: float = 1.0, max_claims: int = MAX_CLAIMS):
        self.lead_bias = lead_bias
        self.max_claims = max_claims

    async def run(self, prepared: PreparedDocument, *, summary_words: int) -> EngineOutput:
        return self.summarize(prepared, summary_words=summary_words)

    def summarize(self, prepared: PreparedDocument, *, summary_words: int) -> EngineOutput:
        normalized = prepared.normalized
        original = prepared.document.text
        title = normalized.title
        sentences = [
            s
            for s in split_sentences(normalized.text)
            if len(s.text.split()) >= 3 and not (title and s.text.startswith(title))
        ]
        ranked = sentences[:MAX_RANKED_SENTENCES]
        scores = textrank(ranked, lead_bias=self.lead_bias)
        summary_sentences = choose_summary(ranked, scores, summary_words)
        if not summary_sentences and ranked:  # the first sentence alone is over the budget
            summary = " ".join(ranked[0].text.split()[:summary_words]) + " …"
        else:
            summary = " ".join(s.text for s in summary_sentences)
        order = sorted(range(len(ranked)), key=lambda i: (-scores[i], i))
        key_points = [ranked[i].text for i in order[:5]]
        claims: list[ClaimDraft] = []
        candidates = [s for s in sentences if is_checkable(s.text)]
        if len(candidates) > self.max_claims:
            rank = {id(s): scores[i] for i, s in enumerate(ranked)}
            keep = sorted(candidates, key=lambda s: -rank.get(id(s), 0.0))[: self.max_claims]
            candidates = [s for s in candidates if s in keep]
        for sentence in candidates:
            start, end = normalized.span_to_original(sentence.start, sentence.end)
            speaker = attribution(sentence.text)
            claims.append(
                ClaimDraft(
                    claim=sentence.text,
                    evidence=original[start:end],
                    speaker=speaker,
                    kind=claim_kind(sentence.text, speaker),
                )
            )
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
