"""The engine interface. Grounding, merging and result assembly are shared and live in
:mod:`summarizer._pipeline`; an engine only produces text and claim drafts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal

from summarizer._documents import Document
from summarizer._models import ChunkResult, SummaryWarning, Usage
from summarizer._normalize import NormalizedText

EngineName = Literal["llm", "extractive", "replay"]


@dataclass(frozen=True)
class PreparedDocument:
    document: Document
    normalized: NormalizedText


@dataclass
class EngineOutput:
    summary: str
    key_points: list[str]
    chunks: list[ChunkResult]
    usage: Usage = field(default_factory=Usage)
    warnings: list[SummaryWarning] = field(default_factory=list)


class Engine(ABC):
    """A strategy that summarises one prepared document."""

    name: EngineName
    model: str | None = None
    endpoint: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_hash: str | None = None

    @abstractmethod
    async def run(self, prepared: PreparedDocument, *, summary_words: int) -> EngineOutput:
        """Summarise ``prepared``; raise a SummarizerError on failure."""

    async def aclose(self) -> None:  # noqa: B027 - engines without resources need nothing
        """Release connections and files."""
