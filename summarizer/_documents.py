"""Loading articles from files, folders and stdin.

Every article gets a stable id (its path relative to the input root, POSIX separators, or
``stdin-<hash>`` for standard input) and the sha256 of its decoded text. When two inputs
would share an id (``2024/article.txt`` and ``2025/article.txt`` given as two folders), each
takes its path as given instead. A file that cannot be used becomes an
:class:`~summarizer._errors.ArticleLoadError` in ``LoadResult.errors``; the other files
still load.

Formats, chosen by extension: plain text (``.txt``, ``.md`` and any file named explicitly),
HTML (``.html``, ``.htm``: main text, title, date and author extracted by ``trafilatura``,
boilerplate dropped), and record files with one article per record (``.jsonl``, ``.csv``;
see :class:`RecordFields`). Text is UTF-8 (BOM optional), or UTF-16/UTF-32 with a BOM.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from summarizer._errors import ArticleLoadError

if TYPE_CHECKING:
    from summarizer._models import DocumentFailure

HTML_EXTENSIONS = (".html", ".htm")
RECORD_EXTENSIONS = (".jsonl", ".csv")
DEFAULT_EXTENSIONS = (".txt", ".md", *HTML_EXTENSIONS, *RECORD_EXTENSIONS)
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
STDIN = "-"
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Document:
    """One article as loaded: ``text`` is the decoded article (BOM removed; for HTML and
    record files, the extracted text). ``metadata`` holds what the source stated about it
    (title, date, author, url) when the format carries it."""

    id: str
    text: str
    source: str
    content_hash: str
    metadata: dict[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def from_text(cls, text: str, *, id: str | None = None, source: str = "<text>") -> Document:
        digest = content_hash(text)
        return cls(id=id or f"text-{digest[:12]}", text=text, source=source, content_hash=digest)


@dataclass(frozen=True)
class RecordFields:
    """Which fields of a JSONL/CSV record hold the article. ``text=None`` takes the first
    of ``text``, ``content``, ``body`` that the record has."""

    text: str | None = None
    id: str = "id"
    title: str = "title"
    date: str = "date"


TEXT_FIELD_DEFAULTS = ("text", "content", "body")


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    errors: list[ArticleLoadError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files in folders with other extensions
    missing: list[str] = field(default_factory=list)

    def failures(self) -> list[DocumentFailure]:
        """The load errors as failure records, as results list them."""
        from summarizer._models import DocumentFailure  # pydantic: not at start-up

        return [
            DocumentFailure(
                doc_id=error.document_id or (error.path or "?"),
                source=error.path or "?",
                error_type=type(error).__name__,
                message=error.reason,
            )
            for error in self.errors
        ]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def decode_article(data: bytes, *, path: str) -> str:
    """Decode UTF-8 (BOM optional) or UTF-16/32 with a BOM. Raises ArticleLoadError for
    binary, undecodable or empty input."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if encoding is None and b"\x00" in data[:8192]:
        raise ArticleLoadError(path, "binary file (contains NUL bytes), not a text article")
    try:
        text = data.decode(encoding or "utf-8-sig")
    except UnicodeDecodeError as exc:
        where = f"byte 0x{data[exc.start : exc.start + 1].hex() or '??'} at offset {exc.start}"
        if encoding in (None, "utf-8-sig"):
            raise ArticleLoadError(path, f"not valid UTF-8 ({where})") from None
        raise ArticleLoadError(
            path,
            f"binary file, or not valid {encoding.upper()} despite its byte-order mark ({where})",
        ) from None
    if not text.strip():
        raise ArticleLoadError(path, "empty file (no text)")
    return text


def _read_limited(stream: BinaryIO, *, path: str, max_bytes: int) -> bytes:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ArticleLoadError(path, f"larger than the {max_bytes:,}-byte limit")
    return data


def _read_file(path: Path, *, max_bytes: int) -> bytes:
    shown = str(path)
    try:
        if path.is_symlink() and not path.exists():
            raise ArticleLoadError(shown, "broken symbolic link (missing target or a loop)")
        if not path.is_file():
            raise ArticleLoadError(shown, "not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleLoadError(
                shown, f"larger than the {max_bytes:,}-byte limit ({size:,} bytes)"
            )
        with path.open("rb") as stream:
            return _read_limited(stream, path=shown, max_bytes=max_bytes)
    except ArticleLoadError:
        raise
    except OSError as exc:
        raise ArticleLoadError(shown, f"cannot read: {exc.strerror or exc}") from None


