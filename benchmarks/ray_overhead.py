"""The offline engine on N articles: one local process against the Ray Data executor.

    python benchmarks/ray_overhead.py [--articles 10000] [--workers 1 2] [--batch-size 64]

The articles are the seed articles repeated with distinct ids (the extractive engine keeps
no state between articles, so repeats cost what originals do). Local: one Summarizer's
``summarize_many``. Ray: ``summarize_dataset`` on a local Ray instance (``num_cpus`` =
the largest worker count), results consumed in order on the driver and checked equal to
the local ones (wall time removed). Prints wall time, articles per second and the ratio
ray / local; Ray's start-up (``ray.init``) is timed apart.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import ray

from summarizer import Summarizer, SummarizerConfig
from summarizer._documents import Document
from summarizer._ray import summarize_dataset

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def articles(count: int) -> list[Document]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    return [
        Document.from_text(texts[i % len(texts)], id=f"a{i:06d}", source=f"seed{i % len(texts)}")
        for i in range(count)
    ]


def without_timing(raw: str) -> str:
    row = json.loads(raw)
    row.get("provenance", {}).pop("seconds", None)
    return json.dumps(row, sort_keys=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    config = SummarizerConfig(engine="extractive")
    documents = articles(args.articles)

    started = time.perf_counter()
    with Summarizer(config) as summarizer:
        local = [without_timing(r.model_dump_json()) for r in summarizer.summarize_many(documents)]
    local_seconds = time.perf_counter() - started
    print(f"local      {local_seconds:8.1f} s  {args.articles / local_seconds:8.1f} articles/s")

    started = time.perf_counter()
    ray.init(num_cpus=max(args.workers), include_dashboard=False, log_to_driver=False)
    print(f"ray.init   {time.perf_counter() - started:8.1f} s")
    rows = [{"id": d.id, "text": d.text, "source": d.source} for d in documents]
    for workers in args.workers:
        started = time.perf_counter()
        ds = summarize_dataset(
            ray.data.from_items(rows), config, workers=workers, batch_size=args.batch_size
        )
        remote = [without_timing(row["result"]) for row in ds.iter_rows()]
        seconds = time.perf_counter() - started
        assert remote == local, "ray results differ from the local run"
        print(
            f"ray x{workers}     {seconds:8.1f} s  {args.articles / seconds:8.1f} articles/s"
            f"  ratio {seconds / local_seconds:.2f}  (results identical)"
        )
    ray.shutdown()


if __name__ == "__main__":
    main()
