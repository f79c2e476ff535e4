"""JSON Schemas: strict-mode schemas for the model, exported schemas for users.

``strict_schema(Model)`` turns a draft model's schema into one that OpenAI strict mode,
llama.cpp's grammar converter and vLLM's guided decoding all accept: ``$ref`` inlined,
every object closed (``additionalProperties: false``) with every key required (optional
values are nullable instead), and no keyword strict mode rejects.

``export_schemas(folder)`` writes every schema to ``schemas/``; a test fails when the
files drift from the code (``summarizer schemas`` rewrites them).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from summarizer._models import (
    DocumentSummary,
    ExtractionDraft,
    ReduceDraft,
    document_result_adapter,
)

# Keywords OpenAI strict mode rejects or ignores; none of the drafts needs them.
_UNSUPPORTED = {
    "default",
    "format",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "patternProperties",
    "minProperties",
    "maxProperties",
}


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target = definitions[node["$ref"].rsplit("/", 1)[-1]]
            merged = {
                **_inline(target, definitions),
                **{k: v for k, v in node.items() if k != "$ref"},
            }
            return _inline(merged, definitions)
        result = {
            key: _inline(value, definitions)
            for key, value in node.items()
            if key not in _UNSUPPORTED and key != "$defs"
        }
        if result.get("type") == "object" and "properties" in result:
            result["additionalProperties"] = False
            result["required"] = list(result["properties"])
        return result
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


@functools.lru_cache(maxsize=64)
def _strict_schema_json(model: type[BaseModel]) -> str:
    raw = model.model_json_schema()
    return json.dumps(_inline(raw, raw.get("$defs", {})))


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The strict-mode JSON Schema of a draft model, self-contained (a fresh copy)."""
    schema: dict[str, Any] = json.loads(_strict_schema_json(model))
    return schema


def schema_hash(schema: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:16]


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, for everything exported to schemas/."""
    from summarizer._digest.models import DigestReport
    from summarizer._eval.fixtures import ArticleFixture, DigestFixture

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
