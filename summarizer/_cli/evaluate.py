"""``summarizer digest`` and ``summarizer eval`` (fixtures, digest, meta-evaluation)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from summarizer._documents import Document
    from summarizer._eval.meta import MetaReport


from summarizer._cli.common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    UsageError,
    _add_engine_arguments,
    _add_input_arguments,
    _add_model_arguments,
    _add_quiet,
    _command,
    _finish_log,
    _open,
    _start_log,
    build_config,
)


def cmd_digest(args: argparse.Namespace) -> int:
    """Summarise a corpus, then cluster stories, align claims across sources and flag
    contradictions; write digest.json, digest.md and digest.html, or one to stdout. The
    articles are read one file at a time and each result goes into the digest as it is
    made: neither the articles nor the results are all held (the texts the HTML quotes
    wait in a temporary file, :class:`SpilledTexts`)."""
    import asyncio

    from summarizer._digest import markdown_digest
    from summarizer._digest.corpus import adigest
    from summarizer._digest.models import DigestReport
    from summarizer._pipeline import Summarizer
    from summarizer._report_html import digest_html
    from summarizer._runner import describe_engine

    config = build_config(args)
    loaded, documents = _open(args)
    summarizer = Summarizer(config)
    if not args.quiet:
        print(describe_engine(summarizer), file=sys.stderr)
    log, run_id = _start_log(args, summarizer)
    started = time.time()
    with SpilledTexts() as texts:
        if args.out or args.format == "html":  # only the HTML quotes the articles' texts
            documents = texts.passing(documents)

        async def work() -> DigestReport:
            try:
                return await adigest(summarizer, documents)
            finally:
                await summarizer.aclose()

        report = asyncio.run(work())
        report.failures.extend(loaded.failures())
        status = "failed" if report.failures else "ok"
        total = len(report.articles) + len(loaded.errors)
        _finish_log(log, run_id, report.failures, status=status, started=started, total=total)

        def render(name: str) -> str:
            if name == "json":
                return report.model_dump_json(indent=2) + "\n"
            if name == "html":
                return digest_html(report, texts)
            return str(markdown_digest(report))

        if args.out:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            # the JSON as pydantic's bytes: neither a str of it nor its encoding (each as
            # large as the file: 22 MB at 10,000 articles) is made
            json_bytes = report.__pydantic_serializer__.to_json(report, indent=2)
            (out / "digest.json").write_bytes(json_bytes + b"\n")
            del json_bytes
            for name in ("md", "html"):
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


class SpilledTexts(Mapping[str, str]):
    """Article texts by id, written to a temporary file as the documents stream past
    (:meth:`passing`) and read back when asked for: the HTML digest quotes the text
    around each quote it shows, of any article, known only once the digest is built.
    In memory each text costs its id and place, about 150 bytes, not the text; the
    file is deleted on :meth:`close`. Of documents sharing an id the first text is kept
    (as the digest reads it)."""

    def __init__(self) -> None:
        self._file: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self._places: dict[str, tuple[int, int]] = {}
        self._end = 0

    def passing(self, documents: Iterable[Document]) -> Iterator[Document]:
        """``documents``, each text written down on its way through."""
        for document in documents:
            if document.id not in self._places:
                data = document.text.encode("utf-8", "surrogatepass")
                self._file.seek(self._end)
                self._file.write(data)
                self._places[document.id] = (self._end, len(data))
                self._end += len(data)
            yield document

    def __getitem__(self, doc_id: str) -> str:
        offset, size = self._places[doc_id]
        self._file.seek(offset)
        return self._file.read(size).decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        return iter(self._places)

    def __len__(self) -> int:
        return len(self._places)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpilledTexts:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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
