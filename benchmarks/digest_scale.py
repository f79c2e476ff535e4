"""How the corpus digest scales on a realistic corpus shape: 1k, 10k and 100k articles.

    python benchmarks/digest_scale.py [--sizes 1000 10000 100000] [--input stream|list]

The shape of a news desk's day: three very large stories (30 %, 15 % and 8 % of the
corpus), a power-law tail of small stories, and distinct articles (a quarter of the
corpus; RoSE's real CNN/DailyMail articles from ``../shared`` among them when present).
A story has a few independent sources (different angles on the same people and places,
``tests/digest_articles.py``, plus a paragraph of their own words); every other article
of the story is a copy of one of them: half exact copies (syndication), half copies with
small edits.

Only the digest stage is timed: the extractive engine's claim extraction would dominate
at 100k articles and another engineer owns it, so each article's claims here are its
sentences, each grounded at its own span (what the extractive engine gives, minus its
scoring). With ``--input stream`` (the default) each article's result and document are
made when the digest reads them, as a caller reading one result file at a time would
feed it; the CPU seconds spent making them are counted apart and taken out of the
digest's. With ``--input list`` all results and documents are made first, in lists.
Each size runs in its own process; memory is that process's maximum RSS before the
digest and at the end (the process peak). Scores use pair counting: story precision /
recall over pairs of articles put in one story; near-duplicate precision / recall over
pairs put in one source group.

Past 2,000 distinct texts the digest reads names and words in worker processes: their
CPU seconds and peak memory (the largest worker's maximum RSS) are columns of their own,
not part of the digest's CPU seconds (this process only) or its peak.

Measured and compared in the README ("Benchmarks"). The last column, the digest's own
memory, is the peak RSS minus the RSS before the digest (streamed, that includes the
input made while the digest reads it). To compare with another commit, run its copy of
this script (``git archive COMMIT | tar -x -C DIR/base``, with ``DIR/shared`` linked to
``../shared`` so that the same RoSE articles are used).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.digest_articles import (  # noqa: E402
    SYLLABLES,
    article,
    distinct_article,
    edited_copy,
    story_values,
)

T = TypeVar("T")
ROSE = REPO.parent / "shared" / "eval-data" / "rose" / "rose_dev.jsonl"


def own_words(rng: random.Random, sentences: int = 5) -> str:
    """A paragraph in the article's own (invented) words: real articles are longer than the
    generated ones and most of their words are their own, which keeps independent articles
    on one story apart at the word level (the seeds: content-word Jaccard 0.10 to 0.16)."""
    return " ".join(
        " ".join(
            "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
            for _ in range(rng.randint(6, 10))
        ).capitalize()
        + "."
        for _ in range(sentences)
    )


def story_sizes(size: int, rng: random.Random) -> list[int]:
    sizes = [int(size * share) for share in (0.30, 0.15, 0.08)]
    rank = 1
    while sum(sizes) < size * 0.75:
        sizes.append(max(2, int(size * 0.02 / rank**1.1) + rng.randint(0, 2)))
        rank += 1
    return sizes


def corpus(size: int, seed: int = 3) -> Iterator[tuple[str, str, str, str]]:
    """(doc id, text, planted story, planted source group) for ``size`` articles, made one
    at a time (only the current story's source texts are held)."""
    rng = random.Random(seed)
    made = 0
    for number, count in enumerate(story_sizes(size, rng)):
        values = story_values(rng)
        sources = min(count, 2 + count.bit_length())
        texts = [article(rng, values, number + k) + " " + own_words(rng) for k in range(sources)]
        for k in range(count):
            origin = k % sources
            text = texts[origin]
            if k >= sources and rng.random() < 0.5:
                text = edited_copy(text, rng)
            if made < size:
                yield (f"t{number}-{k}", text, f"t{number}", f"t{number}/{origin}")
            made += 1
    real = (
        [json.loads(line)["article"] for line in ROSE.read_text().splitlines()]
        if ROSE.exists()
        else []
    )
    while made < size:
        text = real.pop() if real else distinct_article(rng, made) + " " + own_words(rng)
        yield (f"d{made}", text, f"d{made}", f"d{made}")
        made += 1


def summary(doc_id: str, text: str, claims: list[Any] | None = None) -> Any:
    """The article's sentences as grounded claims (or ``claims``, of an exact copy)."""
    from summarizer._models import Claim, DocumentSummary, EvidenceSpan, Provenance
    from summarizer._text import split_sentences

    if claims is None:
        claims = [
            Claim(
                id=f"c{i}",
                text=s.text,
                evidence=s.text,
                speaker=None,
                kind="fact",
                grounded=True,
                spans=[
                    EvidenceSpan(quote=s.text, start=s.start, end=s.end, match="exact", score=100.0)
                ],
            )  # fmt: skip
            for i, s in enumerate(split_sentences(text), start=1)
        ]
    return DocumentSummary(
        doc_id=doc_id,
        source=doc_id,
        content_hash="",
        title=None,
        date=None,
        summary=text[:200],
        key_points=[],
        claims=claims,
        provenance=Provenance(engine="extractive"),
    )  # fmt: skip


def articles(
    rows: Iterable[tuple[str, str, str, str]], planted: dict[str, tuple[str, str]]
) -> Iterator[tuple[Any, Any]]:
    """(result, document) of each row, made when asked for; the planted story and group of
    each article go into ``planted``. Exact copies share one claim list while they follow
    one another (a story's copies do)."""
    from summarizer import Document

    recent: dict[str, list[Any]] = {}
    for doc_id, text, story, group in rows:
        planted[doc_id] = (story, group)
        result = summary(doc_id, text, recent.get(text))
        if len(recent) > 64:
            recent.clear()
        recent[text] = result.claims
        yield result, Document.from_text(text, id=doc_id)


class Timed(Generic[T]):
    """An iterator that counts the CPU seconds spent making its items (the benchmark's own
    input, made inside the digest's call when it streams)."""

    def __init__(self, items: Iterable[T]):
        self.items = iter(items)
        self.cpu = self.wall = 0.0

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        started, wall = time.process_time(), time.perf_counter()
        try:
            return next(self.items)
        finally:
            self.cpu += time.process_time() - started
            self.wall += time.perf_counter() - wall


def pair_scores(predicted: dict[str, str], planted: dict[str, str]) -> tuple[float, float]:
    """Precision and recall over the article pairs put together (pair counting)."""

    def pairs(counts: Counter[object]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    both = pairs(Counter((predicted[d], planted[d]) for d in planted))
    found, gold = pairs(Counter(predicted.values())), pairs(Counter(planted.values()))
    return (both / found if found else 1.0), (both / gold if gold else 1.0)


async def digest_run(size: int, stream: bool) -> dict[str, float]:
    from summarizer._digest import build_digest

    planted: dict[str, tuple[str, str]] = {}
    made = Timed(articles(corpus(size), planted))
    if stream:  # one (result, document) made at a time, as the digest reads them
        pairs, also = itertools.tee(made)
        results: Iterable[Any] = (result for result, _ in pairs)
        documents: Iterable[Any] = (document for _, document in also)
    else:  # every result and document in lists first, as before
        both = list(made)
        results, documents = [r for r, _ in both], [d for _, d in both]
        del both
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    input_cpu, input_wall = made.cpu, made.wall
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, cpu = time.perf_counter(), time.process_time()
    report = await build_digest(results, documents)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)  # the digest's worker processes
    workers_cpu = waited.ru_utime + waited.ru_stime - workers.ru_utime - workers.ru_stime
    input_cpu = made.cpu - input_cpu  # making the input while the digest read it
    seconds -= made.wall - input_wall
    story_of = {a: s.id for s in report.stories for a in s.articles}
    group_of = {a: g[0] for s in report.stories for g in s.source_groups for a in g}
    story_p, story_r = pair_scores(story_of, {d: story for d, (story, _) in planted.items()})
    dup_p, dup_r = pair_scores(group_of, {d: group for d, (_, group) in planted.items()})
    return {
        "articles": size,
        "planted": len({story for story, _ in planted.values()}),
        "stories": len(report.stories),
        "story_p": story_p,
        "story_r": story_r,
        "dup_p": dup_p,
        "dup_r": dup_r,
        "contradictions": sum(len(s.contradictions) for s in report.stories),
        "digest_s": seconds,
        "cpu_s": cpu - input_cpu,
        "input_cpu_s": input_cpu,
        "workers_cpu_s": workers_cpu,
        "workers_mib": waited.ru_maxrss / 1024,
        "input_mib": before,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument(
        "--input",
        choices=["stream", "list"],
        default="stream",
        help="stream: each result and document made as the digest reads it (default); "
        "list: all of them in lists first",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(digest_run(args.one, args.input == "stream"))))
        return
    print(
        "| articles | stories planted | stories found | story pair P / R "
        "| near-dup pair P / R | contradictions | digest wall s | digest CPU s "
        "| workers' CPU s | MiB before digest | peak MiB | digest's own MiB | workers' peak MiB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--input", args.input],
            capture_output=True,
            text=True,
        )
        if out.returncode:
            print(f"| {size:,} | failed: {out.stderr.strip().splitlines()[-1]} |")
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"| {row['articles']:,} | {row['planted']:,} | {row['stories']:,} | "
            f"{row['story_p']:.3f} / {row['story_r']:.3f} | {row['dup_p']:.3f} / "
            f"{row['dup_r']:.3f} | {row['contradictions']:,} | {row['digest_s']:.1f} | "
            f"{row['cpu_s']:.1f} | {row['workers_cpu_s']:.1f} | {row['input_mib']:.0f} | "
            f"{row['peak_mib']:.0f} | {row['peak_mib'] - row['input_mib']:.0f} | "
            f"{row['workers_mib']:.0f} |"
        )


if __name__ == "__main__":
    main()
