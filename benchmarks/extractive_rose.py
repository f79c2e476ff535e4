"""The extractive engine on RoSE's human-labelled CNN/DM articles, beside every system there.

    python benchmarks/extractive_rose.py [--data ../shared/eval-data/rose/rose_dev.jsonl]

Needs the ``bench`` extra (``pip install -e ".[bench]"``: snowballstemmer, rouge-score).
For each article it scores

- the engine's summary at 60 and 70 words (``ExtractiveEngine`` with that ``summary_words``),
- the lead at the same counts: whole first sentences within the budget, and the first N
  words cut mid-sentence,
- every system summary in the file, with its mean human ACU score,

by two automatic measures: ACU recall (``acu_recall``, swappable: ``--scorer MODULE:FUNC``
names any ``(acus, summary) -> float``) and ROUGE-1 F against the reference. Also reports the
engine's CPU milliseconds per article (process time: steadier than wall time on a shared
machine), claims per article and their share of its sentences.

The ACU scorer is fixed up front, not tuned: an ACU is covered when at least
``COVERAGE`` (0.6) of its stemmed content words (Snowball English stemmer, stopwords and
punctuation dropped) occur in the summary and every number in it occurs there exactly.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

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
    chosen: list[str] = []
    used = 0
    for sentence in split_sentences(normalize_text(article).text):
        words = len(sentence.text.split())
        if used + words > budget:
            break
        chosen.append(sentence.text)
        used += words
    return " ".join(chosen) if chosen else " ".join(article.split()[:budget])


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


def evaluate(
    rows: list[dict[str, object]], scorer: Scorer
) -> tuple[list[list[str]], dict[str, list[float]]]:
    """Table rows (name, words, human ACU, ACU recall, ROUGE-1 F) and engine statistics."""
    scores: dict[str, list[tuple[float, float, int, float | None]]] = {}
    stats: dict[str, list[float]] = {"seconds": [], "claims": [], "share": [], "speakers": []}

    def add(name: str, row: dict[str, object], text: str, human: float | None) -> None:
        acus = [str(a) for a in row["acus"]]  # type: ignore[attr-defined]
        score = (scorer(acus, text), rouge1(str(row["reference"]), text), len(text.split()), human)
        scores.setdefault(name, []).append(score)

    for row in rows:
        article = str(row["article"])
        for budget in BUDGETS:
            add(f"engine @{budget}", row, engine_summary(article, budget, stats), None)
            add(f"lead sentences @{budget}", row, lead_sentences(article, budget), None)
            add(f"lead words @{budget}", row, lead_words(article, budget), None)
        for summary in row["summaries"]:  # type: ignore[attr-defined]
            add(summary["system"], row, summary["text"], summary["human"]["acu"])
    table = []
    by_recall = sorted(scores.items(), key=lambda kv: -statistics.mean(v[0] for v in kv[1]))
    for name, values in by_recall:
        humans = [v[3] for v in values if v[3] is not None]
        table.append(
            [
                name,
                f"{statistics.mean(v[2] for v in values):.1f}",
                f"{statistics.mean(humans):.3f}" if humans else "-",
                f"{statistics.mean(v[0] for v in values):.3f}",
                f"{statistics.mean(v[1] for v in values):.3f}",
            ]
        )
    return table, stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=0, help="first N articles only")
    parser.add_argument(
        "--scorer",
        default="",
        help="MODULE:FUNCTION taking (acus, summary) and returning ACU recall; default: the "
        "containment scorer here",
    )
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"--data {args.data}: no such file", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()]
    rows = rows[: args.limit] if args.limit else rows
    scorer: Scorer = acu_recall
    if args.scorer:
        module, _, name = args.scorer.partition(":")
        scorer = getattr(importlib.import_module(module), name)
    table, stats = evaluate(rows, scorer)
    described = args.scorer or f"containment, coverage share {COVERAGE}"
    print(f"{len(rows)} articles from {args.data.name}; ACU scorer: {described}\n")
    print("| summary | words | human ACU | ACU recall | ROUGE-1 F |")
    print("|---|---:|---:|---:|---:|")
    for line in table:
        print("| " + " | ".join(line) + " |")
    seconds = sorted(stats["seconds"])
    print(
        f"\nengine: {1000 * statistics.mean(seconds):.1f} ms CPU per article (normalize + "
        "summarize;"
        f" median {1000 * statistics.median(seconds):.1f}, max {1000 * seconds[-1]:.1f}); "
        f"{statistics.mean(stats['claims']):.1f} claims per article (max "
        f"{max(stats['claims']):.0f}), {100 * statistics.mean(stats['share']):.0f}% of its "
        f"sentences; {100 * statistics.mean(stats['speakers']):.0f}% of claims have a speaker"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
