"""The extractive engine on RoSE's human-labelled CNN/DM articles, beside every system there.

    python benchmarks/extractive_rose.py [--data ../shared/eval-data/rose/rose_dev.jsonl]

Uses only the package's own dependencies (snowballstemmer and rouge-score among them).
For each article and each budget N (60 and 70 words) it scores

- the engine's summary (``ExtractiveEngine`` with ``summary_words=N``), which has W <= N
  words (whole sentences rarely fill N exactly);
- the lead at the engine's own word count W, article by article, so that no baseline wins
  or loses by length: the article's sentences in order, each kept when it still fits in W
  ("lead sentences filled"), and the first W words cut mid-sentence ("first W words");
- the first N words cut mid-sentence, the lead at the nominal budget;
- every system summary in the file (14 systems), with its mean human ACU score; and, per
  system, the engine at that system's own word count for each article (second table), so
  the engine meets each system at the same length too.

Two automatic measures: ACU recall, by the eval harness's matcher
(``summarizer._eval.meta:unit_recall``, the default; ``--scorer containment`` is the
simpler containment scorer below, ``--scorer MODULE:FUNC`` any ``(acus, summary) -> float``)
and ROUGE-1 F against the reference. The engine's gain over each lead baseline comes with a
paired bootstrap 95% interval over articles (seeded, 1000 resamples). Also reports the
engine's CPU milliseconds per article (process time: steadier than wall time on a shared
machine), claims per article and their share of its sentences.

The containment scorer is fixed up front, not tuned: an ACU is covered when at least
``COVERAGE`` (0.6) of its stemmed content words (Snowball English stemmer, stopwords and
punctuation dropped) occur in the summary and every number in it occurs there exactly.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import snowballstemmer
from rouge_score import rouge_scorer

from summarizer._documents import Document
from summarizer._engines import ExtractiveEngine, PreparedDocument
from summarizer._normalize import normalize_text
from summarizer._text import STOPWORDS, split_sentences

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "eval-data" / "rose" / "rose_dev.jsonl"
COVERAGE = 0.6
BUDGETS = (60, 70)
HARNESS_SCORER = "summarizer._eval.meta:unit_recall"
_TOKEN = re.compile(r"\d[\d,.]*\d|\d|[^\W\d_]+(?:['’][^\W\d_]+)?")
_STEMMER = snowballstemmer.stemmer("english")

Scorer = Callable[[list[str], str], float]


def _units(text: str) -> tuple[set[str], set[str]]:
    """(stemmed content words, numbers) of ``text``."""
    stems: set[str] = set()
    numbers: set[str] = set()
    for token in _TOKEN.findall(text.lower()):
        if token[0].isdigit():
            numbers.add(token.replace(",", "").rstrip("."))
        else:
            token = token.replace("’", "'")
            if token.endswith("'s"):
                token = token[:-2]
            if token not in STOPWORDS and len(token) > 1:
                stems.add(_STEMMER.stemWord(token))
    return stems, numbers


def acu_recall(acus: list[str], summary: str) -> float:
    """Share of ``acus`` contained in ``summary`` (see the module docstring)."""
    if not acus:
        return 0.0
    words, numbers = _units(summary)
    covered = 0
    for acu in acus:
        acu_words, acu_numbers = _units(acu)
        if not acu_numbers <= numbers:
            continue
        if not acu_words or len(acu_words & words) >= COVERAGE * len(acu_words):
            covered += 1
    return covered / len(acus)


_ROUGE = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)


def rouge1(reference: str, summary: str) -> float:
    return float(_ROUGE.score(reference, summary)["rouge1"].fmeasure)


def lead_sentences(article: str, budget: int) -> str:
    """The article's sentences in order, each kept when it still fits in ``budget`` words."""
    chosen: list[str] = []
    used = 0
    for sentence in split_sentences(normalize_text(article).text):
        words = len(sentence.text.split())
        if used + words <= budget:
            chosen.append(sentence.text)
            used += words
    return " ".join(chosen) if chosen else lead_words(article, budget)


def lead_words(article: str, budget: int) -> str:
    return " ".join(article.split()[:budget])


def engine_summary(article: str, budget: int, stats: dict[str, list[float]]) -> str:
    """The engine's summary; records time, claims and the claims' share of sentences."""
    document = Document.from_text(article, id="rose")
    began = time.process_time()
    prepared = PreparedDocument.prepare(document)
    output = ExtractiveEngine().summarize(prepared, summary_words=budget)
    stats["seconds"].append(time.process_time() - began)
    claims = output.chunks[0].claims
    stats["claims"].append(len(claims))
    stats["share"].append(len(claims) / max(1, len(split_sentences(prepared.normalized.text))))
    stats["speakers"].append(sum(1 for c in claims if c.speaker) / max(1, len(claims)))
    return output.summary


@dataclass
class Scores:
    """One summary kind's per-article scores (lists aligned by article)."""

    recall: list[float] = field(default_factory=list)
    rouge: list[float] = field(default_factory=list)
    words: list[int] = field(default_factory=list)
    human: list[float] = field(default_factory=list)

    def row(self, name: str) -> list[str]:
        human = f"{statistics.mean(self.human):.3f}" if self.human else "-"
        return [
            name,
            f"{statistics.mean(self.words):.1f}",
            human,
            f"{statistics.mean(self.recall):.3f}",
            f"{statistics.mean(self.rouge):.3f}",
        ]


