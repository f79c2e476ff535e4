"""The model engine: one call for an article that fits, map-reduce for a longer one.

- An article of at most ``single_call_tokens`` tokens goes in one extraction call.
- A longer one is cut into chunks of ``chunk_tokens``; every chunk is extracted
  concurrently (the client's limits bound the calls), then the chunks' summaries and key
  points are reduced to one. Notes too long for one reduce call are reduced in groups,
  recursively, at most ``max_reduce_depth`` levels; no chunk is ever dropped.
- A call whose reply is truncated even at the largest output limit has its input split
  in two and each half extracted again (at most ``max_split_depth`` times); not one whose
  reply ended in a loop (``RepetitiveOutputError``), which a shorter input repeats.
- When some evidence quotes of a reply cannot be found in the article, the model is asked
  once more to copy them verbatim or drop those claims (``reask_ungrounded``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from summarizer._chunking import MIN_MAX_TOKENS, Chunk, TokenChunker, chunk_normalized
from summarizer._client import CallContext, ChatClient
from summarizer._config import SummarizerConfig
from summarizer._engines.base import Engine, EngineName, EngineOutput, PreparedDocument
from summarizer._errors import (
    BudgetExceededError,
    ContextLengthExceededError,
    InvalidModelOutputError,
    ModelError,
    OutputTruncatedError,
    RepetitiveOutputError,
    SummarizerError,
)
from summarizer._models import ChunkResult, ExtractionDraft, ReduceDraft, SummaryWarning, Usage
from summarizer._prompts import PromptTemplate, load_prompt

T = TypeVar("T")
INSTRUCTION_MARGIN = 64  # tokens kept free beyond the counted instructions (the part note)


@dataclass
class _Run:
    """What one document's calls have used so far."""

    prepared: PreparedDocument
    summary_words: int
    usage: Usage = field(default_factory=Usage)
    warnings: list[SummaryWarning] = field(default_factory=list)

    def add(self, usage: Usage) -> None:
        """Count what a call used (also a call cancelled because another one failed)."""
        self.usage = self.usage + usage


