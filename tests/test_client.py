from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
import respx

from summarizer._cache import ResponseCache
from summarizer._client import CallContext, ChatClient, retry_after_seconds
from summarizer._config import LLMConfig, StructuredMode
from summarizer._errors import (
    BudgetExceededError,
    ConfigError,
    ContentFilterError,
    EndpointError,
    InvalidModelOutputError,
    ModelRequestError,
    ModelTransportError,
    OutputTruncatedError,
    QuotaExceededError,
    RefusalError,
    RepetitiveOutputError,
)
from summarizer._models import ExtractionDraft
from summarizer._prompts import load_prompt

from .fakes import BASE_URL, SECRET, FakeTime, completion, error, ok, request_json

GOOD = {
    "summary": "China is uneasy.",
    "key_points": ["North Korea sent troops."],
    "claims": [
        {
            "claim": "North Korea sent troops.",
            "evidence": "sent troops",
            "speaker": None,
            "kind": "fact",
        }
    ],
}
TEMPLATE = load_prompt("extract")
MESSAGES = [{"role": "system", "content": TEMPLATE.system}, {"role": "user", "content": "Article."}]
CONTEXT = CallContext(document_id="doc-1", chunk_index=0)


def make_client(time: FakeTime | None = None, **config: object) -> ChatClient:
    time = time or FakeTime()
    settings = {"model": "gpt-4o-mini", "base_url": BASE_URL, "api_key": SECRET, **config}
    return ChatClient(LLMConfig(**settings), clock=time.clock, sleep=time.sleep)


async def ask(client: ChatClient, **kwargs: Any):
    return await client.structured(
        MESSAGES, ExtractionDraft, template=TEMPLATE, context=CONTEXT, **kwargs
    )


@pytest.fixture
def server():
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        yield mock.post("/chat/completions")


# -- modes -----------------------------------------------------------------------------------


async def test_json_schema_mode_succeeds_with_a_strict_schema(server) -> None:
    server.mock(return_value=ok(GOOD))
    reply = await ask(make_client())
    assert reply.value.summary == "China is uneasy." and reply.mode is StructuredMode.JSON_SCHEMA
    sent = request_json(server.calls[0])
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert sent["max_tokens"] == 2048  # a custom base_url gets the classic parameter name
    assert server.calls[0].request.headers["authorization"] == f"Bearer {SECRET}"


async def test_llama_cpp_500_on_json_schema_falls_back_and_is_remembered(server) -> None:
    server.mock(
        side_effect=[
            error(500, "Either 'json_schema' or 'grammar' can be specified, but not both"),
            ok(GOOD),
            ok(GOOD),
        ]
    )
    client = make_client()
    first = await ask(client)
    second = await ask(client, max_output_tokens=100)
    assert first.mode is second.mode is StructuredMode.JSON_OBJECT
    formats = [request_json(call).get("response_format", {}).get("type") for call in server.calls]
    assert formats == ["json_schema", "json_object", "json_object"]
    assert "schema" in request_json(server.calls[1])["response_format"]
    assert server.call_count == 3  # the rejection was not retried as a transport error


async def test_json_object_rejected_falls_back_to_the_schema_in_the_prompt(server) -> None:
    server.mock(
        side_effect=[
            error(400, "response_format json_schema is not supported"),
            error(400, "response_format type json_object unsupported"),
            ok("Sure! Here it is:\n" + __import__("json").dumps(GOOD) + "\nHope this helps."),
        ]
    )
    reply = await ask(make_client())
    assert reply.mode is StructuredMode.PROMPT
    last = request_json(server.calls[2])
    assert "response_format" not in last
    assert '"additionalProperties": false' in last["messages"][0]["content"]


async def test_every_mode_rejected_is_a_request_error(server) -> None:
    server.mock(return_value=error(400, "response_format is invalid"))
    with pytest.raises(ModelRequestError) as caught:
        await ask(make_client(structured_modes=(StructuredMode.JSON_SCHEMA,)))
    assert caught.value.status_code == 400 and server.call_count == 1


# -- transport retries ------------------------------------------------------------------------


async def test_429_retry_after_is_honoured_without_sleeping(server) -> None:
    time = FakeTime()
    server.mock(side_effect=[error(429, "slow down", retry_after="7"), ok(GOOD)])
    reply = await ask(make_client(time))
    assert time.sleeps == [7.0]
    assert reply.usage.requests == 2 and reply.usage.retries == 1


