"""The Ray Data executor on a local Ray instance (2 CPUs, started here) against the
loopback fake model: the same results as a local run, and RPM, budget and cache that hold
for the whole cluster, not per worker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install '.[ray]'")

from summarizer import LLMConfig, Summarizer, SummarizerConfig, load_articles  # noqa: E402
from summarizer._pricing import Price  # noqa: E402
from summarizer._ray import read_articles, run_with_ray, summarize_dataset  # noqa: E402
from summarizer._runner import run  # noqa: E402
from summarizer._testing import FakeServer, ScriptedModel  # noqa: E402

pytestmark = [
    pytest.mark.ray,
    # Ray Data warns about its own deprecated settings when it copies its context.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray"),
]


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
    )
    yield
    ray.shutdown()


class TimedModel(ScriptedModel):
    """A ScriptedModel that notes when each request arrived (server side)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrivals: list[float] = []
        self._times = threading.Lock()

    def respond(self, body: dict[str, Any], step: str = "extract") -> tuple[int, dict[str, Any]]:
        with self._times:
            self.arrivals.append(time.monotonic())
        return super().respond(body, step)


def article(i: int) -> str:
    return (
        f"Officials said {i + 3} people were rescued from the river on Monday morning.\n\n"
        f"The mayor of Town {i} announced that the bridge would stay closed for repairs.\n\n"
        f"Engineers found {i + 1} cracks in the main span during the inspection last week."
    )


def write_articles(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"a{i:03d}.txt").write_text(article(i), encoding="utf-8")
    return folder


