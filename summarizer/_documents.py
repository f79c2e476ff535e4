"""Loading articles from files, folders and stdin.

Every article gets a stable id (its path relative to the input root, POSIX separators, or
``stdin-<hash>`` for standard input) and the sha256 of its decoded text. A file that cannot
be used becomes an :class:`~summarizer._errors.ArticleLoadError` in ``LoadResult.errors``;
the other files still load.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from summarizer._errors import ArticleLoadError
from summarizer._models import DocumentFailure

DEFAULT_EXTENSIONS = (".txt", ".md")
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
STDIN = "-"


@dataclass(frozen=True)
class Document:
    """One article as loaded: ``text`` is the decoded file (BOM removed, nothing else)."""

    id: str
    text: str
    source: str
    content_hash: str

    @classmethod
    def from_text(cls, text: str, *, id: str | None = None, source: str = "<text>") -> Document:
        digest = content_hash(text)
        return cls(id=id or f"text-{digest[:12]}", text=text, source=source, content_hash=digest)


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    errors: list[ArticleLoadError] = field(default_factory=list)

    def failures(self) -> list[DocumentFailure]:
        """The load errors as failure records, as results list them."""
        return [
            DocumentFailure(
                doc_id=error.document_id or (error.path or "?"),
                source=error.path or "?",
                error_type=type(error).__name__,
                message=str(error),
            )
            for error in self.errors
        ]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def decode_article(data: bytes, *, path: str) -> str:
    """Decode UTF-8 (BOM optional). Raises ArticleLoadError for binary, undecodable or empty."""
    if b"\x00" in data[:8192]:
        raise ArticleLoadError(path, "binary file (contains NUL bytes), not a text article")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleLoadError(
            path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    if not text.strip():
        raise ArticleLoadError(path, "empty file (no text)")
    return text


def _read_limited(stream: BinaryIO, *, path: str, max_bytes: int) -> bytes:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ArticleLoadError(path, f"larger than the {max_bytes:,}-byte limit")
    return data


def load_file(path: Path, *, doc_id: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
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
            data = _read_limited(stream, path=shown, max_bytes=max_bytes)
    except ArticleLoadError:
        raise
    except OSError as exc:
        raise ArticleLoadError(shown, f"cannot read: {exc.strerror or exc}") from None
    text = decode_article(data, path=shown)
    return Document(id=doc_id, text=text, source=shown, content_hash=content_hash(text))


def load_stdin(stream: BinaryIO | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    source = stream if stream is not None else sys.stdin.buffer
    data = _read_limited(source, path="<stdin>", max_bytes=max_bytes)
    text = decode_article(data, path="<stdin>")
    digest = content_hash(text)
    return Document(id=f"stdin-{digest[:12]}", text=text, source="<stdin>", content_hash=digest)


def _walk(root: Path, extensions: tuple[str, ...]) -> Iterator[Path]:
    """Files below root with a wanted extension, sorted; symlinked folders are not entered."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if name.lower().endswith(extensions):
                yield Path(dirpath) / name


def load_articles(
    paths: Iterable[str | Path],
    *,
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    stdin: BinaryIO | None = None,
) -> LoadResult:
    """Load every article named by ``paths`` (files, folders searched recursively, or ``-``).

    A file named explicitly is loaded whatever its extension; inside folders only
    ``extensions`` are taken. Ids are relative to the folder given, or the file name.
    """
    result = LoadResult()
    seen: dict[str, str] = {}

    def add(load: Path | None, doc_id: str) -> None:
        try:
            if load is None:
                doc = load_stdin(stdin, max_bytes=max_bytes)
            else:
                doc = load_file(load, doc_id=doc_id, max_bytes=max_bytes)
        except ArticleLoadError as exc:
            exc.document_id = doc_id
            result.errors.append(exc)
            return
        if doc.id in seen:
            result.errors.append(
                ArticleLoadError(
                    doc.source, f"duplicate article id {doc.id!r} (also {seen[doc.id]})"
                )
            )
            return
        seen[doc.id] = doc.source
        result.documents.append(doc)

    for raw in paths:
        if str(raw) == STDIN:
            add(None, "<stdin>")
            continue
        path = Path(raw)
        if path.is_dir():
            for file in _walk(path, extensions):
                add(file, file.relative_to(path).as_posix())
        elif path.exists() or path.is_symlink():
            add(path, path.name)
        else:
            result.errors.append(ArticleLoadError(str(path), "no such file or folder"))
    return result
