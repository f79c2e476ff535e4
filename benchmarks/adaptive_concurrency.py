"""Adaptive concurrency against a one-slot server and a wide one (loopback fake servers).

    python benchmarks/adaptive_concurrency.py [--slow-articles 24] [--slow-latency 0.5]
        [--wide-articles 2000] [--wide-latency 1.0] [--wide-concurrency 256]

1. A server that serves one request at a time (``python -m summarizer._testing --slots 1``,
   requests queue, a request whose client gave up is still served), with a deadline per
   attempt that holds about 6 queued requests: default settings (adaptive, at most 8 in
   flight), ``--concurrency 1``, and a fixed 8 in flight. Wall time, articles finished,
   timeouts (retries), the level at the end and the most in flight.
2. A wide server (no slot limit) with a fixed latency: the adaptive level against a fixed
   one at ``--wide-concurrency``: wall time, and when the adaptive level first reached the
   maximum.

Each server runs in a process of its own; the cache is off.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import build_corpus  # type: ignore[import-not-found]  # noqa: E402

from summarizer import LLMConfig, Summarizer, SummarizerConfig  # noqa: E402
from summarizer._documents import Document  # noqa: E402
from summarizer._engines import LLMEngine  # noqa: E402
from summarizer._models import DocumentSummary  # noqa: E402


def articles(count: int) -> list[Document]:
    texts = build_corpus(count * 3_200, doc_bytes=3_000, seed=11)[:count]
    return [Document.from_text(text, id=f"article-{i:04d}") for i, text in enumerate(texts)]


@contextmanager
def server(*options: str) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "summarizer._testing", *options], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait()


async def measure(base_url: str, documents: list[Document], **options: Any) -> dict[str, Any]:
    llm = LLMConfig(model="gpt-4o-mini", base_url=base_url, api_key="unused", **options)
    summarizer = Summarizer(SummarizerConfig(engine="llm", llm=llm, cache=False))
    engine = summarizer.engine
    assert isinstance(engine, LLMEngine)
    gate = engine.client.limiter.concurrency
    started = time.perf_counter()
    results = await summarizer.asummarize_many(documents)
    wall = time.perf_counter() - started
    await summarizer.aclose()
    first = gate.changes[0][0]
    at_max = next((t - first for t, level in gate.changes if level >= gate.maximum), None)
    return {
        "wall": wall,
        "ok": sum(isinstance(r, DocumentSummary) for r in results),
        "calls": engine.client.usage.requests,
        "retries": engine.client.usage.retries,
        "level": gate.level,
        "peak": gate.peak,
        "cuts": gate.cuts,
        "at_max": at_max,
    }


def slow_server(count: int, latency: float) -> None:
    documents = articles(count)
    timeout = latency * 6.5
    print(f"## one-slot server: {count} articles, {latency:g} s a request, --timeout {timeout:g}")
    print("| settings | wall s | finished | calls | retries | level at end | most in flight |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    variants: dict[str, dict[str, Any]] = {
        "default (adaptive, max 8)": {},
        "--concurrency 1": {"concurrency": 1},
        "--fixed-concurrency (8)": {"adaptive_concurrency": False},
    }
    with server("--latency", str(latency), "--slots", "1") as base_url:
        for name, options in variants.items():
            found = asyncio.run(
                measure(base_url, documents, timeout_seconds=timeout, max_attempts=4, **options)
            )
            print(
                f"| {name} | {found['wall']:.1f} | {found['ok']}/{count} | {found['calls']} "
                f"| {found['retries']} | {found['level']} | {found['peak']} |"
            )
            time.sleep(timeout)  # let the server finish abandoned requests before the next


def wide_server(count: int, latency: float, concurrency: int) -> None:
    documents = articles(count)
    print(f"## wide server: {count} articles, {latency:g} s a request, at most {concurrency}")
    print("| settings | wall s | finished | cuts | reached the maximum after s |")
    print("|---|---:|---:|---:|---:|")
    with server("--latency", str(latency)) as base_url:
        asyncio.run(measure(base_url, documents[:4], concurrency=4))  # warm-up
        for name, adaptive in (("adaptive", True), ("fixed", False)):
            found = asyncio.run(
                measure(base_url, documents, concurrency=concurrency, adaptive_concurrency=adaptive)
            )
            at_max = "-" if found["at_max"] is None else f"{found['at_max']:.2f}"
            print(
                f"| {name} | {found['wall']:.2f} | {found['ok']}/{count} | {found['cuts']} "
                f"| {at_max} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slow-articles", type=int, default=24)
    parser.add_argument("--slow-latency", type=float, default=0.5)
    parser.add_argument("--wide-articles", type=int, default=2000)
    parser.add_argument("--wide-latency", type=float, default=1.0)
    parser.add_argument("--wide-concurrency", type=int, default=256)
    parser.add_argument("--only", choices=["slow", "wide"], default=None)
    args = parser.parse_args()
    if args.only != "wide":
        slow_server(args.slow_articles, args.slow_latency)
    if args.only != "slow":
        wide_server(args.wide_articles, args.wide_latency, args.wide_concurrency)


if __name__ == "__main__":
    main()
