"""``summarizer eval``: run an engine over the fixtures, score, report, and gate.

``evals/config.toml`` says where the articles and recordings are and holds the
thresholds per engine (``min_<rate>`` / ``max_<count>``) and the regression bound
(``max_drop`` for rates, no increase for invented claims and must-not facts) used with
``--baseline``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from summarizer._config import SummarizerConfig
from summarizer._documents import Document, load_file
from summarizer._errors import FixtureError
from summarizer._eval.fixtures import load_fixtures
from summarizer._eval.scoring import (
    AGGREGATE_RATES,
    ArticleScore,
    Judge,
    UnitDecision,
    aggregate,
    score_article,
)
from summarizer._pipeline import Summarizer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EngineName = Literal["extractive", "llm", "replay"]


class EvalReport(BaseModel):
    engine: str
    model: str | None
    created: float = Field(default_factory=time.time)
    aggregate: dict[str, Any]
    articles: list[ArticleScore]
    gate_failures: list[str] = Field(default_factory=list)
    deltas: dict[str, float] = Field(default_factory=dict)


def load_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.toml"
    try:
        config: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        return config
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FixtureError(f"cannot read eval config: {exc}", path=str(path)) from None


def make_summarizer(engine: EngineName, folder: Path, config: dict[str, Any]) -> Summarizer:
    settings = SummarizerConfig(
        engine="extractive" if engine == "extractive" else "llm",
        summary_words=int(config.get("summary_words", 120)),
        cache=engine == "llm",
    )
    if engine == "replay":
        from summarizer._eval.replay import ReplayEngine

        return Summarizer(
            settings, engine=ReplayEngine(folder / config.get("recorded", "recorded"), settings)
        )
    return Summarizer(settings)


async def run_eval(engine: EngineName, folder: Path, *, judge: Judge | None = None) -> EvalReport:
    config = load_config(folder)
    fixtures = load_fixtures(folder)
    articles_dir = (folder / config.get("articles", "../seeds")).resolve()
    documents: list[Document] = [
        load_file(articles_dir / f.article_id, doc_id=f.article_id) for f in fixtures
    ]
    summarizer = make_summarizer(engine, folder, config)
    try:
        results = await summarizer.asummarize_many(documents)
    finally:
        await summarizer.aclose()
    words = int(config.get("summary_words", 120))
    scores = [
        await score_article(fixture, document.text, result, summary_words=words, judge=judge)
        for fixture, document, result in zip(fixtures, documents, results, strict=True)
    ]
    return EvalReport(
        engine=engine, model=summarizer.engine.model, aggregate=aggregate(scores), articles=scores
    )


def gate(report: EvalReport, folder: Path, baseline: EvalReport | None = None) -> EvalReport:
    """Record every threshold or regression bound the report crosses."""
    config = load_config(folder)
    failures = []
    limits = config.get("thresholds", {}).get(report.engine, {})
    for key, limit in limits.items():
        kind, _, metric = key.partition("_")
        value = report.aggregate.get(metric)
        if value is None:
            failures.append(f"unknown metric in thresholds: {key}")
        elif kind == "min" and value < limit:
            failures.append(f"{metric} {value:.3f} is below the minimum {limit}")
        elif kind == "max" and value > limit:
            failures.append(f"{metric} {value} is above the maximum {limit}")
    deltas: dict[str, float] = {}
    if baseline is not None:
        max_drop = float(config.get("regression", {}).get("max_drop", 0.02))
        for metric in [*AGGREGATE_RATES, "invented", "must_not_stated", "claims"]:
            before, after = baseline.aggregate.get(metric), report.aggregate.get(metric)
            if before is None or after is None:
                continue
            deltas[metric] = round(after - before, 4)
            if metric in ("invented", "must_not_stated") and after > before:
                failures.append(f"{metric} rose from {before} to {after}")
            elif (
                metric in AGGREGATE_RATES and metric != "budget_ratio" and after < before - max_drop
            ):
                failures.append(
                    f"{metric} fell from {before:.3f} to {after:.3f} (more than {max_drop})"
                )
    return report.model_copy(update={"gate_failures": failures, "deltas": deltas})


TABLE_COLUMNS = [
    ("weighted_recall", "recall (w)"),
    ("core_recall", "core recall"),
    ("summary_recall", "summary recall"),
    ("combined_recall", "summary+claims"),
    ("normalized_acu", "nACU"),
    ("precision", "precision"),
    ("gold_precision", "gold precision"),
    ("grounding_rate", "grounded"),
    ("speaker_accuracy", "speakers"),
    ("summary_coverage", "coverage"),
    ("budget_ratio", "length/budget"),
]


def markdown_report(report: EvalReport) -> str:
    lines = [f"# Eval: {report.engine}" + (f" ({report.model})" if report.model else ""), ""]
    head = (
        "| article | "
        + " | ".join(t for _, t in TABLE_COLUMNS)
        + " | claims | invented | must-not |"
    )
    lines += [head, "|---" * (len(TABLE_COLUMNS) + 4) + "|"]
    for score in report.articles:
        cells = [f"{getattr(score, name):.2f}" for name, _ in TABLE_COLUMNS]
        lines.append(
            f"| {score.article_id} | "
            + " | ".join(cells)
            + f" | {score.claims} | {len(score.invented)} | {len(score.must_not_stated)} |"
        )
    agg = report.aggregate
    cells = [f"**{agg[name]:.2f}**" for name, _ in TABLE_COLUMNS]
    lines.append(
        "| **all** | "
        + " | ".join(cells)
        + f" | {agg['claims']} | {agg['invented']} | {agg['must_not_stated']} |"
    )
    cost = "unknown" if agg["cost_usd"] is None else f"${agg['cost_usd']:.4f}"
    lines += [
        "",
        f"Calls {agg['calls']}, tokens {agg['prompt_tokens']:,} in / "
        f"{agg['completion_tokens']:,} out, cost {cost}, time {agg['seconds']:.2f}s, "
        f"schema-valid {agg['schema_valid']:.0%}, failed {agg['failed']}.",
        "",
    ]
    if report.deltas:
        lines += ["## Against the baseline", ""]
        lines += [f"- {k}: {v:+.4f}" for k, v in report.deltas.items()] + [""]
    if report.gate_failures:
        lines += ["## Gate failures", ""] + [f"- {f}" for f in report.gate_failures] + [""]
    for score in report.articles:
        lines += [f"## {score.article_id}", ""]
        if score.error:
            lines += [f"Failed: {score.error}", ""]
        if score.missed_core:
            lines.append(f"- missed core claims: {', '.join(score.missed_core)}")
        if score.missed_supporting:
            lines.append(f"- missed supporting claims: {', '.join(score.missed_supporting)}")
        for text in score.invented:
            lines.append(f"- invented (not in gold, quote not found): {text}")
        for text in score.ungrounded:
            if text not in score.invented:
                lines.append(f"- matched but quote not found: {text}")
        for statement in score.must_not_stated:
            lines.append(f"- states a must-not fact: {statement}")
        for error in score.speaker_errors:
            lines.append(f"- speaker error {error}")
        for text in score.unsupported:
            lines.append(f"- claim the article does not support: {text}")
        if score.units:
            lines += ["", "<details><summary>gold claims: best support and why</summary>", ""]
            lines += [_unit_line(u) for u in score.units]
            lines += ["", "</details>"]
        lines.append("")
    return "\n".join(lines)


def _unit_line(unit: UnitDecision) -> str:
    found = "found" if unit.claims else "missed"
    where = f"summary {'yes' if unit.summary else 'no'}, both {'yes' if unit.combined else 'no'}"
    missing = f"; missing {', '.join(unit.missing)}" if unit.missing else ""
    return (
        f"- {unit.gold} ({unit.importance}) {found} by the claims ({where}): {unit.reason}"
        f"{missing}. Best: {unit.support[:160]!r}"
    )


def write_reports(report: EvalReport, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{report.engine}.json"
    md_path = folder / f"{report.engine}.md"
    json_path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown_report(report), encoding="utf-8")
    return json_path, md_path


def load_report(path: Path) -> EvalReport:
    try:
        return EvalReport.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise FixtureError(f"cannot read baseline report: {exc}", path=str(path)) from None
