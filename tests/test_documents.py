from __future__ import annotations

import io
from pathlib import Path

import pytest

from summarizer._documents import RecordFields, load_articles, load_stdin
from summarizer._errors import ArticleLoadError


def reasons(result) -> dict[str, str]:
    return {Path(e.path).name: e.reason for e in result.errors}


def test_seed_folder_loads_sorted_with_stable_ids(seeds_dir: Path) -> None:
    result = load_articles([seeds_dir])
    assert result.errors == []
    assert [d.id for d in result.documents] == sorted(p.name for p in seeds_dir.glob("*.txt"))
    first = result.documents[0]
    assert first.text == (seeds_dir / first.id).read_text(encoding="utf-8")
    assert len(first.content_hash) == 64


def test_folders_are_searched_recursively_for_txt_and_md(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.md").write_text("Second article.", encoding="utf-8")
    (tmp_path / "a.txt").write_text("First article.", encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / ".hidden.txt").write_text("hidden", encoding="utf-8")
    result = load_articles([tmp_path])
    assert [d.id for d in result.documents] == ["a.txt", "b/two.md"]
    assert result.skipped == [str(tmp_path / "notes.pdf")]


def test_bom_and_line_endings_are_decoded(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes("\ufeffTitle\r\nBody line.\rMore.".encode())
    [doc] = load_articles([tmp_path]).documents
    assert doc.text.startswith("Title")
    assert "\ufeff" not in doc.text


def test_each_bad_file_gets_its_own_error_and_the_others_still_load(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("A good article about something.", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (tmp_path / "empty.txt").write_text("  \n\n ", encoding="utf-8")
    (tmp_path / "big.txt").write_text("x" * 2000, encoding="utf-8")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    result = load_articles([tmp_path], max_bytes=1000)
    assert [d.id for d in result.documents] == ["good.txt"]
    found = reasons(result)
    assert "binary" in found["binary.txt"]
    assert "UTF-8" in found["latin1.txt"] and "offset 3" in found["latin1.txt"]
    assert "empty" in found["empty.txt"]
    assert "1,000-byte limit" in found["big.txt"]
    assert "broken symbolic link" in found["dangling.txt"]
    assert "broken symbolic link" in found["loop.txt"]
    for error in result.errors:
        assert isinstance(error, ArticleLoadError)
        assert str(tmp_path) in str(error)  # the message names the file


def test_a_directory_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("Text.", encoding="utf-8")
    (tmp_path / "sub" / "back").symlink_to(tmp_path, target_is_directory=True)
    result = load_articles([tmp_path])
    assert [d.id for d in result.documents] == ["sub/a.txt"]


def test_an_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret.txt").write_text("text", encoding="utf-8")
    (tmp_path / "open.txt").write_text("text", encoding="utf-8")
    real_open = Path.open

    def deny(self: Path, *args, **kwargs):
        if self.name == "secret.txt":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    result = load_articles([tmp_path])
    assert reasons(result) == {"secret.txt": "cannot read: Permission denied"}
    assert [d.id for d in result.documents] == ["open.txt"]


def test_a_missing_path_is_reported(tmp_path: Path) -> None:
    result = load_articles([tmp_path / "nope"])
    assert "no such file" in result.errors[0].reason


def test_an_explicit_file_loads_whatever_its_extension(tmp_path: Path) -> None:
    path = tmp_path / "story.html.txt.bak"
    path.write_text("Body.", encoding="utf-8")
    [doc] = load_articles([path]).documents
    assert doc.id == "story.html.txt.bak"


def test_stdin_gets_a_content_hash_id() -> None:
    doc = load_stdin(io.BytesIO(b"An article from a pipe."))
    assert doc.id == f"stdin-{doc.content_hash[:12]}"
    result = load_articles(["-"], stdin=io.BytesIO(b""))
    assert "empty" in result.errors[0].reason


INPUTS = Path(__file__).parent / "data" / "inputs"


def test_html_gives_the_main_text_and_its_metadata() -> None:
    result = load_articles([INPUTS / "page.html"])
    assert result.errors == []
    [doc] = result.documents
    assert doc.id == "page.html"
    assert doc.metadata == {
        "title": "Harbour Bridge Reopens After Repairs",
        "date": "2024-03-14",
        "author": "Maria Lopez",
    }
    assert "<p>" not in doc.text and "42 million dollars" in doc.text
    assert "Subscribe now" not in doc.text and "Cookie settings" not in doc.text
    assert '"The bridge is safer than it has been in decades," said Mayor Ana Ruiz' in doc.text


def test_html_title_and_date_reach_the_summary() -> None:
    from summarizer._normalize import normalize_text

    [doc] = load_articles([INPUTS / "page.html"]).documents
    normalized = normalize_text(doc.text)
    assert normalized.title == "Harbour Bridge Reopens After Repairs"
    assert normalized.date == "2024-03-14"


def test_html_without_article_text_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty.html").write_text("<html><head><title>T</title></head><body></body></html>")
    result = load_articles([tmp_path])
    assert result.documents == []
    assert "no article text" in reasons(result)["empty.html"]


def test_jsonl_records_with_default_fields() -> None:
    result = load_articles([INPUTS / "export.jsonl"])
    assert result.errors == []
    assert [d.id for d in result.documents] == ["export.jsonl#a1", "export.jsonl#a2"]
    first = result.documents[0]
    assert first.metadata == {"title": "Council Approves New Library", "date": "2024-05-02"}
    assert first.text.startswith("Council Approves New Library\nPublished 2024-05-02\n\n")
    assert first.text.endswith("said council president Jo Park.")
    assert first.source.endswith("export.jsonl:1")


def test_csv_records_with_named_fields() -> None:
    fields = RecordFields(text="body", id="story_id", title="headline", date="published")
    result = load_articles([INPUTS / "export.csv"], fields=fields)
    assert result.errors == []
    assert [d.id for d in result.documents] == ["export.csv#s1", "export.csv#s2"]
    assert "agreeing a 6 percent pay rise, the union said.\nShips began" in result.documents[0].text
    assert result.documents[1].metadata["title"] == "Museum Reopens"
    assert result.documents[1].source.endswith("export.csv:4")


def test_a_bad_record_does_not_sink_the_others(tmp_path: Path) -> None:
    (tmp_path / "mixed.jsonl").write_text(
        '{"text": "First good article body."}\n'
        "not json\n"
        '["a list"]\n'
        '{"body": ""}\n'
        '{"headline": "no text at all"}\n'
        '{"body": "Second good article body.", "id": 7}\n',
        encoding="utf-8",
    )
    result = load_articles([tmp_path])
    assert [d.id for d in result.documents] == ["mixed.jsonl#1", "mixed.jsonl#7"]
    messages = sorted(str(e) for e in result.errors)
    assert len(messages) == 4
    assert any("mixed.jsonl:2: not valid JSON" in m for m in messages)
    assert any("mixed.jsonl:3: a JSONL line must be a JSON object" in m for m in messages)
    assert any("mixed.jsonl:4: field 'body' is empty" in m for m in messages)
    assert any("mixed.jsonl:5: no 'text' or 'content' or 'body' field" in m for m in messages)


def test_a_missing_text_field_names_the_flag(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    result = load_articles([tmp_path / "x.csv"], fields=RecordFields(text="story"))
    [error] = result.errors
    assert "no 'story' field" in str(error) and "--text-field" in str(error)


def test_same_file_name_in_two_folders_gets_two_ids(tmp_path: Path) -> None:
    for year in ("2024", "2025"):
        (tmp_path / year).mkdir()
        (tmp_path / year / "article.txt").write_text(f"An article from {year}.")
    result = load_articles([tmp_path / "2024", tmp_path / "2025"])
    assert result.errors == []
    assert [d.id for d in result.documents] == [
        (tmp_path / "2024" / "article.txt").as_posix(),
        (tmp_path / "2025" / "article.txt").as_posix(),
    ]
    # One folder holding both keeps the short relative ids.
    result = load_articles([tmp_path])
    assert [d.id for d in result.documents] == ["2024/article.txt", "2025/article.txt"]


def test_the_same_file_twice_is_still_a_duplicate(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Only once.")
    result = load_articles([tmp_path / "a.txt", tmp_path / "a.txt"])
    assert len(result.documents) == 1
    assert "duplicate article id" in str(result.errors[0])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_utf16_and_utf32_with_a_bom_are_decoded(tmp_path: Path, encoding: str) -> None:
    text = "Grüße aus Köln — “quoted” text."
    bom = {"utf-16-be": b"\xfe\xff", "utf-32-be": b"\x00\x00\xfe\xff"}.get(encoding, b"")
    (tmp_path / "wide.txt").write_bytes(bom + text.encode(encoding))
    [doc] = load_articles([tmp_path]).documents
    assert doc.text == text


def test_utf16_without_a_bom_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "wide.txt").write_bytes("No BOM here.".encode("utf-16-le"))
    result = load_articles([tmp_path])
    assert "binary" in reasons(result)["wide.txt"]


def test_a_missing_path_is_listed_once(tmp_path: Path) -> None:
    result = load_articles([tmp_path / "nope"])
    assert result.missing == [str(tmp_path / "nope")]
    [error] = result.errors
    assert str(error) == f"{tmp_path / 'nope'}: no such file or folder"
