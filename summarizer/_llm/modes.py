"""Structured-output mode negotiation, and the request body for a mode.

``json_schema`` (strict) is tried first, then ``json_object`` with the schema attached
(llama.cpp style), then the schema in the prompt. A server that rejects a mode (HTTP
400/422, or a 500/501 that complains about the schema, as llama-cpp-python's does) moves
the endpoint to the next mode for the rest of the client's life.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import openai

from summarizer._config import LLMConfig, StructuredMode
from summarizer._prompts import STEP_HEADER, PromptTemplate

logger = logging.getLogger("summarizer.client")

Message = dict[str, str]
_MODE_WORDS = ("response_format", "json_schema", "json_object", "schema", "grammar", "structured")


class ModeRejected(Exception):
    """The server refused the structured-output mode a request used."""

    def __init__(self, error: openai.APIStatusError, mode: StructuredMode | None = None):
        self.error = error
        self.mode = mode


def rejects_mode(error: openai.APIStatusError) -> bool:
    """True when an error says the server does not take the structured-output request."""
    if error.status_code not in (400, 422, 500, 501):
        return False
    text = f"{error.message} {error.body}".lower()
    return any(word in text for word in _MODE_WORDS)


class ModeNegotiator:
    """The modes an endpoint may still accept, most preferred first.

    Until a reply confirms the current mode, one request at a time probes it (take
    :meth:`probing`) and the others wait for its answer, so a server that refuses a mode
    sees one refused request, not one per request in flight. ``known`` (a mode remembered
    from an earlier run or ``summarizer doctor``) starts there, already confirmed;
    ``on_confirm`` is told each mode a reply confirms, to remember it."""

    def __init__(
        self,
        modes: tuple[StructuredMode, ...],
        endpoint: str,
        *,
        known: StructuredMode | None = None,
        on_confirm: Callable[[StructuredMode], None] | None = None,
    ):
        self._modes = list(modes)
        self.endpoint = endpoint
        self.confirmed = len(self._modes) <= 1
        if known is not None and known in self._modes:
            self._modes = self._modes[self._modes.index(known) :]
            self.confirmed = True
        self._on_confirm = on_confirm
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def current(self) -> StructuredMode | None:
        return self._modes[0] if self._modes else None

    def probing(self) -> asyncio.Lock:
        """The lock a request holds while it probes the unconfirmed mode (one per loop)."""
        loop = asyncio.get_running_loop()
        if self._lock is None or loop is not self._loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    def confirm(self, mode: StructuredMode) -> None:
        """A reply came back in ``mode``: the server takes it."""
        if self.confirmed or mode != self.current:
            return
        self.confirmed = True
        logger.info("%s accepts structured-output mode %s", self.endpoint, mode.value)
        if self._on_confirm is not None:
            self._on_confirm(mode)

    def drop(self, mode: StructuredMode, error: openai.APIStatusError) -> None:
        """Give up ``mode`` (if it is still the current one) after the server refused it."""
        if self._modes and self._modes[0] == mode:
            self._modes.pop(0)
            self.confirmed = len(self._modes) <= 1
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
    grammar_schema: dict[str, Any] | None = None,
    name: str,
    template: PromptTemplate,
    step: str,
    limit: int,
) -> dict[str, Any]:
    """The keyword arguments of ``chat.completions.create`` for one attempt. The prompt
    carries ``schema``; ``json_object`` mode attaches ``grammar_schema`` (default: the same),
    which may state bounds strict mode does not take."""
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
        attached = schema if grammar_schema is None else grammar_schema
        request["extra_body"] = {"response_format": {"type": "json_object", "schema": attached}}
    return request
