"""An LLM support matcher: per gold unit, does a summary state it? (``eval meta``).

The versioned ``matcher`` prompt gets one summary and a numbered batch of units and returns
a verdict per unit. Replies go through :class:`summarizer._client.ChatClient`, so they are
cached (same prompt, model and input: no new call) and their tokens and cost are counted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from summarizer._client import CallContext, ChatClient
from summarizer._prompts import load_prompt

BATCH_SIZE = 16
"""Units per call; a summary with more units takes several calls."""


class UnitVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: int = Field(description="The unit's number in the list, from 1.")
    reason: str = Field(description="One sentence: where the summary states it, or what differs.")
    supported: bool = Field(description="True when the summary states the unit's fact.")


class MatcherDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdicts: list[UnitVerdict]


class LLMMatcher:
    """``await matcher(summary, units)`` -> one supported/not verdict per unit.

    A unit the model gives no verdict for counts as not supported and is recorded in
    ``missing``; ``calls`` counts the model calls made (cached ones included)."""

    def __init__(self, client: ChatClient, batch_size: int = BATCH_SIZE):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.client = client
        self.batch_size = batch_size
        self.template = load_prompt("matcher")
        self.calls = 0
        self.missing: list[str] = []

    @property
    def name(self) -> str:
        return f"llm {self.client.config.model} (matcher v{self.template.version})"

    async def __call__(self, summary: str, units: list[str]) -> list[bool]:
        verdicts: list[bool] = []
        for start in range(0, len(units), self.batch_size):
            verdicts += await self._batch(summary, units[start : start + self.batch_size])
        return verdicts

    async def _batch(self, summary: str, units: list[str]) -> list[bool]:
        self.calls += 1
        numbered = "\n".join(f"{i}. {unit}" for i, unit in enumerate(units, 1))
        messages = self.template.messages(a=summary, b=numbered)
        reply = await self.client.structured(
            messages, MatcherDraft, template=self.template, context=CallContext("matcher")
        )
        given = {v.unit: v.supported for v in reply.value.verdicts}
        for index, unit in enumerate(units, 1):
            if index not in given:
                self.missing.append(unit)
        return [given.get(index, False) for index in range(1, len(units) + 1)]
