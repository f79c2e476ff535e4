"""Scoring a summary against a hand-labelled fixture, by support.

A gold claim counts as found when the prediction *supports* it
(:func:`summarizer._eval.support.unit_support`: directional, gold -> prediction, many-to-one;
numbers, names and polarity of the gold claim must agree; extra detail is fine). Terms are
weighted by their inverse sentence frequency in the article. Every gold claim gets a
:class:`UnitDecision`: the best supporting text, its coverage, the missing terms and why it
matched or failed.

**Scores**, per article and as means over articles:

- *claim recall* (``weighted_recall``, importance-weighted: core 2, supporting 1, and
  ``core_recall``): gold claims supported by the predicted claims;
- *summary recall* (``summary_recall``, weighted) and *combined recall*
  (``combined_recall``, summary sentences and claims together); ``summary_coverage`` is the
  share of core claims the summary alone supports;
- ``normalized_acu``: summary recall times RoSE's length penalty against the fixture's
  reference summary (:func:`summarizer._eval.support.length_penalty`);
- *claim precision* (``precision``): predicted claims the article supports;
  ``gold_precision``: predicted claims that support a gold claim;
- grounding rate; *invented* claims (ungrounded and supporting no gold claim); must-not
  facts stated; *speaker accuracy* on the gold claims a predicted claim supports;
  summary length against the budget; schema validity; calls, tokens, cost and time.

An optional judge (for instance an LLM, :class:`LLMJudge`) decides the gold claims the
rule rejects when the best claim covers at least ``JUDGE_FLOOR`` of it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from summarizer._eval.fixtures import ArticleFixture, GoldClaim
from summarizer._eval.support import (
    SupportDecision,
    Weight,
    article_weights,
    length_penalty,
    split,
    terms,
    unit_support,
)
from summarizer._models import Claim, DocumentFailure, DocumentSummary

JUDGE_FLOOR = 0.3
WEIGHTS = {"core": 2.0, "supporting": 1.0}
Judge = Callable[[str, str], Awaitable[bool]]


class Match(BaseModel):
    predicted: str = Field(description="Predicted claim id.")
    gold: str = Field(description="Gold claim id.")
    score: float = Field(description="Coverage of the gold claim by the predicted claim.")
    how: str = Field(description="support or judge")
    predicted_text: str
    gold_text: str


class UnitDecision(BaseModel):
    """Why a gold claim was found or missed, for each of the supports tried."""

    gold: str
    importance: str
    claims: bool = Field(description="Supported by the predicted claims.")
    summary: bool = Field(description="Supported by the summary's sentences.")
    combined: bool = Field(description="Supported by the summary and the claims together.")
    support: str = Field(description="The best supporting text among the claims.")
    coverage: float
    reason: str
    missing: list[str] = Field(default_factory=list)


class ArticleScore(BaseModel):
    article_id: str
    ok: bool
    weighted_recall: float = 0.0
    core_recall: float = 0.0
    summary_recall: float = 0.0
    combined_recall: float = 0.0
    normalized_acu: float = 0.0
    precision: float = 0.0
    gold_precision: float = 0.0
    grounding_rate: float = 0.0
    invented: list[str] = Field(default_factory=list)
    unsupported: list[str] = Field(
        default_factory=list, description="Predicted claims the article does not support."
    )
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
    units: list[UnitDecision] = Field(default_factory=list)
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    seconds: float = 0.0
    error: str | None = None


def speaker_names(speaker: str) -> set[str]:
    """The capitalised words of a speaker, case-folded: "China's Foreign Ministry" ->
    {china, foreign, ministry}."""
    words = re.findall(r"[^\W\d_][\w\-]*", speaker.replace("’s", "").replace("'s", ""))
    return {word.casefold() for word in words if word[0].isupper()}


def speaker_matches(predicted: str | None, gold: str | None) -> bool:
    """Same speaker: both absent, equal ignoring case, or the capitalised words of one are
    all among the other's ("Miller" and "State Department spokesperson Matthew Miller";
    not "Zhu Feng" and "Tong Zhao")."""
    if not predicted or not gold:
        return not predicted and not gold
    if predicted.casefold() == gold.casefold():
        return True
    a, b = speaker_names(predicted), speaker_names(gold)
    return bool(a and b) and (a <= b or b <= a)


def states(text: str, phrases: list[str]) -> bool:
    folded = text.casefold()
    return all(phrase in folded for phrase in phrases)


async def _decide(
    gold: GoldClaim, claims: Sequence[Claim], weight: Weight, judge: Judge | None
) -> tuple[SupportDecision, Claim | None, str]:
    """The gold claim against the predicted claims: the decision, the claim that supports
    it best (None when unsupported) and how (support or judge). The gold claim's speaker is
    exempt from the name check (attribution is scored by the speaker accuracy, so a claim
    with the wrong speaker still matches and shows up as a speaker error)."""
    exempt = terms(gold.speaker).terms if gold.speaker else frozenset()
    decision = unit_support(gold.claim, [c.text for c in claims], weight, exempt)
    first = decision.support.split(" … ")[0]
    best = next((c for c in claims if c.text == first), None)
    if decision.supported:
        return decision, best, "support"
    if judge and best and decision.coverage >= JUDGE_FLOOR:
        if await judge(best.text, gold.claim):
            return decision, best, "judge"
    return decision, None, "support"


async def decide_units(
    fixture: ArticleFixture,
    article: str,
    result: DocumentSummary,
    judge: Judge | None = None,
) -> tuple[list[UnitDecision], list[Match]]:
    """Every gold claim against the claims, the summary, and both together."""
    weight = article_weights(article)
    summary = split(result.summary)
    both = summary + [c.text for c in result.claims]
    units, matches = [], []
    for gold in fixture.claims:
        decision, best, how = await _decide(gold, result.claims, weight, judge)
        by_summary = unit_support(gold.claim, summary, weight).supported
        combined = best is not None or unit_support(gold.claim, both, weight).supported
        units.append(
            UnitDecision(
                gold=gold.id,
                importance=gold.importance,
                claims=best is not None,
                summary=by_summary,
                combined=combined,
                support=decision.support,
                coverage=decision.coverage,
                reason=decision.reason if how == "support" else "judged the same claim",
                missing=decision.missing,
            )
        )
        if best is not None:
            matches.append(
                Match(
                    predicted=best.id,
                    gold=gold.id,
                    score=decision.coverage,
                    how=how,
                    predicted_text=best.text,
                    gold_text=gold.claim,
                )
            )
    return units, matches


def _weighted(units: list[UnitDecision], field: str) -> float:
    total = sum(WEIGHTS[u.importance] for u in units)
    got = sum(WEIGHTS[u.importance] for u in units if getattr(u, field))
    return got / total if total else 1.0


def _speakers(
    fixture: ArticleFixture, claims: Sequence[Claim], matches: list[Match]
) -> tuple[float, list[str]]:
    """Share of the matched gold claims whose supporting claim names the right speaker."""
    by_gold = {g.id: g for g in fixture.claims}
    by_id = {c.id: c for c in claims}
    errors = []
    for match in matches:
        said, expected = by_id[match.predicted].speaker, by_gold[match.gold].speaker
        if not speaker_matches(said, expected):
            errors.append(f"{match.predicted}: {said!r}, expected {expected!r}")
    right = len(matches) - len(errors)
    return (right / len(matches) if matches else 0.0), errors


def _failed(fixture: ArticleFixture, result: DocumentFailure) -> ArticleScore:
    return ArticleScore(
        article_id=fixture.article_id,
        ok=False,
        missed_core=[c.id for c in fixture.claims if c.importance == "core"],
        missed_supporting=[c.id for c in fixture.claims if c.importance == "supporting"],
        error=f"{result.error_type}: {result.message}",
        calls=result.usage.requests,
    )


def _valid(result: DocumentSummary) -> bool:
    try:
        DocumentSummary.model_validate(result.model_dump())
        return True
    except ValueError:
        return False


async def score_article(
    fixture: ArticleFixture,
    article: str,
    result: DocumentSummary | DocumentFailure,
    *,
    summary_words: int,
    judge: Judge | None = None,
) -> ArticleScore:
    if isinstance(result, DocumentFailure):
        return _failed(fixture, result)
    units, matches = await decide_units(fixture, article, result, judge)
    weight = article_weights(article)
    sentences = split(article)
    supported = {m.predicted for m in matches}
    unsupported = [
        c.text for c in result.claims if not unit_support(c.text, sentences, weight).supported
    ]
    speaker_accuracy, speaker_errors = _speakers(fixture, result.claims, matches)
    core = [u for u in units if u.importance == "core"]
    texts = [c.text for c in result.claims] + split(result.summary)
    words = len(result.summary.split())
    usage = result.provenance.usage
    count = len(result.claims)
    summary_recall = _weighted(units, "summary")
    return ArticleScore(
        article_id=fixture.article_id,
        ok=True,
        weighted_recall=_weighted(units, "claims"),
        core_recall=sum(u.claims for u in core) / len(core) if core else 1.0,
        summary_recall=summary_recall,
        combined_recall=_weighted(units, "combined"),
        normalized_acu=summary_recall * length_penalty(result.summary, fixture.reference_summary),
        precision=(count - len(unsupported)) / count if count else 0.0,
        gold_precision=sum(c.id in supported for c in result.claims) / count if count else 0.0,
        grounding_rate=sum(c.grounded for c in result.claims) / count if count else 1.0,
        invented=[c.text for c in result.claims if c.id not in supported and not c.grounded],
        unsupported=unsupported,
        must_not_stated=[
            m.statement for m in fixture.must_not if any(states(t, m.match) for t in texts)
        ],
        speaker_accuracy=speaker_accuracy,
        speaker_errors=speaker_errors,
        summary_coverage=sum(u.summary for u in core) / len(core) if core else 1.0,
        summary_words=words,
        budget_ratio=words / summary_words,
        schema_valid=_valid(result),
        claims=count,
        missed_core=[u.gold for u in core if not u.claims],
        missed_supporting=[u.gold for u in units if u.importance == "supporting" and not u.claims],
        ungrounded=[c.text for c in result.claims if not c.grounded],
        matches=matches,
        units=units,
        calls=usage.requests,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd,
        seconds=result.provenance.seconds,
    )


AGGREGATE_RATES = (
    "weighted_recall",
    "core_recall",
    "summary_recall",
    "combined_recall",
    "normalized_acu",
    "precision",
    "gold_precision",
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
        unsupported=sum(len(s.unsupported) for s in scores),
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
