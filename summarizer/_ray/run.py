"""``summarizer run --executor ray``: the same run, its articles mapped over a Ray cluster.

The outputs are those of a local run (:func:`summarizer._runner.run`), written by the same
writer: one JSON file per article as results arrive, then ``results.jsonl`` and
``summary.md`` in input order, load failures first.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import ray
import ray.data

from summarizer._config import SummarizerConfig
from summarizer._documents import LoadResult
from summarizer._models import DocumentFailure, DocumentSummary
from summarizer._ray.executor import summarize_dataset
from summarizer._render import OutputWriter
from summarizer._runner import RunReport, finish


def parse_result(ok: bool, raw: str) -> DocumentSummary | DocumentFailure:
    """A result row's JSON back into the model it was written from."""
    return (
        DocumentSummary.model_validate_json(raw) if ok else DocumentFailure.model_validate_json(raw)
    )


def run_with_ray(
    summarizer_config: SummarizerConfig,
    loaded: LoadResult,
    out: Path | None,
    address: str | None = None,
    *,
    workers: int = 2,
    batch_size: int = 16,
    log: TextIO = sys.stderr,
) -> RunReport:
    """Run ``loaded`` through :func:`summarize_dataset` on the Ray cluster at ``address``
    (None: the one already initialised, else a new local one) and write the outputs a
    local run writes to ``out``. A Ray instance started here is shut down at the end."""
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    report = RunReport(results=[None] * (len(loaded.errors) + len(loaded.documents)))
    writer = OutputWriter(out) if out else None
    try:
        for index, failure in enumerate(loaded.failures()):
            report.results[index] = failure
            if writer:
                writer.write_result(failure)
        offset = len(loaded.errors)
        rows = [{"id": d.id, "text": d.text, "source": d.source} for d in loaded.documents]
        if rows:
            ds = ray.data.from_items(rows)
            done = summarize_dataset(ds, summarizer_config, workers=workers, batch_size=batch_size)
            for position, row in enumerate(done.iter_rows()):
                result = parse_result(bool(row["ok"]), str(row["result"]))
                report.results[offset + position] = result
                if writer:
                    writer.write_result(result)
                print(f"[{position + 1}/{len(rows)}] {result.doc_id}", file=log, flush=True)
    finally:
        finish(report, writer)
        if started_here:
            ray.shutdown()
    return report