class Bench:
    """Scores every summary kind of every article with one scorer."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.scores: dict[str, Scores] = {}
        self.stats: dict[str, list[float]] = defaultdict(list)

    def add(self, name: str, row: dict[str, Any], text: str, human: float | None = None) -> None:
        scores = self.scores.setdefault(name, Scores())
        scores.recall.append(self.scorer([str(a) for a in row["acus"]], text))
        scores.rouge.append(rouge1(str(row["reference"]), text))
        scores.words.append(len(text.split()))
        if human is not None:
            scores.human.append(float(human))

    def article(self, row: dict[str, Any], *, per_system: bool) -> None:
        article = str(row["article"])
        for budget in BUDGETS:
            summary = engine_summary(article, budget, self.stats)
            same = len(summary.split())
            self.add(f"engine @{budget}", row, summary)
            self.add(f"lead sentences filled @{budget}", row, lead_sentences(article, same))
            self.add(f"first W words @{budget}", row, lead_words(article, same))
            self.add(f"first {budget} words", row, lead_words(article, budget))
        for summary in row["summaries"]:
            text = str(summary["text"])
            self.add(summary["system"], row, text, summary["human"]["acu"])
            if per_system:  # its own statistics: the engine's timing is at 60 and 70 words
                unrecorded: dict[str, list[float]] = defaultdict(list)
                mine = engine_summary(article, len(text.split()), unrecorded)
                self.add(f"engine at {summary['system']}", row, mine)


def paired_gain(engine: list[float], baseline: list[float], seed: int = 0) -> str:
    """Relative gain of mean ``engine`` over mean ``baseline``, with a bootstrap 95% interval."""
    rng = random.Random(seed)
    n = len(engine)
    gains = []
    for _ in range(1000):
        sample = [rng.randrange(n) for _ in range(n)]
        base = sum(baseline[i] for i in sample)
        gains.append(sum(engine[i] for i in sample) / base - 1 if base else 0.0)
    gains.sort()
    point = sum(engine) / sum(baseline) - 1
    return f"{point:+.1%} [{gains[24]:+.1%}, {gains[974]:+.1%}]"


def report(bench: Bench, rows: int, data: str, scorer: str) -> None:
    print(f"{rows} articles from {data}; ACU scorer: {scorer}\n")
    print("| summary | words | human ACU | ACU recall | ROUGE-1 F |")
    print("|---|---:|---:|---:|---:|")
    main_rows = {k: v for k, v in bench.scores.items() if not k.startswith("engine at ")}
    for name, scores in sorted(main_rows.items(), key=lambda kv: -statistics.mean(kv[1].recall)):
        print("| " + " | ".join(scores.row(name)) + " |")
    print("\nThe engine's relative gain in ACU recall (bootstrap 95% interval over articles):\n")
    print("| budget | over lead sentences filled | over first W words | over first N words |")
    print("|---|---:|---:|---:|")
    for budget in BUDGETS:
        engine = bench.scores[f"engine @{budget}"].recall
        gains = [
            paired_gain(engine, bench.scores[name].recall)
            for name in (
                f"lead sentences filled @{budget}",
                f"first W words @{budget}",
                f"first {budget} words",
            )
        ]
        print(f"| {budget} | " + " | ".join(gains) + " |")
    pairs = [k[len("engine at ") :] for k in bench.scores if k.startswith("engine at ")]
    if pairs:
        print("\nEach system against the engine at that system's own word count, per article:\n")
        print(
            "| system | system words | engine words | system ACU recall | engine ACU recall "
            "| system R-1 | engine R-1 |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for system in sorted(pairs, key=lambda k: -statistics.mean(bench.scores[k].recall)):
            mine, theirs = bench.scores[f"engine at {system}"], bench.scores[system]
            print(
                f"| {system} | {statistics.mean(theirs.words):.1f} "
                f"| {statistics.mean(mine.words):.1f} "
                f"| {statistics.mean(theirs.recall):.3f} | {statistics.mean(mine.recall):.3f} "
                f"| {statistics.mean(theirs.rouge):.3f} | {statistics.mean(mine.rouge):.3f} |"
            )
    stats = bench.stats
    seconds = sorted(stats["seconds"])
    print(
        f"\nengine: {1000 * statistics.mean(seconds):.1f} ms CPU per article (normalize + "
        f"summarize; median {1000 * statistics.median(seconds):.1f}, max "
        f"{1000 * seconds[-1]:.1f}); {statistics.mean(stats['claims']):.1f} claims per "
        f"article (max {max(stats['claims']):.0f}), "
        f"{100 * statistics.mean(stats['share']):.0f}% of its sentences; "
        f"{100 * statistics.mean(stats['speakers']):.0f}% of claims have a speaker"
    )


def load_scorer(spec: str) -> tuple[Scorer, str]:
    if spec == "containment":
        return acu_recall, f"containment, coverage share {COVERAGE}"
    module, _, name = spec.partition(":")
    scorer: Scorer = getattr(importlib.import_module(module), name)
    return scorer, spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=0, help="first N articles only")
    parser.add_argument(
        "--scorer",
        default=HARNESS_SCORER,
        help="MODULE:FUNCTION taking (acus, summary) and returning ACU recall, or "
        f"'containment'; default: {HARNESS_SCORER}",
    )
    parser.add_argument(
        "--no-per-system",
        action="store_true",
        help="skip the engine at each system's word count (the second table)",
    )
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"--data {args.data}: no such file", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()]
    rows = rows[: args.limit] if args.limit else rows
    scorer, described = load_scorer(args.scorer)
    bench = Bench(scorer)
    for row in rows:
        bench.article(row, per_system=not args.no_per_system)
    report(bench, len(rows), args.data.name, described)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
