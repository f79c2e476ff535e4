"""``summarizer run``: a folder of articles in, results and a report out.

Each result is written as soon as it is done (so Ctrl-C or a crash keeps the finished
ones, and the reply cache keeps every finished model call); ``results.jsonl`` and
``summary.md`` are written at the end, or at the interruption, in input order.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from summarizer._documents import Document, LoadResult
from summarizer._engines import LLMEngine
from summarizer._errors import OutputError
from summarizer._eventloop import run as run_on_loop
from summarizer._models import DocumentFailure, DocumentSummary, Usage
from summarizer._pipeline import Summarizer
from summarizer._render import OutputWriter

Result = DocumentSummary | DocumentFailure


def interactive(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("CI")


@dataclass
class RunReport:
    results: list[Result | None]
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    @property
    def done(self) -> list[Result]:
        return [r for r in self.results if r is not None]

    def rows(self) -> list[tuple[str, str]]:
        done = self.done
        ok = [r for r in done if isinstance(r, DocumentSummary)]
        failed = [r for r in done if isinstance(r, DocumentFailure)]
        suspect = [r for r in ok if r.suspect]
        claims = sum(len(r.claims) for r in ok)
        grounded = sum(c.grounded for r in ok for c in r.claims)
        usage = sum((r.provenance.usage for r in ok), Usage()) + sum(
            (r.usage for r in failed), Usage()
        )
        cost = "unknown" if usage.cost_usd is None else f"${usage.cost_usd:.4f}"
        seconds = (self.finished or time.perf_counter()) - self.started
        return [
            ("documents", f"{len(done)} of {len(self.results)}"),
            ("succeeded", str(len(ok))),
            (
                "suspect",
                f"{len(suspect)} (succeeded, but not believable; see below)" if suspect else "0",
            ),
            ("failed", str(len(failed))),
            ("claims", str(claims)),
            ("grounded", f"{grounded / claims:.1%}" if claims else "n/a"),
            ("model calls", f"{usage.requests} ({usage.cache_hits} from cache)"),
            ("retries / re-asks", f"{usage.retries} / {usage.reasks}"),
            ("tokens in / out", f"{usage.prompt_tokens:,} / {usage.completion_tokens:,}"),
            ("cost", cost),
            ("time", f"{seconds:.1f}s"),
        ]


def print_report(report: RunReport, stream: TextIO) -> None:
    if interactive(stream):
        from rich.console import Console
        from rich.table import Table

        table = Table(title="summarizer run", show_header=False)
        for name, value in report.rows():
            table.add_row(name, value)
        Console(file=stream).print(table)
    else:
        width = max(len(name) for name, _ in report.rows())
        for name, value in report.rows():
            print(f"{name:<{width}}  {value}", file=stream)
    for result in report.done:
        if isinstance(result, DocumentSummary) and result.suspect:
            reasons = "; ".join(reason.message for reason in result.suspect)
            print(f"suspect: {result.doc_id}: {reasons}", file=stream)
    failures = [r for r in report.done if isinstance(r, DocumentFailure)]
    for failure in failures:
        print(f"failed: {failure.doc_id}: {failure.message}", file=stream)


def describe_engine(summarizer: Summarizer) -> str:
    engine = summarizer.engine
    why = summarizer.resolved.reason
    if isinstance(engine, LLMEngine):
        return (
            f"engine: llm, because {why} (model {engine.model} at {engine.endpoint}, prompts "
            f"{engine.prompt_name}@{engine.prompt_version})"
        )
    return (
        f"engine: extractive (offline, no language model), because {why}. To use a model, "
        "set OPENAI_API_KEY or OPENAI_BASE_URL, or pass --engine llm --model NAME --base-url URL."
    )


def _status(result: Result) -> str:
    if isinstance(result, DocumentSummary):
        grounded = sum(c.grounded for c in result.claims)
        status = f"ok: {len(result.claims)} claims, {grounded} grounded"
        if result.suspect:
            status += " — SUSPECT: " + ", ".join(reason.code for reason in result.suspect)
        return status
    return f"FAILED: {result.message}"


@dataclass
class Tally:
    """Running totals for the progress display."""

    total: int
    done: int = 0
    failed: int = 0
    usage: Usage = field(default_factory=Usage)
    concurrency: Callable[[], str] | None = None  # the model client's level, as text

    def add(self, result: Result) -> None:
        self.done += 1
        if isinstance(result, DocumentSummary):
            self.usage = self.usage + result.provenance.usage
        else:
            self.failed += 1
            self.usage = self.usage + result.usage

    def cost(self) -> str:
        return "cost unknown" if self.usage.cost_usd is None else f"${self.usage.cost_usd:.4f}"

    def prefix(self) -> str:
        level = f" · {self.concurrency()}" if self.concurrency is not None else ""
        return f"[{self.done}/{self.total} · {self.cost()} · {self.failed} failed{level}]"


class _Progress:
    """A rich progress bar: bar, N/total, cost so far, failures so far, elapsed time."""

    def __init__(self, log: TextIO, tally: Tally):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.tally = tally
        self.progress = Progress(
            TextColumn("summarising"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[cost]}"),
            TextColumn("{task.fields[failed]} failed"),
            TextColumn("{task.fields[level]}"),
            TimeElapsedColumn(),
            console=Console(file=log),
        )
        self.task = self.progress.add_task(
            "run", total=tally.total, cost="$0.0000", failed=0, level=self.level()
        )
        self.progress.start()

    def level(self) -> str:
        return self.tally.concurrency() if self.tally.concurrency is not None else ""

    def advance(self) -> None:
        self.progress.update(
            self.task,
            advance=1,
            cost=self.tally.cost(),
            failed=self.tally.failed,
            level=self.level(),
        )

    def stop(self) -> None:
        self.progress.stop()


async def run_documents(
    summarizer: Summarizer,
    loaded: LoadResult,
    *,
    writer: OutputWriter | None,
    report: RunReport,
    log: TextIO | None = None,
    quiet: bool = False,
) -> None:
    """Summarise every loaded document, writing each result as it completes. Progress
    (a bar on a terminal, else one line per article) shows N of total, the cost so far
    and the failures so far; ``quiet`` keeps only the failure lines."""
    log = log or sys.stderr  # read at call time: tests and callers swap sys.stderr
    documents: list[Document] = loaded.documents
    offset = len(loaded.errors)
    for index, failure in enumerate(loaded.failures()):
        report.results[index] = _write(writer, failure, log)
    tally = Tally(total=len(documents), concurrency=_concurrency_text(summarizer))
    progress = _Progress(log, tally) if interactive(log) and not quiet else None

    def on_result(index: int, result: Result) -> None:
        result = _write(writer, result, log)
        tally.add(result)
        report.results[offset + index] = result
        if progress is not None:
            progress.advance()
        elif not quiet or isinstance(result, DocumentFailure):
            print(f"{tally.prefix()} {result.doc_id} {_status(result)}", file=log, flush=True)

    try:
        await summarizer.asummarize_many(documents, on_result=on_result)
    finally:
        if progress is not None:
            progress.stop()
        await summarizer.aclose()


def _concurrency_text(summarizer: Summarizer) -> Callable[[], str] | None:
    """How many model requests are in flight and the adaptive level, for the progress."""
    engine = summarizer.engine
    if not isinstance(engine, LLMEngine):
        return None
    gate = engine.client.limiter.concurrency

    def text() -> str:
        return f"{gate.in_flight} in flight, level {gate.level}/{gate.maximum}"

    return text


def _write(writer: OutputWriter | None, result: Result, log: TextIO) -> Result:
    """``result`` once written; a result that cannot be written is that article's failure
    (kept in results.jsonl and the end table), not the run's."""
    if writer is None:
        return result
    try:
        writer.write_result(result)
    except OutputError as exc:
        print(f"error: {exc}", file=log)
        failure = DocumentFailure(
            doc_id=result.doc_id,
            source=result.source,
            error_type="OutputError",
            message=str(exc),
            usage=result.provenance.usage if isinstance(result, DocumentSummary) else result.usage,
        )
        with contextlib.suppress(OutputError):
            writer.write_line(failure)
        return failure
    return result


