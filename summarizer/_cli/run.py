"""``summarizer run`` and ``summarizer chunk``: the main job and its inspection tool."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from summarizer._documents import (
    LoadResult,
)

if TYPE_CHECKING:
    from summarizer._chunking import Chunk
    from summarizer._config import SummarizerConfig
    from summarizer._models import DocumentFailure, DocumentSummary
    from summarizer._normalize import NormalizedText
    from summarizer._pipeline import Summarizer
    from summarizer._runner import RunReport


from summarizer._cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    UsageError,
    _add_engine_arguments,
    _add_input_arguments,
    _add_quiet,
    _command,
    _finish_log,
    _load,
    _print_errors,
    _start_log,
    at_least,
    build_config,
)


def _chunk_record(
    doc_id: str, normalized: NormalizedText, parts: Sequence[Chunk], *, overlap: int
) -> dict[str, object]:
    return {
        "id": doc_id,
        "title": normalized.title,
        "date": normalized.date,
        "removed": normalized.removed_counts(),
        "chars": len(normalized.text),
        "tokens": sum(c.token_count for c in parts) if not overlap else None,
        "chunks": [
            {
                "index": c.index,
                "tokens": c.token_count,
                "start": c.start,
                "end": c.end,
                "original_start": c.original_start,
                "original_end": c.original_end,
                "text": c.text,
            }
            for c in parts
        ],
    }


def cmd_chunk(args: argparse.Namespace) -> int:
    """Load, normalize and chunk articles: one JSON line per article, or the chunks' text."""
    from summarizer._chunking import TokenChunker, chunk_normalized
    from summarizer._normalize import normalize_text
    from summarizer._tokens import encoding_for_model

    loaded = _load(args)
    chunker = TokenChunker(
        encoding_for_model(args.model, override=args.encoding),
        max_tokens=args.max_tokens,
        overlap_tokens=args.overlap,
    )
    for doc in loaded.documents:
        normalized = normalize_text(doc.text)
        chunks = chunk_normalized(normalized, chunker)
        record = _chunk_record(doc.id, normalized, chunks, overlap=args.overlap)
        if args.format == "jsonl":
            print(json.dumps(record, ensure_ascii=False))
            continue
        print(f"# {doc.id}" + (f": {normalized.title}" if normalized.title else ""))
        for chunk in chunks:
            print(
                f"\n--- chunk {chunk.index}: {chunk.token_count} tokens, "
                f"characters {chunk.start}-{chunk.end} ---\n{chunk.text}"
            )
        print()
    _print_errors(loaded)
    return EXIT_SOME_FAILED if loaded.errors else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Summarise articles; write files to --out and/or one format to stdout."""
    from summarizer._client import freeze_startup_objects
    from summarizer._models import DocumentFailure, DocumentSummary
    from summarizer._pipeline import Summarizer
    from summarizer._runner import describe_engine, print_report, run

    config = build_config(args)
    loaded = _load(args)
    if args.dry_run:
        config = _keyless(config)
    summarizer = Summarizer(config)
    freeze_startup_objects()  # this process is ours: the SDK's types need no more scans
    if not args.quiet:
        print(describe_engine(summarizer), file=sys.stderr)
    if args.dry_run:
        return _dry_run(summarizer, loaded)
    out = Path(args.out) if args.out else None
    log, run_id = _start_log(args, summarizer)
    started = time.time()
    try:
        with _terminate_as_interrupt():
            if args.executor == "ray":
                report = _run_on_ray(args, config, loaded, out)
            else:
                report = run(summarizer, loaded, out=out, quiet=args.quiet)
    except KeyboardInterrupt:
        _finish_log(log, run_id, [], status="interrupted", started=started)
        print("\ninterrupted: finished results are kept", file=sys.stderr)
        if out:
            print(f"written to {out}/", file=sys.stderr)
        return EXIT_INTERRUPTED
    results = report.done
    failed = any(isinstance(r, DocumentFailure) for r in results) or (
        args.fail_suspect and any(isinstance(r, DocumentSummary) and r.suspect for r in results)
    )
    status = "failed" if failed else "ok"
    _finish_log(log, run_id, results, status=status, started=started)
    if not args.quiet:
        print_report(report, sys.stderr)
    _print_results(args.format or (None if out else "md"), results, loaded)
    if out and not args.quiet:
        print(
            f"wrote {len(results)} results to {out}/ (results.jsonl, summary.md, report.html)"
            + (f"; run {run_id} in the log (summarizer logs show {run_id})" if log else ""),
            file=sys.stderr,
        )
    if summarizer.stopped_by is not None:  # no request could succeed: a setup problem
        print(f"summarizer: run stopped: {summarizer.stopped_by.detail}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _run_on_ray(
    args: argparse.Namespace, config: SummarizerConfig, loaded: LoadResult, out: Path | None
) -> RunReport:
    try:
        from summarizer._ray import run_with_ray
    except ImportError as missing:
        raise UsageError(
            f"--executor ray needs the ray extra: pip install 'summarizer[ray]' ({missing})"
        ) from None
    return run_with_ray(config, loaded, out, args.ray_address, workers=args.ray_workers)


def _print_results(
    output_format: str | None,
    results: Sequence[DocumentSummary | DocumentFailure],
    loaded: LoadResult,
) -> None:
    from summarizer._render import json_array, markdown, result_line

    if output_format == "json":
        print(json_array(results))
    elif output_format == "jsonl":
        for result in results:
            print(result_line(result))
    elif output_format == "md":
        print(markdown(results))
    elif output_format == "html":
        from summarizer._report_html import results_html

        print(results_html(results, {d.id: d.text for d in loaded.documents}), end="")


def _keyless(config: SummarizerConfig) -> SummarizerConfig:
    """For a dry run, which calls nothing: a model run needs no API key."""
    import os

    from pydantic import SecretStr

    from summarizer._config import LLMConfig

    llm = config.llm or LLMConfig()
    named = llm.model_fields_set & {"model", "base_url"}
    if config.engine == "extractive" or not (config.engine == "llm" or named):
        return config
    if llm.api_key is not None or os.environ.get("OPENAI_API_KEY"):
        return config
    placeholder = SecretStr("dry-run-no-call-is-made")
    return config.model_copy(update={"llm": llm.model_copy(update={"api_key": placeholder})})


def _dry_run(summarizer: Summarizer, loaded: LoadResult) -> int:
    from summarizer._runner import ASSUMED_OUTPUT_TOKENS, estimate

    estimates = estimate(summarizer, loaded.documents)
    print(f"{'article':<40} {'tokens':>8} {'prompt':>8} {'calls':>6} {'est. cost':>10}")
    for item in estimates:
        cost = "unknown" if item.cost_usd is None else f"${item.cost_usd:.4f}"
        print(
            f"{item.doc_id[:40]:<40} {item.article_tokens:>8,} {item.prompt_tokens:>8,} "
            f"{item.calls:>6} {cost:>10}"
        )
    known = [e.cost_usd for e in estimates if e.cost_usd is not None]
    total = f"${sum(known):.4f}" if len(known) == len(estimates) else "unknown"
    print(
        f"{len(estimates)} articles, {sum(e.calls for e in estimates)} calls, "
        f"estimated cost {total} (assuming {ASSUMED_OUTPUT_TOKENS} output tokens a call); "
        "no call was made"
    )
    _print_errors(loaded)
    return EXIT_SOME_FAILED if loaded.errors else EXIT_OK


def _add_chunk_and_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    chunk = _command(commands, "chunk", "load, clean and chunk articles (no model)")
    _add_input_arguments(chunk)
    chunk.add_argument("--max-tokens", type=at_least(8), default=512)
    chunk.add_argument(
        "--overlap", type=at_least(0), default=0, help="overlap between chunks, in tokens"
    )
    chunk.add_argument("-m", "--model", default=None, help="model whose encoding counts tokens")
    chunk.add_argument("--encoding", default=None, choices=["o200k_base", "cl100k_base"])
    chunk.add_argument(
        "-f", "--format", choices=["jsonl", "text"], default="jsonl",
        help="jsonl: one record per article with every chunk; text: the chunks to read",
    )  # fmt: skip
    chunk.set_defaults(handler=cmd_chunk)

    run_parser = _command(commands, "run", "summarise articles (the main job)")
    _add_input_arguments(run_parser)
    run_parser.add_argument(
        "-o", "--out",
        help="folder for one JSON per article, results.jsonl, summary.md, report.html",
    )  # fmt: skip
    run_parser.add_argument(
        "-f", "--format", choices=["json", "jsonl", "md", "html"], help="print this to stdout"
    )
    _add_engine_arguments(run_parser)
    _add_quiet(run_parser)
    run_parser.add_argument(
        "--dry-run", action="store_true", help="count tokens and estimate cost; call nothing"
    )
    run_parser.add_argument(
        "--fail-suspect", action="store_true",
        help="exit 1, as for a failed article, when a result is suspect (schema-valid but "
        "not believable: every quote invented, instructions echoed, summary off the article)",
    )  # fmt: skip
    run_parser.add_argument(
        "--executor", choices=["local", "ray"], default="local",
        help="local (default), or ray: over a Ray cluster (needs the ray extra)",
    )  # fmt: skip
    run_parser.add_argument(
        "--ray-address", help="Ray cluster to join (default: a local one started for the run)"
    )
    run_parser.add_argument(
        "--ray-workers", type=int, default=2, help="Summarizer actors in the pool (default 2)"
    )
    run_parser.set_defaults(handler=cmd_run)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler or container stopping the job) ends the run as Ctrl-C does:
    finished results kept, results.jsonl written, exit code 130."""

    def interrupt(signum: int, frame: object) -> None:
        del signum, frame
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave the signal alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
