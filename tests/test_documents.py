from __future__ import annotations

import io
from pathlib import Path

import pytest

from summarizer._documents import load_articles, load_stdin
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
    (tmp_path / "notes.csv").write_text("x,y", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("hidden", encoding="utf-8")
    result = load_articles([tmp_path])
    assert [d.id for d in result.documents] == ["a.txt", "b/two.md"]


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