def finish(report: RunReport, writer: OutputWriter | None) -> None:
    report.finished = time.perf_counter()
    if writer:
        writer.write_all(report.done, complete=len(report.done) == len(report.results))


def run(
    summarizer: Summarizer,
    loaded: LoadResult,
    *,
    out: Path | None,
    log: TextIO | None = None,
    quiet: bool = False,
) -> RunReport:
    report = RunReport(results=[None] * (len(loaded.errors) + len(loaded.documents)))
    texts = {doc.id: doc.text for doc in loaded.documents}
    writer = OutputWriter(out, texts=texts) if out else None
    try:
        run_on_loop(
            run_documents(summarizer, loaded, writer=writer, report=report, log=log, quiet=quiet)
        )
    finally:
        finish(report, writer)
    return report


@dataclass
class Estimate:
    doc_id: str
    article_tokens: int
    prompt_tokens: int
    calls: int
    cost_usd: float | None


ASSUMED_OUTPUT_TOKENS = 600  # per call, for dry-run cost estimates


def estimate(summarizer: Summarizer, documents: list[Document]) -> list[Estimate]:
    """Tokens, calls and cost a run would take, without calling anything."""
    from summarizer._chunking import TokenChunker, chunk_normalized
    from summarizer._normalize import normalize_text
    from summarizer._pricing import cost_usd, price_for

    engine = summarizer.engine
    config = summarizer.config
    estimates = []
    for document in documents:
        normalized = normalize_text(document.text)
        if not isinstance(engine, LLMEngine):
            tokens = len(normalized.text.split())
            estimates.append(Estimate(document.id, tokens, 0, 0, 0.0))
            continue
        article = engine.encoding.count(normalized.text)
        overhead = engine.client.count_tokens(
            engine.extract_prompt.messages(
                summary_words=config.summary_words,
                part_note="",
                doc_id=document.id,
                article="",
            )
        )
        if article <= config.single_call_tokens:
            calls, prompt = 1, overhead + article
        else:
            chunker = TokenChunker(engine.encoding, max_tokens=config.chunk_tokens)
            chunks = chunk_normalized(normalized, chunker)
            calls = len(chunks) + 1
            prompt = (
                overhead * len(chunks) + article + overhead + ASSUMED_OUTPUT_TOKENS * len(chunks)
            )
        price = price_for(engine.model or "", engine.client.config.prices)
        cost = cost_usd(
            price,
            prompt_tokens=prompt,
            cached_tokens=0,
            completion_tokens=ASSUMED_OUTPUT_TOKENS * calls,
        )
        estimates.append(Estimate(document.id, article, prompt, calls, cost))
    return estimates
