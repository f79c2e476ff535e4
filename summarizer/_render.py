"""Writing results: one JSON file per article, ``results.jsonl``, ``summary.md`` and
``report.html``.

A folder written before keeps a list of the files this module put there
(``.summarizer-files``); a new run into the same folder removes the ones it did not write
again, so no stale result survives, and leaves every other file alone.

Outputs cannot sink a run: the folder is checked before the first article (an
:class:`OutputError` naming it), each result is appended to ``results.jsonl`` the moment it
is written (a killed run leaves a valid partial file, rewritten in input order at the end),
a file that cannot be written becomes that article's failure, and an earlier good result
for the same text is never replaced by a failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from summarizer._errors import OutputError
from summarizer._models import DocumentFailure, DocumentSummary

Result = DocumentSummary | DocumentFailure
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_stem(doc_id: str) -> str:
    """A file name stem made from an article id: no separators, no dot files, bounded."""
    stem = _UNSAFE.sub("_", doc_id).strip("._")[:120]
    return stem or hashlib.sha256(doc_id.encode()).hexdigest()[:16]


def result_json(result: Result) -> str:
    return result.model_dump_json(indent=2)


def result_line(result: Result) -> str:
    return result.model_dump_json()


class OutputWriter:
    """Writes results into one folder, never outside it, one file name per article id."""

    MANIFEST = ".summarizer-files"
    SUMMARY_FILES = ("results.jsonl", "summary.md", "report.html")

    def __init__(self, folder: Path, *, texts: Mapping[str, str] | None = None):
        self.folder = folder.resolve()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = self.folder / ".summarizer-write-test"
            probe.write_text("", encoding="utf-8")
            probe.unlink()
            self._lines = self.folder / "results.jsonl"
            self._lines.write_text("", encoding="utf-8")  # this run's lines, as they come
        except OSError as exc:
            problem = exc.strerror or str(exc)
            raise OutputError(f"cannot write results here ({problem})", path=str(folder)) from None
        self.texts = texts or {}
        self._names: dict[str, str] = {}
        self._written: set[str] = set()

    def path_for(self, doc_id: str) -> Path:
        if doc_id not in self._names:
            name = safe_file_stem(doc_id)
            if name in self._names.values():
                name = f"{name}-{hashlib.sha256(doc_id.encode()).hexdigest()[:8]}"
            self._names[doc_id] = name
        path = (self.folder / f"{self._names[doc_id]}.json").resolve()
        if path.parent != self.folder:  # pragma: no cover - safe_file_stem prevents it
            raise ValueError(f"refusing to write outside {self.folder}: {path}")
        return path

    def write_result(self, result: Result) -> Path:
        """Write one article's file (atomically) and append its line to results.jsonl;
        raises OutputError naming the file when it cannot be written."""
        path = self.path_for(result.doc_id)
        self._written.add(path.name)
        if not (isinstance(result, DocumentFailure) and _holds_success(path, result)):
            temporary = path.with_suffix(".json.tmp")
            try:
                temporary.write_text(result_json(result) + "\n", encoding="utf-8")
                temporary.replace(path)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    temporary.unlink()
                problem = exc.strerror or str(exc)
                raise OutputError(f"cannot write this result ({problem})", path=str(path)) from None
        self.write_line(result)
        return path

    def write_line(self, result: Result) -> None:
        """Append ``result`` to results.jsonl now (a killed run keeps a valid file)."""
        try:
            with self._lines.open("a", encoding="utf-8") as lines:
                lines.write(result_line(result) + "\n")
        except OSError as exc:
            problem = exc.strerror or str(exc)
            raise OutputError(f"cannot append ({problem})", path=str(self._lines)) from None

    def write_all(self, results: Sequence[Result], *, complete: bool = True) -> None:
        """The whole-run files, then (when the run completed) stale files from an earlier
        run removed; an interrupted run removes nothing."""
        from summarizer._report_html import results_html

        lines = "".join(result_line(r) + "\n" for r in results)
        (self.folder / "results.jsonl").write_text(lines, encoding="utf-8")
        (self.folder / "summary.md").write_text(markdown(results), encoding="utf-8")
        report = results_html(results, self.texts)
        (self.folder / "report.html").write_text(report, encoding="utf-8")
        self._written.update(self.SUMMARY_FILES)
        if complete:
            self.remove_stale()

    def remove_stale(self) -> list[str]:
        """Delete files an earlier run wrote that this one did not; record this run's."""
        manifest = self.folder / self.MANIFEST
        earlier = manifest.read_text(encoding="utf-8").split() if manifest.exists() else []
        removed = []
        for name in earlier:
            stale = self.folder / name
            if name not in self._written and stale.parent == self.folder and stale.is_file():
                stale.unlink()
                removed.append(name)
        manifest.write_text("".join(f"{n}\n" for n in sorted(self._written)), encoding="utf-8")
        return removed


