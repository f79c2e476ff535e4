"""Replaying recorded model responses, so the llm engine path is evaluated offline.

``evals/recorded/<article id>.json`` holds what a model returned for each call the
pipeline makes on that article: ``extract`` (the extraction), and where the pipeline
asks again, ``ground_reask``, ``reask`` or ``reduce``. :class:`ReplayTransport` is an
``httpx`` transport (the seam respx uses too) that answers each chat-completions request
with the recorded reply for its article and kind of call.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from summarizer._client import ChatClient
from summarizer._config import LLMConfig, SummarizerConfig
from summarizer._engines.base import EngineName
from summarizer._engines.llm import LLMEngine
from summarizer._errors import FixtureError
from summarizer._prompts import STEP_HEADER
from summarizer._testing import completion

_ID = re.compile(r'<(?:article|notes)-\w+ id="([^"]*)">')
REPLAY_URL = "http://replay.invalid/v1"


class RecordedCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    response: dict[str, Any]
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Recording(BaseModel):
    model_config = ConfigDict(extra="forbid")

    article_id: str
    model: str
    calls: list[RecordedCall]


def call_kind(step: str) -> str:
    """The recorded kind of call for a request's ``STEP_HEADER``: ``extract``, ``reduce``,
    or the follow-up's field (``ground_reask``, ``reask``)."""
    return step.rsplit(".", 1)[-1]


def load_recordings(folder: Path) -> dict[str, Recording]:
    recordings = {}
    for path in sorted(folder.glob("*.json")):
        if path.name == "defects.json":
            continue
        try:
            recording = Recording.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FixtureError(f"invalid recording: {exc}", path=str(path)) from None
        recordings[recording.article_id] = recording
    if not recordings:
        raise FixtureError("no recorded responses", path=str(folder))
    return recordings


class ReplayTransport(httpx.AsyncBaseTransport):
    def __init__(self, recordings: dict[str, Recording]):
        self.recordings = recordings

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        found = _ID.search(body["messages"][1]["content"])
        article_id = html.unescape(found.group(1)) if found else ""
        kind = call_kind(request.headers.get(STEP_HEADER, ""))
        recording = self.recordings.get(article_id)
        calls = [c for c in recording.calls if c.kind == kind] if recording else []
        if not calls:
            message = f"no recorded {kind!r} response for article {article_id!r}"
            return httpx.Response(404, json={"error": {"message": message, "type": "not_found"}})
        call = calls[0]
        body = completion(
            call.response,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            model=recording.model if recording else "replay",
            completion_id=f"replay-{article_id}-{kind}",
        )
        return httpx.Response(200, json=body)


class ReplayEngine(LLMEngine):
    """The llm engine, answered from recordings instead of a server."""

    name: EngineName = "replay"

    def __init__(self, folder: Path, config: SummarizerConfig):
        recordings = load_recordings(folder)
        model = next(iter(recordings.values())).model
        self.transport = ReplayTransport(recordings)
        client = ChatClient(
            LLMConfig(
                model=model, base_url=REPLAY_URL, api_key=SecretStr("replay"), max_attempts=1
            ),
            http_client=httpx.AsyncClient(transport=self.transport),
        )
        super().__init__(client, config)
