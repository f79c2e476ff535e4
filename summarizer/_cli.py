"""The ``summarizer`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from summarizer import __version__
from summarizer._chunking import TokenChunker, chunk_normalized
from summarizer._config import LLMConfig, SummarizerConfig
from summarizer._digest.models import DigestReport
from summarizer._documents import DEFAULT_MAX_BYTES, LoadResult, load_articles
from summarizer._errors import ConfigError, FixtureError
from summarizer._models import DocumentFailure
from summarizer._normalize import normalize_text
from summarizer._pipeline import Summarizer
from summarizer._render import json_array, markdown, result_line
from summarizer._runner import ASSUMED_OUTPUT_TOKENS, describe_engine, estimate, print_report, run
from summarizer._tokens import encoding_for_model

if TYPE_CHECKING:
    from summarizer._eval.meta import MetaReport

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, folders, or - for stdin")
    parser.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="largest article file accepted"
    )


def _add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Engine, model and limit options shared by run and digest."""
    parser.add_argument(
        "--engine",
        choices=["auto", "llm", "extractive"],
        default="auto",
        help="auto: llm when a model endpoint is configured, else extractive",
    )
    parser.add_argument("--model", help="model name (default: $SUMMARIZER_MODEL or gpt-4o-mini)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)")
    parser.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
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


def cmd_chunk(args: argparse.Namespace) -> int:
    """Load, normalize and chunk articles; print one JSON line per article."""
    loaded = load_articles(args.paths, max_bytes=args.max_bytes)
    chunker = TokenChunker(
        encoding_for_model(args.model, override=args.encoding),
        max_tokens=args.max_tokens,
        overlap_tokens=args.overlap,
    )
    for doc in loaded.documents:
        normalized = normalize_text(doc.text)
        chunks = chunk_normalized(normalized, chunker)
        record = {
            "id": doc.id,
            "title": normalized.title,
            "date": normalized.date,
            "removed": normalized.removed_counts(),
            "chars": len(normalized.text),
            "tokens": sum(c.token_count for c in chunks) if not args.overlap else None,
            "chunks": [
                {
                    "index": c.index,
                    "tokens": c.token_count,
                    "start": c.start,
                    "end": c.end,
                    "original_start": c.original_start,
                    "original_end": c.original_end,
                }
                for c in chunks
            ],
        }
        print(json.dumps(record, ensure_ascii=False))
    for error in loaded.errors:
        print(f"error: {error}", file=sys.stderr)
    return EXIT_SOME_FAILED if loaded.errors else EXIT_OK


def build_config(args: argparse.Namespace) -> SummarizerConfig:
    """A SummarizerConfig of what the command line says; the Summarizer resolves the rest
    (environment, engine choice) once, in :meth:`SummarizerConfig.resolve`."""
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


def cmd_run(args: argparse.Namespace) -> int:
    """Summarise articles; write files to --out and/or one format to stdout."""
    config = build_config(args)
    loaded = load_articles(args.paths, max_bytes=config.max_bytes)
    summarizer = Summarizer(config)
    print(describe_engine(summarizer), file=sys.stderr)
    if args.dry_run:
        return _dry_run(summarizer, loaded)
    out = Path(args.out) if args.out else None
    try:
        report = run(summarizer, loaded, out=out)
    except KeyboardInterrupt:
        print("\ninterrupted: finished results are kept", file=sys.stderr)
        if out:
            print(f"written to {out}/", file=sys.stderr)
        return EXIT_INTERRUPTED
    print_report(report, sys.stderr)
    results = report.done
    output_format = args.format or (None if out else "md")
    if output_format == "json":
        print(json_array(results))
    elif output_format == "jsonl":
        for result in results:
            print(result_line(result))
    elif output_format == "md":
        print(markdown(results))
    if out:
        print(
            f"wrote {len(results)} results to {out}/ (results.jsonl, summary.md)", file=sys.stderr
        )
    failed = any(isinstance(r, DocumentFailure) for r in results)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _dry_run(summarizer: Summarizer, loaded: LoadResult) -> int:
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
    for error in loaded.errors:
        print(f"error: {error}", file=sys.stderr)
    return EXIT_SOME_FAILED if loaded.errors else EXIT_OK


