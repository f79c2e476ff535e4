"""Helpers to fake an OpenAI-compatible server at the HTTP layer (with respx)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from summarizer._testing import completion as testing_completion

BASE_URL = "http://llm.test/v1"
SECRET = "sk-test-SECRET-do-not-log-1234567890"


def completion(
    content: str | dict[str, Any] | None,
    *,
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
    cached_tokens: int = 0,
    **values: Any,
) -> dict[str, Any]:
    """The shared response builder with the defaults these tests assume."""
    return testing_completion(
        content,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cached_tokens=cached_tokens,
        model="gpt-4o-mini",
        completion_id="chatcmpl-test",
        **values,
    )


def ok(content: str | dict[str, Any], **kwargs: Any) -> httpx.Response:
    return httpx.Response(200, json=completion(content, **kwargs))


def error(
    status: int, message: str = "error", *, code: str | None = None, **headers: str
) -> httpx.Response:
    body = {"error": {"message": message, "type": "error", "code": code}}
    return httpx.Response(
        status, json=body, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


def request_json(call: Any) -> dict[str, Any]:
    return json.loads(call.request.content)


class FakeTime:
    """A clock and a sleep that advance together, so waits are asserted, not slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)