async def test_retry_after_ms_wins_over_retry_after(server) -> None:
    time = FakeTime()
    server.mock(side_effect=[error(503, "busy", retry_after_ms="1500", retry_after="9"), ok(GOOD)])
    await ask(make_client(time))
    assert time.sleeps == [1.5]


def test_retry_after_accepts_http_dates() -> None:
    response = httpx.Response(429, headers={"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"})
    exc = type("E", (Exception,), {"response": response})()
    assert retry_after_seconds(exc, now=1445412480.0) == pytest.approx(10.0)


async def test_a_retry_after_beyond_the_cap_fails_fast(server) -> None:
    server.mock(return_value=error(429, "come back tomorrow", retry_after="86400"))
    with pytest.raises(QuotaExceededError, match="86400s"):
        await ask(make_client(max_retry_after_seconds=60))
    assert server.call_count == 1


async def test_insufficient_quota_is_not_retried(server) -> None:
    server.mock(
        return_value=error(429, "You exceeded your current quota", code="insufficient_quota")
    )
    with pytest.raises(QuotaExceededError):
        await ask(make_client())
    assert server.call_count == 1


async def test_500s_are_retried_with_backoff_until_exhausted(server) -> None:
    time = FakeTime()
    server.mock(return_value=error(502, "bad gateway"))
    with pytest.raises(ModelTransportError) as caught:
        await ask(make_client(time, max_attempts=4, backoff_seconds=1, max_backoff_seconds=8))
    assert server.call_count == 4  # one retry layer: the SDK's own retries are off
    assert caught.value.attempts == 4
    assert caught.value.document_id == "doc-1" and caught.value.chunk_index == 0
    assert caught.value.endpoint == BASE_URL + "/"
    assert len(time.sleeps) == 3 and all(0 <= wait <= 8 for wait in time.sleeps)


@pytest.mark.parametrize("status", [408, 409])
async def test_408_and_409_are_transient(server, status: int) -> None:
    server.mock(side_effect=[error(status), ok(GOOD)])
    assert (await ask(make_client())).usage.retries == 1


async def test_timeouts_are_retried(server) -> None:
    server.mock(side_effect=[httpx.ReadTimeout("slow"), ok(GOOD)])
    assert (await ask(make_client())).usage.requests == 2


async def test_a_dropped_connection_exhausts_into_a_transport_error(server) -> None:
    server.mock(side_effect=httpx.RemoteProtocolError("Server disconnected"))
    with pytest.raises(ModelTransportError, match="connection failed"):
        await ask(make_client(max_attempts=3))
    assert server.call_count == 3


async def test_a_refused_connection_is_an_endpoint_error_with_a_hint(server) -> None:
    server.mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(EndpointError, match="is a server listening at http://llm.test/v1/"):
        await ask(make_client(max_attempts=3))
    assert server.call_count == 3


@pytest.mark.parametrize(
    ("status", "hint"), [(401, "OPENAI_API_KEY"), (403, "permissions"), (404, "--model")]
)
async def test_run_wide_statuses_are_endpoint_errors_naming_what_to_check(
    server, status: int, hint: str
) -> None:
    server.mock(return_value=error(status, "nope"))
    with pytest.raises(EndpointError, match=hint) as caught:
        await ask(make_client())
    assert caught.value.status_code == status and server.call_count == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_not_retried(server, status: int) -> None:
    server.mock(return_value=error(status, "nope"))
    with pytest.raises(ModelRequestError) as caught:
        await ask(make_client())
    assert caught.value.status_code == status and server.call_count == 1


# -- validation and re-ask ----------------------------------------------------------------------


async def test_malformed_json_is_re_asked(server) -> None:
    server.mock(side_effect=[ok('{"summary": "cut off'), ok(GOOD)])
    reply = await ask(make_client())
    assert reply.usage.reasks == 1 and reply.usage.retries == 0
    reask = request_json(server.calls[1])["messages"]
    assert reask[-2] == {"role": "assistant", "content": '{"summary": "cut off'}
    assert "did not match the required JSON schema" in reask[-1]["content"]


async def test_schema_invalid_json_sends_the_validation_errors_back(server) -> None:
    invalid = {"summary": "s", "key_points": [], "claims": [{"claim": "c", "kind": "rumour"}]}
    server.mock(side_effect=[ok(invalid), ok(GOOD)])
    reply = await ask(make_client())
    assert reply.value.claims[0].evidence == "sent troops"
    feedback = request_json(server.calls[1])["messages"][-1]["content"]
    assert "claims.0.evidence" in feedback and "claims.0.kind" in feedback


