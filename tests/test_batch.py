"""The Batch API execution mode, against the fake files + batches endpoint (respx)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from summarizer._batch.cli import add_batch_parser, cmd_batch
from summarizer._batch.job import BatchJob, BatchOptions
from summarizer._batch.jsonl import pack, parse_output, request_line
from summarizer._config import StructuredMode, SummarizerConfig
from summarizer._documents import Document, load_articles
from summarizer._errors import ArticleError
from summarizer._models import DocumentFailure, DocumentSummary
from summarizer._pipeline import Summarizer
from summarizer._testing import (
    FakeBatchAPI,
    HandlerServer,
    ScriptedModel,
    batch_line,
    batch_step,
)

from .fakes import BASE_URL
from .test_pipeline import llm_config


@pytest.fixture
def api():
    fake = FakeBatchAPI()
    with respx.mock(base_url=BASE_URL) as mock:
        mock.route().mock(side_effect=fake.handle)
        yield fake


def seeds(seeds_dir: Path) -> list[Document]:
    return load_articles([seeds_dir]).documents


def open_job(tmp_path: Path, config: SummarizerConfig | None = None, **options: Any) -> BatchJob:
    return BatchJob(tmp_path / "job", config, options=BatchOptions(**options) if options else None)


async def submit(job: BatchJob, documents: list[Document]) -> None:
    job.add_documents(documents)
    await job.advance()
    await job.push()


async def collect_all(job: BatchJob, *, rounds: int = 6) -> int:
    """Collect until every document is finished; returns the rounds it took."""
    for number in range(1, rounds + 1):
        await job.collect()
        if all(r is not None for r in job.results()):
            return number
    raise AssertionError(f"not finished after {rounds} collects: {job.store.counts()}")


async def run_job(
    tmp_path: Path, api: FakeBatchAPI, documents: list[Document]
) -> tuple[BatchJob, int]:
    """Submit and collect to the end against ``api``; the job and the collects it took."""
    with respx.mock(base_url=BASE_URL) as mock:
        mock.route().mock(side_effect=api.handle)
        job = open_job(tmp_path, llm_config(tmp_path))
        await submit(job, documents)
        return job, await collect_all(job)


def summaries(job: BatchJob) -> list[DocumentSummary]:
    results = job.results()
    assert all(isinstance(r, DocumentSummary) for r in results), results
    return [r for r in results if isinstance(r, DocumentSummary)]


def input_lines(api: FakeBatchAPI, batch_id: str) -> list[dict[str, Any]]:
    data = api.files[api.batches[batch_id]["input_file_id"]].decode()
    return [json.loads(line) for line in data.splitlines()]


# -- submit ---------------------------------------------------------------------------------


async def test_submit_prepares_the_requests_run_would_send(
    api: FakeBatchAPI, tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)
    job = open_job(tmp_path, llm_config(tmp_path))
    await submit(job, documents)
    assert api.uploads == 1 and list(api.batches) == ["batch-1"]
    batch = api.batches["batch-1"]
    assert batch["endpoint"] == "/v1/chat/completions" and batch["completion_window"] == "24h"
    lines = input_lines(api, "batch-1")
    assert [line["custom_id"].split(":")[0] for line in lines] == [d.id for d in documents]
    for line in lines:
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        body = line["body"]
        assert body["model"] == "gpt-4o-mini" and body["max_tokens"] == 2048
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["strict"] is True
        assert "extra_body" not in body and "extra_headers" not in body
        assert batch_step(line["custom_id"]) == "extract"
        assert line["custom_id"].split(":")[1] == "-"  # the whole article in one call
    assert job.store.counts() == {"submitted": 5}
    assert all(r is None for r in job.results())
    assert api.model.requests == 0  # nothing answered before the batch runs
    job.close()


async def test_requests_are_split_at_the_request_limit(
    api: FakeBatchAPI, tmp_path: Path, seeds_dir: Path
) -> None:
    job = open_job(tmp_path, llm_config(tmp_path), max_requests=2)
    await submit(job, seeds(seeds_dir))
    assert [len(input_lines(api, b)) for b in api.batches] == [2, 2, 1]
    await collect_all(job)
    assert len(summaries(job)) == 5
    job.close()


def test_files_are_split_at_the_byte_limit() -> None:
    lines = [
        (f"d{i}:-:extract:{i:016x}", request_line(f"d{i}", '{"x": "' + "a" * 50 + '"}'))
        for i in range(5)
    ]
    size = len(lines[0][1].encode())
    groups = list(pack(lines, max_requests=100, max_bytes=2 * size + 1))
    assert [len(g) for g in groups] == [2, 2, 1]
    assert all(sum(len(line.encode()) for _, line in g) <= 2 * size + 1 for g in groups)
    with pytest.raises(ArticleError, match="over the 10-byte file limit") as raised:
        list(pack(lines, max_requests=100, max_bytes=10))
    assert raised.value.document_id == "d0"


# -- collect ----------------------------------------------------------------------------------


async def test_a_completed_batch_gives_the_results_of_a_live_run(
    api: FakeBatchAPI, tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)
    job = open_job(tmp_path, llm_config(tmp_path, cache=False))
    await submit(job, documents)
    assert await collect_all(job) == 1
    assert api.batch_lines == 5 and api.live_requests == 0
    batch = summaries(job)
    live = Summarizer(llm_config(tmp_path / "live", cache=False))
    expected = await live.asummarize_many(documents)
    await live.aclose()
    for got, want in zip(batch, expected, strict=True):
        assert isinstance(want, DocumentSummary)
        assert got.summary == want.summary and got.key_points == want.key_points
        assert [c.model_dump() for c in got.claims] == [c.model_dump() for c in want.claims]
        assert all(c.grounded for c in got.claims)
    report = job.write_outputs(tmp_path / "out")
    assert report.rows()[0] == ("documents", "5 of 5")
    written = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["doc_id"] for line in written] == [d.id for d in documents]
    assert (tmp_path / "out" / f"{documents[0].id}.json").exists()
    assert "# Summaries" in (tmp_path / "out" / "summary.md").read_text()
    job.close()


@pytest.mark.usefixtures("api")
async def test_costs_are_at_the_batch_price(tmp_path: Path, seeds_dir: Path) -> None:
    documents = seeds(seeds_dir)
    job = open_job(tmp_path, llm_config(tmp_path, cache=False))
    await submit(job, documents)
    await collect_all(job)
    live = Summarizer(llm_config(tmp_path / "live", cache=False))
    expected = await live.asummarize_many(documents)
    await live.aclose()
    for got, want in zip(summaries(job), expected, strict=True):
        assert isinstance(want, DocumentSummary)
        batch_usage, live_usage = got.provenance.usage, want.provenance.usage
        assert batch_usage.prompt_tokens == live_usage.prompt_tokens > 0
        assert batch_usage.requests == live_usage.requests == 1
        assert live_usage.cost_usd is not None and live_usage.cost_usd > 0
        assert batch_usage.cost_usd == pytest.approx(live_usage.cost_usd / 2)
    job.close()


async def test_a_partly_failed_batch_resends_only_the_failures(
    api: FakeBatchAPI, tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)
    api.error_ids = {documents[1].id, documents[3].id}  # each fails once, with HTTP 500
    job = open_job(tmp_path, llm_config(tmp_path))
    await submit(job, documents)
    first = await job.collect()
    assert first.answered == 3 and first.errors == 2 and first.finished == 3
    follow_up = input_lines(api, "batch-2")
    assert sorted(line["custom_id"].split(":")[0] for line in follow_up) == sorted(
        [documents[1].id, documents[3].id]
    )
    await collect_all(job)
    assert len(summaries(job)) == 5
    assert api.batch_lines == 7  # 5, then the 2 that failed; nothing answered twice
    job.close()


async def test_a_request_failing_every_attempt_fails_only_its_document(
    tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)
    api = FakeBatchAPI(ScriptedModel(fail_documents={documents[2].id}))
    with respx.mock(base_url=BASE_URL) as mock:
        mock.route().mock(side_effect=api.handle)
        job = open_job(tmp_path, llm_config(tmp_path), max_attempts=2)
        await submit(job, documents)
        await collect_all(job)
    results = job.results()
    failure = results[2]
    assert isinstance(failure, DocumentFailure)
    assert failure.error_type == "ModelTransportError" and "failed 2 times" in failure.message
    assert sum(isinstance(r, DocumentSummary) for r in results) == 4
    job.close()


@pytest.mark.parametrize("error_lines", [True, False], ids=["error-file", "no-error-file"])
async def test_an_expired_batch_resumes_without_resending_what_succeeded(
    api: FakeBatchAPI, tmp_path: Path, seeds_dir: Path, error_lines: bool
) -> None:
    documents = seeds(seeds_dir)
    api.expire_next = 3  # three batches in a row expire with only their first half answered
    api.expired_error_lines = error_lines
    job = open_job(tmp_path, llm_config(tmp_path))
    await submit(job, documents)
    first = await job.collect()
    assert api.batches["batch-1"]["status"] == "expired"
    assert first.answered == 2 and first.requeued == 3 and first.finished == 2
    resent = [line["custom_id"].split(":")[0] for line in input_lines(api, "batch-2")]
    assert resent == [d.id for d in documents[2:]]
    await collect_all(job)
    assert len(summaries(job)) == 5  # the last expired 3 times: no attempt spent (max 3)
    assert len(api.batches) == 4 and api.batch_lines == 5
    job.close()


async def test_a_batch_still_running_is_left_alone(
    api: FakeBatchAPI, tmp_path: Path, seeds_dir: Path
) -> None:
    api.polls_to_finish = 2
    job = open_job(tmp_path, llm_config(tmp_path))
    await submit(job, seeds(seeds_dir))
    assert await job.poll() == [("batch-1", "in_progress")]
    collected = await job.collect()
    assert collected.batches_ended == [] and collected.answered == 0
    assert await collect_all(job) == 1
    job.close()


# -- follow-up batches ------------------------------------------------------------------------


class FirstReplyInvalid(ScriptedModel):
    """Answers the first extract request of ``doc_id`` with JSON that is not the schema."""

    def __init__(self, doc_id: str):
        super().__init__()
        self.doc_id = doc_id
        self.spoiled = False

    def respond(self, body: dict[str, Any], step: str = "extract") -> tuple[int, dict[str, Any]]:
        status, reply = super().respond(body, step)
        if not self.spoiled and f'id="{self.doc_id}"' in body["messages"][1]["content"]:
            self.spoiled = True
            reply["choices"][0]["message"]["content"] = '{"summary": 3}'
        return status, reply


async def test_an_invalid_reply_is_reasked_in_a_follow_up_batch(
    tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)
    api = FakeBatchAPI(FirstReplyInvalid(documents[0].id))
    job, collects = await run_job(tmp_path, api, documents)
    assert collects == 2
    follow_up = input_lines(api, "batch-2")
    assert [batch_step(line["custom_id"]) for line in follow_up] == ["extract.reask"]
    messages = follow_up[0]["body"]["messages"]
    assert messages[-2] == {"role": "assistant", "content": '{"summary": 3}'}
    result = summaries(job)[0]
    assert result.provenance.usage.reasks == 1 and result.provenance.usage.requests == 2
    job.close()


async def test_a_long_article_is_mapped_then_reduced_in_two_batches(
    api: FakeBatchAPI, tmp_path: Path, seeds_dir: Path
) -> None:
    document = seeds(seeds_dir)[4]
    config = llm_config(tmp_path, single_call_tokens=1200, chunk_tokens=300)
    job = open_job(tmp_path, config)
    await submit(job, [document])
    chunks = input_lines(api, "batch-1")
    assert len(chunks) >= 6
    assert [line["custom_id"].split(":")[1] for line in chunks] == [
        str(i) for i in range(len(chunks))
    ]
    assert await collect_all(job) == 2
    reduce = input_lines(api, "batch-2")
    assert [batch_step(line["custom_id"]) for line in reduce] == ["reduce"]
    result = summaries(job)[0]
    assert result.chunks == len(chunks)
    assert result.provenance.usage.requests == len(chunks) + 1  # each counted once
    assert all(c.grounded for c in result.claims)
    job.close()


async def test_follow_ups_can_be_finished_live(
    api: FakeBatchAPI, tmp_path: Path, seeds_dir: Path
) -> None:
    document = seeds(seeds_dir)[4]
    job = open_job(tmp_path, llm_config(tmp_path, single_call_tokens=1200, chunk_tokens=300))
    await submit(job, [document])
    collected = await job.collect(live=True)
    assert collected.finished == 1 and collected.new_files == 0
    assert api.live_requests == 1 and len(api.batches) == 1  # the reduce, sent live
    assert summaries(job)[0].summary
    job.close()


# -- the cache is shared with run -------------------------------------------------------------


async def test_a_live_run_reuses_batch_answers_and_vice_versa(
    api: FakeBatchAPI, tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)
    job = open_job(tmp_path, llm_config(tmp_path))
    await submit(job, documents[:3])
    await collect_all(job)
    job.close()
    live = Summarizer(llm_config(tmp_path))
    results = await live.asummarize_many(documents)
    await live.aclose()
    assert api.live_requests == 2  # only the two articles the batch did not have
    assert [r.provenance.usage.cache_hits for r in results if isinstance(r, DocumentSummary)] == [
        1,
        1,
        1,
        0,
        0,
    ]
    later = BatchJob(tmp_path / "job2", llm_config(tmp_path))
    await submit(later, documents)
    assert later.store.counts() == {} and len(api.batches) == 1  # nothing left to ask
    assert all(r is not None for r in later.results())
    later.close()


# -- killed at any point ----------------------------------------------------------------------


async def test_a_job_killed_while_submitting_resumes_without_duplicates(
    tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)
    api = FakeBatchAPI()
    kill = {"before": 0, "after": 0}  # kill at the Nth batch creation, before/after the server

    def create_batch(request: httpx.Request) -> httpx.Response:
        for when in ("before", "after"):
            kill[when] -= 1
        if kill["before"] == 0:
            raise KeyboardInterrupt
        response = api.handle(request)
        if kill["after"] == 0:
            raise KeyboardInterrupt
        return response

    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/batches").mock(side_effect=create_batch)
        mock.route().mock(side_effect=api.handle)
        job = open_job(tmp_path, llm_config(tmp_path), max_requests=2)
        job.add_documents(documents)
        await job.advance()
        assert job.write_files() == 3  # killed here: files written, nothing uploaded
        job.close()

        kill.update(before=2, after=3)  # the 2nd dies before the server, the 3rd after
        for _ in range(2):
            resumed = open_job(tmp_path)  # the config and limits come from the store
            with pytest.raises(KeyboardInterrupt):
                await resumed.push()
            resumed.close()
        assert api.uploads == 2 and len(api.batches) == 2  # file 2 tried twice; file 3 not reached

        again = open_job(tmp_path)
        await again.push()
        assert api.uploads == 3  # file 3 now; file 2 not uploaded again
        assert len(api.batches) == 3  # the batch made before the kill is found, not remade
        assert [f.batch_id for f in again.store.files()] == ["batch-1", "batch-2", "batch-3"]
        await collect_all(again)
    assert len(summaries(again)) == 5 and api.batch_lines == 5
    again.close()


# -- offline: write-only and an output file from elsewhere (vllm run-batch) ------------------


def vllm_run_batch(input_path: Path, output_path: Path, model: ScriptedModel) -> None:
    """What ``vllm run-batch -i IN -o OUT`` does: one output line per input line."""
    lines: list[str] = []
    for raw in input_path.read_text().splitlines():
        item = json.loads(raw)
        status, body = model.respond(item["body"], batch_step(item["custom_id"]))
        line = batch_line(item["custom_id"], status, body)
        line["id"] = f"vllm-{len(lines)}"
        lines.append(json.dumps(line))
    output_path.write_text("\n".join(lines) + "\n")


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="summarizer")
    add_batch_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_write_only_and_from_output_work_with_no_server(
    tmp_path: Path, seeds_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests = tmp_path / "requests"
    job = str(tmp_path / "job")
    common = ["--job", job, "--api-key", "sk-local"]
    code = cli(
        [
            "batch",
            "submit",
            str(seeds_dir / "004_55ac9cc17b546c97.txt"),
            str(seeds_dir / "000_30a5b09cbd3e3be1.txt"),
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--write-only",
            str(requests),
            "--cache",
            str(tmp_path / "cache.sqlite3"),
            *common,
        ]
    )
    assert code == 0
    model = ScriptedModel()
    for number, path in enumerate(sorted(requests.glob("*.jsonl"))):
        vllm_run_batch(path, tmp_path / f"out-{number}.jsonl", model)
    outputs = [f"--from-output={p}" for p in sorted(tmp_path.glob("out-*.jsonl"))]
    assert cli(["batch", "collect", *outputs, "--out", str(tmp_path / "results"), *common]) == 0
    assert model.requests == 2
    results = [
        json.loads(line)
        for line in (tmp_path / "results" / "results.jsonl").read_text().splitlines()
    ]
    assert [r["doc_id"] for r in results] == [
        "004_55ac9cc17b546c97.txt",
        "000_30a5b09cbd3e3be1.txt",
    ]
    assert all(c["grounded"] for r in results for c in r["claims"])
    assert "unknown" in capsys.readouterr().err
    assert cli(["batch", "status", *common]) == 0


def test_a_map_reduce_job_offline_needs_a_second_output_file(
    tmp_path: Path, seeds_dir: Path
) -> None:
    config = llm_config(tmp_path, single_call_tokens=1200, chunk_tokens=300)
    requests = tmp_path / "requests"
    job = BatchJob(tmp_path / "job", config, options=BatchOptions(write_only=requests))
    job.add_documents(seeds(seeds_dir)[4:])
    asyncio.run(job.advance())
    assert asyncio.run(job.push()) == 1
    model = ScriptedModel()
    vllm_run_batch(requests / "requests-00001.jsonl", tmp_path / "o1.jsonl", model)
    job.ingest_output(tmp_path / "o1.jsonl")
    assert asyncio.run(job.advance()) == 0 and asyncio.run(job.push()) == 1
    vllm_run_batch(requests / "requests-00002.jsonl", tmp_path / "o2.jsonl", model)
    job.ingest_output(tmp_path / "o2.jsonl")
    assert asyncio.run(job.advance()) == 1
    assert summaries(job)[0].chunks >= 6
    job.close()


def test_a_bad_output_file_is_named_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match=r"out\.jsonl: line 2 is not a batch output line"):
        parse_output('{"custom_id": "a", "response": null}\nnot json\n', source="out.jsonl")
    job = BatchJob(
        tmp_path / "job", llm_config(tmp_path), options=BatchOptions(write_only=tmp_path)
    )
    code_path = tmp_path / "missing.jsonl"
    with pytest.raises(Exception, match="--from-output .*missing.jsonl: cannot read"):
        job.ingest_output(code_path)
    job.close()


def test_status_of_a_folder_with_no_job_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cmd_batch(
            argparse.Namespace(batch_command="status", job=str(tmp_path / "none"), api_key="k")
        )
        == 2
    )
    assert "no batch job here" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()  # nothing created by asking


def test_the_command_line_flow_against_the_loopback_server(
    tmp_path: Path, seeds_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = FakeBatchAPI(polls_to_finish=1)
    with HandlerServer(api.handle) as server:
        common = ["--job", str(tmp_path / "job"), "--api-key", "sk-local"]
        submit = ["batch", "submit", str(seeds_dir), "--base-url", server.base_url]
        cache = ["--cache", str(tmp_path / "cache.sqlite3"), "--max-requests", "3"]
        assert cli([*submit, *cache, *common]) == 0
        assert api.uploads == 2 and len(api.batches) == 2
        assert cli(["batch", "status", *common]) == 0
        assert "batch-1  in_progress" in capsys.readouterr().out
        out = tmp_path / "out"
        assert cli(["batch", "collect", "--out", str(out), *common]) == 0
    err = capsys.readouterr().err
    assert "2 batches ended; 5 answers" in err and "documents: 5 of 5 finished" in err
    lines = (out / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["doc_id"] for line in lines] == [d.id for d in seeds(seeds_dir)]
    stored = b"".join(p.read_bytes() for p in (tmp_path / "job").rglob("*") if p.is_file())
    assert b"sk-local" not in stored  # the API key is never written to the job
    assert api.batch_lines == 5 and api.live_requests == 0


async def test_a_quote_not_in_the_article_is_reasked_in_a_follow_up_batch(
    tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)[:2]
    api = FakeBatchAPI(ScriptedModel(fabricate_in={documents[1].id}))
    job, collects = await run_job(tmp_path, api, documents)
    assert collects == 2
    follow_up = input_lines(api, "batch-2")
    assert [batch_step(line["custom_id"]) for line in follow_up] == ["extract.ground_reask"]
    assert follow_up[0]["custom_id"].startswith(f"{documents[1].id}:")
    flagged = summaries(job)[1]
    assert [c.grounded for c in flagged.claims].count(False) == 1  # kept, and flagged
    job.close()


async def test_a_truncated_reply_is_retried_then_split_across_batches(
    tmp_path: Path, seeds_dir: Path
) -> None:
    document = seeds(seeds_dir)[4]
    api = FakeBatchAPI(ScriptedModel(truncate_over_tokens=900))
    job, _ = await run_job(tmp_path, api, [document])
    second = input_lines(api, "batch-2")
    assert [line["body"]["max_tokens"] for line in second] == [4096]  # the larger limit
    result = summaries(job)[0]
    assert "chunk_split" in [w.code for w in result.warnings]
    assert all(c.grounded for c in result.claims)
    job.close()


def test_files_that_cannot_be_loaded_are_failures_in_the_results(
    tmp_path: Path, seeds_dir: Path
) -> None:
    (tmp_path / "empty.txt").write_text("")
    requests = tmp_path / "requests"
    common = ["--job", str(tmp_path / "job"), "--api-key", "sk-local"]
    submit = [
        "batch",
        "submit",
        str(seeds_dir / "000_30a5b09cbd3e3be1.txt"),
        str(tmp_path / "empty.txt"),
    ]
    assert cli([*submit, "--write-only", str(requests), *common]) == 1
    job = BatchJob(tmp_path / "job", env={"OPENAI_API_KEY": "sk-local"})
    results = job.results()
    assert results[0] is not None and isinstance(results[0], DocumentFailure)
    assert results[0].doc_id == "empty.txt" and results[1] is None
    job.close()


class NoJsonSchema(ScriptedModel):
    """A server that refuses ``response_format: json_schema`` (as older vLLM builds do)."""

    def respond(self, body: dict[str, Any], step: str = "extract") -> tuple[int, dict[str, Any]]:
        if (body.get("response_format") or {}).get("type") == "json_schema":
            return 400, {"error": {"message": "response_format json_schema is not supported"}}
        return super().respond(body, step)


async def test_a_refused_structured_mode_moves_the_job_to_the_next_mode(
    tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)[:3]
    api = FakeBatchAPI(NoJsonSchema())
    job, collects = await run_job(tmp_path, api, documents)
    assert collects == 2
    assert job.dropped_modes() == [StructuredMode.JSON_SCHEMA]
    follow_up = input_lines(api, "batch-2")
    assert [line["body"]["response_format"]["type"] for line in follow_up] == ["json_object"] * 3
    assert job.store.counts() == {"rejected": 3, "answered": 3}
    assert len(summaries(job)) == 3
    job.close()


def test_an_output_line_that_is_not_a_chat_completion_is_sent_again(
    tmp_path: Path, seeds_dir: Path
) -> None:
    requests = tmp_path / "requests"
    job = BatchJob(
        tmp_path / "job", llm_config(tmp_path), options=BatchOptions(write_only=requests)
    )
    job.add_documents(seeds(seeds_dir)[:1])
    asyncio.run(job.advance())
    asyncio.run(job.push())
    line = json.loads((requests / "requests-00001.jsonl").read_text())
    bad = {
        "custom_id": line["custom_id"],
        "response": {"status_code": 200, "body": {"choices": [{"oops": 1}]}},
    }
    (tmp_path / "out.jsonl").write_text(json.dumps(bad) + "\n")
    collected = job.ingest_output(tmp_path / "out.jsonl")
    assert collected.errors == 1 and collected.answered == 0
    stored = job.store.request(line["custom_id"])
    assert stored is not None and stored.state == "new"
    assert "not a chat completion" in (stored.error or "")
    assert asyncio.run(job.advance()) == 0 and asyncio.run(job.push()) == 1
    again = json.loads((requests / "requests-00002.jsonl").read_text())
    assert again["custom_id"] == line["custom_id"]
    job.close()
