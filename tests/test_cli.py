from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from summarizer._cli import main
from summarizer._testing import FakeServer, ScriptedModel


def run_cli(*args: str) -> int:
    return main(list(args))


def test_run_on_seeds_writes_every_output(tmp_path: Path, seeds_dir: Path, capsys) -> None:
    out = tmp_path / "out"
    assert run_cli("run", str(seeds_dir), "--out", str(out)) == 0
    captured = capsys.readouterr()
    assert "engine: extractive" in captured.err and "OPENAI_API_KEY" in captured.err
    assert "grounded" in captured.err and "100.0%" in captured.err
    names = sorted(p.name for p in out.iterdir())
    assert "results.jsonl" in names and "summary.md" in names
    assert len([n for n in names if n.endswith(".txt.json")]) == 5
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["doc_id"] for line in lines] == sorted(
        p.name for p in seeds_dir.glob("*.txt")
    )
    markdown = (out / "summary.md").read_text(encoding="utf-8")
    assert "## China Torn Between Alliances" in markdown and "**Claims**" in markdown
    # Every evidence quote in out/ is located in its seed file.
    for line in lines:
        result = json.loads(line)
        source = (seeds_dir / result["doc_id"]).read_text(encoding="utf-8")
        for claim in result["claims"]:
            span = claim["spans"][0]
            assert claim["grounded"] and source[span["start"] : span["end"]] == claim["evidence"]


def test_format_jsonl_goes_to_stdout(seeds_dir: Path, capsys) -> None:
    assert run_cli("run", str(seeds_dir / "002_f248215e3943961e.txt"), "--format", "jsonl") == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["title"].startswith("North Korean Troops")


def test_a_broken_file_exits_1_and_the_rest_is_written(
    tmp_path: Path, seeds_dir: Path, capsys
) -> None:
    folder = tmp_path / "in"
    shutil.copytree(seeds_dir, folder)
    (folder / "broken.txt").write_bytes(b"\xff\xfe\x00binary")
    out = tmp_path / "out"
    assert run_cli("run", str(folder), "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert "failed: broken.txt" in err and "binary" in err
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert sum(r["status"] == "ok" for r in results) == 5
    assert json.loads((out / "broken.txt.json").read_text())["status"] == "error"


def test_output_names_stay_inside_the_folder(tmp_path: Path) -> None:
    from summarizer._render import OutputWriter

    writer = OutputWriter(tmp_path / "out")
    for doc_id in ["../../etc/passwd", "a/b.txt", "a_b.txt", "..", "", "über/ß.md"]:
        path = writer.path_for(doc_id)
        assert path.parent == (tmp_path / "out").resolve()
    assert writer.path_for("a/b.txt") != writer.path_for("a_b.txt")


def test_dry_run_calls_nothing(seeds_dir: Path, capsys) -> None:
    with FakeServer(ScriptedModel()) as server:
        code = run_cli(
            "run", str(seeds_dir), "--engine", "llm", "--base-url", server.base_url, "--dry-run"
        )
        assert code == 0 and server.model.requests == 0
    out = capsys.readouterr().out
    assert "5 articles, 5 calls" in out and "no call was made" in out


def test_llm_engine_without_a_key_is_a_usage_error(seeds_dir: Path, capsys) -> None:
    assert run_cli("run", str(seeds_dir), "--engine", "llm") == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        run_cli("run")
    assert caught.value.code == 2


def test_llm_run_with_one_failing_article_then_a_free_rerun(
    tmp_path: Path, seeds_dir: Path, capsys
) -> None:
    model = ScriptedModel(fail_documents={"003_65811a93c3d58a0f.txt"})
    out = tmp_path / "out"
    cache = str(tmp_path / "cache.sqlite3")
    with FakeServer(model) as server:
        args = [
            "run",
            str(seeds_dir),
            "--out",
            str(out),
            "--base-url",
            server.base_url,
            "--cache",
            cache,
            "--max-attempts",
            "1",
        ]
        assert run_cli(*args) == 1
        err = capsys.readouterr().err
        assert "failed: 003_65811a93c3d58a0f.txt" in err
        results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
        assert [r["status"] for r in results] == ["ok", "ok", "ok", "error", "ok"]
        first_run = model.requests
        model.fail_documents = set()
        assert run_cli(*args) == 0
        assert model.requests == first_run + 1  # only the article that failed is asked again


def slow_run(seeds_dir: Path, out: Path, base_url: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "summarizer",
        "run",
        str(seeds_dir),
        "--out",
        str(out),
        "--base-url",
        base_url,
        "--concurrency",
        "1",
    ]


def start_and_wait_for(
    command: list[str], env: dict[str, str], out: Path, results: int
) -> subprocess.Popen[str]:
    """Start a run and return once ``results`` articles are written. The run starts with
    SIGINT at its default, as from a terminal: a shell starts a background job with SIGINT
    ignored, and a process that inherits that ignores Ctrl-C, as it should."""
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while len(list(out.glob("*.txt.json"))) < results and time.monotonic() < deadline:
        time.sleep(0.05)
    return process


def test_a_killed_run_resumes_paying_only_for_what_was_unfinished(
    tmp_path: Path, seeds_dir: Path
) -> None:
    model = ScriptedModel()
    out = tmp_path / "out"
    env = {**os.environ, "SUMMARIZER_CACHE_DIR": str(tmp_path / "cache")}
    with FakeServer(model, latency=0.4) as server:
        command = slow_run(seeds_dir, out, server.base_url)
        process = start_and_wait_for(command, env, out, 2)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        done = len(list(out.glob("*.txt.json")))
        assert 2 <= done < 5
        time.sleep(0.6)  # a request in flight at the kill is still answered (and paid for)
        paid_first = model.requests
        resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        assert model.requests - paid_first <= 5 - done  # finished calls came from the cache
        assert len((out / "results.jsonl").read_text().splitlines()) == 5


def test_ctrl_c_stops_cleanly_and_keeps_what_is_done(tmp_path: Path, seeds_dir: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "SUMMARIZER_CACHE_DIR": str(tmp_path / "cache")}
    with FakeServer(ScriptedModel(), latency=1.0) as server:  # slow: the signal lands mid-run
        process = start_and_wait_for(slow_run(seeds_dir, out, server.base_url), env, out, 1)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    done = len(list(out.glob("*.txt.json")))
    lines = (out / "results.jsonl").read_text().splitlines()  # written at the interruption
    assert 1 <= done < 5 and len(lines) == done
    assert (out / "summary.md").exists()


def test_temperature_and_output_limit_options_reach_the_request(
    tmp_path: Path, seeds_dir: Path
) -> None:
    import httpx
    import respx

    model = ScriptedModel()
    sent: list[dict[str, object]] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return model.handle(request)

    base = "http://llm.test/v1"
    article = seeds_dir / "000_30a5b09cbd3e3be1.txt"
    with respx.mock(base_url=base) as mock:
        mock.post("/chat/completions").mock(side_effect=record)
        code = run_cli(
            "run", str(article), "--out", str(tmp_path / "out"), "--base-url", base,
            "--no-cache", "--no-log", "--temperature", "0", "--max-output-tokens", "300",
        )  # fmt: skip
    assert code == 0 and sent
    assert all(body["temperature"] == 0 and body["max_tokens"] == 300 for body in sent)
    with pytest.raises(SystemExit) as caught:
        run_cli("run", str(article), "--temperature", "-1")
    assert caught.value.code == 2
