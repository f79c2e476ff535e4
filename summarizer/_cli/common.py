"""Shared pieces of the command line: exit codes, common options, loading inputs,
the configuration a command line asks for, and the run log."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer._documents import (
    DEFAULT_EXTENSIONS,
    DEFAULT_MAX_BYTES,
    Document,
    LoadResult,
    RecordFields,
    iter_articles,
)

if TYPE_CHECKING:
    from summarizer._config import SummarizerConfig
    from summarizer._models import DocumentFailure, DocumentSummary
    from summarizer._pipeline import Summarizer
    from summarizer._runlog import RunLog

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A bad command line found after parsing; reported with the subcommand's usage."""


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, folders, or - for stdin")
    parser.add_argument(
        "--max-bytes",
        type=at_least(1),
        default=DEFAULT_MAX_BYTES,
        help="largest article file accepted",
    )
    records = parser.add_argument_group("JSONL and CSV inputs (one article per record)")
    records.add_argument(
        "--text-field", help="field holding the article text (default: text, content or body)"
    )
    records.add_argument("--id-field", default="id", help="field holding the id (default: id)")
    records.add_argument("--title-field", default="title", help="title field (default: title)")
    records.add_argument("--date-field", default="date", help="date field (default: date)")


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress or summary table on stderr"
    )


def at_least(minimum: float, kind: type[int] | type[float] = int) -> Callable[[str], Any]:
    """An argparse type: a number of ``kind`` no smaller than ``minimum``; argparse then
    names the flag and shows the command's usage when it is refused."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def above_zero(text: str) -> float:
    """An argparse type: a number greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, not {text}")
    return value


