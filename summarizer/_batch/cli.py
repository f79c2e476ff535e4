"""``summarizer batch submit|status|collect``: the argparse wiring of the batch mode.

``_cli.build_parser`` adds it with ``add_batch_parser(commands)``; the parser sets
``handler=cmd_batch``, as the other commands do.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from summarizer._batch.limits import BATCH_PRICE_FACTOR, MAX_FILE_BYTES, MAX_REQUESTS_PER_BATCH
from summarizer._documents import DEFAULT_MAX_BYTES, load_articles
from summarizer._errors import SummarizerError

if TYPE_CHECKING:  # the client, engines and renderers load when a batch command runs
    from summarizer._batch.job import BatchJob, BatchOptions
    from summarizer._config import SummarizerConfig

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


def add_batch_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    batch = subparsers.add_parser("batch", help="summarise at the Batch API's price (async)")
    actions = batch.add_subparsers(dest="batch_command", required=True)
    submit = actions.add_parser("submit", help="prepare, upload and start batches")
    submit.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    submit.add_argument("--model", help="model name (default: $SUMMARIZER_MODEL or gpt-4o-mini)")
    submit.add_argument("--base-url", help="OpenAI-compatible endpoint")
    submit.add_argument("--summary-words", type=int, default=120)
    submit.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES)
    submit.add_argument("--no-cache", action="store_true", help="do not use the reply cache")
    submit.add_argument("--cache", help="reply cache file (shared with `run`)")
    submit.add_argument("--max-requests", type=int, default=MAX_REQUESTS_PER_BATCH)
    submit.add_argument("--max-file-bytes", type=int, default=MAX_FILE_BYTES)
    submit.add_argument("--price-factor", type=float, default=BATCH_PRICE_FACTOR)
    submit.add_argument(
        "--write-only", metavar="DIR", help="write the JSONL files here; upload nothing"
    )
    status = actions.add_parser("status", help="poll the job's batches")
    collect = actions.add_parser("collect", help="ingest answers, send follow-ups, write")
    collect.add_argument("--out", help="write results here (as `run --out`)")
    collect.add_argument(
        "--from-output",
        metavar="FILE",
        action="append",
        default=[],
        help="ingest an output file made elsewhere (e.g. by vllm run-batch); repeatable",
    )
    collect.add_argument(
        "--live", action="store_true", help="finish follow-up requests live, not in a batch"
    )
    for sub in (submit, status, collect):
        sub.add_argument("--job", required=True, help="the job folder (its SQLite store)")
        sub.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    batch.set_defaults(handler=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    try:
        return _COMMANDS[args.batch_command](args)
    except SummarizerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _open(
    args: argparse.Namespace,
    config: SummarizerConfig | None = None,
    options: BatchOptions | None = None,
) -> BatchJob:
    from summarizer._batch.job import BatchJob

    env = None
    if args.api_key:
        import os

        env = {**os.environ, "OPENAI_API_KEY": args.api_key}
    return BatchJob(Path(args.job), config, options=options, env=env)


def _submit(args: argparse.Namespace) -> int:
    from summarizer._batch.job import BatchOptions
    from summarizer._config import LLMConfig, SummarizerConfig

    loaded = load_articles(args.paths, max_bytes=args.max_bytes)
    given = {"model": args.model, "base_url": args.base_url}
    llm = LLMConfig(**{k: v for k, v in given.items() if v is not None})
    config = SummarizerConfig(
        engine="llm",
        llm=llm,
        summary_words=args.summary_words,
        cache=not args.no_cache,
        cache_path=Path(args.cache) if args.cache else None,
        max_bytes=args.max_bytes,
    )
    options = BatchOptions(
        max_requests=args.max_requests,
        max_bytes=args.max_file_bytes,
        price_factor=args.price_factor,
        write_only=Path(args.write_only) if args.write_only else None,
    )
    job = _open(args, config, options)
    try:
        added = job.add_documents(loaded.documents, loaded.failures())

        async def work() -> tuple[int, int]:
            finished = await job.advance()
            return finished, await job.push()

        finished, files = asyncio.run(work())
        print(
            f"{added} documents added; {finished} finished from the cache; "
            f"{files} request files written"
            + (f" to {options.write_only}" if options.write_only else " and submitted"),
            file=sys.stderr,
        )
        _print_counts(job)
    finally:
        job.close()
    for error in loaded.errors:
        print(f"error: {error}", file=sys.stderr)
    return EXIT_SOME_FAILED if loaded.errors else EXIT_OK


def _status(args: argparse.Namespace) -> int:
    job = _open(args)
    try:
        if job.options.write_only is None:
            for batch_id, status in asyncio.run(job.poll()):
                print(f"{batch_id}  {status}")
        _print_counts(job)
    finally:
        job.close()
    return EXIT_OK


def _collect(args: argparse.Namespace) -> int:
    from summarizer._batch.job import Collected
    from summarizer._render import OutputWriter
    from summarizer._runner import print_report

    job = _open(args)
    try:
        writer = OutputWriter(Path(args.out)) if args.out else None
        collected = Collected()
        for path in args.from_output:
            job.ingest_output(Path(path), collected)

        async def work() -> Collected:
            if job.options.write_only is not None:
                collected.finished = await job.advance(live=args.live, writer=writer)
                collected.new_files = await job.push()
                return collected
            polled = await job.collect(live=args.live, writer=writer)
            polled.answered += collected.answered
            polled.errors += collected.errors
            polled.unknown += collected.unknown
            return polled

        done = asyncio.run(work())
        print(
            f"{len(done.batches_ended)} batches ended; {done.answered} answers, "
            f"{done.errors} errors, {done.unknown} unknown ids, {done.requeued} requeued; "
            f"{done.finished} documents finished; {done.new_files} follow-up files",
            file=sys.stderr,
        )
        report = job.write_outputs(Path(args.out)) if args.out else job.report()
        print_report(report, sys.stderr)
        waiting = sum(r is None for r in job.results())
        _print_counts(job)
    finally:
        job.close()
    return EXIT_OK if waiting == 0 else EXIT_SOME_FAILED


def _print_counts(job: BatchJob) -> None:
    results = job.results()
    done = sum(r is not None for r in results)
    counts = ", ".join(f"{n} {state}" for state, n in sorted(job.store.counts().items()))
    print(
        f"documents: {done} of {len(results)} finished; requests: {counts or 'none'}",
        file=sys.stderr,
    )


_COMMANDS = {"submit": _submit, "status": _status, "collect": _collect}
