"""SHA-1s of the digest's outputs on fixed corpora, to show a speed change alters nothing.

    python benchmarks/digest_identity.py [--sizes 3000 10000]

For each case it prints the SHA-1 of the digest JSON (its ``created`` timestamp set to 0)
and of digest.md. Run it on the commit before a change and after: the lines must be equal.
The cases: the benchmark corpus (``benchmarks/digest_scale.py``) of each size, streamed
(worker processes past 2,000 distinct texts) and as lists (none); the seeds summarised by
the extractive engine at two claim densities; the seeds copied 300 times (density 4).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.digest_scale import ROSE, articles, corpus  # noqa: E402
from tests.test_digest_scale import copied_seeds  # noqa: E402


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


async def hashes(results: Iterable[Any], documents: Iterable[Any]) -> tuple[str, str]:
    from summarizer._digest import build_digest, markdown_digest

    report = await build_digest(results, documents)
    report.created = 0.0
    return sha1(report.model_dump_json()), sha1(markdown_digest(report))


async def scale_case(size: int, stream: bool) -> tuple[str, str]:
    made = articles(corpus(size), {})
    if stream:
        pairs, also = itertools.tee(made)
        return await hashes((r for r, _ in pairs), (d for _, d in also))
    both = list(made)
    return await hashes([r for r, _ in both], [d for _, d in both])


async def seed_results(density: float) -> tuple[list[Any], list[Any]]:
    from summarizer import Summarizer, SummarizerConfig, load_articles
    from summarizer._engines import ExtractiveEngine

    seeds = load_articles([REPO / "seeds"]).documents
    engine = ExtractiveEngine(claim_density=density)
    summarizer = Summarizer(SummarizerConfig(engine="extractive"), engine=engine)
    return list(await summarizer.asummarize_many(seeds)), list(seeds)


async def run(sizes: list[int]) -> None:
    # the corpus takes RoSE's articles from beside the repository when they are there:
    # compare only runs that say the same here
    rose = ROSE.read_bytes() if ROSE.exists() else None
    print("RoSE articles:", hashlib.sha1(rose).hexdigest() if rose else f"absent ({ROSE})")
    for size in sizes:
        for stream in (True, False):
            name = f"corpus {size} {'streamed' if stream else 'lists'}"
            print(name, *await scale_case(size, stream))
    for density in (3.0, 4.0):
        results, documents = await seed_results(density)
        print(f"seeds density {density} x1", *await hashes(results, documents))
    results, documents = await copied_seeds(REPO / "seeds", 300)  # density 4
    print("seeds density 4.0 x300", *await hashes(results, documents))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000])
    asyncio.run(run(parser.parse_args().sizes))


if __name__ == "__main__":
    main()