def _add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Engine, model and limit options shared by run and digest."""
    parser.add_argument(
        "--engine",
        choices=["auto", "llm", "extractive"],
        default="auto",
        help="auto: llm when a model endpoint is configured, else extractive",
    )
    _add_model_arguments(parser)
    parser.add_argument(
        "--concurrency",
        type=at_least(1),
        help="most model requests in flight (default 8); the client finds how many the "
        "server takes, up to this",
    )
    parser.add_argument(
        "--fixed-concurrency",
        action="store_true",
        help="always send --concurrency requests at once (no adaptive level)",
    )
    parser.add_argument(
        "--temperature",
        type=at_least(0, float),
        help="sampling temperature (default: the server's own; 0 for the most repeatable replies)",
    )
    parser.add_argument(
        "--max-output-tokens",
        type=at_least(16),
        help="output limit of one model reply (default 2048)",
    )
    parser.add_argument(
        "--context-window",
        type=at_least(256),
        help="the model's context in tokens, if smaller than the client's default (128000); "
        "chunks are cut to fit",
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="stream replies (keeps a long generation's connection alive, shows progress)",
    )
    parser.add_argument(
        "--http-transport",
        choices=("default", "fast"),
        help="default: httpx's connection pool; fast: keep-alive connections parsed by "
        "httptools (the fast extra), less CPU per call in wide runs "
        "(default: $SUMMARIZER_HTTP_TRANSPORT or default)",
    )
    parser.add_argument("--rpm", type=above_zero, help="requests per minute")
    parser.add_argument("--tpm", type=above_zero, help="tokens per minute")
    parser.add_argument(
        "--max-cost", type=at_least(0, float), help="stop new calls once this many USD are spent"
    )
    parser.add_argument(
        "--max-attempts", type=at_least(1), help="transport attempts per request (default 4)"
    )
    parser.add_argument(
        "--timeout",
        type=above_zero,
        help="total seconds one attempt may take, whatever the server does (default 600)",
    )
    parser.add_argument(
        "--summary-words", type=at_least(10), default=120, help="summary budget (default 120)"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="do not read or write the reply cache"
    )
    parser.add_argument(
        "--cache", help="cache file (default: $SUMMARIZER_CACHE_DIR or ~/.cache/summarizer)"
    )
    parser.add_argument("--no-log", action="store_true", help="do not record the run in the log")


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-m", "--model", help="model name (default: $SUMMARIZER_MODEL or gpt-4o-mini)"
    )
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)")
    parser.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")


def _load(args: argparse.Namespace) -> LoadResult:
    """The inputs; a missing path is a usage error, skipped files a warning."""
    loaded, documents = _open(args)
    loaded.documents.extend(documents)
    return loaded


def _open(args: argparse.Namespace) -> tuple[LoadResult, Iterator[Document]]:
    """The inputs, read one file at a time as the documents are asked for (load errors
    go to the result as they are found); a missing path is a usage error and skipped
    files a warning, both at once."""
    fields = RecordFields(
        text=args.text_field, id=args.id_field, title=args.title_field, date=args.date_field
    )
    loaded = LoadResult()
    documents = iter_articles(args.paths, loaded, max_bytes=args.max_bytes, fields=fields)
    if loaded.missing:
        raise UsageError(f"no such file or folder: {', '.join(loaded.missing)}")
    if loaded.skipped:
        shown = ", ".join(loaded.skipped[:10])
        more = f" and {len(loaded.skipped) - 10} more" if len(loaded.skipped) > 10 else ""
        print(
            f"warning: skipped {len(loaded.skipped)} file(s) with other extensions "
            f"(read: {' '.join(DEFAULT_EXTENSIONS)}): {shown}{more}",
            file=sys.stderr,
        )
    return loaded, documents


def _print_errors(loaded: LoadResult) -> None:
    for error in loaded.errors:
        print(f"error: {error}", file=sys.stderr)


def build_config(args: argparse.Namespace) -> SummarizerConfig:
    """A SummarizerConfig of what the command line says; the Summarizer resolves the rest
    (environment, engine choice) once, in :meth:`SummarizerConfig.resolve`."""
    from summarizer._config import LLMConfig, SummarizerConfig

    model_options = {
        "model": args.model,
        "base_url": args.base_url,
        "api_key": args.api_key,
        "concurrency": args.concurrency,
        "requests_per_minute": args.rpm,
        "tokens_per_minute": args.tpm,
        "max_cost_usd": args.max_cost,
        "max_attempts": args.max_attempts,
        "timeout_seconds": args.timeout,
        "adaptive_concurrency": False if args.fixed_concurrency else None,
        "max_output_tokens": args.max_output_tokens,
        "temperature": args.temperature,
        "context_window": args.context_window,
        "stream": True if args.stream else None,
        "http_transport": args.http_transport,
    }
    given = {key: value for key, value in model_options.items() if value is not None}
    llm = LLMConfig(**given) if given else None
    return SummarizerConfig(
        engine=args.engine,
        llm=llm,
        summary_words=args.summary_words,
        cache=not args.no_cache,
        cache_path=Path(args.cache) if args.cache else None,
        max_bytes=args.max_bytes,
    )


def _start_log(args: argparse.Namespace, summarizer: Summarizer) -> tuple[RunLog | None, int]:
    """Record the run's start (unless --no-log): inputs, engine, model, endpoint, prompts."""
    if args.no_log:
        return None, 0
    from summarizer._runlog import RunLog, RunStart

    engine = summarizer.engine
    start = RunStart(
        command=args.command,
        inputs=list(args.paths),
        engine=engine.name,
        model=engine.model,
        endpoint=engine.endpoint,
        prompt_name=engine.prompt_name,
        prompt_version=engine.prompt_version,
        prompt_hash=engine.prompt_hash,
    )
    log = RunLog()
    return log, log.start(start)


def _finish_log(
    log: RunLog | None,
    run_id: int,
    results: Sequence[DocumentSummary | DocumentFailure],
    *,
    status: str,
    started: float,
    total: int | None = None,
) -> None:
    if log is None:
        return
    log.finish(run_id, results, status=status, seconds=time.time() - started, total=total)
    log.close()


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help, description=help, allow_abbrev=False)
    parser.set_defaults(parser=parser)
    return parser
