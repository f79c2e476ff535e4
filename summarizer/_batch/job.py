"""A batch job: documents in, Batch API files and batches out, answers back in, results.

Each step reads and writes the job store only, so any step can be killed and rerun:

- :meth:`BatchJob.advance` runs a *round*: the normal pipeline over every document that is
  not waiting, with requests answered from the store (see :mod:`._batch.client`). A
  document whose calls are all answered is finished (summary or failure, as ``run`` makes
  them); one that needs a request the store lacks waits for it.
- :meth:`BatchJob.push` writes the new requests into JSONL files within the limits, then
  (unless ``write_only``) uploads each file and creates its batch.
- :meth:`BatchJob.collect` polls the batches, ingests the output and error files of those
  that ended, puts what an expired or failed batch did not answer back in line, and runs
  the next round, whose new requests (re-asks, reduce steps) go out as a follow-up batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
from openai.types import Batch
from openai.types.chat import ChatCompletion
from pydantic import ValidationError

from summarizer._batch.client import BatchChatClient, JobCache
from summarizer._batch.jsonl import (
    BATCH_URL,
    pack,
    parse_output,
    rejected_mode,
    request_line,
)
from summarizer._batch.limits import BATCH_PRICE_FACTOR, MAX_FILE_BYTES, MAX_REQUESTS_PER_BATCH
from summarizer._batch.store import JobStore
from summarizer._config import LLMConfig, StructuredMode, SummarizerConfig
from summarizer._documents import Document
from summarizer._engines import LLMEngine
from summarizer._errors import ConfigError
from summarizer._models import DocumentFailure, DocumentSummary
from summarizer._pipeline import Summarizer
from summarizer._render import OutputWriter
from summarizer._runner import RunReport

Result = DocumentSummary | DocumentFailure
logger = logging.getLogger("summarizer.batch")
ENDED = ("completed", "expired", "failed", "cancelled")


@dataclass(frozen=True)
class BatchOptions:
    """Limits and modes of a job (the API's limits by default; smaller ones in tests)."""

    max_requests: int = MAX_REQUESTS_PER_BATCH
    max_bytes: int = MAX_FILE_BYTES
    price_factor: float = BATCH_PRICE_FACTOR
    max_attempts: int = 3
    completion_window: str = "24h"
    write_only: Path | None = None


@dataclass
class Collected:
    """What one collect did."""

    batches_ended: list[str] = field(default_factory=list)
    answered: int = 0
    errors: int = 0
    unknown: int = 0
    requeued: int = 0
    finished: int = 0
    new_files: int = 0


class BatchJob:
    """One job folder: ``job.sqlite3`` and ``requests/`` (the JSONL files sent)."""

    def __init__(
        self,
        folder: Path,
        config: SummarizerConfig | None = None,
        *,
        options: BatchOptions | None = None,
        http_client: httpx.AsyncClient | None = None,
        env: dict[str, str] | None = None,
    ):
        self.folder = folder
        if config is None and not (folder / "job.sqlite3").exists():
            raise ConfigError(f"{folder}: no batch job here (run `batch submit` first)")
        self.store = JobStore(folder / "job.sqlite3")
        self.http_client = http_client
        self.options = options or self._stored_options()
        self.config = self._settle_config(config, env)
        assert self.config.llm is not None
        self.llm: LLMConfig = self.config.llm

    def close(self) -> None:
        self.store.close()

    # -- configuration, kept in the store so later commands need no flags -------------------

    def _settle_config(
        self, config: SummarizerConfig | None, env: dict[str, str] | None
    ) -> SummarizerConfig:
        stored = self.store.get_meta("config")
        if config is None:
            if stored is None:
                raise ConfigError(f"{self.folder}: the job store has no configuration")
            config = SummarizerConfig.model_validate_json(stored)
        resolved = config.model_copy(update={"engine": "llm"}).resolve(env)
        settled = resolved.config
        assert settled.llm is not None
        public = settled.model_dump(mode="json", exclude={"llm": {"api_key"}})
        if stored is None:
            self.store.set_meta("began", str(time.time()))
            self.store.set_meta("config", SummarizerConfig.model_validate(public).model_dump_json())
            self.store.set_meta("options", _dump_options(self.options))
        return settled

    def _stored_options(self) -> BatchOptions:
        raw = self.store.get_meta("options")
        return _load_options(raw) if raw else BatchOptions()

    # -- rounds ------------------------------------------------------------------------------

    def add_documents(
        self, documents: Sequence[Document], failures: Sequence[DocumentFailure] = ()
    ) -> int:
        """Add documents (and load failures, which are results at once); returns how many
        documents were new."""
        for failure in failures:
            self.store.add_failure(failure.doc_id, failure.source, failure.model_dump_json())
        return self.store.add_documents(list(documents))

    async def advance(self, *, live: bool = False, writer: OutputWriter | None = None) -> int:
        """Run one round over the documents not waiting; returns how many finished."""
        waiting = self.store.waiting_documents()
        documents = [d for d in self.store.documents(unfinished=True) if d.id not in waiting]
        if not documents:
            return 0
        round_ = int(self.store.get_meta("round") or 0) + 1
        self.store.set_meta("round", str(round_))
        summarizer = self._summarizer(round_, live)
        try:
            results = await _settled(summarizer.asummarize_many(documents))
        finally:
            # Connections (never an http_client passed in: its owner closes it) and cache.
            await summarizer.engine.release_connections()
            if summarizer.client is not None and summarizer.client.cache is not None:
                summarizer.client.cache.close()
        waiting = self.store.waiting_documents()
        finished = 0
        for document, result in zip(documents, results, strict=True):
            if document.id in waiting:
                continue
            self.store.set_result(document.id, result.model_dump_json())
            finished += 1
            if writer is not None:
                writer.write_result(result)
        return finished

    def _summarizer(self, round_: int, live: bool) -> Summarizer:
        path = self.config.cache_path
        cache = JobCache(path, self.store) if path is not None else None
        client = BatchChatClient(
            self.llm,
            self.store,
            round_=round_,
            price_factor=self.options.price_factor,
            live=live,
            cache=cache,
            http_client=self.http_client,
            dropped_modes=tuple(self.dropped_modes()),
        )
        return Summarizer(self.config, engine=LLMEngine(client, self.config))

    # -- files and batches -------------------------------------------------------------------

    def write_files(self) -> int:
        """Put every new request into JSONL files within the limits; returns the count."""
        folder = self.options.write_only or self.folder / "requests"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [(c, request_line(c, body)) for c, body in self.store.new_requests()]
        groups = pack(
            lines, max_requests=self.options.max_requests, max_bytes=self.options.max_bytes
        )
        written = 0
        start = len(self.store.files())
        for number, group in enumerate(groups, start=start + 1):
            name = f"requests-{number:05d}.jsonl"
            data = "".join(line for _, line in group)
            path = folder / name
            temporary = path.with_suffix(".tmp")
            temporary.write_text(data, encoding="utf-8")
            temporary.replace(path)
            self.store.add_file(name, path, [c for c, _ in group], len(data.encode()))
            written += 1
        return written

    async def push(self) -> int:
        """Write new requests to files and, unless write-only, upload each file not yet sent
        and create its batch (a file uploaded before a kill is not uploaded again)."""
        written = self.write_files()
        if self.options.write_only is not None:
            return written
        sdk = self._sdk()
        try:
            for stored in self.store.files(unsubmitted=True):
                file_id = stored.file_id
                batch: Batch | None = None
                if file_id is None:
                    uploaded = await sdk.files.create(
                        file=(stored.name, stored.path.read_bytes()), purpose="batch"
                    )
                    file_id = uploaded.id
                    self.store.set_file_id(stored.name, file_id)
                else:  # uploaded before a kill: its batch may exist without our record
                    batch = await _batch_of(sdk, file_id)
                if batch is None:
                    batch = await sdk.batches.create(
                        input_file_id=file_id,
                        endpoint=BATCH_URL,  # type: ignore[arg-type]
                        completion_window=self.options.completion_window,  # type: ignore[arg-type]
                        metadata={"summarizer_file": stored.name},
                    )
                self.store.add_batch(batch.id, stored.name, batch.status)
        finally:
            await self._close(sdk)
        return written

    async def poll(self) -> list[tuple[str, str]]:
        """Refresh the status of every batch not yet collected."""
        statuses: list[tuple[str, str]] = []
        sdk = self._sdk()
        try:
            for batch_id in self.store.open_batches():
                batch = await sdk.batches.retrieve(batch_id)
                self.store.update_batch(
                    batch_id, batch.status, batch.output_file_id, batch.error_file_id
                )
                statuses.append((batch_id, batch.status))
        finally:
            await self._close(sdk)
        return statuses

    async def collect(self, *, live: bool = False, writer: OutputWriter | None = None) -> Collected:
        """Poll, ingest every ended batch, run the next round, send its follow-up batch."""
        collected = Collected()
        statuses = await self.poll()
        sdk = self._sdk()
        try:
            for batch_id, status in statuses:
                if status not in ENDED:
                    continue
                await self._ingest_batch(sdk, batch_id, status, collected)
                collected.batches_ended.append(batch_id)
        finally:
            await self._close(sdk)
        collected.finished = await self.advance(live=live, writer=writer)
        collected.new_files = await self.push()
        return collected

    async def _ingest_batch(
        self, sdk: openai.AsyncOpenAI, batch_id: str, status: str, collected: Collected
    ) -> None:
        for file_id in self.store.batch_file_ids(batch_id):
            content = await sdk.files.content(file_id)
            self._ingest_text(content.text, f"batch {batch_id} file {file_id}", collected)
        leftover = self.store.open_in_batch(batch_id)
        if status in ("expired", "cancelled"):
            collected.requeued += self.store.reopen_batch(batch_id)
        else:  # failed, or completed without a line for a request: an attempt spent
            for custom in leftover:
                self.store.fail(
                    custom,
                    f"batch {batch_id} {status} without an answer",
                    max_attempts=self.options.max_attempts,
                )
            collected.requeued += len(leftover)
        self.store.mark_collected(batch_id)

    def ingest_output(self, path: Path, collected: Collected | None = None) -> Collected:
        """Ingest an output file made elsewhere (``vllm run-batch``, or downloaded)."""
        collected = collected or Collected()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--from-output {path}: cannot read: {exc.strerror}") from None
        self._ingest_text(text, str(path), collected)
        return collected

    def _ingest_text(self, text: str, source: str, collected: Collected) -> None:
        for line in parse_output(text, source=source):
            stored = self.store.request(line.custom_id)
            if stored is None:
                collected.unknown += 1
                continue
            error = line.error or f"HTTP {line.status_code}"
            if line.ok and line.body is not None:
                try:
                    ChatCompletion.model_validate(line.body)
                except ValidationError as invalid:
                    error = f"not a chat completion: {invalid.errors()[0]['msg']}"
                else:
                    self.store.answer(line.custom_id, line.body)
                    collected.answered += 1
                    continue
            if line.not_run:
                collected.requeued += self.store.requeue(line.custom_id)
                continue
            collected.errors += 1
            mode = rejected_mode(line, stored.body)
            if mode is not None and self._drop_mode(mode):
                self.store.reject(line.custom_id, error)
            else:
                self.store.fail(line.custom_id, error, max_attempts=self.options.max_attempts)

    def dropped_modes(self) -> list[StructuredMode]:
        """Structured-output modes the server refused in this job (the next rounds use the
        next mode, as the live client does)."""
        return [StructuredMode(m) for m in json.loads(self.store.get_meta("dropped") or "[]")]

    def _drop_mode(self, mode: StructuredMode) -> bool:
        """Give up ``mode`` unless it is the last one left; False when it cannot be."""
        dropped = self.dropped_modes()
        if mode in dropped:
            return True
        left = [m for m in self.llm.structured_modes if m not in dropped]
        if left == [mode]:
            return False
        logger.warning("%s rejected structured-output mode %s", self.llm.base_url, mode.value)
        self.store.set_meta("dropped", json.dumps([m.value for m in [*dropped, mode]]))
        return True

    async def _close(self, sdk: openai.AsyncOpenAI) -> None:
        if self.http_client is None:  # an http_client passed in belongs to the caller
            await sdk.close()

    def _sdk(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=self.llm.resolved_api_key(),
            base_url=self.llm.base_url,
            organization=self.llm.organization,
            max_retries=2,
            timeout=self.llm.timeout_seconds,
            default_headers=self.llm.headers or None,
            http_client=self.http_client,
        )

    # -- results -----------------------------------------------------------------------------

    def results(self) -> list[Result | None]:
        """Every document's result in input order (None: still waiting)."""
        out: list[Result | None] = []
        for _doc_id, raw in self.store.results():
            out.append(None if raw is None else _load_result(raw))
        return out

    def report(self) -> RunReport:
        """The end table of ``run``; its time is the wall time since the job began."""
        began = float(self.store.get_meta("began") or time.time())
        return RunReport(self.results(), started=time.perf_counter() - (time.time() - began))

    def write_outputs(self, out: Path) -> RunReport:
        """The same files as ``run``: one JSON per article, results.jsonl, summary.md."""
        report = self.report()
        writer = OutputWriter(out)
        for result in report.done:
            writer.write_result(result)
        writer.write_all(report.done)
        return report


async def _settled(work: Any) -> list[Result]:
    """Await a round, then every task it left behind (a map step's sibling calls keep going
    after the first one waits, and each must record its request before the round ends)."""
    before = asyncio.all_tasks()
    results: list[Result] = await work
    current = asyncio.current_task()
    while True:
        left = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
        if not left:
            return results
        await asyncio.gather(*left, return_exceptions=True)


async def _batch_of(sdk: openai.AsyncOpenAI, file_id: str) -> Batch | None:
    """The batch already made from an uploaded file, if any (newest batches come first)."""
    async for batch in sdk.batches.list(limit=100):
        if batch.input_file_id == file_id:
            return batch
    return None


def _load_result(raw: str) -> Result:
    data = json.loads(raw)
    if "error_type" in data:
        return DocumentFailure.model_validate(data)
    return DocumentSummary.model_validate(data)


def _dump_options(options: BatchOptions) -> str:
    values = {k: str(v) if isinstance(v, Path) else v for k, v in options.__dict__.items()}
    return json.dumps(values)


def _load_options(raw: str) -> BatchOptions:
    values = json.loads(raw)
    if values.get("write_only"):
        values["write_only"] = Path(values["write_only"])
    return BatchOptions(**values)
