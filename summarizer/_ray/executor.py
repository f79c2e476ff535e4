"""The pipeline over a Ray Dataset: an actor pool of Summarizers and one coordinator.

Rows in have ``id`` and ``text`` (and optionally ``source``); rows out have ``doc_id``,
``ok`` and ``result``: the :class:`DocumentSummary` or :class:`DocumentFailure` as the same
JSON a local run writes. The configuration is resolved once, on the driver; each pool
actor builds one :class:`Summarizer` (one engine, client and connection pool) from the
resolved config and keeps it for its life. With a model, every actor's client admits its
requests through the run's :class:`~summarizer._ray.coordinator.Coordinator`, so the
RPM/TPM limits, the budget and the reply cache hold for the cluster, not per process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ray
import ray.data

from summarizer._client import ChatClient
from summarizer._config import SummarizerConfig
from summarizer._documents import Document
from summarizer._engines import LLMEngine
from summarizer._models import DocumentSummary
from summarizer._pipeline import Summarizer
from summarizer._ray.coordinator import (
    ClusterCache,
    ClusterLedger,
    ClusterLimits,
    start_coordinator,
)

Batch = Mapping[str, Sequence[Any]]


def settle(config: SummarizerConfig, env: Mapping[str, str] | None = None) -> SummarizerConfig:
    """``config`` resolved once (the environment read here, on the driver) and pinned to the
    engine it chose, so workers with another environment run the same engine."""
    resolved = config.resolve(env)
    if resolved.engine == "extractive":
        return resolved.config.model_copy(update={"engine": "extractive"})
    return resolved.config


def cluster_summarizer(config: SummarizerConfig, coordinator: Any) -> Summarizer:
    """A Summarizer for one pool actor: a settled ``config``; with a model, a client whose
    limits, budget and cache are the coordinator's."""
    resolved = config.resolve({})
    llm = resolved.llm
    if llm is None or coordinator is None:
        return Summarizer(resolved.config, env={})
    client = ChatClient(
        llm,
        cache=ClusterCache(coordinator) if resolved.config.cache_path is not None else None,
        shared_limits=ClusterLimits(coordinator),
        ledger=ClusterLedger(coordinator),
    )
    return Summarizer(resolved.config, engine=LLMEngine(client, resolved.config))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


class SummarizeBatch:
    """A pool actor: one Summarizer for its life, one batch of articles per call."""

    def __init__(self, config: SummarizerConfig, coordinator: Any):
        self.summarizer = cluster_summarizer(config, coordinator)

    def __call__(self, batch: Batch) -> dict[str, list[Any]]:
        ids = [_text(i) for i in batch["id"]]
        texts = [_text(t) for t in batch["text"]]
        sources = [_text(s) for s in batch["source"]] if "source" in batch else ids
        documents = [
            Document.from_text(text, id=doc_id, source=source)
            for doc_id, text, source in zip(ids, texts, sources, strict=True)
        ]
        summarizer = self.summarizer
        results = summarizer.run_sync(summarizer.asummarize_many(documents))
        return {
            "doc_id": [r.doc_id for r in results],
            "ok": [isinstance(r, DocumentSummary) for r in results],
            "result": [r.model_dump_json() for r in results],
        }


def summarize_dataset(
    ds: ray.data.Dataset,
    config: SummarizerConfig | None = None,
    *,
    workers: int = 2,
    batch_size: int = 16,
    num_cpus: float = 1.0,
    env: Mapping[str, str] | None = None,
) -> ray.data.Dataset:
    """Summaries of a Dataset of articles (columns ``id``, ``text``, optional ``source``),
    in input order: columns ``doc_id``, ``ok`` and ``result`` (the result's JSON).

    ``workers`` actors each own one Summarizer; with a model, one coordinator actor holds
    the rate limits, the budget and the reply cache for all of them. Lazy, like any
    Dataset: nothing runs until the result is consumed (``iter_rows``, ``write_parquet``).
    Each actor holds ``num_cpus``; when the pool fills the cluster, leave room for the read
    tasks of a file-backed Dataset (fewer workers, or a fraction for a model-bound run).
    """
    settled = settle(config or SummarizerConfig(), env)
    coordinator = None
    if settled.engine == "llm" and settled.llm is not None:
        coordinator = start_coordinator(settled.llm, settled.cache_path)
    out = ds.map_batches(
        SummarizeBatch,
        fn_constructor_args=(settled, coordinator),
        batch_size=batch_size,
        batch_format="default",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=num_cpus,
    )
    out.context.execution_options.preserve_order = True
    return out


def read_articles(paths: str | Path | Sequence[str | Path]) -> ray.data.Dataset:
    """Articles from JSONL or Parquet files (columns ``id``, ``text``, optional ``source``)
    with Ray's own readers, chosen by the first path's suffix."""
    many = [str(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
    if many and many[0].endswith(".parquet"):
        return ray.data.read_parquet(many)
    return ray.data.read_json(many)
