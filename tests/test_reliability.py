"""Never lose a run: every document ends with a result or a typed error, whatever the server,
the budget or a bug does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

from summarizer import (
    Document,
    DocumentFailure,
    DocumentSummary,
    EndpointError,
    LLMConfig,
    Summarizer,
    SummarizerConfig,
)
from summarizer._engines import Engine, EngineOutput, ExtractiveEngine, PreparedDocument
from summarizer._testing import ScriptedModel, completion

from .fakes import BASE_URL, error

MALFORMED = {
    "empty body": httpx.Response(200, content=b""),
    "empty JSON body": httpx.Response(
        200, content=b"", headers={"content-type": "application/json"}
    ),
    "HTML page": httpx.Response(
        200, text="<html>Bad gateway</html>", headers={"content-type": "text/html"}
    ),
    "no choices": httpx.Response(200, json={**completion("{}"), "choices": []}),
    "choices null": httpx.Response(200, json={**completion("{}"), "choices": None}),
    "message null": httpx.Response(
        200,
        json={
            **completion("{}"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": None}],
        },
    ),
}


def documents(count: int) -> list[Document]:
    return [
        Document.from_text(
            f"Officials said {index + 10} people were rescued on Monday in district {index}. "
            f"The mayor said the bridge would reopen on Friday after repairs to pier {index}.",
            id=f"doc-{index:03d}",
        )
        for index in range(count)
    ]


def llm_settings(tmp_path: Path, **llm: object) -> SummarizerConfig:
    values: dict[str, object] = {
        "base_url": BASE_URL,
        "api_key": "sk-test",
        "max_attempts": 2,
        "backoff_seconds": 0.001,
        "max_backoff_seconds": 0.002,
        **llm,
    }
    return SummarizerConfig(
        engine="llm", llm=LLMConfig(**values), cache_path=tmp_path / "cache.sqlite3"
    )


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_an_unusable_2xx_reply_is_retried_then_a_typed_error(
    tmp_path: Path, kind: str
) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(return_value=MALFORMED[kind])
        async with Summarizer(llm_settings(tmp_path)) as summarizer:
            [result] = await summarizer.asummarize_many(documents(1))
    assert isinstance(result, DocumentFailure) and result.error_type == "ModelResponseError"
    assert "unusable reply" in result.message and route.call_count == 2
    assert result.usage.requests == 2


async def test_unusable_replies_among_many_sink_nothing(tmp_path: Path) -> None:
    """Every 5th new request gets a different malformed reply; its retry gets a good one."""
    scripted = ScriptedModel()
    kinds = list(MALFORMED.values())
    bodies: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.content in bodies:  # a retry
            return scripted.handle(request)
        bodies.append(request.content)
        seen = len(bodies)
        return kinds[(seen // 5) % len(kinds)] if seen % 5 == 0 else scripted.handle(request)

    docs = documents(40)
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=handle)
        async with Summarizer(llm_settings(tmp_path, max_attempts=3)) as summarizer:
            results = await summarizer.asummarize_many(docs)
    assert [r.doc_id for r in results] == [d.id for d in docs]
    assert all(isinstance(r, DocumentSummary) for r in results)


class BuggyEngine(Engine):
    """The extractive engine, with a bug that strikes one document."""

    name = "extractive"

    def __init__(self, broken: str):
        self.broken = broken
        self.inner = ExtractiveEngine()

    async def run(self, prepared: PreparedDocument, *, summary_words: int) -> EngineOutput:
        if prepared.document.id == self.broken:
            raise KeyError("a bug")
        return await self.inner.run(prepared, summary_words=summary_words)


async def test_a_bug_is_that_documents_failure_not_the_runs() -> None:
    docs = documents(5)
    summarizer = Summarizer(engine=BuggyEngine(docs[2].id))
    results = await summarizer.asummarize_many(docs)
    assert [type(r).__name__ for r in results] == ["DocumentSummary"] * 2 + ["DocumentFailure"] + [
        "DocumentSummary"
    ] * 2
    failed = results[2]
    assert isinstance(failed, DocumentFailure) and failed.error_type == "KeyError"
    assert failed.message.startswith("internal error: KeyError")


async def test_cancellation_still_escapes_the_boundary() -> None:
    class Hanging(Engine):
        name = "extractive"

        async def run(self, prepared: PreparedDocument, *, summary_words: int) -> EngineOutput:
            del prepared, summary_words
            await asyncio.sleep(60)
            raise AssertionError("not reached")

    task = asyncio.ensure_future(Summarizer(engine=Hanging()).asummarize_many(documents(2)))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


class Drip(httpx.AsyncByteStream):
    """A reply that arrives one byte every 0.1 s: no single read ever times out."""

    def __init__(self, body: bytes):
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index in range(len(self.body)):
            await asyncio.sleep(0.1)
            yield self.body[index : index + 1]


async def test_a_dripping_server_meets_the_total_deadline(tmp_path: Path) -> None:
    body = json.dumps(completion({"summary": "x", "key_points": [], "claims": []})).encode()

    def drip(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Drip(body), headers={"content-type": "application/json"})

    settings = llm_settings(tmp_path, timeout_seconds=0.5, max_attempts=1)
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=drip)
        async with Summarizer(settings) as summarizer:
            started = asyncio.get_running_loop().time()
            [result] = await summarizer.asummarize_many(documents(1))
            elapsed = asyncio.get_running_loop().time() - started
    assert isinstance(result, DocumentFailure) and result.error_type == "ModelTransportError"
    assert "no complete reply within 0.5s" in result.message
    assert elapsed < 5  # the body alone would take over 30 s


@pytest.mark.parametrize(
    ("reply", "hint"),
    [
        (error(401, "Incorrect API key provided"), "OPENAI_API_KEY"),
        (error(404, "The model `nope` does not exist"), "--model"),
        (httpx.ConnectError("Connection refused"), "is a server listening"),
    ],
)
async def test_a_run_wide_failure_stops_the_run_with_a_hint(
    tmp_path: Path, reply: httpx.Response | Exception, hint: str
) -> None:
    docs = documents(30)
    with respx.mock(base_url=BASE_URL) as mock:
        if isinstance(reply, Exception):
            route = mock.post("/chat/completions").mock(side_effect=reply)
        else:
            route = mock.post("/chat/completions").mock(return_value=reply)
        async with Summarizer(llm_settings(tmp_path, concurrency=2)) as summarizer:
            results = await summarizer.asummarize_many(docs, concurrency=2)
            assert isinstance(summarizer.stopped_by, EndpointError)
            assert hint in str(summarizer.stopped_by)
    failures = [r for r in results if isinstance(r, DocumentFailure)]
    assert len(failures) == 30
    kinds = {r.error_type for r in failures}
    assert kinds == {"EndpointError", "NotAttempted"}
    not_attempted = [r for r in failures if r.error_type == "NotAttempted"]
    assert len(not_attempted) >= 27 and hint in not_attempted[0].message
    assert route.call_count <= 2 * 2  # two documents in flight, two attempts each at most


async def test_the_budget_holds_at_any_concurrency(tmp_path: Path) -> None:
    """gpt-4o-mini prices; each reply uses its whole 500-token output limit (about $0.00035
    a call with the prompt): a $0.002 budget is never overspent, at 16 requests in flight."""
    scripted = ScriptedModel()
    served = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal served
        served += 1
        body = json.loads(scripted.handle(request).content)
        body["usage"]["completion_tokens"] = 500
        return httpx.Response(200, json=body)

    settings = llm_settings(
        tmp_path, model="gpt-4o-mini", concurrency=16, max_cost_usd=0.002, max_output_tokens=500
    )
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=handle)
        async with Summarizer(settings) as summarizer:
            results = await summarizer.asummarize_many(documents(40), concurrency=32)
            client = summarizer.client
            assert client is not None
            spent = client.spent_usd
    assert spent <= 0.002
    done = [r for r in results if isinstance(r, DocumentSummary)]
    stopped = [r for r in results if isinstance(r, DocumentFailure)]
    assert len(done) == served and 3 <= served <= 6
    assert {r.error_type for r in stopped} == {"BudgetExceededError"} and len(stopped) > 30
    # every served call is counted in some result
    assert sum(r.provenance.usage.requests for r in done) == served


async def test_a_failed_chunked_document_counts_every_call(tmp_path: Path, seeds_dir: Path) -> None:
    """A long article whose fourth call (a chunk, whichever comes fourth) always fails: the
    failure reports the calls and tokens of every chunk served before it, not only the
    failed call's."""
    from summarizer import load_articles

    document = load_articles([seeds_dir / "004_55ac9cc17b546c97.txt"]).documents[0]
    scripted = ScriptedModel()
    calls = 0
    served = {"prompt_tokens": 0, "completion_tokens": 0}
    failing: bytes | None = None

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal calls, failing
        calls += 1
        if calls == 4:
            failing = request.content
        if request.content == failing:  # that chunk and its retry
            return error(500, "boom")
        reply = scripted.handle(request)
        for name in served:
            served[name] += json.loads(reply.content)["usage"][name]
        return reply

    settings = llm_settings(tmp_path, concurrency=1).model_copy(
        update={"single_call_tokens": 700, "chunk_tokens": 150}
    )
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=handle)
        async with Summarizer(settings) as summarizer:
            [result] = await summarizer.asummarize_many([document])
    assert isinstance(result, DocumentFailure) and result.error_type == "ModelTransportError"
    # one request at a time: each was answered (and read) before the next went out
    assert calls > 4 and result.usage.requests == calls and result.usage.retries == 1
    assert served["prompt_tokens"] > 0 and result.usage.prompt_tokens == served["prompt_tokens"]
    assert result.usage.completion_tokens == served["completion_tokens"]


