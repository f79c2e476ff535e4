"""The command line as a newsroom uses it: mixed inputs, reports, the run log, the cache."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from summarizer._cli import main

INPUTS = Path(__file__).parent / "data" / "inputs"


def usage_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as caught:
        main(list(args))
    assert caught.value.code == 2
    return capsys.readouterr().err


def test_a_missing_input_is_a_usage_error_naming_it_once(tmp_path: Path, capsys) -> None:
    missing = str(tmp_path / "nope")
    err = usage_error(capsys, "run", missing)
    assert "usage: summarizer run" in err
    assert err.count(missing) == 1 and "no such file or folder" in err


def test_errors_show_the_subcommand_usage_and_prefixes_are_refused(capsys) -> None:
    err = usage_error(capsys, "run", "seeds", "--form", "md")
    assert "usage: summarizer run" in err and "unrecognized arguments: --form" in err
    err = usage_error(capsys, "digest")
    assert "usage: summarizer digest" in err


def test_folder_with_html_jsonl_csv_and_skipped_files(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    shutil.copytree(INPUTS, folder)
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4")
    out = tmp_path / "out"
    fields = ["--text-field", "body", "--id-field", "story_id", "--title-field", "headline"]
    code = main(["run", str(folder), "-o", str(out), *fields, "-q", "--no-log"])
    err = capsys.readouterr().err
    assert "warning: skipped 1 file(s)" in err and "scan.pdf" in err
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    by_id = {r["doc_id"]: r for r in results}
    # --text-field body: the CSV has it, the JSONL ('content') does not.
    assert by_id["export.csv#s1"]["status"] == "ok"
    assert by_id["export.csv#s1"]["title"] == "Port Strike Ends"
    assert by_id["export.jsonl#1"]["status"] == "error"
    assert "--text-field" in by_id["export.jsonl#1"]["message"]
    assert by_id["page.html"]["title"] == "Harbour Bridge Reopens After Repairs"
    assert by_id["page.html"]["date"] == "2024-03-14"
    assert code == 1


def test_html_file_by_name_is_summarised_without_tags(capsys) -> None:
    assert main(["run", str(INPUTS / "page.html"), "-f", "jsonl", "-q", "--no-log"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "<" not in result["summary"] and "Cookie" not in result["summary"]
    assert all(claim["grounded"] for claim in result["claims"])


def test_rerun_into_the_same_out_leaves_no_stale_files(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(f"Article {name}. The mayor opened a new bridge on Monday.")
    out = tmp_path / "out"
    (tmp_path / "out").mkdir()
    (out / "mine.txt").write_text("a file of the user's")
    assert main(["run", str(folder), "-o", str(out), "-q", "--no-log"]) == 0
    assert (out / "b.txt.json").exists() and (out / "report.html").exists()
    (folder / "b.txt").unlink()
    assert main(["run", str(folder), "-o", str(out), "-q", "--no-log"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert "b.txt.json" not in names and "a.txt.json" in names and "mine.txt" in names
    capsys.readouterr()


def test_format_html_to_stdout_is_one_self_contained_page(seeds_dir: Path, capsys) -> None:
    seed = seeds_dir / "002_f248215e3943961e.txt"
    assert main(["run", str(seed), "--format", "html", "-q", "--no-log"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and "report-data" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page


def test_progress_lines_show_n_of_total_cost_and_failures(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("The council approved the budget on Monday, the mayor said.")
    (folder / "b.txt").write_bytes(b"\x00\x01binary")
    main(["run", str(folder), "--no-log"])
    err = capsys.readouterr().err
    assert "[1/1 · $0.0000 · 0 failed] a.txt ok" in err


def test_chunk_text_format_shows_the_chunks(seeds_dir: Path, capsys) -> None:
    seed = seeds_dir / "002_f248215e3943961e.txt"
    assert main(["chunk", str(seed), "--max-tokens", "128", "-f", "text"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# 002_f248215e3943961e.txt")
    assert "--- chunk 0: " in out and "--- chunk 1: " in out
    assert "Pyongyang is nominally an ideological partner of Beijing" in out
    assert main(["chunk", str(seed), "--max-tokens", "128"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert all(c["text"] for c in record["chunks"])


def test_digest_format_json_and_html_file(seeds_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "digest"
    assert main(["digest", str(seeds_dir), "-o", str(out), "-f", "json", "-q", "--no-log"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["articles"]) == 5
    page = (out / "digest.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "stories" in page
    assert (out / "digest.md").exists() and (out / "digest.json").exists()


def test_schemas_needs_a_folder_and_writes_there(tmp_path: Path, capsys) -> None:
    assert "usage: summarizer schemas" in usage_error(capsys, "schemas")
    assert main(["schemas", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "document_summary.schema.json").exists()


def test_runs_are_logged_and_shown(tmp_path: Path, seeds_dir: Path, capsys) -> None:
    folder = tmp_path / "in"
    shutil.copytree(seeds_dir, folder)
    (folder / "broken.txt").write_bytes(b"\x00binary")
    assert main(["run", str(folder), "-q"]) == 1
    assert main(["logs"]) == 0
    listing = capsys.readouterr().out
    assert "run" in listing and "failed" in listing and "5/6" in listing
    assert main(["logs", "show", "1"]) == 0
    shown = capsys.readouterr().out
    assert "engine           extractive" in shown
    assert "broken.txt  FAILED  ArticleLoadError" in shown
    assert "000_30a5b09cbd3e3be1.txt  ok" in shown
    assert main(["logs", "show", "last"]) == 0
    assert "no run 9" in usage_error(capsys, "logs", "show", "9")


def test_cache_stats_prune_and_clear(tmp_path: Path, capsys) -> None:
    from summarizer._cache import ResponseCache

    path = tmp_path / "cache.sqlite3"
    cache = ResponseCache(path)
    cache.put("old", "{}", {})
    cache.put("new", '{"a": 1}', {})
    cache.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE replies SET created = created - 40 * 86400 WHERE key = 'old'")
    assert main(["cache", "stats", "--cache", str(path)]) == 0
    assert "entries      2" in capsys.readouterr().out
    assert main(["cache", "prune", "--older-than", "30", "--cache", str(path)]) == 0
    assert "removed 1 replies" in capsys.readouterr().out
    assert main(["cache", "clear", "--cache", str(path)]) == 0
    assert "removed 1 replies" in capsys.readouterr().out
    assert "--older-than" in usage_error(capsys, "cache", "prune", "--cache", str(path))


def test_eval_model_flags_win_over_the_environment(monkeypatch) -> None:
    import os

    from summarizer._cli import _model_environment, build_parser

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    args = build_parser().parse_args(
        ["eval", "-m", "m1", "--base-url", "http://127.0.0.1:2/v1", "--api-key", "k"]
    )
    _model_environment(args)
    assert os.environ["SUMMARIZER_MODEL"] == "m1"
    assert os.environ["OPENAI_BASE_URL"] == "http://127.0.0.1:2/v1"
    assert os.environ["OPENAI_API_KEY"] == "k"


def test_the_cli_module_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, summarizer._cli; "
        "print(sorted(m for m in ('openai', 'datasketch', 'scipy', 'numpy', 'pydantic',"
        " 'trafilatura', 'rich') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_public_names_still_import_lazily() -> None:
    import summarizer

    assert summarizer.Summarizer.__name__ == "Summarizer"
    assert "load_articles" in dir(summarizer)
    with pytest.raises(AttributeError):
        summarizer.not_a_name  # noqa: B018


def test_summary_md_opens_with_linked_contents(seeds_dir: Path, capsys) -> None:
    assert main(["run", str(seeds_dir), "-f", "md", "-q", "--no-log"]) == 0
    text = capsys.readouterr().out
    contents = text.split("## Contents", 1)[1].split("\n## ", 1)[0]
    assert len([x for x in contents.splitlines() if x.startswith("- [")]) == 5
    assert (
        "- [China Torn Between Alliances as North Korea Sends Troops to Ukraine]"
        "(#china-torn-between-alliances-as-north-korea-sends-troops-to-ukraine)" in contents
    )