async def all_or_none(calls: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Every call's result in order; on the first failure the others are cancelled (no
    more paying for a document that has failed) and that failure is raised."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class LLMEngine(Engine):
    name: EngineName = "llm"

    def __init__(
        self,
        client: ChatClient,
        config: SummarizerConfig,
        *,
        extract: PromptTemplate | None = None,
        reduce: PromptTemplate | None = None,
    ):
        self.client = client
        self.config = config
        self.extract_prompt = extract or load_prompt("extract")
        self.reduce_prompt = reduce or load_prompt("reduce")
        self.model = client.config.model
        self.endpoint = client.endpoint
        self.prompt_name = f"{self.extract_prompt.name}+{self.reduce_prompt.name}"
        self.prompt_version = f"{self.extract_prompt.version}+{self.reduce_prompt.version}"
        both = (self.extract_prompt.sha256 + self.reduce_prompt.sha256).encode()
        self.prompt_hash = hashlib.sha256(both).hexdigest()[:12]
        self.instructions = "\n".join(
            prompt.instruction_text() for prompt in (self.extract_prompt, self.reduce_prompt)
        )
        self.encoding = client.encoding
        self._instruction_tokens: int | None = None  # counted on first use

    async def run(self, prepared: PreparedDocument, *, summary_words: int) -> EngineOutput:
        run = _Run(prepared, summary_words)
        try:
            return await self._run(run)
        except (ModelError, BudgetExceededError) as exc:
            # what every call of this document used, the failed one and those before it
            exc.usage = run.usage + exc.usage if exc.usage is not None else run.usage
            raise

    async def _run(self, run: _Run) -> EngineOutput:
        normalized = run.prepared.normalized
        tokens = self.encoding.count(normalized.text)
        fits = self._input_budget()
        if tokens <= min(self.config.single_call_tokens, fits):
            start, end = normalized.span_to_original(0, len(normalized.text))
            chunks = [Chunk(0, normalized.text, 0, len(normalized.text), tokens, start, end)]
        else:
            size = max(MIN_MAX_TOKENS, min(self.config.chunk_tokens, fits))
            chunker = TokenChunker(self.encoding, max_tokens=size)
            chunks = chunk_normalized(normalized, chunker)
        parts = await all_or_none(
            [self._extract(run, chunk, len(chunks), depth=0) for chunk in chunks]
        )
        results = sorted((r for part in parts for r in part), key=lambda r: r.start)
        results = [r.model_copy(update={"index": i}) for i, r in enumerate(results)]
        if len(results) == 1:
            summary, key_points = results[0].summary, results[0].key_points
        else:
            reduced = await self._reduce(run, results, depth=1)
            summary, key_points = reduced.summary, reduced.key_points
        return EngineOutput(summary, key_points, results, run.usage, run.warnings)

    def _input_budget(self) -> int:
        """Article tokens one call may carry within the server's context window (as the
        config, ``summarizer doctor`` or a context-length refusal says): the window less
        the output limit and the instructions."""
        client = self.client
        if self._instruction_tokens is None:  # the same for every call of this engine
            instructions = self.extract_prompt.messages(
                summary_words=self.config.summary_words, part_note="", doc_id="", article=""
            )
            self._instruction_tokens = client.count_tokens(instructions) + INSTRUCTION_MARGIN
        return client.context_window - client.output_limit() - self._instruction_tokens

    # -- map ---------------------------------------------------------------------------------

    async def _extract(
        self, run: _Run, chunk: Chunk, parts: int, *, depth: int
    ) -> list[ChunkResult]:
        doc_id = run.prepared.document.id
        part_note = (
            f" This is part {chunk.index + 1} of {parts} of the article." if parts > 1 else ""
        )
        messages = self.extract_prompt.messages(
            summary_words=run.summary_words,
            part_note=part_note,
            doc_id=doc_id,
            article=chunk.text,
        )
        context = CallContext(doc_id, chunk.index if parts > 1 or depth else None)
        try:
            reply = await self.client.structured(
                messages,
                ExtractionDraft,
                template=self.extract_prompt,
                context=context,
                on_cancel=run.add,
            )
        except (OutputTruncatedError, ContextLengthExceededError) as truncated:
            if (
                isinstance(truncated, RepetitiveOutputError)  # a loop: a split loops again
                or depth >= self.config.max_split_depth
                or chunk.token_count < 2 * MIN_MAX_TOKENS
            ):
                raise  # run() adds this call's usage to the document's
            if truncated.usage is not None:
                run.usage = run.usage + truncated.usage
            return await self._split_and_extract(run, chunk, parts, depth=depth)
        run.usage = run.usage + reply.usage
        draft = await self._reask_ungrounded(run, chunk, messages, reply.value, context)
        return [
            ChunkResult(
                index=chunk.index,
                start=chunk.start,
                end=chunk.end,
                original_start=chunk.original_start,
                original_end=chunk.original_end,
                token_count=chunk.token_count,
                summary=draft.summary,
                key_points=draft.key_points,
                claims=draft.claims,
            )
        ]

    async def _reask_ungrounded(
        self,
        run: _Run,
        chunk: Chunk,
        messages: list[dict[str, str]],
        draft: ExtractionDraft,
        context: CallContext,
    ) -> ExtractionDraft:
        """Ask once more when some quotes are not in the article (the document's locator
        decides, and remembers for grounding); keep the second answer if it found more."""
        hint = (chunk.original_start or 0, chunk.original_end or len(run.prepared.document.text))
        locate = run.prepared.locator.locate
        missing = [c.evidence for c in draft.claims if locate(c.evidence, hint).start is None]
        if not (missing and self.config.reask_ungrounded and self.extract_prompt.ground_reask):
            return draft
        quotes = "\n".join(f"- {quote!r}" for quote in missing)
        follow_up = messages + [
            {"role": "assistant", "content": draft.model_dump_json()},
            {"role": "user", "content": self.extract_prompt.fill("ground_reask", quotes=quotes)},
        ]
        try:
            second = await self.client.structured(
                follow_up,
                ExtractionDraft,
                template=self.extract_prompt,
                context=context,
                step=f"{self.extract_prompt.name}.ground_reask",
                on_cancel=run.add,
            )
        except (ContextLengthExceededError, OutputTruncatedError, InvalidModelOutputError) as bad:
            # The follow-up did not fit, ran to the limit or never validated: the first
            # answer stands (its quotes are flagged by grounding as they would have been).
            if bad.usage is not None:
                run.usage = run.usage + bad.usage
            return draft
        run.usage = run.usage + second.usage.model_copy(update={"reasks": second.usage.reasks + 1})
        still = [c for c in second.value.claims if locate(c.evidence, hint).start is None]
        return second.value if len(still) < len(missing) else draft

    async def _split_and_extract(
        self, run: _Run, chunk: Chunk, parts: int, *, depth: int
    ) -> list[ChunkResult]:
        normalized = run.prepared.normalized
        size = min(chunk.token_count // 2 + 1, self._input_budget())
        half = TokenChunker(self.encoding, max_tokens=max(MIN_MAX_TOKENS, size))
        pieces = []
        for piece in half.split(chunk.text):
            start, end = chunk.start + piece.start, chunk.start + piece.end
            original_start, original_end = normalized.span_to_original(start, end)
            pieces.append(
                Chunk(
                    chunk.index,
                    piece.text,
                    start,
                    end,
                    piece.token_count,
                    original_start,
                    original_end,
                )
            )
        run.warnings.append(
            SummaryWarning(
                code="chunk_split",
                message=f"{chunk.token_count} tokens got a truncated reply or did not fit the "
                f"context; split into {len(pieces)} parts",
            )
        )
        results = await all_or_none(
            [self._extract(run, piece, parts, depth=depth + 1) for piece in pieces]
        )
        return [r for part in results for r in part]

    # -- reduce ------------------------------------------------------------------------------

    async def _reduce(self, run: _Run, results: list[ChunkResult], *, depth: int) -> ReduceDraft:
        notes = [
            f"Part {index + 1}:\nSummary: {r.summary}\nKey points:\n"
            + "\n".join(f"- {point}" for point in r.key_points)
            for index, r in enumerate(results)
        ]
        return await self._reduce_notes(run, notes, depth=depth)

    async def _reduce_notes(self, run: _Run, notes: list[str], *, depth: int) -> ReduceDraft:
        budget = max(MIN_MAX_TOKENS, min(self.config.single_call_tokens, self._input_budget()))
        groups: list[list[str]] = [[]]
        used = 0
        for note in notes:
            size = self.encoding.count(note)
            if groups[-1] and used + size > budget:
                groups.append([])
                used = 0
            groups[-1].append(note)
            used += size
        if len(groups) == 1:
            return await self._reduce_call(run, groups[0])
        if depth >= self.config.max_reduce_depth or len(groups) == len(notes):
            raise SummarizerError(
                f"{run.prepared.document.id}: {len(notes)} section notes do not fit in "
                f"{self.config.max_reduce_depth} reduce levels of {budget} tokens; raise "
                "single_call_tokens or max_reduce_depth"
            )
        partial = await all_or_none([self._reduce_call(run, g) for g in groups])
        merged = [
            f"Sections {i + 1}:\nSummary: {d.summary}\nKey points:\n"
            + "\n".join(f"- {p}" for p in d.key_points)
            for i, d in enumerate(partial)
        ]
        return await self._reduce_notes(run, merged, depth=depth + 1)

    async def _reduce_call(self, run: _Run, notes: list[str]) -> ReduceDraft:
        doc_id = run.prepared.document.id
        messages = self.reduce_prompt.messages(
            summary_words=run.summary_words,
            doc_id=doc_id,
            notes="\n\n".join(notes),
        )
        reply = await self.client.structured(
            messages,
            ReduceDraft,
            template=self.reduce_prompt,
            context=CallContext(doc_id),
            on_cancel=run.add,
        )
        run.usage = run.usage + reply.usage
        return reply.value

    async def release_connections(self) -> None:
        await self.client.release_connections()

    async def aclose(self) -> None:
        await self.client.aclose()
