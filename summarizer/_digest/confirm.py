"""A model's verdict on a contradiction candidate (used when the digest has a model)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from summarizer._client import CallContext, ChatClient
from summarizer._digest.models import Contradiction
from summarizer._prompts import load_prompt


class ContradictionVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(description="One sentence: why the quotes do or do not conflict.")
    contradicts: bool = Field(description="True only when both quotes cannot be true at once.")


class ModelConfirmation:
    """``await confirm(candidate)`` -> the model's verdict on a candidate contradiction."""

    def __init__(self, client: ChatClient):
        self.client = client
        self.template = load_prompt("contradiction")

    async def __call__(self, candidate: Contradiction) -> bool:
        first, second = candidate.sides[0], candidate.sides[1]
        messages = self.template.messages(
            candidate=f"{candidate.slot}: {candidate.description}", a=first.quote, b=second.quote
        )
        reply = await self.client.structured(
            messages,
            ContradictionVerdict,
            template=self.template,
            context=CallContext(f"{first.doc_id} vs {second.doc_id}"),
        )
        return reply.value.contradicts