async def test_a_failed_chunked_document_counts_the_calls_it_abandoned(
    tmp_path: Path, seeds_dir: Path
) -> None:
    """All chunks in flight at once and the last one fails first: the calls cancelled on
    the way (sent, their replies never read) still count as requests of the failure."""
    from summarizer import load_articles

    document = load_articles([seeds_dir / "004_55ac9cc17b546c97.txt"]).documents[0]
    scripted = ScriptedModel()
    calls = 0

    async def handle(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if "Peking University" in request.content.decode():  # the last chunk's text
            return error(500, "boom")
        if calls > 1:  # the first call, alone, finds the structured-output mode
            await asyncio.sleep(5)  # still waiting when the failure cancels it
        return scripted.handle(request)

    settings = llm_settings(tmp_path, concurrency=32, adaptive_concurrency=False).model_copy(
        update={"single_call_tokens": 700, "chunk_tokens": 150}
    )
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=handle)
        async with Summarizer(settings) as summarizer:
            started = time.monotonic()
            [result] = await summarizer.asummarize_many([document], concurrency=32)
            assert time.monotonic() - started < 4  # the others were cancelled, not awaited
    assert isinstance(result, DocumentFailure) and result.error_type == "ModelTransportError"
    assert calls > 2 and result.usage.requests == calls


