"""Helpers to fake an OpenAI-compatible server at the HTTP layer (with respx)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

BASE_URL = "http://llm.test/v1"
SECRET = "sk-test-SECRET-do-not-log-1234567890"


def completion(
    content: str | dict[str, Any] | None,
    *,
    finish_reason: str = "stop",
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
    cached_tokens: int = 0,
    refusal: str | None = None,
) -> dict[str, Any]:
    if isinstance(content, dict):
        content = json.dumps(content)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": message}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
        },
    }


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
