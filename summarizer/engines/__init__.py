"""Engines turn one prepared article into a summary and per-chunk claim drafts."""

from summarizer.engines.base import Engine, EngineOutput, PreparedDocument
from summarizer.engines.extractive import ExtractiveEngine
from summarizer.engines.llm import LLMEngine

__all__ = ["Engine", "EngineOutput", "ExtractiveEngine", "LLMEngine", "PreparedDocument"]
