"""Scoring a corpus digest against ``evals/digest.json``.

- **clusters**: pairwise agreement on "same story" over all article pairs, and precision /
  recall of the near-duplicate pairs;
- **support counts**: each gold fact is matched to the digest claim whose supporting
  claims overlap it most (content-word Dice, at least ``FACT_MATCH``); it is correct when
  the set of supporting articles is exactly the gold set (mean Jaccard also reported);
- **contradictions**: a flag matches a gold one with the same slot whose sides include
  both flagged articles; precision and recall.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from summarizer._config import SummarizerConfig
from summarizer._digest import DigestReport, build_digest
from summarizer._digest.models import Contradiction
from summarizer._documents import load_file
from summarizer._eval.fixtures import DigestFixture, load_digest_fixture
from summarizer._pipeline import Summarizer
from summarizer._text import content_words, dice

FACT_MATCH = 0.4


class DigestScore(BaseModel):
    cluster_pair_accuracy: float
    near_duplicate_precision: float
    near_duplicate_recall: float
    support_accuracy: float
    support_jaccard: float
    contradiction_precision: float
    contradiction_recall: float
    facts: list[dict[str, Any]] = Field(default_factory=list)
    contradictions: list[dict[str, Any]] = Field(default_factory=list)
    gate_failures: list[str] = Field(default_factory=list)


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def score_digest(report: DigestReport, fixture: DigestFixture) -> DigestScore:
    agree, pairs = _cluster_agreement(report, fixture)
    gold_dups = {
        frozenset(p)
        for c in fixture.clusters
        for p in combinations(sorted({*sum(c.near_duplicates, [])}), 2)
        if any(set(p) <= set(group) for group in c.near_duplicates)
    }
    predicted_dups = {  # every pair of a source group (near_duplicates lists leader pairs)
        frozenset(p) for s in report.stories for g in s.source_groups for p in combinations(g, 2)
    }
    facts, correct, jaccards = _support_scores(report, fixture)
    flagged = [c for s in report.stories for c in s.contradictions]
    matched_gold, matched_flags, details = _contradiction_matches(flagged, fixture)
    return DigestScore(
        cluster_pair_accuracy=_ratio(agree, pairs),
        near_duplicate_precision=_ratio(len(predicted_dups & gold_dups), len(predicted_dups)),
        near_duplicate_recall=_ratio(len(predicted_dups & gold_dups), len(gold_dups)),
        support_accuracy=_ratio(correct, len(fixture.facts)),
        support_jaccard=sum(jaccards) / len(jaccards) if jaccards else 1.0,
        contradiction_precision=_ratio(matched_flags, len(flagged)),
        contradiction_recall=_ratio(len(matched_gold), len(fixture.contradictions)),
        facts=facts,
        contradictions=details,
    )


def _cluster_agreement(report: DigestReport, fixture: DigestFixture) -> tuple[int, int]:
    """Article pairs on which the digest's stories agree with the gold clusters, of all."""
    articles = sorted({a for cluster in fixture.clusters for a in cluster.articles})
    gold_story = {a: i for i, c in enumerate(fixture.clusters) for a in c.articles}
    predicted_story = {a: s.id for s in report.stories for a in s.articles}
    pairs = list(combinations(articles, 2))
    agree = sum(
        (gold_story[a] == gold_story[b]) == (predicted_story.get(a, a) == predicted_story.get(b, b))
        for a, b in pairs
    )
    return agree, len(pairs)


def _support_scores(
    report: DigestReport, fixture: DigestFixture
) -> tuple[list[dict[str, Any]], int, list[float]]:
    """Per gold fact: the digest claim that states it and whether its support sets match."""
    claims = [c for s in report.stories for c in s.consensus + s.disputed + s.unique]
    facts, correct, jaccards = [], 0, []
    for fact in fixture.facts:
        words = set(content_words(fact.claim))
        best, best_score = None, 0.0
        for claim in claims:
            score = max(dice(words, set(content_words(s.claim))) for s in claim.support)
            if score > best_score:
                best, best_score = claim, score
        expected = set(fact.supported_by)
        found = (
            {d for s in best.support if s.grounded for d in s.articles}
            if best and best_score >= FACT_MATCH
            else set()
        )
        jaccard = len(found & expected) / len(found | expected) if found | expected else 1.0
        correct += found == expected
        jaccards.append(jaccard)
        facts.append(
            {
                "fact": fact.id,
                "expected": sorted(expected),
                "found": sorted(found),
                "digest_claim": best.id if best and found else None,
                "score": round(best_score, 3),
            }
        )
    return facts, correct, jaccards


def _contradiction_matches(
    flagged: list[Contradiction], fixture: DigestFixture
) -> tuple[set[str], int, list[dict[str, Any]]]:
    """Gold contradictions found, flags that match one, and each flag's detail."""
    matched_gold: set[str] = set()
    matched_flags = 0
    details = []
    for flag in flagged:
        docs = {side.doc_id for side in flag.sides}
        hit = next(
            (g for g in fixture.contradictions if g.slot == flag.slot and docs <= set(g.sides)),
            None,
        )
        if hit:
            matched_gold.add(hit.id)
            matched_flags += 1
        details.append(
            {
                "flag": flag.id,
                "slot": flag.slot,
                "articles": sorted(docs),
                "gold": hit.id if hit else None,
            }
        )
    return matched_gold, matched_flags, details


async def run_digest_eval(engine: str, folder: Path) -> tuple[DigestReport, DigestScore]:
    from summarizer._eval.harness import load_config, make_summarizer

    config = load_config(folder)
    fixture = load_digest_fixture(folder)
    articles_dir = (folder / config.get("articles", "../seeds")).resolve()
    names = sorted({a for c in fixture.clusters for a in c.articles})
    documents = [load_file(articles_dir / name, doc_id=name) for name in names]
    summarizer: Summarizer = (
        make_summarizer(engine, folder, config)  # type: ignore[arg-type]
        if engine != "extractive"
        else Summarizer(SummarizerConfig(engine="extractive"))
    )
    try:
        results = await summarizer.asummarize_many(documents)
    finally:
        await summarizer.aclose()
    report = await build_digest(results, documents, engine=engine)
    score = score_digest(report, fixture)
    failures = []
    for key, limit in config.get("thresholds", {}).get(f"digest_{engine}", {}).items():
        kind, _, metric = key.partition("_")
        value = getattr(score, metric, None)
        if value is None:
            failures.append(f"unknown digest metric in thresholds: {key}")
        elif kind == "min" and value < limit:
            failures.append(f"digest {metric} {value:.3f} is below the minimum {limit}")
    return report, score.model_copy(update={"gate_failures": failures})