def cmd_digest(args: argparse.Namespace) -> int:
    """Summarise a corpus, then cluster stories, align claims across sources and flag
    contradictions; write digest.json and digest.md."""
    import asyncio

    from summarizer._digest import markdown_digest
    from summarizer._digest.corpus import adigest

    config = build_config(args)
    loaded = load_articles(args.paths, max_bytes=config.max_bytes)
    summarizer = Summarizer(config)
    print(describe_engine(summarizer), file=sys.stderr)

    async def work() -> DigestReport:
        try:
            return await adigest(summarizer, loaded.documents)
        finally:
            await summarizer.aclose()

    report = asyncio.run(work())
    report.failures.extend(loaded.failures())
    markdown_text = markdown_digest(report)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "digest.json").write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
        (out / "digest.md").write_text(markdown_text, encoding="utf-8")
        print(f"wrote {out}/digest.json and {out}/digest.md", file=sys.stderr)
    else:
        print(markdown_text)
    stories = report.stories
    print(
        f"{len(report.articles)} articles, {len(stories)} stories, "
        f"{sum(len(s.near_duplicates) for s in stories)} near-duplicate pairs, "
        f"{sum(len(s.consensus) for s in stories)} consensus claims, "
        f"{sum(len(s.contradictions) for s in stories)} contradictions, "
        f"{len(report.failures)} failures",
        file=sys.stderr,
    )
    for failure in report.failures:
        print(f"failed: {failure.doc_id}: {failure.message}", file=sys.stderr)
    return EXIT_SOME_FAILED if report.failures else EXIT_OK


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


def _eval_meta(args: argparse.Namespace) -> int:
    """``summarizer eval meta DATASET.jsonl [--references FILE ...]``: harness vs humans."""
    import asyncio

    from summarizer._eval.harness import load_config
    from summarizer._eval.meta import gate_meta, markdown_meta, write_meta

    if args.target[0] != "meta" or len(args.target) != 2:
        raise ValueError("usage: summarizer eval meta DATASET.jsonl [--references FILE ...]")
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
    from summarizer._config import default_cache_path
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

    if args.target:
        return _eval_meta(args)
    if args.digest:
        return _eval_digest(args)
    folder = Path(args.fixtures)
    judge = None
    if args.engine == "llm":
        from summarizer._client import ChatClient
        from summarizer._eval.judge import LLMJudge

        judge = LLMJudge(ChatClient(LLMConfig.from_env(model=args.judge_model)))
    report = asyncio.run(run_eval(args.engine, folder, judge=judge))
    baseline = load_report(Path(args.baseline)) if args.baseline else None
    report = gate(report, folder, baseline)
    written = write_reports(report, Path(args.report)) if args.report else None
    return _eval_outcome(markdown_report(report), written, report.gate_failures, args.verbose)


def cmd_schemas(args: argparse.Namespace) -> int:
    """Write the JSON Schemas exported from the models."""
    from summarizer._schema_export import export_schemas

    for path in export_schemas(Path(args.out)):
        print(path)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="summarizer",
        description="Grounded, schema-validated summaries and claim lists of news articles.",
    )
    parser.add_argument("--version", action="version", version=f"summarizer {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chunk = commands.add_parser("chunk", help="load, clean and chunk articles (no model)")
    _add_input_arguments(chunk)
    chunk.add_argument("--max-tokens", type=int, default=512)
    chunk.add_argument("--overlap", type=int, default=0, help="overlap between chunks, in tokens")
    chunk.add_argument("--model", default=None, help="model whose encoding counts tokens")
    chunk.add_argument("--encoding", default=None, choices=["o200k_base", "cl100k_base"])
    chunk.set_defaults(handler=cmd_chunk)

    run_parser = commands.add_parser("run", help="summarise articles (the main job)")
    _add_input_arguments(run_parser)
    run_parser.add_argument(
        "--out", help="folder for one JSON per article, results.jsonl, summary.md"
    )
    run_parser.add_argument(
        "--format", choices=["json", "jsonl", "md"], help="also print this to stdout"
    )
    _add_engine_arguments(run_parser)
    run_parser.add_argument(
        "--dry-run", action="store_true", help="count tokens and estimate cost; call nothing"
    )
    run_parser.set_defaults(handler=cmd_run)

    evaluate = commands.add_parser(
        "eval",
        help="score an engine against evals/ fixtures; `eval meta DATA.jsonl`: harness vs humans",
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
    evaluate.add_argument("--fixtures", default="evals", help="the evals folder (default: evals)")
    evaluate.add_argument("--report", help="folder to write ENGINE.json and ENGINE.md into")
    evaluate.add_argument("--baseline", help="an earlier ENGINE.json report to compare with")
    evaluate.add_argument("--judge-model", help="model for the LLM judge (with --engine llm)")
    evaluate.add_argument("--digest", action="store_true", help="score the corpus digest instead")
    evaluate.add_argument("-v", "--verbose", action="store_true", help="print per-article details")
    evaluate.set_defaults(handler=cmd_eval)

    digest = commands.add_parser("digest", help="stories, cross-source support, contradictions")
    _add_input_arguments(digest)
    digest.add_argument("--out", help="folder for digest.json and digest.md (default: stdout)")
    _add_engine_arguments(digest)
    digest.set_defaults(handler=cmd_digest)

    schemas = commands.add_parser("schemas", help="export the JSON Schemas to a folder")
    schemas.add_argument("--out", default="schemas", help="folder to write (default: schemas)")
    schemas.set_defaults(handler=cmd_schemas)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except FixtureError as exc:
        print(f"summarizer: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"summarizer: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as exc:  # an option value the configuration refuses
        parser.error(str(exc))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
