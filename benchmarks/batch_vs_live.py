"""The batch flow on seeds/ end to end against a loopback files + batches server, beside
the same live run: request counts, batches, rounds and cost.

    python benchmarks/batch_vs_live.py [--single-call-tokens N] [--chunk-tokens N]

Smaller limits force map-reduce, so the reduce steps go out as a follow-up batch.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from summarizer._batch.job import BatchJob
from summarizer._config import LLMConfig, SummarizerConfig
from summarizer._documents import load_articles
from summarizer._models import DocumentSummary, Usage
from summarizer._pipeline import Summarizer
from summarizer._testing import FakeBatchAPI, HandlerServer

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def usage_of(results: list[Any]) -> Usage:
    return sum((r.provenance.usage for r in results if isinstance(r, DocumentSummary)), Usage())


async def batch_flow(config: SummarizerConfig, folder: Path) -> tuple[int, Usage]:
    job = BatchJob(folder, config)
    job.add_documents(load_articles([SEEDS]).documents)
    await job.advance()
    await job.push()
    collects = 0
    while any(r is None for r in job.results()):
        collects += 1
        await job.collect()
    usage = usage_of(job.results())
    job.write_outputs(folder / "out")
    job.close()
    return collects, usage


async def live_flow(config: SummarizerConfig) -> Usage:
    summarizer = Summarizer(config)
    results = await summarizer.asummarize_many(load_articles([SEEDS]).documents)
    await summarizer.aclose()
    return usage_of(results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single-call-tokens", type=int, default=6000)
    parser.add_argument("--chunk-tokens", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        api = FakeBatchAPI()
        with HandlerServer(api.handle) as server:
            llm = LLMConfig(model="gpt-4o-mini", base_url=server.base_url, api_key="sk-local")

            def config(name: str) -> SummarizerConfig:
                return SummarizerConfig(
                    engine="llm",
                    llm=llm,
                    single_call_tokens=args.single_call_tokens,
                    chunk_tokens=args.chunk_tokens,
                    cache_path=Path(tmp) / name / "cache.sqlite3",
                )

            collects, batch = asyncio.run(batch_flow(config("batch"), Path(tmp) / "job"))
            batches, lines, uploads = len(api.batches), api.batch_lines, api.uploads
            live = asyncio.run(live_flow(config("live")))
    print(f"seeds: single_call_tokens={args.single_call_tokens} chunk_tokens={args.chunk_tokens}")
    print("| mode | model requests | batches | files uploaded | collects | tokens in/out | cost |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| batch | {lines} | {batches} | {uploads} | {collects} | "
        f"{batch.prompt_tokens:,}/{batch.completion_tokens:,} | ${batch.cost_usd:.5f} |"
    )
    print(
        f"| live | {api.live_requests} | - | - | - | "
        f"{live.prompt_tokens:,}/{live.completion_tokens:,} | ${live.cost_usd:.5f} |"
    )


if __name__ == "__main__":
    main()
