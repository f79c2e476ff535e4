"""A chat-completion reply checked and parsed: refusals and content filters become typed
errors, and the content is validated by the response model whatever the mode."""

from __future__ import annotations

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
    """Validate a reply, tolerating code fences and text around the JSON object."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    if not text.lstrip().startswith("{"):
        first, last = text.find("{"), text.rfind("}")
        if first != -1 and last > first:
            text = text[first : last + 1]
    return model.model_validate_json(text)


def format_validation_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors()[:20]:
        where = ".".join(str(part) for part in item["loc"]) or "(root)"
        lines.append(f"- {where}: {item['msg']}")
    return "\n".join(lines)
