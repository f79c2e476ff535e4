"""Structured-output mode negotiation, and the request body for a mode.

``json_schema`` (strict) is tried first, then ``json_object`` with the schema attached
(llama.cpp style), then the schema in the prompt. A server that rejects a mode (HTTP
400/422, or a 500/501 that complains about the schema, as llama-cpp-python's does) moves
the endpoint to the next mode for the rest of the client's life.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import openai

from summarizer._config import LLMConfig, StructuredMode
from summarizer._prompts import STEP_HEADER, PromptTemplate

logger = logging.getLogger("summarizer.client")

Message = dict[str, str]
_MODE_WORDS = ("response_format", "json_schema", "json_object", "schema", "grammar", "structured")


class ModeRejected(Exception):
    """The server refused the structured-output mode a request used."""

    def __init__(self, error: openai.APIStatusError):
        self.error = error


def rejects_mode(error: openai.APIStatusError) -> bool:
    """True when an error says the server does not take the structured-output request."""
    if error.status_code not in (400, 422, 500, 501):
        return False
    text = f"{error.message} {error.body}".lower()
    return any(word in text for word in _MODE_WORDS)


class ModeNegotiator:
    """The modes an endpoint may still accept, most preferred first."""

    def __init__(self, modes: tuple[StructuredMode, ...], endpoint: str):
        self._modes = list(modes)
        self.endpoint = endpoint

    @property
    def current(self) -> StructuredMode | None:
        return self._modes[0] if self._modes else None

    def drop(self, mode: StructuredMode, error: openai.APIStatusError) -> None:
        """Give up ``mode`` (if it is still the current one) after the server refused it."""
        if self._modes and self._modes[0] == mode:
            self._modes.pop(0)
            following = self._modes[0].value if self._modes else "none left"
            logger.warning(
                "%s rejected structured-output mode %s (HTTP %d); using %s from now on",
                self.endpoint,
                mode.value,
                error.status_code,
                following,
            )


def build_request(
    config: LLMConfig,
    conversation: list[Message],
    *,
    mode: StructuredMode,
    schema: dict[str, Any],
    name: str,
    template: PromptTemplate,
    step: str,
    limit: int,
) -> dict[str, Any]:
    """The keyword arguments of ``chat.completions.create`` for one attempt."""
    messages = [dict(m) for m in conversation]
    if mode is not StructuredMode.JSON_SCHEMA:
        instruction = template.fill("json_instruction", schema=json.dumps(schema))
        messages[0]["content"] = f"{messages[0]['content']}\n\n{instruction}"
    request: dict[str, Any] = {
        "model": config.model,
        "messages": messages,
        config.output_limit_parameter: limit,
        "extra_headers": {STEP_HEADER: step},
    }
    if config.temperature is not None:
        request["temperature"] = config.temperature
    # response_format goes in extra_body: the same JSON on the wire, without the SDK
    # walking the whole schema through its TypedDict transform on every request.
    if mode is StructuredMode.JSON_SCHEMA:
        request["extra_body"] = {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": True},
            }
        }
    elif mode is StructuredMode.JSON_OBJECT:
        request["extra_body"] = {"response_format": {"type": "json_object", "schema": schema}}
    return request