async def test_re_asks_are_bounded(server) -> None:
    server.mock(return_value=ok("not json at all"))
    with pytest.raises(InvalidModelOutputError) as caught:
        await ask(make_client(max_reasks=2))
    assert server.call_count == 3 and caught.value.usage and caught.value.usage.reasks == 2


async def test_usage_is_summed_over_every_attempt(server) -> None:
    server.mock(
        side_effect=[
            error(500),
            ok("{}", prompt_tokens=1000, completion_tokens=10),
            ok(GOOD, prompt_tokens=1200, completion_tokens=300, cached_tokens=1000),
        ]
    )
    reply = await ask(make_client())
    usage = reply.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens) == (2200, 310, 1000)
    assert (usage.requests, usage.retries, usage.reasks) == (3, 1, 1)
    # gpt-4o-mini: $0.15 / 1M input, $0.075 cached, $0.60 output
    assert usage.cost_usd == pytest.approx((1200 * 0.15 + 1000 * 0.075 + 310 * 0.60) / 1e6)


# -- truncation, refusal, filter ------------------------------------------------------------


async def test_truncation_retries_once_with_a_larger_limit(server) -> None:
    server.mock(side_effect=[ok('{"summary": "', finish_reason="length"), ok(GOOD)])
    reply = await ask(make_client(max_output_tokens=1000, max_output_tokens_ceiling=4000))
    limits = [request_json(call)["max_tokens"] for call in server.calls]
    assert limits == [1000, 2000] and reply.usage.reasks == 0


async def test_truncation_twice_raises_for_the_caller_to_split(server) -> None:
    server.mock(return_value=ok('{"summary": "', finish_reason="length"))
    with pytest.raises(OutputTruncatedError):
        await ask(make_client(max_output_tokens=1000, max_output_tokens_ceiling=4000))
    assert server.call_count == 2


async def test_truncation_at_the_ceiling_is_never_re_asked_with_the_same_limit(server) -> None:
    server.mock(return_value=ok('{"summary": "', finish_reason="length"))
    with pytest.raises(OutputTruncatedError):
        await ask(make_client(max_output_tokens=4000, max_output_tokens_ceiling=4000))
    assert server.call_count == 1


LOOPING = '{"summary": "China is uneasy.", "key_points": [' + '"China is uneasy.", ' * 40


async def test_a_reply_that_loops_to_the_limit_is_not_retried_at_a_larger_one(server) -> None:
    server.mock(return_value=ok(LOOPING, finish_reason="length"))
    with pytest.raises(RepetitiveOutputError, match=r"repeating one passage of 20 characters"):
        await ask(make_client(max_output_tokens=1000, max_output_tokens_ceiling=4000))
    assert server.call_count == 1  # more room would only buy more copies


async def test_a_truncated_reply_with_a_short_repeat_at_its_end_is_still_retried(server) -> None:
    honest = '{"summary": "' + "The talks went on. " * 3 + "Officials met in Beijing " * 1
    cut = honest + "on Monday and said the outcome was unclear, and then ha ha ha"
    server.mock(side_effect=[ok(cut, finish_reason="length"), ok(GOOD)])
    reply = await ask(make_client(max_output_tokens=1000, max_output_tokens_ceiling=4000))
    assert server.call_count == 2 and reply.value.summary == "China is uneasy."


async def test_json_object_mode_attaches_the_contract_bounds_strict_mode_does_not_take(
    server,
) -> None:
    server.mock(
        side_effect=[error(500, "Either 'json_schema' or 'grammar' can be specified"), ok(GOOD)]
    )
    await ask(make_client())
    strict = request_json(server.calls[0])["response_format"]["json_schema"]["schema"]
    attached = request_json(server.calls[1])["response_format"]["schema"]
    assert "maxItems" not in json.dumps(strict)
    assert attached["properties"]["key_points"]["maxItems"] == 6
    assert {k: v for k, v in attached["properties"]["key_points"].items() if k != "maxItems"} == (
        strict["properties"]["key_points"]
    )


async def test_refusals_and_content_filters_are_typed(server) -> None:
    server.mock(
        side_effect=[
            httpx.Response(200, json=completion(None, refusal="I can't help.")),
            ok("", finish_reason="content_filter"),
        ]
    )
    client = make_client()
    with pytest.raises(RefusalError) as refused:
        await ask(client)
    assert refused.value.refusal == "I can't help."
    with pytest.raises(ContentFilterError):
        await ask(client)


# -- limits, budget, cache -----------------------------------------------------------------------


