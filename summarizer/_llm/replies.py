"""A chat-completion reply checked and parsed: refusals and content filters become typed
errors, and the content is validated by the response model whatever the mode."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from summarizer._errors import ContentFilterError, RefusalError

T = TypeVar("T", bound=BaseModel)


def check_choice(choice: Any, where: dict[str, Any]) -> None:
    """Raise RefusalError or ContentFilterError for a reply that carries no answer."""
    refusal = getattr(choice.message, "refusal", None)
    if refusal:
        raise RefusalError(f"the model refused: {refusal}", refusal=refusal, **where)
    if choice.finish_reason == "content_filter":
        raise ContentFilterError("the provider's content filter stopped the reply", **where)


def parse_json_reply(content: str, model: type[T]) -> T:
    """Validate a reply, tolerating code fences and text around the JSON object, and raw
    control characters (a newline, a tab) inside JSON strings: llama.cpp's ``json_object``
    grammar lets them through, and re-asking never makes such a model stop. The content is
    validated by the same model either way."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    if not text.lstrip().startswith("{"):
        first, last = text.find("{"), text.rfind("}")
        if first != -1 and last > first:
            text = text[first : last + 1]
    try:
        return model.model_validate_json(text)
    except ValidationError as error:
        lenient = _without_raw_control_characters(text, error)
        if lenient is None:
            raise
        return model.model_validate_json(lenient)


def _without_raw_control_characters(text: str, error: ValidationError) -> str | None:
    """``text`` re-encoded when it is JSON only but for raw control characters inside
    strings (``json.loads(..., strict=False)``); None when that is not what went wrong."""
    if [item["type"] for item in error.errors()] != ["json_invalid"]:
        return None
    try:
        value = json.loads(text, strict=False)
    except ValueError:
        return None
    return json.dumps(value, ensure_ascii=False)


def format_validation_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors()[:20]:
        where = ".".join(str(part) for part in item["loc"]) or "(root)"
        lines.append(f"- {where}: {item['msg']}")
    return "\n".join(lines)


TAIL_CHECKED = 16_384  # characters: about 4,000 tokens of a looping reply's end


def repeating_tail(text: str) -> tuple[int, int] | None:
    """``(period, length)`` of the repetition that ends a truncated reply, when the model
    was looping: its last characters are one passage of ``period`` characters written at
    least three times over, and the copies make at least a quarter of the reply (of its
    last ``TAIL_CHECKED`` characters, for a longer one). A larger
    output limit would buy more copies of that passage, so it is not worth a retry. Three
    copies, because two may be an honest repetition (a quote restated as its claim); a
    quarter, because a few repeated characters at the end ("ha ha ha", "...") are text.
    Only the last ``TAIL_CHECKED`` characters are read (the search is quadratic in them)."""
    text = text[-TAIL_CHECKED:]
    size = len(text)
    for period in range(1, size // 3 + 1):
        if text[size - 3 * period : size - period] != text[size - 2 * period :]:
            continue
        start = size - 3 * period  # walk back while the text keeps this period
        while start > 0 and text[start - 1] == text[start - 1 + period]:
            start -= 1
        if 4 * (size - start) >= size:
            return period, size - start
    return None
