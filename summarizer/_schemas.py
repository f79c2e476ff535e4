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


# What json_object mode keeps of the above: llama-cpp-python turns the attached schema into
# a grammar that enforces array bounds, so a stated bound ends a list that a small model
# would otherwise repeat forever.
_GRAMMAR_BOUNDS = {"maxItems"}


def _inline(node: Any, definitions: dict[str, Any], keep: frozenset[str] = frozenset()) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target = definitions[node["$ref"].rsplit("/", 1)[-1]]
            merged = {
                **_inline(target, definitions, keep),
                **{k: v for k, v in node.items() if k != "$ref"},
            }
            return _inline(merged, definitions, keep)
        result = {
            key: _inline(value, definitions, keep)
            for key, value in node.items()
            if (key not in _UNSUPPORTED or key in keep) and key != "$defs"
        }
        if result.get("type") == "object" and "properties" in result:
            result["additionalProperties"] = False
            result["required"] = list(result["properties"])
        return result
    if isinstance(node, list):
        return [_inline(item, definitions, keep) for item in node]
    return node


@functools.lru_cache(maxsize=64)
def _strict_schema_json(model: type[BaseModel], keep: frozenset[str] = frozenset()) -> str:
    raw = model.model_json_schema()
    return json.dumps(_inline(raw, raw.get("$defs", {}), keep))


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The strict-mode JSON Schema of a draft model, self-contained (a fresh copy)."""
    schema: dict[str, Any] = json.loads(_strict_schema_json(model))
    return schema


def schema_hash(schema: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:16]


def grammar_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The schema sent with ``json_object`` mode, where a server may turn it into a grammar
    (llama-cpp-python does): the strict schema plus the array bounds the contract states (at most
    six key points), so the grammar closes such a list where the contract says it ends."""
    schema: dict[str, Any] = json.loads(_strict_schema_json(model, frozenset(_GRAMMAR_BOUNDS)))
    return schema