async def test_a_429_pauses_the_whole_client(server) -> None:
    time = FakeTime()
    sent_at: list[tuple[str, float]] = []

    def respond(request: httpx.Request) -> httpx.Response:
        body = request_json(type("Call", (), {"request": request})())
        which = body["messages"][-1]["content"]
        sent_at.append((which, time.now))
        if which == "A" and len([s for s in sent_at if s[0] == "A"]) == 1:
            return error(429, "rate limited", retry_after="5")
        return ok(GOOD)

    server.mock(side_effect=respond)
    client = make_client(time, concurrency=2)

    async def call(text: str, delay: int) -> None:
        for _ in range(delay):
            await asyncio.sleep(0)
        await client.structured(
            [MESSAGES[0], {"role": "user", "content": text}], ExtractionDraft, template=TEMPLATE
        )

    await asyncio.gather(call("A", 0), call("B", 20))
    b_sent = [t for which, t in sent_at if which == "B"]
    assert b_sent and b_sent[0] >= 5.0  # B waited for A's Retry-After although B was never refused


async def test_requests_per_minute_are_enforced(server) -> None:
    time = FakeTime()
    server.mock(return_value=ok(GOOD))
    client = make_client(time, requests_per_minute=2, concurrency=4)
    for index in range(4):
        await client.structured(
            [MESSAGES[0], {"role": "user", "content": str(index)}],
            ExtractionDraft,
            template=TEMPLATE,
        )
    assert time.now == pytest.approx(60.0)  # 2 banked, then one every 30 s


async def test_tokens_per_minute_count_the_prompt_and_the_output_limit(server) -> None:
    time = FakeTime()
    server.mock(return_value=ok(GOOD))
    client = make_client(time, tokens_per_minute=3000, max_output_tokens=1000)
    booked = client.count_tokens([MESSAGES[0], {"role": "user", "content": "0"}]) + 1000
    for index in range(3):
        await client.structured(
            [MESSAGES[0], {"role": "user", "content": str(index)}],
            ExtractionDraft,
            template=TEMPLATE,
        )
    # 3,000 banked; the third call waits for the rest at 50 tokens a second
    assert time.now == pytest.approx((3 * booked - 3000) / 50)


async def test_the_budget_stops_new_calls(server) -> None:
    server.mock(return_value=ok(GOOD, prompt_tokens=100_000, completion_tokens=0))
    client = make_client(max_cost_usd=0.01)
    await ask(client)  # $0.015 spent
    with pytest.raises(BudgetExceededError) as caught:
        await client.structured(
            [MESSAGES[0], {"role": "user", "content": "other"}], ExtractionDraft, template=TEMPLATE
        )
    assert server.call_count == 1 and caught.value.spent_usd == pytest.approx(0.015)


async def test_cache_answers_repeats_and_concurrent_duplicates_are_sent_once(
    server, tmp_path
) -> None:
    server.mock(return_value=ok(GOOD))
    cache = ResponseCache(tmp_path / "cache.sqlite3")
    client = ChatClient(LLMConfig(base_url=BASE_URL, api_key=SECRET), cache=cache)
    replies = await asyncio.gather(ask(client), ask(client), ask(client))
    assert server.call_count == 1
    assert sum(r.cached for r in replies) == 2
    again = ChatClient(
        LLMConfig(base_url=BASE_URL, api_key=SECRET),
        cache=ResponseCache(tmp_path / "cache.sqlite3"),
    )
    reply = await ask(again)
    assert reply.cached and reply.value == replies[0].value and server.call_count == 1


# -- secrets ------------------------------------------------------------------------------------


async def test_the_api_key_never_appears_in_logs_or_errors(server, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    server.mock(side_effect=[error(500), error(429, retry_after="1"), error(401, "bad key")])
    with pytest.raises(ModelRequestError) as caught:
        await ask(make_client())
    assert SECRET not in caplog.text and SECRET[-10:] not in caplog.text
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.__dict__)
    assert "retry 1 of 3" in caplog.text  # retries are logged
    assert SECRET not in repr(LLMConfig(api_key=SECRET))


def test_a_missing_key_names_both_places() -> None:
    with pytest.raises(ConfigError, match="api_key.*OPENAI_API_KEY"):
        LLMConfig().resolved_api_key()
    assert LLMConfig(base_url="http://127.0.0.1:8080/v1").resolved_api_key() == "no-key-needed"


def test_openai_itself_gets_max_completion_tokens(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert LLMConfig.from_env().output_limit_parameter == "max_completion_tokens"
    assert LLMConfig.from_env().resolved_api_key() == SECRET