def _holds_success(path: Path, failure: DocumentFailure) -> bool:
    """Whether ``path`` holds a good result for the same article: a failure does not
    replace it (a flaky re-run keeps what an earlier run got right)."""
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(earlier, dict)
        and earlier.get("status") == "ok"
        and earlier.get("doc_id") == failure.doc_id
        and earlier.get("source") == failure.source
    )


def _quote(text: str) -> str:
    return " ".join(text.split())


def _anchor(heading: str, used: dict[str, int]) -> str:
    """The anchor GitHub-style Markdown renderers give a heading (repeats get -1, -2...)."""
    slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
    count = used.get(slug, 0)
    used[slug] = count + 1
    return f"{slug}-{count}" if count else slug


def contents(results: Sequence[Result]) -> list[str]:
    """A linked list of the articles, for long reports."""
    used: dict[str, int] = {}
    lines = ["## Contents", ""]
    for result in results:
        heading = getattr(result, "title", None) or result.doc_id
        failed = " (failed)" if isinstance(result, DocumentFailure) else ""
        lines.append(f"- [{heading}](#{_anchor(heading, used)}){failed}")
    return [*lines, ""]


def markdown(results: Sequence[Result]) -> str:
    lines = ["# Summaries", ""]
    ok = [r for r in results if isinstance(r, DocumentSummary)]
    failed = [r for r in results if isinstance(r, DocumentFailure)]
    claims = sum(len(r.claims) for r in ok)
    grounded = sum(c.grounded for r in ok for c in r.claims)
    engines = sorted({r.provenance.engine for r in ok})
    lines.append(
        f"{len(ok)} of {len(results)} articles summarised; {claims} claims, "
        f"{grounded} grounded in their article; engine: {', '.join(engines) or 'none'}."
    )
    if any(r.provenance.engine == "extractive" for r in ok):
        lines += [
            "",
            "> Made by the offline extractive engine: the summary and claims are sentences "
            "selected from each article, not a model's writing.",
        ]
    lines.append("")
    if len(results) > 1:
        lines += contents(results)
    for result in results:
        if isinstance(result, DocumentFailure):
            lines += [
                f"## {result.doc_id}",
                "",
                f"**Failed** ({result.error_type}): {result.message}",
                "",
            ]
            continue
        heading = result.title or result.doc_id
        lines += [f"## {heading}", ""]
        meta = [f"`{result.doc_id}`"]
        if result.date:
            meta.append(f"published {result.date}")
        provenance = result.provenance
        meta.append(
            f"engine {provenance.engine}" + (f" ({provenance.model})" if provenance.model else "")
        )
        lines += [" · ".join(meta), ""]
        if result.suspect:
            lines += ["> **⚠ Suspect result**: not believable as a summary of this article."]
            lines += [f"> - {r.code}: {r.message}" for r in result.suspect] + [""]
        lines += [result.summary, ""]
        if result.key_points:
            lines += ["**Key points**", ""] + [f"- {p}" for p in result.key_points] + [""]
        if result.claims:
            grounded_here = sum(c.grounded for c in result.claims)
            lines += [
                f"**Claims** ({grounded_here} of {len(result.claims)} grounded)",
                "",
            ]
            for claim in result.claims:
                mark = "" if claim.grounded else " ⚠ *quote not found in the article*"
                who = f" — *{claim.speaker}*" if claim.speaker else ""
                lines.append(f"{claim.id}. [{claim.kind.value}] {_quote(claim.text)}{who}{mark}")
                if _quote(claim.evidence) != _quote(claim.text):
                    lines.append(f"   > “{_quote(claim.evidence)}”")
            lines.append("")
        notes = [w for w in result.warnings if w.code != "engine_note"]
        if notes:
            lines += ["**Warnings**", ""] + [f"- {w.code}: {w.message}" for w in notes] + [""]
    if failed:
        lines += ["## Failures", ""] + [f"- `{r.doc_id}`: {r.message}" for r in failed] + [""]
    return "\n".join(lines)


def json_array(results: Sequence[Result]) -> str:
    return json.dumps(
        [json.loads(r.model_dump_json()) for r in results], indent=2, ensure_ascii=False
    )
