"""Which call a request serves, and the context every model error carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from summarizer._models import Usage


@dataclass(frozen=True)
class CallContext:
    """Which document and chunk a call serves, for errors and logs."""

    document_id: str | None = None
    chunk_index: int | None = None

    def __str__(self) -> str:
        parts = [f"document {self.document_id}"] if self.document_id else []
        if self.chunk_index is not None:
            parts.append(f"chunk {self.chunk_index}")
        return ", ".join(parts) or "call"


def error_context(endpoint: str, context: CallContext, usage: Usage) -> dict[str, Any]:
    """The keyword arguments of a :class:`~summarizer._errors.ModelError` for one call."""
    return {
        "endpoint": endpoint,
        "document_id": context.document_id,
        "chunk_index": context.chunk_index,
        "attempts": usage.requests,
        "usage": usage,
    }
