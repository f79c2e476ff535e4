"""A chat-completion reply read once, straight from the response bytes.

The SDK would build its own ``ChatCompletion`` objects (pure-Python model construction
over every field of the reply) that the client then reads four fields of. Instead the
body is validated by pydantic's Rust core into the few fields the client uses: the
first choice's content, refusal and finish reason, and the token usage. A body that is
not such a reply says why (``unusable_reason``), for the transport to retry.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ReplyMessage(_Part):
    content: str | None = None
    refusal: str | None = None


class ReplyChoice(_Part):
    message: ReplyMessage | None = None
    finish_reason: str | None = None


class PromptTokensDetails(_Part):
    cached_tokens: int | None = None


class ReplyUsage(_Part):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: PromptTokensDetails | None = None


class ChatReply(_Part):
    """The parts of a chat completion the client reads (the names the SDK's have)."""

    choices: list[ReplyChoice] | None = None
    usage: ReplyUsage | None = None


class UnusableReply(Exception):
    """Response bytes that are no chat completion; ``reason`` says what they are."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def read_reply(body: bytes) -> ChatReply:
    """The reply in ``body``, or UnusableReply naming what the body is instead. Whether
    it has a choice with a message is left to the caller (after counting its usage)."""
    if not body.strip():
        raise UnusableReply("an empty body")
    try:
        return ChatReply.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        if first["type"].startswith("json_"):
            text = body[:60].decode("utf-8", "replace")
            raise UnusableReply(f"a non-JSON body ({text!r})") from None
        where = ".".join(str(part) for part in first["loc"]) or "(root)"
        raise UnusableReply(
            f"a body that is not a chat completion ({where}: {first['msg']})"
        ) from None
