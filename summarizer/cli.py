"""The ``summarizer`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from summarizer import __version__
from summarizer.chunking import TokenChunker, chunk_normalized
from summarizer.documents import DEFAULT_MAX_BYTES, load_articles
from summarizer.normalize import normalize_text
from summarizer.tokens import encoding_for_model

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, folders, or - for stdin")
    parser.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="largest article file accepted"
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


def cmd_schemas(args: argparse.Namespace) -> int:
    """Write the JSON Schemas exported from the models."""
    from summarizer.schemas import export_schemas

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

    schemas = commands.add_parser("schemas", help="export the JSON Schemas to a folder")
    schemas.add_argument("--out", default="schemas", help="folder to write (default: schemas)")
    schemas.set_defaults(handler=cmd_schemas)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ValueError as exc:
        parser.error(str(exc))
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
