"""Batch API JSONL: one request line per model call, files split within the API's limits,
and the output (or error) lines read back, from the Batch API or ``vllm run-batch``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai

from summarizer._config import StructuredMode
from summarizer._errors import ArticleError
from summarizer._llm.context import CallContext
from summarizer._llm.modes import rejects_mode

BATCH_URL = "/v1/chat/completions"


def batch_body(request: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a ``chat.completions.create`` call from its keyword arguments:
    ``extra_body`` merged in, ``extra_headers`` dropped (the step is in the custom_id)."""
    body = {k: v for k, v in request.items() if k not in ("extra_body", "extra_headers")}
    body.update(request.get("extra_body") or {})
    return body


def custom_id(context: CallContext, step: str, body: dict[str, Any]) -> str:
    """``DOC:CHUNK:STEP:HASH``: the document, the chunk (``-`` for a whole article or a
    reduce), the step, and a hash of the body (which makes it unique and repeatable)."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    chunk = "-" if context.chunk_index is None else str(context.chunk_index)
    return f"{context.document_id or '?'}:{chunk}:{step}:{digest}"


def request_line(custom_id: str, body_json: str) -> str:
    return (
        f'{{"custom_id": {json.dumps(custom_id)}, "method": "POST", "url": "{BATCH_URL}", '
        f'"body": {body_json}}}\n'
    )


def pack(
    lines: list[tuple[str, str]], *, max_requests: int, max_bytes: int
) -> Iterator[list[tuple[str, str]]]:
    """Group ``(custom_id, line)`` pairs into files of at most ``max_requests`` lines and
    ``max_bytes`` bytes, in order; a single line over ``max_bytes`` is an error."""
    group: list[tuple[str, str]] = []
    size = 0
    for custom, line in lines:
        length = len(line.encode())
        if length > max_bytes:
            raise ArticleError(
                f"one batch request is {length} bytes, over the {max_bytes}-byte file limit",
                document_id=custom.rsplit(":", 3)[0],
            )
        if group and (len(group) >= max_requests or size + length > max_bytes):
            yield group
            group, size = [], 0
        group.append((custom, line))
        size += length
    if group:
        yield group


@dataclass(frozen=True)
class OutputLine:
    """One line of an output or error file: the reply body, or why there is none."""

    custom_id: str
    status_code: int | None
    body: dict[str, Any] | None
    error: str | None
    code: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code == 200 and self.body is not None and "choices" in self.body

    @property
    def not_run(self) -> bool:
        """The request never ran (its batch expired or was cancelled): no attempt spent."""
        return self.code in ("batch_expired", "batch_cancelled")


def parse_output(text: str, *, source: str) -> list[OutputLine]:
    """Every line of an output/error file; a line that is not JSON raises, naming the
    file and the line number (one bad file must not be half-ingested silently)."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            custom = str(item["custom_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ArticleError(
                f"line {number} is not a batch output line: {exc}", path=source
            ) from None
        response = item.get("response") or {}
        status = response.get("status_code")
        body = response.get("body")
        error = item.get("error")
        message = code = None
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            code = error.get("code") if isinstance(error, dict) else None
        elif status != 200 and isinstance(body, dict):
            detail = body.get("error", body)
            message = (
                f"HTTP {status}: {detail.get('message') if isinstance(detail, dict) else detail}"
            )
        body = body if isinstance(body, dict) else None
        lines.append(OutputLine(custom, status, body, message, code))
    return lines


def rejected_mode(line: OutputLine, body: dict[str, Any]) -> StructuredMode | None:
    """The structured-output mode of request ``body`` when its error line says the server
    refuses that mode (the live client's test, :func:`rejects_mode`), else None."""
    if line.ok or line.status_code is None:
        return None
    response = httpx.Response(line.status_code, request=httpx.Request("POST", BATCH_URL))
    error = openai.APIStatusError(line.error or "", response=response, body=line.body)
    if not rejects_mode(error):
        return None
    kind = (body.get("response_format") or {}).get("type")
    if kind == "json_schema":
        return StructuredMode.JSON_SCHEMA
    return StructuredMode.JSON_OBJECT if kind == "json_object" else StructuredMode.PROMPT
