"""Strict-mode JSON Schemas for the model (the wire contract of structured output).

``strict_schema(Model)`` turns a draft model's schema into one that OpenAI strict mode,
llama.cpp's grammar converter and vLLM's guided decoding all accept: ``$ref`` inlined,
every object closed (``additionalProperties: false``) with every key required (optional
values are nullable instead), and no keyword strict mode rejects.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from pydantic import BaseModel

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
