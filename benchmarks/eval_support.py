"""Cost of the eval support matcher and of its text tools, on the RoSE dev data.

    python benchmarks/eval_support.py [--data ../shared/eval-data/rose/rose_dev.jsonl]

Times, cold (caches cleared) and warm: sentence splitting (pysbd) of every summary,
stemming (snowballstemmer, and simplemma when installed, for comparison) of every word,
and ``unit_support`` for every (summary, ACU) pair; then the whole ``run_meta``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from pathlib import Path

from summarizer._eval import support
from summarizer._eval.meta import load_rose, run_meta


def timed(label: str, work: int, fn: object) -> None:
    assert callable(fn)
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f"| {label} | {work:,} | {seconds:.3f} | {seconds / work * 1e6:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/eval-data/rose/rose_dev.jsonl")
    path = Path(parser.parse_args().data)
    rows = [r for r in load_rose(path) if r.acus]
    texts = [s.text for r in rows for s in r.summaries]
    words = [w.lower() for t in texts for w in re.findall(r"[A-Za-z]+", t)]
    pairs = [(u, s.text, r.article) for r in rows for s in r.summaries for u in r.acus]
    print("| step | items | seconds | µs per item |\n|---|---:|---:|---:|")
    timed(
        "pysbd split (summaries)",
        len(texts),
        lambda: [support._SEGMENTER.segment(t) for t in texts],
    )
    timed(
        "snowball stem (words, uncached)",
        len(words),
        lambda: [support._STEMMER.stemWord(w) for w in words],
    )
    try:
        import simplemma

        timed(
            "simplemma lemmatize (words)",
            len(words),
            lambda: [simplemma.lemmatize(w, lang="en") for w in words],
        )
    except ImportError:
        print("| simplemma | not installed | | |")

    def decide() -> None:
        for unit, text, article in pairs:
            support.unit_support(unit, support.split(text), support.article_weights(article))

    support.terms.cache_clear()
    support._split.cache_clear()
    timed("unit_support, cold caches (pairs)", len(pairs), decide)
    timed("unit_support, warm caches (pairs)", len(pairs), decide)
    support.terms.cache_clear()
    support._split.cache_clear()
    timed(
        "run_meta (summaries, incl. ROUGE + bootstrap)",
        len(texts),
        lambda: asyncio.run(run_meta(path)),
    )


if __name__ == "__main__":
    main()
