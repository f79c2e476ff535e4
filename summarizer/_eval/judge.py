"""An LLM judge for claim pairs the lexical alignment cannot decide (pluggable)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from summarizer._client import CallContext, ChatClient
from summarizer._prompts import load_prompt


class JudgeDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(description="One sentence: what is the same or what differs.")
    same: bool = Field(description="True when both claims state the same thing.")


class LLMJudge:
    """``await judge(predicted, gold)`` -> True when a model says they are the same claim."""

    def __init__(self, client: ChatClient):
        self.client = client
        self.template = load_prompt("judge")
        self.calls = 0

    async def __call__(self, predicted: str, gold: str) -> bool:
        self.calls += 1
        messages = self.template.messages(a=predicted, b=gold)
        reply = await self.client.structured(
            messages, JudgeDraft, template=self.template, context=CallContext("judge")
        )
        return reply.value.same
