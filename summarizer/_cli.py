"""The ``summarizer`` command line.

Start-up is kept short: this module imports only the standard library and the light input
loader; the model client, the engines and the digest load inside the command that uses
them, so ``summarizer --help`` does not pay for them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from summarizer import __version__
from summarizer._documents import (
    DEFAULT_EXTENSIONS,
    DEFAULT_MAX_BYTES,
    LoadResult,
    RecordFields,
    load_articles,
)

if TYPE_CHECKING:
    from summarizer._chunking import Chunk
    from summarizer._config import SummarizerConfig
    from summarizer._eval.meta import MetaReport
    from summarizer._models import DocumentFailure, DocumentSummary
    from summarizer._normalize import NormalizedText
    from summarizer._pipeline import Summarizer
    from summarizer._runlog import RunLog
    from summarizer._runner import RunReport

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A bad command line found after parsing; reported with the subcommand's usage."""


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, folders, or - for stdin")
    parser.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="largest article file accepted"
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


def _add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Engine, model and limit options shared by run and digest."""
    parser.add_argument(
        "--engine",
        choices=["auto", "llm", "extractive"],
        default="auto",
        help="auto: llm when a model endpoint is configured, else extractive",
    )
    _add_model_arguments(parser)
    parser.add_argument("--concurrency", type=int, help="concurrent model requests (default 8)")
    parser.add_argument("--rpm", type=float, help="requests per minute")
    parser.add_argument("--tpm", type=float, help="tokens per minute")
    parser.add_argument(
        "--max-cost", type=float, help="stop new calls once this many USD are spent"
    )
    parser.add_argument(
        "--max-attempts", type=int, help="transport attempts per request (default 4)"
    )
    parser.add_argument("--summary-words", type=int, default=120)
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
    fields = RecordFields(
        text=args.text_field, id=args.id_field, title=args.title_field, date=args.date_field
    )
    loaded = load_articles(args.paths, max_bytes=args.max_bytes, fields=fields)
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
    return loaded


def _print_errors(loaded: LoadResult) -> None:
    for error in loaded.errors:
        print(f"error: {error}", file=sys.stderr)


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


def cmd_run(args: argparse.Namespace) -> int:
    """Summarise articles; write files to --out and/or one format to stdout."""
    from summarizer._models import DocumentFailure
    from summarizer._pipeline import Summarizer
    from summarizer._runner import describe_engine, print_report, run

    config = build_config(args)
    loaded = _load(args)
    summarizer = Summarizer(config)
    if not args.quiet:
        print(describe_engine(summarizer), file=sys.stderr)
    if args.dry_run:
        return _dry_run(summarizer, loaded)
    out = Path(args.out) if args.out else None
    log, run_id = _start_log(args, summarizer)
    started = time.time()
    try:
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
    failed = any(isinstance(r, DocumentFailure) for r in results)
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


def cmd_digest(args: argparse.Namespace) -> int:
    """Summarise a corpus, then cluster stories, align claims across sources and flag
    contradictions; write digest.json, digest.md and digest.html, or one to stdout."""
    import asyncio

    from summarizer._digest import markdown_digest
    from summarizer._digest.corpus import adigest
    from summarizer._digest.models import DigestReport
    from summarizer._pipeline import Summarizer
    from summarizer._report_html import digest_html
    from summarizer._runner import describe_engine

    config = build_config(args)
    loaded = _load(args)
    summarizer = Summarizer(config)
    if not args.quiet:
        print(describe_engine(summarizer), file=sys.stderr)
    log, run_id = _start_log(args, summarizer)
    started = time.time()

    async def work() -> DigestReport:
        try:
            return await adigest(summarizer, loaded.documents)
        finally:
            await summarizer.aclose()

    report = asyncio.run(work())
    report.failures.extend(loaded.failures())
    status = "failed" if report.failures else "ok"
    total = len(report.articles) + len(loaded.errors)
    _finish_log(log, run_id, report.failures, status=status, started=started, total=total)
    texts = {d.id: d.text for d in loaded.documents}

    def render(name: str) -> str:
        if name == "json":
            return report.model_dump_json(indent=2) + "\n"
        if name == "html":
            return digest_html(report, texts)
        return str(markdown_digest(report))

    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name in ("json", "md", "html"):
            (out / f"digest.{name}").write_text(render(name), encoding="utf-8")
        if not args.quiet:
            print(f"wrote {out}/digest.json, digest.md and digest.html", file=sys.stderr)
    if args.format or not args.out:
        print(render(args.format or "md"), end="")
    if not args.quiet:
        _digest_totals(report)
    for failure in report.failures:
        print(f"failed: {failure.doc_id}: {failure.message}", file=sys.stderr)
    return EXIT_SOME_FAILED if report.failures else EXIT_OK


def _digest_totals(report: object) -> None:
    stories = getattr(report, "stories", [])
    print(
        f"{len(getattr(report, 'articles', []))} articles, {len(stories)} stories, "
        f"{sum(len(s.near_duplicates) for s in stories)} near-duplicate pairs, "
        f"{sum(len(s.consensus) for s in stories)} consensus claims, "
        f"{sum(len(s.contradictions) for s in stories)} contradictions, "
        f"{len(getattr(report, 'failures', []))} failures",
        file=sys.stderr,
    )


def _eval_digest(args: argparse.Namespace) -> int:
    import asyncio

    from summarizer._eval.digest_eval import run_digest_eval

    _, score = asyncio.run(run_digest_eval(args.engine, Path(args.fixtures)))
    rows = score.model_dump(exclude={"facts", "contradictions", "gate_failures"})
    print(f"# Digest eval: {args.engine}\n")
    print("| metric | value |\n|---|---:|")
    for name, value in rows.items():
        print(f"| {name} | {value:.3f} |")
    if args.verbose:
        for fact in score.facts:
            print(f"- {fact['fact']}: expected {fact['expected']}, found {fact['found']}")
        for flag in score.contradictions:
            print(
                f"- contradiction {flag['flag']} ({flag['slot']}) {flag['articles']} "
                f"-> {flag['gold']}"
            )
    if args.report:
        folder = Path(args.report)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"digest-{args.engine}.json").write_text(score.model_dump_json(indent=2) + "\n")
    for failure in score.gate_failures:
        print(f"GATE FAILED: {failure}", file=sys.stderr)
    return EXIT_SOME_FAILED if score.gate_failures else EXIT_OK


def _model_environment(args: argparse.Namespace) -> None:
    """Eval builds its engines from the environment: the flags go there, for this process
    only, so that they win over what was set before (argument first, then environment)."""
    import os

    for flag, name in (
        ("model", "SUMMARIZER_MODEL"),
        ("base_url", "OPENAI_BASE_URL"),
        ("api_key", "OPENAI_API_KEY"),
    ):
        value = getattr(args, flag)
        if value:
            os.environ[name] = value


def _eval_meta(args: argparse.Namespace) -> int:
    """``summarizer eval meta DATASET.jsonl [--references FILE ...]``: harness vs humans."""
    import asyncio

    from summarizer._eval.harness import load_config
    from summarizer._eval.meta import gate_meta, markdown_meta, write_meta

    if args.target[0] != "meta" or len(args.target) != 2:
        raise UsageError("usage: summarizer eval meta DATASET.jsonl [--references FILE ...]")
    dataset = Path(args.target[1])
    references = [Path(p) for p in args.references or []]
    config = load_config(Path(args.fixtures))
    report = asyncio.run(_run_meta(dataset, references, args.matcher_model))
    report = gate_meta(report, config.get("thresholds", {}).get("meta", {}))
    written = write_meta(report, Path(args.report)) if args.report else None
    return _eval_outcome(markdown_meta(report), written, report.gate_failures, args.verbose)


def _eval_outcome(
    text: str, written: tuple[Path, Path] | None, failures: list[str], verbose: bool
) -> int:
    """Print an eval report (its head unless verbose), where it was written, and the gate."""
    print(text if verbose else text.split("\n## ", 1)[0])
    if written:
        print(f"wrote {written[0]} and {written[1]}", file=sys.stderr)
    for failure in failures:
        print(f"GATE FAILED: {failure}", file=sys.stderr)
    return EXIT_SOME_FAILED if failures else EXIT_OK


async def _run_meta(dataset: Path, references: list[Path], model: str | None) -> MetaReport:
    from summarizer._eval.meta import run_meta

    if model is None:
        return await run_meta(dataset, references)
    from summarizer._cache import ResponseCache
    from summarizer._client import ChatClient
    from summarizer._config import LLMConfig, default_cache_path
    from summarizer._eval.matcher import LLMMatcher

    client = ChatClient(LLMConfig.from_env(model=model), cache=ResponseCache(default_cache_path()))
    matcher = LLMMatcher(client)
    try:
        report = await run_meta(dataset, references, matcher=matcher, matcher_name=matcher.name)
    finally:
        await client.aclose()
    print(f"matcher: {matcher.calls} calls, ${client.spent_usd:.4f}", file=sys.stderr)
    return report


def cmd_eval(args: argparse.Namespace) -> int:
    """Score an engine against the hand-labelled fixtures; exit 1 when a gate fails."""
    import asyncio

    from summarizer._eval.harness import (
        gate,
        load_report,
        markdown_report,
        run_eval,
        write_reports,
    )

    _model_environment(args)
    if args.target:
        return _eval_meta(args)
    if args.digest:
        return _eval_digest(args)
    folder = Path(args.fixtures)
    judge = None
    if args.engine == "llm":
        from summarizer._client import ChatClient
        from summarizer._config import LLMConfig
        from summarizer._eval.judge import LLMJudge

        judge = LLMJudge(ChatClient(LLMConfig.from_env(model=args.judge_model)))
    report = asyncio.run(run_eval(args.engine, folder, judge=judge))
    baseline = load_report(Path(args.baseline)) if args.baseline else None
    report = gate(report, folder, baseline)
    text = markdown_report(report)
    print(text.split("\n## ", 1)[0] if not args.verbose else text)
    if args.report:
        json_path, md_path = write_reports(report, Path(args.report))
        print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    for failure in report.gate_failures:
        print(f"GATE FAILED: {failure}", file=sys.stderr)
    return EXIT_SOME_FAILED if report.gate_failures else EXIT_OK


def cmd_schemas(args: argparse.Namespace) -> int:
    """Write the JSON Schemas exported from the models into the folder given."""
    from summarizer._schema_export import export_schemas

    for path in export_schemas(Path(args.folder)):
        print(path)
    return EXIT_OK


def cmd_logs(args: argparse.Namespace) -> int:
    """List recorded runs, or show one with every article."""
    from summarizer._runlog import RunLog, default_log_path, format_run, format_runs

    path = Path(args.db) if args.db else default_log_path()
    if not path.exists():
        print(f"no runs recorded yet ({path} does not exist)")
        return EXIT_OK
    log = RunLog(path)
    try:
        if args.action != "show":
            print(format_runs(log.runs(args.count)))
            return EXIT_OK
        wanted = None if args.run == "last" else _run_number(args.run)
        found = log.run(wanted)
        if found is None:
            raise UsageError(f"no run {args.run} in {path}")
        print(format_run(*found))
        return EXIT_OK
    finally:
        log.close()


def _run_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"RUN must be a run number or 'last', not {text!r}") from None


def cmd_cache(args: argparse.Namespace) -> int:
    """Show, prune or clear the reply cache."""
    from summarizer._cache import ResponseCache
    from summarizer._config import default_cache_path

    path = Path(args.cache) if args.cache else default_cache_path()
    if not path.exists():
        print(f"no cache at {path}")
        return EXIT_OK
    cache = ResponseCache(path)
    try:
        if args.action == "stats":
            stats = cache.stats()
            for key in ("oldest", "newest"):
                stamp = stats[key]
                stats[key] = (
                    time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else "-"
                )
            for key, value in stats.items():
                print(f"{key:<12} {value:,}" if isinstance(value, int) else f"{key:<12} {value}")
        elif args.action == "prune":
            if args.older_than is None:
                raise UsageError("prune needs --older-than DAYS")
            removed = cache.prune(args.older_than * 86400)
            print(f"removed {removed} replies older than {args.older_than:g} days from {path}")
        else:
            print(f"removed {cache.clear()} replies from {path}")
        return EXIT_OK
    finally:
        cache.close()


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help, description=help, allow_abbrev=False)
    parser.set_defaults(parser=parser)
    return parser


def _add_chunk_and_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    chunk = _command(commands, "chunk", "load, clean and chunk articles (no model)")
    _add_input_arguments(chunk)
    chunk.add_argument("--max-tokens", type=int, default=512)
    chunk.add_argument("--overlap", type=int, default=0, help="overlap between chunks, in tokens")
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


def _add_eval_and_digest(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = _command(
        commands,
        "eval",
        "score an engine against evals/ fixtures; `eval meta DATA.jsonl`: harness vs humans",
    )
    evaluate.add_argument(
        "target",
        nargs="*",
        metavar="meta DATASET.jsonl",
        help="meta-evaluate the harness on RoSE-format human-labelled data",
    )
    evaluate.add_argument(
        "--references", nargs="+", help="(meta) files of references with their units"
    )
    evaluate.add_argument(
        "--matcher-model", help="(meta) decide support with this model instead of the rule"
    )
    evaluate.add_argument("--engine", choices=["extractive", "llm", "replay"], default="extractive")
    _add_model_arguments(evaluate)
    evaluate.add_argument("--fixtures", default="evals", help="the evals folder (default: evals)")
    evaluate.add_argument("--report", help="folder to write ENGINE.json and ENGINE.md into")
    evaluate.add_argument("--baseline", help="an earlier ENGINE.json report to compare with")
    evaluate.add_argument("--judge-model", help="model for the LLM judge (with --engine llm)")
    evaluate.add_argument("--digest", action="store_true", help="score the corpus digest instead")
    evaluate.add_argument("-v", "--verbose", action="store_true", help="print per-article details")
    evaluate.set_defaults(handler=cmd_eval)

    digest = _command(commands, "digest", "stories, cross-source support, contradictions")
    _add_input_arguments(digest)
    digest.add_argument("-o", "--out", help="folder for digest.json, digest.md and digest.html")
    digest.add_argument(
        "-f", "--format", choices=["md", "json", "html"],
        help="print this to stdout (default: md when there is no --out)",
    )  # fmt: skip
    _add_engine_arguments(digest)
    _add_quiet(digest)
    digest.set_defaults(handler=cmd_digest)


def _add_admin(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schemas = _command(commands, "schemas", "export the JSON Schemas to a folder")
    schemas.add_argument("folder", metavar="FOLDER", help="folder to write the schemas into")
    schemas.set_defaults(handler=cmd_schemas)

    logs = _command(commands, "logs", "list recorded runs, or show one")
    logs.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    logs.add_argument("run", nargs="?", default="last", metavar="RUN", help="run number or last")
    logs.add_argument("-n", "--count", type=int, default=20, help="runs to list (default 20)")
    logs.add_argument("--db", help="log file (default: $SUMMARIZER_CACHE_DIR/runs.sqlite3)")
    logs.set_defaults(handler=cmd_logs)

    cache = _command(commands, "cache", "reply cache: stats, prune old replies, clear")
    cache.add_argument("action", choices=["stats", "prune", "clear"])
    cache.add_argument("--older-than", type=float, metavar="DAYS", help="with prune")
    cache.add_argument("--cache", help="cache file (default: $SUMMARIZER_CACHE_DIR/cache.sqlite3)")
    cache.set_defaults(handler=cmd_cache)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="summarizer",
        description="Grounded, schema-validated summaries and claim lists of news articles.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"summarizer {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_chunk_and_run(commands)
    _add_eval_and_digest(commands)
    _add_admin(commands)
    from summarizer._batch.cli import add_batch_parser

    add_batch_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from pydantic import ValidationError

    from summarizer._errors import ConfigError, FixtureError

    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    command_parser: argparse.ArgumentParser = args.parser
    if extras:
        command_parser.error(f"unrecognized arguments: {' '.join(extras)}")
    try:
        return int(args.handler(args))
    except (UsageError, ValidationError) as exc:  # ValidationError: an option value refused
        command_parser.error(str(exc))
    except FixtureError as exc:
        print(f"summarizer: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"summarizer: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