def _compose(title: str | None, date: str | None, body: str) -> str:
    """Article text from parts: the title line and a date header first, as in a news page,
    so that normalisation finds them; the body unchanged."""
    head = []
    if title and not body.lstrip().startswith(title.strip()):
        head.append(title.strip())
    if date:
        head.append(f"Published {date.strip()}")
    return "\n".join(head) + "\n\n" + body if head else body


def html_document(html: str, *, path: str, doc_id: str) -> Document:
    """The main text of a web page, without navigation, ads and footers (trafilatura)."""
    import trafilatura

    extracted = trafilatura.extract(
        html, output_format="json", with_metadata=True, include_comments=False
    )
    record: dict[str, Any] = json.loads(extracted) if extracted else {}
    body = str(record.get("text") or "")
    if not body.strip():
        raise ArticleLoadError(path, "no article text found in the HTML page")
    metadata = {
        key: str(record[key])
        for key in ("title", "date", "author", "url", "sitename")
        if record.get(key)
    }
    text = _compose(metadata.get("title"), metadata.get("date"), body)
    return Document(doc_id, text, path, content_hash(text), metadata)


def load_file(path: Path, *, doc_id: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """One article file: plain text, or HTML by its extension."""
    shown = str(path)
    text = decode_article(_read_file(path, max_bytes=max_bytes), path=shown)
    if path.suffix.lower() in HTML_EXTENSIONS:
        return html_document(text, path=shown, doc_id=doc_id)
    return Document(id=doc_id, text=text, source=shown, content_hash=content_hash(text))


def _records(
    text: str, suffix: str, *, path: str
) -> Iterator[tuple[int, dict[str, Any] | ArticleLoadError]]:
    """(line number, record) for each JSONL line or CSV row; an error for a malformed one."""
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        for row in reader:
            yield reader.line_num, {k: v for k, v in row.items() if k is not None}
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, ArticleLoadError(f"{path}:{number}", f"not valid JSON ({exc.msg})")
            continue
        if not isinstance(record, dict):
            yield number, ArticleLoadError(f"{path}:{number}", "a JSONL line must be a JSON object")
            continue
        yield number, record


def record_document(
    record: dict[str, Any], *, fields: RecordFields, path: str, line: int, file_id: str
) -> Document:
    """One article from a JSONL/CSV record; raises ArticleLoadError naming the line."""
    where = f"{path}:{line}"
    names = (fields.text,) if fields.text else TEXT_FIELD_DEFAULTS
    name = next((n for n in names if n in record), None)
    if name is None:
        wanted = " or ".join(repr(n) for n in names)
        raise ArticleLoadError(where, f"no {wanted} field (choose one with --text-field)")
    body = record[name]
    if not isinstance(body, str) or not body.strip():
        raise ArticleLoadError(where, f"field {name!r} is empty or not text")
    key = record.get(fields.id)
    doc_id = f"{file_id}#{key}" if key not in (None, "") else f"{file_id}#{line}"
    metadata = {
        label: str(record[field_name])
        for label, field_name in (("title", fields.title), ("date", fields.date))
        if record.get(field_name) not in (None, "")
    }
    text = _compose(metadata.get("title"), metadata.get("date"), body)
    try:
        digest = content_hash(text)
    except UnicodeEncodeError as exc:  # a JSON escape such as "\ud800" on its own
        raise ArticleLoadError(
            where, f"not valid Unicode: an unpaired surrogate at character {exc.start}"
        ) from None
    return Document(doc_id, text, where, digest, metadata)


def load_records(
    path: Path, *, file_id: str, fields: RecordFields, max_bytes: int
) -> tuple[list[Document], list[ArticleLoadError]]:
    """Every article in a JSONL or CSV file; one bad record does not sink the others."""
    shown = str(path)
    documents: list[Document] = []
    errors: list[ArticleLoadError] = []
    try:
        text = decode_article(_read_file(path, max_bytes=max_bytes), path=shown)
        for line, record in _records(text, path.suffix.lower(), path=shown):
            try:
                if isinstance(record, ArticleLoadError):
                    raise record
                documents.append(
                    record_document(record, fields=fields, path=shown, line=line, file_id=file_id)
                )
            except ArticleLoadError as exc:
                exc.document_id = f"{file_id}#{line}"
                errors.append(exc)
    except ArticleLoadError as exc:
        exc.document_id = exc.document_id or file_id
        errors.append(exc)
    except csv.Error as exc:
        errors.append(ArticleLoadError(shown, f"not valid CSV ({exc})", document_id=file_id))
    return documents, errors


def load_stdin(stream: BinaryIO | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    source = stream if stream is not None else sys.stdin.buffer
    data = _read_limited(source, path="<stdin>", max_bytes=max_bytes)
    text = decode_article(data, path="<stdin>")
    digest = content_hash(text)
    return Document(id=f"stdin-{digest[:12]}", text=text, source="<stdin>", content_hash=digest)


def _walk(root: Path) -> Iterator[Path]:
    """Files below root, sorted, dot files left out; symlinked folders are not entered."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def _targets(
    paths: Iterable[str | Path], extensions: tuple[str, ...], result: LoadResult
) -> list[tuple[Path | None, str, str]]:
    """(file or None for stdin, id relative to its root, id as the path was given)."""
    targets: list[tuple[Path | None, str, str]] = []
    for raw in paths:
        if str(raw) == STDIN:
            targets.append((None, "<stdin>", "<stdin>"))
            continue
        path = Path(raw)
        if path.is_dir():
            for file in _walk(path):
                if file.name.lower().endswith(extensions):
                    relative = file.relative_to(path).as_posix()
                    targets.append((file, relative, file.as_posix()))
                else:
                    result.skipped.append(str(file))
        elif path.exists() or path.is_symlink():
            targets.append((path, path.name, path.as_posix()))
        else:
            result.missing.append(str(path))
            result.errors.append(ArticleLoadError(str(path), "no such file or folder"))
    return targets


def _unique_ids(targets: list[tuple[Path | None, str, str]]) -> list[tuple[Path | None, str]]:
    """Short ids where they are unique; the path as given where two inputs share one."""
    counts: dict[str, int] = {}
    for _, short, _ in targets:
        counts[short] = counts.get(short, 0) + 1
    return [(file, short if counts[short] == 1 else full) for file, short, full in targets]


def load_articles(
    paths: Iterable[str | Path],
    *,
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    stdin: BinaryIO | None = None,
    fields: RecordFields | None = None,
) -> LoadResult:
    """Load every article named by ``paths`` (files, folders searched recursively, or ``-``).

    A file named explicitly is loaded whatever its extension; inside folders only
    ``extensions`` are taken and the others are listed in ``LoadResult.skipped``. Ids are
    relative to the folder given, or the file name; a JSONL/CSV record's id is
    ``<file id>#<record id or line number>``.
    """
    result = LoadResult()
    result.documents.extend(
        iter_articles(
            paths, result, extensions=extensions, max_bytes=max_bytes, stdin=stdin, fields=fields
        )
    )
    return result


def iter_articles(
    paths: Iterable[str | Path],
    result: LoadResult,
    *,
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    stdin: BinaryIO | None = None,
    fields: RecordFields | None = None,
) -> Iterator[Document]:
    """The articles of :func:`load_articles`, in the same order, read one file at a time as
    they are asked for (a JSONL or CSV file: all its records at once). The folders are
    listed now: ``result.missing`` and ``result.skipped`` are complete on return;
    ``result.errors`` fills as the files are read; ``result.documents`` is left alone."""
    targets = _unique_ids(_targets(paths, extensions, result))
    return _articles(targets, result, max_bytes, stdin, fields or RecordFields())


def _articles(
    targets: list[tuple[Path | None, str]],
    result: LoadResult,
    max_bytes: int,
    stdin: BinaryIO | None,
    record_fields: RecordFields,
) -> Iterator[Document]:
    seen: dict[str, str] = {}

    def fresh(doc: Document) -> bool:
        if doc.id in seen:
            result.errors.append(
                ArticleLoadError(
                    doc.source,
                    f"duplicate article id {doc.id!r} (also {seen[doc.id]})",
                    document_id=doc.id,
                )
            )
            return False
        seen[doc.id] = doc.source
        return True

    for file, doc_id in targets:
        if file is not None and file.suffix.lower() in RECORD_EXTENSIONS:
            documents, errors = load_records(
                file, file_id=doc_id, fields=record_fields, max_bytes=max_bytes
            )
            result.errors.extend(errors)
            yield from filter(fresh, documents)
            continue
        try:
            if file is None:
                doc = load_stdin(stdin, max_bytes=max_bytes)
            else:
                doc = load_file(file, doc_id=doc_id, max_bytes=max_bytes)
        except ArticleLoadError as exc:
            exc.document_id = doc_id
            result.errors.append(exc)
            continue
        if fresh(doc):
            yield doc
