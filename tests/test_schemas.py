from __future__ import annotations

import json
from typing import Any

import pytest

from summarizer._models import ExtractionDraft, ReduceDraft
from summarizer._prompts import data_dir
from summarizer._schema_export import all_schemas, render
from summarizer._schemas import _UNSUPPORTED, strict_schema


def walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


@pytest.mark.parametrize("model", [ExtractionDraft, ReduceDraft])
def test_model_facing_schemas_are_strict_mode_compatible(model) -> None:
    schema = strict_schema(model)
    objects = [node for node in walk(schema) if node.get("type") == "object"]
    assert objects
    for node in objects:
        assert node["additionalProperties"] is False
        assert sorted(node["required"]) == sorted(node["properties"])
    for node in walk(schema):
        assert "$ref" not in node and "$defs" not in node
        assert not (_UNSUPPORTED & set(node)), set(node) & _UNSUPPORTED


def test_optional_values_are_nullable_not_omitted() -> None:
    claim = strict_schema(ExtractionDraft)["properties"]["claims"]["items"]
    assert "speaker" in claim["required"]
    assert {"type": "null"} in claim["properties"]["speaker"]["anyOf"]


def test_computed_fields_never_go_to_the_model() -> None:
    text = json.dumps(strict_schema(ExtractionDraft))
    for computed in ("grounded", "spans", "provenance", "warnings", "doc_id"):
        assert f'"{computed}"' not in text


def test_field_descriptions_reach_the_model() -> None:
    claim = strict_schema(ExtractionDraft)["properties"]["claims"]["items"]
    assert "character for character" in claim["properties"]["evidence"]["description"]


def test_exported_schemas_match_the_code() -> None:
    folder = data_dir("schemas")
    expected = all_schemas()
    on_disk = {path.name for path in folder.glob("*.json")}
    assert on_disk == set(expected), "run `summarizer schemas schemas/` to re-export"
    for name, schema in expected.items():
        assert (folder / name).read_text(encoding="utf-8") == render(schema), (
            f"schemas/{name} drifted from the code: run `summarizer schemas schemas/`"
        )
