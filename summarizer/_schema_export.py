"""Export of every JSON Schema the project publishes to ``schemas/``: the strict drafts the
model fills, the results, the digest and the eval fixtures. A test fails when the files
drift from the code (``summarizer schemas DIR`` rewrites them). A shell module: it sits
above everything whose schema it exports.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from summarizer._digest.models import DigestReport
from summarizer._eval.fixtures import ArticleFixture, DigestFixture
from summarizer._models import (
    DocumentSummary,
    ExtractionDraft,
    ReduceDraft,
    document_result_adapter,
)
from summarizer._schemas import strict_schema


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, for everything exported to schemas/."""
    return {
        "extraction.strict.schema.json": strict_schema(ExtractionDraft),
        "reduce.strict.schema.json": strict_schema(ReduceDraft),
        "document_summary.schema.json": DocumentSummary.model_json_schema(),
        "document_result.schema.json": document_result_adapter.json_schema(),
        "digest.schema.json": DigestReport.model_json_schema(),
        "eval_fixture.schema.json": ArticleFixture.model_json_schema(),
        "eval_digest_fixture.schema.json": DigestFixture.model_json_schema(),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def export_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = folder / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
