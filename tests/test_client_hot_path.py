"""The per-call path of the client stays cheap without changing what it does: the reply is
read once from the response bytes, pool shards stay small, fixed work is done once."""

from __future__ import annotations

import asyncio
import json
from contextlib import ExitStack
from typing import Any

import httpx
import openai
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from summarizer._client import ChatClient, read_structured
from summarizer._config import LLMConfig
from summarizer._errors import ContextLengthExceededError
from summarizer._llm.completion import UnusableReply, read_reply
from summarizer._llm.redact import _ANY_PATTERN, REDACTED, Redactor, may_hold_pattern
from summarizer._llm.transport import POOL_SHARD_SIZE, post_arguments, prepared_post
from summarizer._models import ExtractionDraft

from .fakes import BASE_URL, SECRET, completion, error, ok, request_json
from .test_client import CONTEXT, GOOD, MESSAGES, TEMPLATE, ask, make_client


def test_a_reply_is_read_from_its_bytes_with_the_fields_the_client_uses() -> None:
    body = httpx.Response(200, json=completion(GOOD, cached_tokens=7)).content
    reply = read_reply(body)
    assert reply.choices is not None and reply.choices[0].message is not None
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.content is not None
    assert reply.usage is not None and reply.usage.prompt_tokens == 100
    assert reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens == 7


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "an empty body"),
        (b"  \n", "an empty body"),
        (b"<html>Bad gateway</html>", "a non-JSON body ('<html>Bad gateway</html>')"),
        (b"[1, 2]", "a body that is not a chat completion"),
        (b'{"choices": "none"}', "a body that is not a chat completion (choices:"),
    ],
)
def test_a_body_that_is_no_reply_says_what_it_is(body: bytes, reason: str) -> None:
    with pytest.raises(UnusableReply) as raised:
        read_reply(body)
    assert raised.value.reason.startswith(reason)


def test_the_wire_body_is_the_create_arguments_with_extra_body_merged() -> None:
    request = {
        "model": "m",
        "messages": MESSAGES,
        "max_tokens": 5,
        "extra_headers": {"X-Summarizer-Step": "extract"},
        "extra_body": {"response_format": {"type": "json_object"}},
    }
    body, options = post_arguments(request)
    assert body == {
        "model": "m",
        "messages": MESSAGES,
        "max_tokens": 5,
        "response_format": {"type": "json_object"},
    }
    assert options == {
        "security": {"bearer_auth": True},
        "headers": {"X-Summarizer-Step": "extract"},
    }


async def test_the_request_on_the_wire_is_what_the_sdk_sends() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(return_value=ok(GOOD))
        reply = await ask(make_client(organization="org-1"))
    assert reply.value.summary == GOOD["summary"]
    request = route.calls[0].request
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["openai-organization"] == "org-1"
    assert request.headers["x-summarizer-step"] == "extract"
    assert request.headers["content-type"] == "application/json"
    assert request_json(route.calls[0])["response_format"]["type"] == "json_schema"


def test_a_request_goes_to_the_least_busy_shard_so_no_pool_outgrows_its_size() -> None:
    # httpx's default pool (the fast transport has one pool for any width)
    client = make_client(concurrency=4 * POOL_SHARD_SIZE, http_transport="default")
    transport = client.transport
    assert len(transport._pool) == 4

    async def hold_all() -> list[int]:
        with ExitStack() as held:
            shards = [id(held.enter_context(transport._least_busy())) for _ in range(16)]
            assert max(transport._busy) == min(transport._busy) == 16 // 4
            counts = [shards.count(id(sdk)) for sdk in transport._pool]
        assert transport._busy == [0, 0, 0, 0]
        return counts

    assert asyncio.run(hold_all()) == [4, 4, 4, 4]


def test_the_system_block_is_counted_once_and_the_total_stays_exact() -> None:
    client = make_client()
    exact = client.count_tokens(MESSAGES)
    counted: list[str] = []
    real = client.encoding

    class Counting:
        def count(self, text: str) -> int:
            counted.append(text)
            return real.count(text)

    client.encoding = Counting()  # type: ignore[assignment]
    try:
        assert client.count_tokens(MESSAGES) == exact
        assert client.count_tokens(MESSAGES) == exact
    finally:
        client.encoding = real
    expected = sum(real.count(m["content"]) + 4 for m in MESSAGES) + 3
    assert exact == expected
    assert counted == [MESSAGES[1]["content"]] * 2  # the system block came from memory


def _count_calls(client: ChatClient) -> list[int]:
    counted: list[int] = []
    real = client.count_tokens

    def counting(messages: Any) -> int:
        counted.append(real(messages))
        return counted[-1]

    client.count_tokens = counting  # type: ignore[method-assign]
    return counted


