"""How fast a batch job prepares requests offline (``--write-only``): N copies of the
seeds (each made distinct), one round, JSONL files within the limits. No server.

    python benchmarks/batch_prepare.py --copies 200
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from summarizer._batch.job import BatchJob, BatchOptions
from summarizer._config import LLMConfig, SummarizerConfig
from summarizer._documents import Document, load_articles

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=200)
    args = parser.parse_args()
    seeds = load_articles([SEEDS]).documents
    documents = [
        Document.from_text(f"{d.text}\n\nCopy {n}.", id=f"{d.id}-{n}")
        for n in range(args.copies)
        for d in seeds
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        llm = LLMConfig(model="gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key="k")
        config = SummarizerConfig(engine="llm", llm=llm, cache=False)
        options = BatchOptions(write_only=folder / "requests", max_requests=5000)
        job = BatchJob(folder / "job", config, options=options)
        started = time.perf_counter()
        job.add_documents(documents)
        asyncio.run(job.advance())
        prepared = time.perf_counter()
        files = job.write_files()
        written = time.perf_counter()
        size = sum(p.stat().st_size for p in (folder / "requests").glob("*.jsonl"))
        requests = job.store.counts().get("written", 0)
        job.close()
    print(
        f"{len(documents)} documents -> {requests} requests in {files} files ({size / 1e6:.1f} MB)"
    )
    print(
        f"round (pipeline + store): {prepared - started:.2f}s "
        f"({(prepared - started) / len(documents) * 1000:.2f} ms/document)"
    )
    print(f"JSONL files: {written - prepared:.2f}s")


if __name__ == "__main__":
    main()
