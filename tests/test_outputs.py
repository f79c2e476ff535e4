"""Outputs cannot sink a run: bad folders are found before any paid call, a file that
cannot be written fails only its article, a killed or stopped run leaves valid files."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import respx

from summarizer._cli import main
from summarizer._testing import FakeServer, ScriptedModel

from .fakes import BASE_URL
from .test_cli import slow_run, start_and_wait_for


def model_run(seeds_dir: Path, out: Path, *extra: str) -> list[str]:
    return ["run", str(seeds_dir), "-o", str(out), "--engine", "llm", "--base-url", BASE_URL,
            "--api-key", "sk-test", "--no-log", *extra]  # fmt: skip


@pytest.mark.parametrize("kind", ["a file", "inside a file"])
def test_an_unusable_out_is_an_error_before_any_call(
    tmp_path: Path, seeds_dir: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("a file")
    out = blocker if kind == "a file" else blocker / "results"
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.post("/chat/completions")
        assert main(model_run(seeds_dir, out)) == 2
    assert route.call_count == 0
    assert f"output error: {out}" in capsys.readouterr().err


def test_a_result_that_cannot_be_written_fails_only_its_article(
    tmp_path: Path, seeds_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    (out / "002_f248215e3943961e.txt.json").mkdir(parents=True)  # a folder where a file goes
    scripted = ScriptedModel()
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=scripted.handle)
        assert main(model_run(seeds_dir, out)) == 1
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["doc_id"][:3], r["status"]) for r in lines] == [
        ("000", "ok"), ("001", "ok"), ("002", "error"), ("003", "ok"), ("004", "ok")
    ]  # fmt: skip
    assert lines[2]["error_type"] == "OutputError"
    assert "002_f248215e3943961e.txt.json" in capsys.readouterr().err
    assert len(list(out.glob("*.txt.json"))) == 5  # the four written, and the folder


def test_a_failed_rerun_keeps_the_earlier_good_result(tmp_path: Path, seeds_dir: Path) -> None:
    out = tmp_path / "out"
    scripted = ScriptedModel()
    args = model_run(seeds_dir, out, "--no-cache")
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=scripted.handle)
        assert main(args) == 0
        good = (out / "001_927e38b87814a409.txt.json").read_text()
        scripted.fail_documents = {"001_927e38b87814a409.txt"}
        assert main([*args, "--max-attempts", "1"]) == 1
    assert (out / "001_927e38b87814a409.txt.json").read_text() == good
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["status"] for r in lines] == ["ok", "error", "ok", "ok", "ok"]  # this run's


def test_sigterm_stops_like_ctrl_c_and_leaves_valid_results(
    tmp_path: Path, seeds_dir: Path
) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "SUMMARIZER_CACHE_DIR": str(tmp_path / "cache")}
    with FakeServer(ScriptedModel(), latency=1.0) as server:
        process = start_and_wait_for(slow_run(seeds_dir, out, server.base_url), env, out, 1)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    done = len(list(out.glob("*.txt.json")))
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert 1 <= done < 5 and len(lines) == done


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--concurrency", "0", "argument --concurrency: must be at least 1, not 0"),
        ("--summary-words", "-5", "argument --summary-words: must be at least 10, not -5"),
        ("--max-attempts", "0", "argument --max-attempts: must be at least 1, not 0"),
        ("--max-cost", "-1", "argument --max-cost: must be at least 0, not -1"),
        ("--tpm", "0", "argument --tpm: must be greater than 0, not 0"),
        ("--concurrency", "many", "argument --concurrency: 'many' is not a int"),
    ],
)
def test_a_bad_option_names_its_flag_in_the_commands_usage(
    seeds_dir: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, says: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["run", str(seeds_dir), flag, value])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and says in err
    assert err.startswith("usage: summarizer run") and "ValidationError" not in err


def test_a_dry_run_needs_no_key(seeds_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(seeds_dir), "--engine", "llm", "--dry-run", "--no-log"]) == 0
    assert "5 articles, 5 calls" in capsys.readouterr().out


def test_a_request_larger_than_the_tpm_limit_fails_at_once(tmp_path: Path, seeds_dir: Path) -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.post("/chat/completions")
        assert main(model_run(seeds_dir, tmp_path / "o", "--tpm", "500")) == 1
    assert route.call_count == 0
    lines = [json.loads(x) for x in (tmp_path / "o" / "results.jsonl").read_text().splitlines()]
    assert {r["error_type"] for r in lines} == {"ConfigError"}
    assert "raise --tpm" in lines[0]["message"]


def test_timeout_sets_the_total_deadline_of_an_attempt() -> None:
    from summarizer._cli import build_config, build_parser

    args = build_parser().parse_args(["run", "x", "--base-url", BASE_URL, "--timeout", "45"])
    llm = build_config(args).llm
    assert llm is not None and llm.timeout_seconds == 45