@pytest.mark.parametrize(
    ("settings", "counts"),
    [
        ({}, False),
        ({"tokens_per_minute": 1_000_000}, True),
        ({"max_cost_usd": 5.0}, True),
        ({"stream": True}, True),
    ],
)
async def test_a_prompt_is_counted_before_sending_only_when_something_reads_the_count(
    settings: dict[str, Any], counts: bool
) -> None:
    client = make_client(**settings)
    counted = _count_calls(client)
    assert client.counts_prompts is counts
    with respx.mock(base_url=BASE_URL) as mock:
        if settings.get("stream"):
            chunks = [
                {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": text}}]}
                for text in (json.dumps(GOOD),)
            ]
            body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            mock.post("/chat/completions").mock(
                return_value=httpx.Response(
                    200, text=body, headers={"content-type": "text/event-stream"}
                )
            )
        else:
            mock.post("/chat/completions").mock(return_value=ok(GOOD))
        await ask(client)
    assert len(counted) == (1 if counts else 0)


async def test_a_context_refusal_naming_no_size_is_learned_from_the_prompt_counted_then() -> None:
    client = make_client()
    counted = _count_calls(client)
    limit = client.output_limit()
    refusal = error(400, "too many tokens in the prompt", code="context_length_exceeded")
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(return_value=refusal)
        with pytest.raises(ContextLengthExceededError):
            await ask(client)
    assert len(counted) == 1  # counted only once the server refused it
    assert client.context_window == counted[0] + limit - 1


def test_the_schema_is_built_once_per_model() -> None:
    client = make_client()
    first, digest, grammar = client._schema(ExtractionDraft)
    again, same, grammar_again = client._schema(ExtractionDraft)
    assert first is again and digest == same and grammar is grammar_again


def test_a_bare_reply_and_a_fenced_one_validate_alike() -> None:
    bare = json.dumps(GOOD)
    fenced = f"Here it is:\n```json\n{bare}\n```"
    assert read_structured(bare, ExtractionDraft) == read_structured(fenced, ExtractionDraft)


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abcdefgh12345678",
        '{"api_key": "abcdefgh12345678"}',
        "key sk-abcdefghijklmnop1234",
        f"echo {SECRET}",
    ],
)
def test_redaction_still_cuts_what_looks_like_a_key(text: str) -> None:
    redacted = Redactor([SECRET])(text)
    assert REDACTED in redacted and "abcdefgh12345678" not in redacted
    assert SECRET not in redacted


def test_text_without_anything_key_like_comes_back_as_is() -> None:
    text = '{"summary": "The mayor said the bridge reopens on Friday."}'
    assert Redactor([SECRET])(text) is text


# Pieces of the key-like patterns in every spelling the case-insensitive regex accepts
# (the Kelvin sign for "k", dotted and dotless I for "i", the long s for "s"), and others.
_PIECES = ["bearer", "BEARER", " ", "\t", "api", "API", "\u0130", "\u0131", "i", "-", "_"]
_PIECES += ["key", "\u212aey", "authorization", "AUTHOR", "\u0131zation", "sk-", "SK-", "\u017fk-"]
_PIECES += ["x", "é", ":", "=", "\n"]


@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_the_fast_pattern_check_never_misses_what_the_regex_finds(text: str) -> None:
    if _ANY_PATTERN.search(text) is not None:
        assert may_hold_pattern(text)


def test_the_fast_pattern_check_says_no_to_ordinary_text() -> None:
    assert not may_hold_pattern("The mayor said the bridge reopens on Friday (İstanbul).")
    assert may_hold_pattern("Api-Key: x") and may_hold_pattern("AUTHORİZATION")


async def test_many_calls_in_flight_share_pools_and_all_succeed() -> None:
    client = ChatClient(
        LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key=SECRET, concurrency=32)
    )
    seen: list[Any] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(GOOD)

    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=reply)
        replies = await asyncio.gather(
            *(
                client.structured(
                    [MESSAGES[0], {"role": "user", "content": f"Article {i}."}],
                    ExtractionDraft,
                    template=TEMPLATE,
                    context=CONTEXT,
                )
                for i in range(64)
            )
        )
    await client.aclose()
    assert len(seen) == 64 and all(r.value.summary == GOOD["summary"] for r in replies)
    assert client.transport._busy == [0] * len(client.transport._pool)
    assert client.usage.requests == 64 and client.usage.prompt_tokens == 64 * 100


def _sdk(**options: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=BASE_URL, api_key=SECRET, max_retries=0, organization="org-1", **options
    )


async def test_a_prepared_post_sends_what_the_sdk_would_send() -> None:
    sdk = _sdk(default_headers={"X-Team": "news"})
    prepared = prepared_post(sdk)
    assert prepared is not None
    body = {"model": "m", "messages": [{"role": "user", "content": "naïve “quotes”"}]}
    step = {"X-Summarizer-Step": "extract"}
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(return_value=ok(GOOD))
        options: openai.RequestOptions = {"security": {"bearer_auth": True}, "headers": step}
        await sdk.post("/chat/completions", cast_to=httpx.Response, body=body, options=options)
        response = await prepared.send(body, step)
    assert response.json()["choices"][0]["message"]["content"] == json.dumps(GOOD)
    by_sdk, ours = (call.request for call in route.calls)
    assert sorted(ours.headers.multi_items()) == sorted(by_sdk.headers.multi_items())
    assert ours.url == by_sdk.url and ours.content == by_sdk.content
    assert ours.extensions["timeout"] == by_sdk.extensions["timeout"]


async def test_a_prepared_post_raises_the_sdks_error_types() -> None:
    sdk = _sdk()
    prepared = prepared_post(sdk)
    assert prepared is not None
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions")
        route.mock(return_value=error(429, "slow down", code="rate_limit_exceeded"))
        with pytest.raises(openai.RateLimitError) as limited:
            await prepared.send({}, {})
        route.mock(side_effect=httpx.ReadTimeout("late"))
        with pytest.raises(openai.APITimeoutError):
            await prepared.send({}, {})
        route.mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(openai.APIConnectionError) as refused:
            await prepared.send({}, {})
    assert limited.value.status_code == 429 and "slow down" in limited.value.message
    assert isinstance(refused.value.__cause__, httpx.ConnectError)


def test_a_client_that_builds_each_request_itself_is_not_prepared() -> None:
    azure = openai.AsyncAzureOpenAI(
        azure_endpoint="https://example.invalid", api_version="2024-06-01", api_key=SECRET
    )
    assert prepared_post(azure) is None
    assert prepared_post(_sdk()) is not None
