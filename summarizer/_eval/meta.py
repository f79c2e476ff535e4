"""Meta-evaluation: does the harness agree with human judges? (``summarizer eval meta``)

Reads RoSE-format JSON lines (Liu et al., ACL 2023: "Revisiting the Gold Standard"), one
article a line: ``id``, ``article``, ``reference``, ``acus`` (atomic content units written
from the reference) and ``summaries`` (``system``, ``text``, ``human.acu``). Each summary is
scored by the support matcher (:func:`summarizer._eval.support.unit_support`, ACUs as gold
units, the summary's sentences as support) and by ROUGE-1 F / ROUGE-L F (``rouge-score``)
against the reference. Agreement with the human ACU scores is Kendall's tau-b (``scipy``):

- *summary level, pooled*: over all scored summaries, with a seeded bootstrap 95% interval
  (articles resampled with replacement);
- *per article*: tau over the systems of one article, averaged over articles;
- *system level*: tau between the systems' mean metric and mean human score.

References files (``id``, ``reference``, ``acus``) give *self-recall* (a reference against
its own ACUs; should be near 1) and *cross-recall* (against the next article's ACUs; should
be near 0).
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rouge_score import rouge_scorer
from scipy.stats import kendalltau

from summarizer._errors import FixtureError
from summarizer._eval.support import (
    Weight,
    article_weights,
    length_penalty,
    split,
    unit_support,
)

BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 20230710
UnitMatcher = Callable[[str, list[str]], Awaitable[list[bool]]]
"""``await matcher(summary, units)`` -> one supported/not verdict per unit."""


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class HumanScore(_Row):
    acu: float
    normalized_acu: float | None = None


class SystemSummary(_Row):
    system: str
    text: str
    human: HumanScore


class RoseArticle(_Row):
    id: str
    article: str = ""
    reference: str
    acus: list[str] = Field(description="Gold units; a row without any is skipped.")
    summaries: list[SystemSummary] = Field(default_factory=list)


def load_rose(path: Path) -> list[RoseArticle]:
    """Every line of ``path`` as a :class:`RoseArticle`; a bad line names file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise FixtureError(f"cannot read meta-eval data: {exc}", path=str(path)) from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(RoseArticle.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise FixtureError(f"line {number}: not JSON: {exc}", path=str(path)) from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            problem = f"{where}: {first['msg']}"
            raise FixtureError(f"line {number}: {problem}", path=str(path)) from None
    if not rows:
        raise FixtureError("no articles in meta-eval data", path=str(path))
    return rows


def unit_recall(units: Sequence[str], text: str) -> float:
    """Share of ``units`` that the sentences of ``text`` support."""
    sentences = split(text) or [text]
    return sum(unit_support(u, sentences).supported for u in units) / len(units)


class Agreement(BaseModel):
    """How one metric agrees with the human scores (Kendall tau-b)."""

    metric: str
    human: str = Field(description="The human score compared with: acu or normalized_acu.")
    summary_tau: float
    summary_ci: tuple[float, float] = Field(description="Bootstrap 95% interval (articles).")
    per_article_tau: float
    system_tau: float


class ReferenceRecall(BaseModel):
    source: str
    references: int
    skipped: int = Field(default=0, description="Rows without units.")
    self_recall: float
    cross_recall: float
    self_misses: list[str] = Field(
        default_factory=list, description="Units a reference does not support, and why."
    )


class MetaReport(BaseModel):
    dataset: str
    matcher: str
    articles: int
    summaries: int
    agreement: list[Agreement]
    references: list[ReferenceRecall]
    systems: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Per system: mean human and metric scores."
    )
    seconds: float = 0.0
    gate_failures: list[str] = Field(default_factory=list)


def tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall tau-b; 0.0 when undefined (a constant side)."""
    value = float(kendalltau(x, y).statistic)
    return 0.0 if math.isnan(value) else value


def _scored(groups: list[list[tuple[float, float]]], picks: Sequence[int]) -> float:
    pairs = [pair for i in picks for pair in groups[i]]
    return tau([p[0] for p in pairs], [p[1] for p in pairs])


def bootstrap_interval(groups: list[list[tuple[float, float]]]) -> tuple[float, float]:
    """Seeded 95% interval of the pooled tau, resampling articles with replacement."""
    rng = random.Random(BOOTSTRAP_SEED)
    n = len(groups)
    values = sorted(
        _scored(groups, [rng.randrange(n) for _ in range(n)]) for _ in range(BOOTSTRAP_SAMPLES)
    )
    low = values[int(0.025 * (len(values) - 1))]
    high = values[int(math.ceil(0.975 * (len(values) - 1)))]
    return round(low, 4), round(high, 4)


def agreement(
    name: str, human: str, rows: list[tuple[str, str, float, float]], *, intervals: bool = True
) -> Agreement:
    """``rows``: (article id, system, metric, human score) for every scored summary."""
    by_article: dict[str, list[tuple[float, float]]] = {}
    by_system: dict[str, list[tuple[float, float]]] = {}
    for article, system, metric, score in rows:
        by_article.setdefault(article, []).append((metric, score))
        by_system.setdefault(system, []).append((metric, score))
    groups = list(by_article.values())
    per_article = [
        tau([p[0] for p in g], [p[1] for p in g]) for g in groups if len({p[1] for p in g}) > 1
    ]
    means = [
        (sum(p[0] for p in g) / len(g), sum(p[1] for p in g) / len(g)) for g in by_system.values()
    ]
    return Agreement(
        metric=name,
        human=human,
        summary_tau=round(_scored(groups, range(len(groups))), 4),
        summary_ci=bootstrap_interval(groups) if intervals else (0.0, 0.0),
        per_article_tau=round(sum(per_article) / len(per_article), 4) if per_article else 0.0,
        system_tau=round(tau([m[0] for m in means], [m[1] for m in means]), 4),
    )


async def unit_verdicts(
    units: list[str], text: str, matcher: UnitMatcher | None = None, article: str = ""
) -> list[bool]:
    """Supported/not per unit: the LLM matcher when given, else the support rule (terms
    weighted by the source article when there is one)."""
    if matcher is not None:
        return await matcher(text, units)
    sentences = split(text) or [text]
    weight = _weights(article) if article else None
    return [unit_support(unit, sentences, weight).supported for unit in units]


@lru_cache(maxsize=8)
def _weights(article: str) -> Weight:
    return article_weights(article)


def reference_recall(
    source: str, rows: Sequence[RoseArticle], *, misses: int = 20
) -> ReferenceRecall:
    """Self-recall (each reference against its own units) and cross-recall (against the
    next reference's units, which it should not support). Rows without units are skipped."""
    skipped = len(rows)
    rows = [row for row in rows if row.acus]
    skipped -= len(rows)
    self_scores, cross_scores, missed = [], [], []
    for index, row in enumerate(rows):
        sentences = split(row.reference) or [row.reference]
        decisions = [unit_support(unit, sentences) for unit in row.acus]
        self_scores.append(sum(d.supported for d in decisions) / len(decisions))
        missed += [f"{row.id}: {d.unit!r}: {d.reason}" for d in decisions if not d.supported]
        other = rows[(index + 1) % len(rows)]
        cross_scores.append(unit_recall(other.acus, row.reference) if len(rows) > 1 else 0.0)
    return ReferenceRecall(
        source=source,
        references=len(rows),
        skipped=skipped,
        self_recall=round(sum(self_scores) / len(rows), 4) if rows else 0.0,
        cross_recall=round(sum(cross_scores) / len(rows), 4) if rows else 0.0,
        self_misses=missed[:misses],
    )


async def run_meta(
    dataset: Path,
    references: Sequence[Path] = (),
    *,
    matcher: UnitMatcher | None = None,
    matcher_name: str = "support",
) -> MetaReport:
    """Score every summary of ``dataset`` with the harness and ROUGE; compare with humans."""
    started = time.perf_counter()
    rows = [row for row in load_rose(dataset) if row.acus]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    table: dict[str, list[tuple[str, str, float, float]]] = {
        name: [] for name in ("harness recall", "harness nACU", "ROUGE-1 F", "ROUGE-L F")
    }
    for row in rows:
        for summary in row.summaries:
            verdicts = await unit_verdicts(row.acus, summary.text, matcher, row.article)
            recall = sum(verdicts) / len(verdicts)
            rouge = scorer.score(row.reference, summary.text)
            human = summary.human.acu
            key = (row.id, summary.system)
            table["harness recall"].append((*key, recall, human))
            normalized = summary.human.normalized_acu
            if normalized is not None:
                penalty = length_penalty(summary.text, row.reference)
                table["harness nACU"].append((*key, recall * penalty, normalized))
            table["ROUGE-1 F"].append((*key, rouge["rouge1"].fmeasure, human))
            table["ROUGE-L F"].append((*key, rouge["rougeL"].fmeasure, human))
    scored = [(name, values) for name, values in table.items() if values]
    result = [
        agreement(name, "normalized_acu" if "nACU" in name else "acu", values)
        for name, values in scored
    ]
    recalls = [reference_recall(dataset.name, rows)]
    recalls += [reference_recall(path.name, load_rose(path)) for path in references]
    return MetaReport(
        dataset=str(dataset),
        matcher=matcher_name,
        articles=len(rows),
        summaries=len(table["harness recall"]),
        agreement=result,
        references=recalls,
        systems=_systems(table),
        seconds=round(time.perf_counter() - started, 2),
    )


def _systems(table: dict[str, list[tuple[str, str, float, float]]]) -> dict[str, dict[str, float]]:
    systems: dict[str, dict[str, list[float]]] = {}
    for name in ("harness recall", "ROUGE-1 F"):
        for _, system, metric, human in table[name]:
            entry = systems.setdefault(system, {"human acu": [], name: []})
            entry.setdefault(name, []).append(metric)
            if name == "harness recall":
                entry["human acu"].append(human)
    return {
        system: {key: round(sum(v) / len(v), 4) for key, v in values.items() if v}
        for system, values in sorted(systems.items())
    }


def meta_values(report: MetaReport) -> dict[str, float]:
    """The gated numbers: the harness's taus, its margin over ROUGE-1, and the worst
    self-recall and cross-recall over the reference sources."""
    rows = {a.metric: a for a in report.agreement}
    harness, rouge = rows["harness recall"], rows["ROUGE-1 F"]
    return {
        "summary_tau": harness.summary_tau,
        "per_article_tau": harness.per_article_tau,
        "system_tau": harness.system_tau,
        "margin_over_rouge1": round(harness.summary_tau - rouge.summary_tau, 4),
        "self_recall": min(r.self_recall for r in report.references),
        "cross_recall": max(r.cross_recall for r in report.references),
    }


def gate_meta(report: MetaReport, limits: dict[str, float]) -> MetaReport:
    """Record every ``min_<value>`` / ``max_<value>`` limit the report crosses."""
    values = meta_values(report)
    failures = []
    for key, limit in limits.items():
        kind, _, name = key.partition("_")
        value = values.get(name)
        if value is None or kind not in ("min", "max"):
            failures.append(f"unknown meta threshold: {key}")
        elif kind == "min" and value < limit:
            failures.append(f"{name} {value:.3f} is below the minimum {limit}")
        elif kind == "max" and value > limit:
            failures.append(f"{name} {value:.3f} is above the maximum {limit}")
    return report.model_copy(update={"gate_failures": failures})


def markdown_meta(report: MetaReport) -> str:
    lines = [
        f"# Meta-evaluation: {Path(report.dataset).name} (matcher: {report.matcher})",
        "",
        f"{report.articles} articles, {report.summaries} scored summaries; Kendall tau-b "
        f"against the human ACU scores; 95% interval from {BOOTSTRAP_SAMPLES} seeded "
        f"bootstrap resamples of the articles. Time {report.seconds:.1f}s.",
        "",
        "| metric | human score | summary tau [95% CI] | per-article tau | system tau |",
        "|---|---|---:|---:|---:|",
    ]
    for a in report.agreement:
        low, high = a.summary_ci
        lines.append(
            f"| {a.metric} | {a.human} | {a.summary_tau:.3f} [{low:.3f}, {high:.3f}] | "
            f"{a.per_article_tau:.3f} | {a.system_tau:.3f} |"
        )
    lines += ["", "| references | count | self-recall | cross-recall |", "|---|---:|---:|---:|"]
    for r in report.references:
        lines.append(
            f"| {r.source} | {r.references} | {r.self_recall:.3f} | {r.cross_recall:.3f} |"
        )
    if report.systems:
        names = list(next(iter(report.systems.values())))
        lines += ["", "| system | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for system, values in report.systems.items():
            lines.append(f"| {system} | " + " | ".join(f"{values[n]:.3f}" for n in names) + " |")
    if report.gate_failures:
        lines += ["", "## Gate failures", ""] + [f"- {f}" for f in report.gate_failures]
    misses = [m for r in report.references for m in r.self_misses]
    if misses:
        lines += ["", "## Units a reference does not support (self-recall misses)", ""]
        lines += [f"- {m}" for m in misses]
    return "\n".join(lines) + "\n"


def write_meta(report: MetaReport, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "meta.json", folder / "meta.md"
    json_path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown_meta(report), encoding="utf-8")
    return json_path, md_path