def lines_without_timing(path: Path) -> list[dict[str, Any]]:
    """results.jsonl rows with the one field that differs between runs (wall time) removed."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row.get("provenance", {}).pop("seconds", None)
    return rows


def llm(server: FakeServer, **overrides: Any) -> LLMConfig:
    values: dict[str, Any] = {"model": "fake-model", "base_url": server.base_url}
    return LLMConfig(**(values | overrides))


def test_offline_run_matches_a_local_run_byte_for_byte(tmp_path: Path, seeds_dir: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for seed in sorted(seeds_dir.glob("*.txt")):
        (folder / seed.name).write_bytes(seed.read_bytes())
    (folder / "empty.txt").write_text("  \n", encoding="utf-8")  # a load failure, listed first
    loaded = load_articles([folder])
    config = SummarizerConfig(engine="extractive")
    local = run(Summarizer(config), loaded, out=tmp_path / "local")
    remote = run_with_ray(config, loaded, tmp_path / "ray")
    assert [r.doc_id for r in remote.done] == [r.doc_id for r in local.done]
    assert remote.done[0].doc_id == "empty.txt"
    assert lines_without_timing(tmp_path / "ray/results.jsonl") == lines_without_timing(
        tmp_path / "local/results.jsonl"
    )
    summary = (tmp_path / "ray/summary.md").read_bytes()
    assert summary == (tmp_path / "local/summary.md").read_bytes()
    files = sorted(p.name for p in (tmp_path / "ray").glob("*.json"))
    assert files == sorted(p.name for p in (tmp_path / "local").glob("*.json"))


def test_model_run_matches_local_keeps_failures_and_a_rerun_pays_nothing(tmp_path: Path) -> None:
    loaded = load_articles([write_articles(tmp_path / "in", 6)])
    model = ScriptedModel(fail_documents={"a002.txt"})
    with FakeServer(model) as server:
        local_config = SummarizerConfig(
            llm=llm(server, max_attempts=1), cache_path=tmp_path / "local.sqlite3"
        )
        run(Summarizer(local_config, env={}), loaded, out=tmp_path / "local")
        local_calls = model.requests
        config = local_config.model_copy(update={"cache_path": tmp_path / "ray.sqlite3"})
        first = run_with_ray(config, loaded, tmp_path / "ray")
        assert model.requests == 2 * local_calls
        rerun = run_with_ray(config, loaded, tmp_path / "again")
        # Every finished call comes from the cache; only the failed article is asked again.
        assert model.requests == 2 * local_calls + 1
    assert lines_without_timing(tmp_path / "ray/results.jsonl") == lines_without_timing(
        tmp_path / "local/results.jsonl"
    )
    failed = [r for r in first.done if not hasattr(r, "claims")]
    assert [f.doc_id for f in failed] == ["a002.txt"]
    again = {r["doc_id"]: r for r in lines_without_timing(tmp_path / "again/results.jsonl")}
    assert again["a000.txt"]["provenance"]["usage"]["cache_hits"] == 1
    assert again["a000.txt"]["provenance"]["usage"]["requests"] == 0
    assert [r.doc_id for r in rerun.done] == [r.doc_id for r in first.done]


def test_two_workers_together_hold_one_requests_per_minute_limit(tmp_path: Path) -> None:
    """30 requests a minute for the cluster (30 banked, then one every 2 s): any stretch of
    W seconds sees at most 30 + W / 2 requests at the server. Each worker's own limiter
    alone would let all 34 articles through at once."""
    rpm, count = 30, 34
    loaded = load_articles([write_articles(tmp_path / "in", count)])
    model = TimedModel()
    with FakeServer(model) as server:
        config = SummarizerConfig(
            llm=llm(server, requests_per_minute=rpm, concurrency=8), cache=False
        )
        report = run_with_ray(config, loaded, None, batch_size=8)
    assert len(report.done) == count and model.requests == count
    arrivals = sorted(model.arrivals)
    for i, first in enumerate(arrivals):
        for j in range(i, count):
            allowed = rpm + (arrivals[j] - first) * rpm / 60 + 1  # +1: arrival jitter
            assert j - i + 1 <= allowed, (i, j, arrivals[j] - first)
    assert arrivals[-1] - arrivals[0] >= (count - rpm - 1) * 60 / rpm


def test_two_workers_together_hold_one_budget(tmp_path: Path) -> None:
    """A budget of about ten requests, two workers, forty articles: the cluster stops near
    ten requests (plus the few already admitted), not near twenty."""
    count = 40
    loaded = load_articles([write_articles(tmp_path / "in", count)])
    model = ScriptedModel()
    price = Price(input=1_000_000.0, cached_input=0.0, output=0.0)  # $1 a prompt token
    with FakeServer(model) as server:
        probe = Summarizer(SummarizerConfig(llm=llm(server), cache=False), env={})
        probe.summarize(loaded.documents[0].text)
        per_request = model.prompt_tokens[-1]
        model.requests = 0
        budget = per_request * 10.5
        config = SummarizerConfig(
            llm=llm(server, concurrency=1, max_cost_usd=budget, prices={"fake-model": price}),
            cache=False,
        )
        report = run_with_ray(config, loaded, None, batch_size=4)
    over = [r for r in report.done if getattr(r, "error_type", "") == "BudgetExceededError"]
    in_flight = 2 * 2  # workers x articles each may have admitted past the check
    assert 10 <= model.requests <= 11 + in_flight
    assert len(over) == count - model.requests


def test_summarize_dataset_reads_jsonl_with_rays_reader(tmp_path: Path) -> None:
    path = tmp_path / "articles.jsonl"
    rows = [{"id": f"n{i}", "text": article(i)} for i in range(5)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = SummarizerConfig(engine="extractive")
    # One worker: the read task needs the other CPU of this 2-CPU instance.
    out = summarize_dataset(read_articles(path), config, workers=1).take_all()
    assert [r["doc_id"] for r in out] == [r["id"] for r in rows]
    with Summarizer(config) as summarizer:
        local = summarizer.summarize(article(3))
    remote = json.loads(out[3]["result"])
    assert remote["summary"] == local.summary
    assert remote["claims"] == json.loads(local.model_dump_json())["claims"]


def test_the_cli_runs_through_ray_and_writes_what_a_local_run_writes(
    tmp_path: Path, seeds_dir: Path
) -> None:
    from summarizer._cli import main

    args = ["run", str(seeds_dir), "--engine", "extractive", "--no-log", "-q"]
    assert main([*args, "-o", str(tmp_path / "local")]) == 0
    assert main([*args, "-o", str(tmp_path / "ray"), "--executor", "ray"]) == 0
    assert lines_without_timing(tmp_path / "ray/results.jsonl") == lines_without_timing(
        tmp_path / "local/results.jsonl"
    )
