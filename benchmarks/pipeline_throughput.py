"""Throughput of the LLM engine against a local fake server with a fixed latency.

    python benchmarks/pipeline_throughput.py [--articles 200] [--latency 0.2]

Starts ``python -m summarizer._testing`` (a scripted OpenAI-compatible server on
127.0.0.1) in its own process, then summarises the articles at each concurrency, cache
off. Reports wall time against two references: the issue's ideal,
calls x latency / concurrency, and the wave bound, ceil(calls / concurrency) x latency,
which no client can beat when every call takes the same time. Also reports prompt tokens
per article against the article's own tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import build_corpus  # type: ignore[import-not-found]  # noqa: E402

from summarizer import LLMConfig, Summarizer, SummarizerConfig  # noqa: E402
from summarizer._documents import Document  # noqa: E402
from summarizer._models import DocumentSummary  # noqa: E402
from summarizer._normalize import normalize_text  # noqa: E402
from summarizer._tokens import load_encoding  # noqa: E402


def articles(count: int) -> list[Document]:
    texts = build_corpus(count * 3_200, doc_bytes=3_000, seed=11)[:count]
    return [Document.from_text(text, id=f"article-{i:04d}") for i, text in enumerate(texts)]


async def measure(
    base_url: str, documents: list[Document], concurrency: int
) -> tuple[float, list[DocumentSummary]]:
    llm = LLMConfig(
        model="gpt-4o-mini", base_url=base_url, api_key="unused", concurrency=concurrency
    )
    summarizer = Summarizer(SummarizerConfig(engine="llm", llm=llm, cache=False))
    started = time.perf_counter()
    results = await summarizer.asummarize_many(documents)
    elapsed = time.perf_counter() - started
    await summarizer.aclose()
    ok = [r for r in results if isinstance(r, DocumentSummary)]
    if len(ok) != len(documents):
        raise SystemExit(f"{len(documents) - len(ok)} documents failed")
    return elapsed, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    args = parser.parse_args()
    documents = articles(args.articles)
    encoding = load_encoding("o200k_base")
    article_tokens = [encoding.count(normalize_text(d.text).text) for d in documents]
    server = subprocess.Popen(
        [sys.executable, "-m", "summarizer._testing", "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        asyncio.run(measure(base_url, documents[:4], 4))  # warm-up: imports, encodings
        print(
            f"{len(documents)} articles, {sum(article_tokens) / len(documents):.0f} tokens each on "
            f"average, server latency {args.latency * 1000:.0f} ms"
        )
        print(
            "| concurrency | calls | wall s | ideal s | wall / ideal "
            "| wave bound s | wall / wave bound |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for concurrency in args.concurrency:
            elapsed, results = asyncio.run(measure(base_url, documents, concurrency))
            calls = sum(r.provenance.usage.requests for r in results)
            ideal = calls * args.latency / concurrency
            waves = math.ceil(calls / concurrency) * args.latency
            print(
                f"| {concurrency} | {calls} | {elapsed:.2f} | {ideal:.2f} "
                f"| {elapsed / ideal:.3f} | {waves:.2f} | {elapsed / waves:.3f} |"
            )
        prompts = [r.provenance.usage.prompt_tokens for r in results]
        overheads = [p - a for p, a in zip(prompts, article_tokens, strict=True)]
        ratio = sum(prompts) / sum(article_tokens)
        print(
            f"prompt tokens / article tokens: {ratio:.3f} "
            f"(instruction block per call: {min(overheads)}-{max(overheads)} tokens, "
            f"median {sorted(overheads)[len(overheads) // 2]})"
        )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
