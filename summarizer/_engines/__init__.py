"""Engines turn one prepared article into a summary and per-chunk claim drafts."""

from summarizer._engines.base import Engine, EngineOutput, PreparedDocument
from summarizer._engines.extractive import ExtractiveEngine
from summarizer._engines.llm import LLMEngine

__all__ = ["Engine", "EngineOutput", "ExtractiveEngine", "LLMEngine", "PreparedDocument"]
