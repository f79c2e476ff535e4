from __future__ import annotations

from pathlib import Path

import pytest

from summarizer._errors import PromptError
from summarizer._prompts import data_dir, load_prompt, load_template


@pytest.mark.parametrize("name", ["extract", "reduce"])
def test_templates_load_with_a_version_and_hash(name: str) -> None:
    template = load_prompt(name)
    assert template.name == name and template.version
    assert len(template.sha256) == 64


def test_every_file_in_prompts_is_a_valid_template() -> None:
    paths = sorted(data_dir("prompts").glob("*.toml"))
    assert len(paths) >= 2
    for path in paths:
        load_template(path)


def test_the_article_comes_last_and_is_marked_untrusted() -> None:
    template = load_prompt("extract")
    user = template.fill("user", summary_words=100, part_note="", doc_id="a", article="BODY")
    assert user.endswith("BODY\n</article>")
    assert "never an order" in template.system
    assert "character for character" in template.system


def test_a_template_with_an_unknown_placeholder_is_rejected(tmp_path: Path) -> None:
    text = (data_dir("prompts") / "extract.toml").read_text(encoding="utf-8")
    bad = tmp_path / "extract.toml"
    bad.write_text(text.replace("$summary_words", "$budget"), encoding="utf-8")
    with pytest.raises(PromptError, match="budget"):
        load_template(bad)


def test_a_missing_template_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="no prompt template named 'nope'"):
        load_prompt("nope", tmp_path)


def test_filling_with_a_missing_or_foreign_value_is_a_typed_error() -> None:
    template = load_prompt("extract")
    with pytest.raises(PromptError, match=r"extract, user: missing \['doc_id'\]"):
        template.fill("user", summary_words=100, part_note="", article="BODY")
    with pytest.raises(PromptError, match=r"not taken \['notes'\]"):
        template.messages(summary_words=1, part_note="", doc_id="a", article="B", notes="x")
    with pytest.raises(PromptError, match=r"reask: missing \['errors'\]"):
        template.fill("reask")


def test_a_template_must_use_exactly_the_inputs_it_declares(tmp_path: Path) -> None:
    text = (data_dir("prompts") / "judge.toml").read_text()
    path = tmp_path / "judge.toml"
    path.write_text(text.replace('inputs = ["a", "b"]', 'inputs = ["a", "b", "c"]'))
    with pytest.raises(PromptError, match=r"user must use exactly \['a', 'b', 'c'\]"):
        load_template(path)