SECRET = "sk-live-0123456789abcdefSECRET"


@pytest.mark.parametrize(
    "reply",
    [
        error(401, f"Incorrect API key provided: {SECRET}. You can find your API key at ..."),
        error(500, f"upstream failed; request headers: {{'Authorization': 'Bearer {SECRET}'}}"),
        httpx.Response(200, text=f"<html>proxy error for key={SECRET}</html>"),
    ],
)
def test_secrets_a_server_echoes_are_redacted_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reply: httpx.Response
) -> None:
    from summarizer._cli import main

    article = tmp_path / "in" / "a.txt"
    article.parent.mkdir()
    article.write_text(documents(1)[0].text)
    out = tmp_path / "out"
    base = f"{BASE_URL}?api-key={SECRET}"
    with respx.mock() as mock:
        mock.post(url__startswith="http://llm.test/v1").mock(return_value=reply)
        code = main(
            ["run", str(article.parent), "--out", str(out), "--engine", "llm", "--base-url", base,
             "--api-key", SECRET, "--max-attempts", "1", "--cache", str(tmp_path / "c.sqlite3")]
        )  # fmt: skip
    assert code != 0
    streams = capsys.readouterr()
    written = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert written and "[REDACTED]" in written + streams.err
    for text in (streams.out, streams.err, written):
        assert SECRET not in text and SECRET[8:24] not in text


def test_the_cli_exits_2_with_the_hint_when_no_request_can_succeed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seeds_dir: Path
) -> None:
    from summarizer._cli import main

    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(return_value=error(401, "bad key"))
        code = main(
            ["run", str(seeds_dir), "--engine", "llm", "--base-url", BASE_URL, "--api-key",
             "sk-wrong-key-123", "--concurrency", "1", "--no-log", "-o", str(tmp_path / "o")]
        )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "check OPENAI_API_KEY or --api-key" in err
    assert route.call_count <= 2  # the other articles were not attempted
