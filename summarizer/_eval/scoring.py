"""Scoring a summary against a hand-labelled fixture.

**Alignment** (predicted claim <-> gold claim), offline and auditable:

- *lexical*: Dice overlap of stemmed content words (:func:`summarizer._text.bag`, with a
  small synonym table: soldiers/forces -> troops, ...) between the predicted claim
  and the gold claim or its support sentences, whichever is higher;
- *evidence*: when the predicted claim is grounded, the share of its evidence span that
  lies inside a gold support sentence's span in the article;
- *numbers* and *names*: a number stated by the prediction but not by the gold claim or
  its support halves the score (10,000 is not 20,000), and so does a name in place of the
  gold one (a multi-word name, matched on its last word, that the gold text lacks while
  the gold claim names someone the prediction lacks: Zhu Feng is not Tong Zhao);
- score = max(lexical, evidence x 0.9 when the lexical overlap is at least 0.2).

Pairs are matched one to one, best score first, at ``MATCH_THRESHOLD`` or above. An
optional judge (for instance an LLM, :class:`LLMJudge`) decides the pairs between
``JUDGE_FLOOR`` and the threshold. Every match is reported with its score and how it was
made, so a person can audit it.

**Scores**: claim recall weighted by importance (core 2, supporting 1) and core recall;
precision; grounding rate; invented claims (neither matching gold nor grounded); must-not
facts stated; speaker accuracy on matched claims; summary coverage of core claims (a
core claim is covered when at least ``COVERAGE_THRESHOLD`` of its content words are in
the summary) and summary length against the budget; schema validity; calls, tokens, cost
and time.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from summarizer._digest.cluster import entities
from summarizer._eval.fixtures import ArticleFixture, GoldClaim
from summarizer._models import Claim, DocumentFailure, DocumentSummary
from summarizer._text import bag, dice, numbers, split_sentences, words

MATCH_THRESHOLD = 0.5
JUDGE_FLOOR = 0.3
COVERAGE_THRESHOLD = 0.6
WEIGHTS = {"core": 2.0, "supporting": 1.0}
Judge = Callable[[str, str], Awaitable[bool]]


class Match(BaseModel):
    predicted: str = Field(description="Predicted claim id.")
    gold: str = Field(description="Gold claim id.")
    score: float
    how: str = Field(description="lexical, evidence or judge")
    predicted_text: str
    gold_text: str


class ArticleScore(BaseModel):
    article_id: str
    ok: bool
    weighted_recall: float = 0.0
    core_recall: float = 0.0
    precision: float = 0.0
    grounding_rate: float = 0.0
    invented: list[str] = Field(default_factory=list)
    must_not_stated: list[str] = Field(default_factory=list)
    speaker_accuracy: float = 0.0
    speaker_errors: list[str] = Field(default_factory=list)
    summary_coverage: float = 0.0
    summary_words: int = 0
    budget_ratio: float = 0.0
    schema_valid: bool = False
    claims: int = 0
    missed_core: list[str] = Field(default_factory=list)
    missed_supporting: list[str] = Field(default_factory=list)
    ungrounded: list[str] = Field(default_factory=list)
    matches: list[Match] = Field(default_factory=list)
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class _Gold:
    claim: GoldClaim
    words: set[str]
    support_words: set[str]
    numbers: set[str]
    text: str  # the claim and its support, case-folded, for name checks
    spans: list[tuple[int, int]] = field(default_factory=list)


def surnames(text: str) -> set[str]:
    """Last words of the multi-word names in ``text`` (see
    :func:`summarizer._digest.cluster.entities`), case-folded."""
    return {re.split(r"[\s-]+", name)[-1] for name in entities(text) if " " in name}


def plain(text: str) -> str:
    """Words of ``text`` with abbreviations expanded (U.S. -> United States), case-folded."""
    return " ".join(words(text)).casefold()


def _gold(fixture: ArticleFixture, article: str) -> list[_Gold]:
    golds = []
    for claim in fixture.claims:
        support = " ".join(claim.support)
        spans = []
        for sentence in claim.support:
            start = article.find(sentence)
            if start != -1:
                spans.append((start, start + len(sentence)))
        text = claim.claim + " " + support
        golds.append(
            _Gold(claim, bag(claim.claim), bag(support), numbers(text), plain(text), spans)
        )
    return golds


def similarity(claim: Claim, gold: _Gold) -> tuple[float, str]:
    words = bag(claim.text)
    lexical = max(dice(words, gold.words), dice(words, gold.support_words))
    evidence = 0.0
    for span in claim.spans:
        if span.start is None or span.end is None or span.end <= span.start:
            continue
        for start, end in gold.spans:
            inside = max(0, min(span.end, end) - max(span.start, start))
            evidence = max(evidence, inside / (span.end - span.start))
    score, how = lexical, "lexical"
    if lexical >= 0.2 and evidence * 0.9 > score:
        score, how = evidence * 0.9, "evidence"
    if numbers(claim.text) - gold.numbers:
        score /= 2
    predicted_text = plain(claim.text)
    extra = any(name not in gold.text for name in surnames(claim.text))
    missing = any(name not in predicted_text for name in surnames(gold.claim.claim))
    if extra and missing:  # another name in place of the gold one
        score /= 2
    return score, how


def speaker_matches(predicted: str | None, gold: str | None) -> bool:
    if not predicted or not gold:
        return not predicted and not gold
    a = {w.casefold().strip(".,'’s") for w in re.findall(r"[\w’'.-]+", predicted) if len(w) >= 3}
    b = {w.casefold().strip(".,'’s") for w in re.findall(r"[\w’'.-]+", gold) if len(w) >= 3}
    generic = {
        "the",
        "china's",
        "ministry",
        "foreign",
        "spokesperson",
        "spokespersons",
        "officials",
    }
    return bool((a & b) - generic) or predicted.casefold() == gold.casefold()


def states(text: str, phrases: list[str]) -> bool:
    folded = text.casefold()
    return all(phrase in folded for phrase in phrases)


async def align(claims: list[Claim], golds: list[_Gold], judge: Judge | None = None) -> list[Match]:
    pairs = []
    for claim in claims:
        for gold in golds:
            score, how = similarity(claim, gold)
            if score >= JUDGE_FLOOR:
                pairs.append((score, how, claim, gold))
    pairs.sort(key=lambda p: (-p[0], p[2].id, p[3].claim.id))
    used_predicted: set[str] = set()
    used_gold: set[str] = set()
    matches = []
    for score, how, claim, gold in pairs:
        if claim.id in used_predicted or gold.claim.id in used_gold:
            continue
        if score < MATCH_THRESHOLD:
            if judge is None or not await judge(claim.text, gold.claim.claim):
                continue
            how = "judge"
        used_predicted.add(claim.id)
        used_gold.add(gold.claim.id)
        matches.append(
            Match(
                predicted=claim.id,
                gold=gold.claim.id,
                score=round(score, 3),
                how=how,
                predicted_text=claim.text,
                gold_text=gold.claim.claim,
            )
        )
    return matches


async def score_article(
    fixture: ArticleFixture,
    article: str,
    result: DocumentSummary | DocumentFailure,
    *,
    summary_words: int,
    judge: Judge | None = None,
) -> ArticleScore:
    if isinstance(result, DocumentFailure):
        return ArticleScore(
            article_id=fixture.article_id,
            ok=False,
            missed_core=[c.id for c in fixture.claims if c.importance == "core"],
            error=f"{result.error_type}: {result.message}",
            calls=result.usage.requests,
        )
    golds = _gold(fixture, article)
    matches = await align(result.claims, golds, judge)
    matched_gold = {m.gold for m in matches}
    matched_predicted = {m.predicted: m for m in matches}
    total = sum(WEIGHTS[g.claim.importance] for g in golds)
    got = sum(WEIGHTS[g.claim.importance] for g in golds if g.claim.id in matched_gold)
    core = [g for g in golds if g.claim.importance == "core"]
    by_gold = {g.claim.id: g.claim for g in golds}
    speaker_right = 0
    speaker_errors = []
    for claim in result.claims:
        match = matched_predicted.get(claim.id)
        if match is None:
            continue
        expected = by_gold[match.gold].speaker
        if speaker_matches(claim.speaker, expected):
            speaker_right += 1
        else:
            speaker_errors.append(f"{claim.id}: {claim.speaker!r}, expected {expected!r}")
    summary_bag = bag(result.summary)
    covered = sum(
        1
        for g in core
        if g.words and len(g.words & summary_bag) / len(g.words) >= COVERAGE_THRESHOLD
    )
    texts = [c.text for c in result.claims] + [s.text for s in split_sentences(result.summary)]
    must_not = [m.statement for m in fixture.must_not if any(states(t, m.match) for t in texts)]
    words = len(result.summary.split())
    usage = result.provenance.usage
    try:
        DocumentSummary.model_validate(result.model_dump())
        valid = True
    except ValueError:
        valid = False
    count = len(result.claims)
    return ArticleScore(
        article_id=fixture.article_id,
        ok=True,
        weighted_recall=got / total if total else 1.0,
        core_recall=sum(g.claim.id in matched_gold for g in core) / len(core) if core else 1.0,
        precision=len(matches) / count if count else 0.0,
        grounding_rate=sum(c.grounded for c in result.claims) / count if count else 1.0,
        invented=[
            c.text for c in result.claims if c.id not in matched_predicted and not c.grounded
        ],
        must_not_stated=must_not,
        speaker_accuracy=speaker_right / len(matches) if matches else 0.0,
        speaker_errors=speaker_errors,
        summary_coverage=covered / len(core) if core else 1.0,
        summary_words=words,
        budget_ratio=words / summary_words,
        schema_valid=valid,
        claims=count,
        missed_core=[g.claim.id for g in core if g.claim.id not in matched_gold],
        missed_supporting=[
            g.claim.id
            for g in golds
            if g.claim.importance == "supporting" and g.claim.id not in matched_gold
        ],
        ungrounded=[c.text for c in result.claims if not c.grounded],
        matches=matches,
        calls=usage.requests,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd,
        seconds=result.provenance.seconds,
    )


AGGREGATE_RATES = (
    "weighted_recall",
    "core_recall",
    "precision",
    "grounding_rate",
    "speaker_accuracy",
    "summary_coverage",
    "budget_ratio",
)


def aggregate(scores: list[ArticleScore]) -> dict[str, Any]:
    """Means of the rates over articles (a failed article scores 0), sums of the counts."""
    count = len(scores) or 1
    result: dict[str, Any] = {
        name: round(sum(getattr(s, name) for s in scores) / count, 4) for name in AGGREGATE_RATES
    }
    result.update(
        articles=len(scores),
        failed=sum(not s.ok for s in scores),
        schema_valid=round(sum(s.schema_valid for s in scores) / count, 4),
        claims=sum(s.claims for s in scores),
        invented=sum(len(s.invented) for s in scores),
        must_not_stated=sum(len(s.must_not_stated) for s in scores),
        calls=sum(s.calls for s in scores),
        prompt_tokens=sum(s.prompt_tokens for s in scores),
        completion_tokens=sum(s.completion_tokens for s in scores),
        cost_usd=None
        if any(s.cost_usd is None for s in scores)
        else round(sum(s.cost_usd or 0.0 for s in scores), 6),
        seconds=round(sum(s.seconds for s in scores), 3),
    )
    return result
