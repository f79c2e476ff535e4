"""The engine interface. An engine turns a prepared document into text and claim drafts;
grounding (:mod:`summarizer._claims`), and result assembly (:mod:`summarizer._pipeline`) are
shared. An engine that needs to know whether a quote is found (to re-ask) asks the
document's :attr:`PreparedDocument.locator`, the same one the pipeline grounds with."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal

from summarizer._documents import Document
from summarizer._grounding import QuoteLocator
from summarizer._models import ChunkResult, SummaryWarning, Usage
from summarizer._normalize import NormalizedText, normalize_text

EngineName = Literal["llm", "extractive", "replay"]


@dataclass(frozen=True)
class PreparedDocument:
    """A document ready for an engine: its cleaned text and the locator of its quotes."""

    document: Document
    normalized: NormalizedText
    locator: QuoteLocator

    @classmethod
    def prepare(cls, document: Document, *, fuzzy_threshold: float = 90.0) -> PreparedDocument:
        locator = QuoteLocator(document.text, fuzzy_threshold=fuzzy_threshold)
        return cls(document, normalize_text(document.text), locator)


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
    instructions: str = ""
    """The fixed text of the engine's prompts (empty without a model): a result that only
    repeats it is suspect (:mod:`summarizer._quality`)."""

    @abstractmethod
    async def run(self, prepared: PreparedDocument, *, summary_words: int) -> EngineOutput:
        """Summarise ``prepared``; raise a SummarizerError on failure."""

    async def release_connections(self) -> None:  # noqa: B027 - most engines hold none
        """Close the connections that belong to the running event loop (before it ends)."""

    async def aclose(self) -> None:  # noqa: B027 - engines without resources need nothing
        """Release connections and files."""
