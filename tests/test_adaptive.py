"""Adaptive concurrency, the one-probe structured-mode negotiation and what is remembered
per endpoint between runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

from summarizer import LLMConfig, Summarizer, SummarizerConfig
from summarizer._client import ChatClient
from summarizer._config import StructuredMode
from summarizer._documents import Document
from summarizer._endpoints import EndpointState
from summarizer._engines import LLMEngine
from summarizer._errors import OutputTruncatedError
from summarizer._llm.redact import redact_url
from summarizer._models import DocumentSummary
from summarizer._ratelimit import AdaptiveConcurrency, LearnedConcurrency, RateLimiter, Ticket
from summarizer._testing import FakeServer, ScriptedModel
from summarizer._tokens import load_encoding

from .fakes import BASE_URL, SECRET, FakeTime, error, ok
from .test_client import GOOD, ask

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def seed_variants(count: int) -> list[Document]:
    texts = [path.read_text() for path in sorted(SEEDS.iterdir()) if path.suffix == ".txt"]
    return [
        Document.from_text(f"{texts[i % len(texts)]}\n\nVariant {i}.", id=f"doc-{i:02d}")
        for i in range(count)
    ]


# -- the controller, on a fake clock ---------------------------------------------------------


async def _rounds(
    gate: AdaptiveConcurrency,
    time: FakeTime,
    latency: float,
    count: int,
    *,
    in_order: bool = True,
):
    """Unlimited demand: every reply frees a slot that a new request takes at once; each
    round trip takes ``latency``, and its replies come back in the order sent (or, as
    from a server running them side by side, not). The requests sent in each round trip."""
    batch = [await gate.acquire() for _ in range(gate.level)]
    sent = []
    for _ in range(count):
        sent.append(len(batch))
        time.now += latency
        following = []
        for ticket in batch if in_order else batch[::-1]:
            gate.succeeded(ticket)  # as the transport does: judged inside the slot
            gate.release(ticket)
            while gate.in_flight < gate.level:
                following.append(await gate.acquire())
        batch = following
    return sent


async def test_slow_start_doubles_each_round_trip_up_to_the_maximum() -> None:
    time = FakeTime()
    gate = AdaptiveConcurrency(64, clock=time.clock)
    assert gate.level == 32  # half the maximum
    sent = await _rounds(gate, time, 1.0, 3)
    assert sent == [32, 64, 64] and gate.level == 64 and gate.cuts == 0
    small = AdaptiveConcurrency(8, clock=time.clock)
    assert small.level == 4  # a modest start


async def test_timeouts_429_and_503_halve_the_level_once_a_round_trip() -> None:
    time = FakeTime()
    gate = AdaptiveConcurrency(16, clock=time.clock)
    tickets = [await gate.acquire() for _ in range(8)]
    for ticket in tickets:  # a whole window fails: one cut, not eight
        gate.release()
        gate.overloaded(ticket, "timeout")
    assert gate.level == 4 and gate.cuts == 1
    later = await gate.acquire()  # sent after the cut: may cut again
    gate.release()
    gate.overloaded(later, "HTTP 503")
    assert gate.level == 2 and gate.cuts == 2


async def test_no_more_go_out_than_a_one_at_a_time_server_finishes_within_the_timeout() -> None:
    time = FakeTime()
    gate = AdaptiveConcurrency(8, clock=time.clock, timeout=600.0)
    lone = await gate.acquire()  # the first request goes alone (the mode probe)
    time.now += 250.0
    gate.succeeded(lone)
    gate.release(lone)
    assert gate.level == 2 and gate.timeout_cap() == 2  # a third would wait 750 s
    # a server that answers one request at a time, in order: each reply takes 100-250 s
    # once its turn comes; demand is unlimited
    services = [250.0, 150.0, 200.0, 250.0, 100.0] * 8
    queue: list[Ticket] = []
    finished, latencies, busiest = 0.0, [], 0
    for service in services:
        while gate.in_flight < gate.level:
            queue.append(await gate.acquire())
        busiest = max(busiest, gate.in_flight)
        ticket = queue.pop(0)
        finished = max(finished, ticket.started) + service
        time.now = finished
        latencies.append(time.now - ticket.started)
        gate.succeeded(ticket, 100)
        gate.release(ticket)
    assert max(latencies) <= 600.0 and busiest <= 2  # not one would have timed out
    slow = AdaptiveConcurrency(8, clock=time.clock, timeout=600.0)
    alone = await slow.acquire()
    time.now += 412.0
    slow.succeeded(alone)
    assert slow.level == 1 and slow.timeout_cap() == 1
    assert slow.learned() == LearnedConcurrency(None)  # a slow server: no width is kept


async def test_nothing_waits_behind_a_reply_that_may_take_the_whole_timeout() -> None:
    # seen on llama.cpp serving Gemma-3-270M: the lone first reply wrote 599 tokens in
    # 194 s, so 2,048 tokens take longer than the 600 s timeout; the next request's limit
    # was fitted to 600 s, it looped to that limit, and the one queued behind it timed out
    time = FakeTime()
    gate = await _after_a_lone_reply(time, 194.0, maximum=8, timeout=600.0, asked=2048, tokens=599)
    assert gate.output_within_timeout() == 1852 and gate.level == 1
    assert gate.timeout_cap() == 1  # 600 / 194 alone would have allowed 3
    # a server that writes a full-length reply well within the timeout keeps the bound
    # by its lone latency: 2,048 tokens at 150 tokens/s take 14 s
    fast = await _after_a_lone_reply(time, 2.0, maximum=64, timeout=600.0, asked=2048, tokens=300)
    assert fast.timeout_cap() == 294 and fast.level == 32  # (600 - 14) / 2 behind it
    # a short lone reply is mostly prompt time and does not tell the pace: 40 tokens in
    # 12 s would make 2,048 take all of the timeout; the bound stays timeout / L
    short = await _after_a_lone_reply(time, 12.0, maximum=256, timeout=600.0, asked=2048, tokens=40)
    assert short.timeout_cap() == 50
    # just above the old cliff: 3.5 tokens/s writes 2,100 tokens within 600 s, but a
    # looping 2,048-token reply takes 585 s, and a 100 s reply behind it would time out
    edge = await _after_a_lone_reply(time, 100.0, maximum=8, timeout=600.0, asked=2048, tokens=350)
    assert edge.timeout_cap() == 1 and edge.level == 1
    # a larger limit asked for later (a truncation retry) lowers the bound at once
    later = await _after_a_lone_reply(time, 100.0, maximum=8, timeout=600.0, asked=512, tokens=500)
    assert later.level == 4  # 512 tokens take 102 s: 1 + (600 - 102) / 100
    later.asked_for(4096)
    assert later.level == 1 and later.timeout_cap() == 1


async def _after_a_lone_reply(
    time: FakeTime,
    seconds: float,
    *,
    maximum: int = 16,
    timeout: float = 10.0,
    asked: int = 0,
    tokens: int = 0,
) -> AdaptiveConcurrency:
    """A gate after its first request, sent alone and asking for up to ``asked`` output
    tokens, was answered in ``seconds`` with ``tokens`` of output."""
    gate = AdaptiveConcurrency(maximum, clock=time.clock, timeout=timeout)
    lone = await gate.acquire()
    gate.asked_for(asked)
    time.now += seconds
    gate.succeeded(lone, tokens)
    gate.release(lone)
    return gate


async def test_the_timeout_bound_widens_with_replies_seen_side_by_side() -> None:
    time = FakeTime()
    gate = await _after_a_lone_reply(time, 4.0)
    assert gate.level == 2  # 10 s holds two 4-second replies in a row
    in_order = await _rounds(gate, time, 4.0, 6)  # answered in order: no sign of a wide server
    assert gate.level == 2 and max(in_order) == 2
    gate = await _after_a_lone_reply(time, 4.0)
    sent = await _rounds(gate, time, 4.0, 6, in_order=False)  # later ones overtake: it is
    assert gate.level > 2 and sent[-1] > 2 and gate.cuts == 0
    unbounded = AdaptiveConcurrency(16, clock=time.clock)  # no timeout, no such bound
    assert unbounded.timeout_cap() is None


async def test_the_output_limit_shrinks_to_what_the_server_writes_within_the_timeout(
    respx_mock: respx.MockRouter,
) -> None:
    time = FakeTime()

    def slow(_: httpx.Request) -> httpx.Response:  # 1.5 tokens/s, prompt included
        time.now += 400.0
        return ok(GOOD, completion_tokens=600)

    route = respx_mock.post(f"{BASE_URL}/chat/completions").mock(side_effect=slow)
    client = ChatClient(
        LLMConfig(model="m", base_url=BASE_URL, api_key=SECRET, timeout_seconds=600.0),
        clock=time.clock,
        sleep=time.sleep,
    )
    await ask(client)
    await ask(client, max_output_tokens=1000)
    sent = [json.loads(call.request.content)["max_tokens"] for call in route.calls]
    assert sent == [2048, 900]  # 600 s at 1.5 tokens/s
    route.mock(return_value=ok('{"summary": "China', finish_reason="length"))
    with pytest.raises(
        OutputTruncatedError, match="at most 900 tokens: as many as this server writes"
    ):
        await ask(client, max_output_tokens=1500)
    assert route.call_count == 3  # no retry at a larger limit the timeout cannot hold
    await client.aclose()


async def test_fixed_concurrency_never_moves() -> None:
    time = FakeTime()
    gate = AdaptiveConcurrency(6, adaptive=False, clock=time.clock)
    ticket = await gate.acquire()
    gate.release()
    gate.overloaded(ticket, "timeout")
    assert gate.level == 6 and gate.cuts == 0


async def test_waiters_are_served_in_order_and_a_cancelled_one_gives_its_slot_back() -> None:
    gate = AdaptiveConcurrency(1, adaptive=False)
    await gate.acquire()
    order: list[int] = []

    async def wait(n: int) -> None:
        await gate.acquire()
        order.append(n)

    tasks = [asyncio.ensure_future(wait(n)) for n in range(3)]
    await asyncio.sleep(0)
    tasks[0].cancel()
    gate.release()
    await asyncio.sleep(0)
    gate.release()
    await asyncio.sleep(0)
    assert order == [1, 2] and gate.in_flight == 1


async def test_the_shared_limits_hook_still_admits_every_request() -> None:
    admitted: list[int] = []

    class Shared:
        async def admit(self, tokens: int) -> None:
            admitted.append(tokens)

        def pause(self, seconds: float) -> None:
            pass

    limiter = RateLimiter(concurrency=2, adaptive=True, shared=Shared())
    async with limiter.slot(5) as ticket:
        assert ticket.sequence == 1
    assert admitted == [5]


# -- what a run learned starts the next -------------------------------------------------------


async def test_a_run_that_reached_the_maximum_lets_the_next_start_there() -> None:
    time = FakeTime()
    first = AdaptiveConcurrency(64, clock=time.clock)
    assert first.learned() is None  # nothing found yet
    await _rounds(first, time, 1.0, 3)
    assert first.learned() == LearnedConcurrency(64)
    later = AdaptiveConcurrency(64, clock=time.clock)
    later.start_from(64)
    assert await _rounds(later, time, 1.0, 2) == [64, 64]  # no ramp
    assert later.learned() == LearnedConcurrency(64)
    wider = AdaptiveConcurrency(256, clock=time.clock)  # a higher maximum: slow start above
    wider.start_from(64)
    assert await _rounds(wider, time, 1.0, 3) == [128, 256, 256]  # never below half
    assert wider.learned() == LearnedConcurrency(256)
    busy = AdaptiveConcurrency(64, clock=time.clock)
    await _rounds(busy, time, 1.0, 1)
    busy.start_from(8)  # too late: requests went out at the usual level
    assert busy.started_from is None and busy.level > 8


async def test_a_cut_forgets_the_width_and_a_run_that_found_nothing_keeps_it() -> None:
    time = FakeTime()
    gate = AdaptiveConcurrency(16, clock=time.clock)
    gate.start_from(16)
    tickets = [await gate.acquire() for _ in range(16)]
    gate.succeeded(tickets[0])
    for ticket in tickets:
        gate.release(ticket)
    gate.overloaded(tickets[1], "HTTP 503")
    assert gate.cuts == 1 and gate.learned() == LearnedConcurrency(None)
    unreachable = AdaptiveConcurrency(16, clock=time.clock)  # no reply: says nothing
    unreachable.start_from(16)
    for ticket in [await unreachable.acquire() for _ in range(16)]:
        unreachable.release(ticket)
        unreachable.overloaded(ticket, "timeout")
    assert unreachable.cuts >= 1 and unreachable.learned() is None
    smaller = AdaptiveConcurrency(8, clock=time.clock)  # asks for less than is known
    smaller.start_from(40)
    await _rounds(smaller, time, 1.0, 2)
    assert smaller.level == 8 and smaller.learned() is None
    short = AdaptiveConcurrency(64, clock=time.clock)  # never got to its maximum
    short.succeeded(await short.acquire())
    assert short.learned() is None
    fixed = AdaptiveConcurrency(8, adaptive=False, clock=time.clock)
    fixed.start_from(40)
    assert fixed.level == 8 and fixed.learned() is None


def test_a_bad_value_in_the_state_file_loses_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.json"
    key = EndpointState.key("http://x/v1", "m")
    for bad in (0, -3, 2.5, "many", [1]):
        entry = {"mode": "json_object", "context_window": 4096, "concurrency_reached": bad}
        path.write_text(json.dumps({key: entry}))
        facts = EndpointState(path).get("http://x/v1", "m")
        assert (facts.mode, facts.context_window, facts.concurrency_reached) == (
            "json_object",
            4096,
            None,
        )
    path.write_text(json.dumps({key: {"mode": "json_object", "context_window": "big"}}))
    EndpointState(path).update("http://x/v1", "m", concurrency_reached=32)  # no error
    facts = EndpointState(path).get("http://x/v1", "m")
    assert (facts.mode, facts.context_window, facts.concurrency_reached) == (
        "json_object",
        None,
        32,
    )


async def test_the_next_run_sends_its_first_wave_at_full_width_with_the_mode_known(
    tmp_path: Path,
) -> None:
    state = EndpointState(tmp_path / "endpoints.json")
    in_flight: list[int] = []
    now = [0]

    async def wide(_: httpx.Request) -> httpx.Response:
        now[0] += 1
        in_flight.append(now[0])
        await asyncio.sleep(0.5)  # long beside a busy test machine's own delays
        now[0] -= 1
        return ok(GOOD)

    config = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key=SECRET, concurrency=16)
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=wide)
        first = ChatClient(config, state=state)
        await asyncio.gather(*[ask(first, max_output_tokens=100 + i) for i in range(64)])
        await first.aclose()
        assert in_flight[0] == 1 and max(in_flight[:9]) <= 8  # the probe, then half
        facts = state.get(first.endpoint, "gpt-4o-mini")
        assert (facts.mode, facts.concurrency_reached) == ("json_schema", 16)
        in_flight.clear()
        written = facts.updated
        again = ChatClient(config, state=state)
        await asyncio.gather(*[ask(again, max_output_tokens=300 + i) for i in range(32)])
        await again.aclose()
    assert in_flight[:16] == list(range(1, 17))  # all sixteen at once, from the start
    assert again.limiter.concurrency.changes[-1][1] == 16
    assert state.get(again.endpoint, "gpt-4o-mini").updated == written  # nothing new to write


# -- against loopback servers ----------------------------------------------------------------


def _run(base_url: str, documents: list[Document], **options: object):
    llm = LLMConfig(model="gpt-4o-mini", base_url=base_url, api_key="unused", **options)
    summarizer = Summarizer(SummarizerConfig(engine="llm", llm=llm, cache=False))
    results = summarizer.summarize_many(documents)
    engine = summarizer.engine
    assert isinstance(engine, LLMEngine)
    summarizer.close()
    return results, engine.client


def test_a_one_slot_server_settles_at_one_in_flight_with_no_article_lost() -> None:
    documents = seed_variants(24)
    with FakeServer(ScriptedModel(), latency=0.3, slots=1) as server:
        # a deadline that holds 8 queued requests, not more
        results, client = _run(server.base_url, documents, timeout_seconds=2.6)
    gate = client.limiter.concurrency
    assert all(isinstance(r, DocumentSummary) for r in results)
    assert client.usage.retries == 0  # no timeout, so nothing was sent twice
    assert server.busiest <= 8
    levels = [level for _, level in gate.changes]
    assert gate.cuts >= 2 and 1 in levels and gate.level <= 2  # at 1, probing 2 now and then


def test_a_server_too_slow_for_a_queue_within_the_timeout_gets_one_request_at_a_time() -> None:
    documents = seed_variants(6)
    with FakeServer(ScriptedModel(), latency=1.0, slots=1) as server:
        # the deadline holds one reply, not two: any queue would time out
        results, client = _run(server.base_url, documents, timeout_seconds=1.9, max_attempts=1)
    assert all(isinstance(r, DocumentSummary) for r in results), results
    assert client.limiter.concurrency.peak == 1 and server.busiest == 1


def test_a_run_that_was_cut_clears_the_width_and_the_next_starts_at_half(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache.sqlite3"
    state = EndpointState.beside(cache)
    with FakeServer(ScriptedModel(), latency=0.2, slots=1) as server:
        llm = LLMConfig(
            model="gpt-4o-mini", base_url=server.base_url, api_key="unused", timeout_seconds=2.0
        )
        endpoint = redact_url(server.base_url.rstrip("/") + "/")  # as the SDK client has it
        state.update(endpoint, "gpt-4o-mini", mode="json_schema", concurrency_reached=8)
        with Summarizer(SummarizerConfig(engine="llm", llm=llm, cache_path=cache)) as summarizer:
            results = summarizer.summarize_many(seed_variants(16))
            engine = summarizer.engine
            assert isinstance(engine, LLMEngine)
    gate = engine.client.limiter.concurrency
    assert all(isinstance(r, DocumentSummary) for r in results)
    assert gate.started_from == 8 and gate.changes[1][1] == 8  # it began at the known width
    assert server.busiest == 8 and gate.cuts >= 1  # which a one-slot server pushes back on
    assert engine.client.endpoint == endpoint
    assert state.get(endpoint, "gpt-4o-mini").concurrency_reached is None


def test_a_fixed_eight_in_flight_times_out_on_the_same_server() -> None:
    documents = seed_variants(9)  # the first goes alone (it finds the structured mode)
    with FakeServer(ScriptedModel(), latency=0.15, slots=1) as server:
        results, client = _run(
            server.base_url,
            documents,
            timeout_seconds=0.8,
            adaptive_concurrency=False,
            max_attempts=1,
        )
    assert client.limiter.concurrency.peak == 8
    failed = [r for r in results if not isinstance(r, DocumentSummary)]
    assert failed and all("no complete reply within 0.8s" in r.message for r in failed)


async def test_a_wide_server_takes_the_level_to_the_maximum_within_a_few_round_trips() -> None:
    latency = 0.5

    async def wide(_: httpx.Request) -> httpx.Response:
        await asyncio.sleep(latency)  # every request in the same time, however many
        return ok(GOOD)

    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=wide)
        config = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key=SECRET, concurrency=16)
        client = ChatClient(config)
        await asyncio.gather(*[ask(client, max_output_tokens=100 + i) for i in range(96)])
    gate = client.limiter.concurrency
    assert gate.peak == 16 and gate.cuts == 0
    # the probe, then slow start from 8: there within two round trips (a reply that a
    # busy client read late earns no growth, so not always within one)
    assert gate.replies_to_maximum is not None and gate.replies_to_maximum <= 1 + 8 + 16


# -- structured mode: one probe, remembered --------------------------------------------------


def _client(state: EndpointState | None = None) -> ChatClient:
    config = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key=SECRET)
    return ChatClient(config, state=state)


def _formats(route: respx.Route) -> list[str | None]:
    return [
        json.loads(call.request.content).get("response_format", {}).get("type")
        for call in route.calls
    ]


def _llama_like(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    if body.get("response_format", {}).get("type") == "json_schema":
        return error(500, "Either 'json_schema' or 'grammar' can be specified, but not both")
    return ok(GOOD)


async def test_only_one_request_probes_an_unknown_mode(tmp_path: Path) -> None:
    state = EndpointState(tmp_path / "endpoints.json")
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(side_effect=_llama_like)
        client = _client(state)
        replies = await asyncio.gather(*[ask(client, max_output_tokens=100 + i) for i in range(6)])
        assert {r.mode for r in replies} == {StructuredMode.JSON_OBJECT}
        assert _formats(route).count("json_schema") == 1
        assert len(route.calls) == 7
        assert state.get(client.endpoint, "gpt-4o-mini").mode == "json_object"

        again = _client(state)  # the next run starts in the mode that worked
        await asyncio.gather(*[ask(again, max_output_tokens=200 + i) for i in range(3)])
        assert _formats(route)[7:] == ["json_object"] * 3


async def test_a_failed_probe_hands_the_probe_to_the_next_request() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[error(400, "bad request: unknown field temperature"), ok(GOOD), ok(GOOD)]
        )
        client = _client()
        results = await asyncio.gather(
            ask(client, max_output_tokens=100),
            ask(client, max_output_tokens=101),
            return_exceptions=True,
        )
        assert sum(isinstance(r, Exception) for r in results) == 1
        assert client.modes.confirmed and len(route.calls) == 2


def test_an_unreadable_state_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.json"
    path.write_text("{not json")
    state = EndpointState(path)
    assert state.get("http://x/v1", "m").mode is None
    state.update("http://x/v1", "m", mode="json_object", context_window=4096)
    facts = EndpointState(path).get("http://x/v1", "m")
    assert (facts.mode, facts.context_window) == ("json_object", 4096)


@pytest.mark.parametrize("value", ["nonsense", None])
def test_a_remembered_mode_the_config_does_not_allow_is_not_used(
    tmp_path: Path, value: str | None
) -> None:
    state = EndpointState(tmp_path / "endpoints.json")
    config = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key=SECRET)
    probe = ChatClient(config)
    state.update(probe.endpoint, "gpt-4o-mini", mode=value)
    client = ChatClient(config, state=state)
    assert client.mode is StructuredMode.JSON_SCHEMA and not client.modes.confirmed


# -- the server's context window --------------------------------------------------------------


def test_a_context_length_refusal_splits_the_input_and_is_remembered(tmp_path: Path) -> None:
    """A server with a 2,400-token context: the long seed article is refused once, split,
    and summarised; the window is learned, so the next long article is cut to fit at
    once, and a new client reads it from the state file."""
    model = ScriptedModel()
    encoding = load_encoding("o200k_base")
    refusals = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal refusals
        body = json.loads(request.content)
        prompt = sum(encoding.count(m["content"]) + 4 for m in body["messages"]) + 3
        if prompt + body["max_tokens"] > 2400:
            refusals += 1
            message = (
                f"This model's maximum context length is 2400 tokens. However, you requested "
                f"{prompt + body['max_tokens']} tokens."
            )
            return error(400, message, code="context_length_exceeded")
        return model.handle(request)

    long_one = (SEEDS / "004_55ac9cc17b546c97.txt").read_text()
    documents = [
        Document.from_text(long_one, id="long-1"),
        Document.from_text(long_one + "\n\nAnother paragraph.", id="long-2"),
    ]
    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    llm = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key=SECRET, concurrency=1)
    config = SummarizerConfig(engine="llm", llm=llm, cache_path=tmp_path / "cache.sqlite3")
    summarizer = Summarizer(config, http_client=http)
    results = summarizer.summarize_many(documents)
    assert refusals == 2  # both were waiting, built whole, before the first refusal
    results.append(summarizer.summarize(Document.from_text(long_one + "\n\nA third.", id="long-3")))
    summarizer.close()
    assert all(isinstance(r, DocumentSummary) for r in results), [
        getattr(r, "message", "") for r in results
    ]
    assert refusals == 2  # the third article was cut to fit before it was sent
    first = results[0]
    assert isinstance(first, DocumentSummary)
    assert any(w.code == "chunk_split" for w in first.warnings)
    state = EndpointState.beside(tmp_path / "cache.sqlite3")
    engine = summarizer.engine
    assert isinstance(engine, LLMEngine)
    assert state.get(engine.client.endpoint, "gpt-4o-mini").context_window == 2400
    again = ChatClient(llm, state=state)
    assert again.context_window == 2400 and again.output_limit() == 1200


# -- streaming ------------------------------------------------------------------------------


def _sse(content: str, *, usage: dict[str, int] | None, finish: str = "stop") -> httpx.Response:
    """A streamed chat completion: the content in small deltas, then the finish reason,
    then (with ``usage``) the usage-only chunk ``include_usage`` asks for."""
    base = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    pieces = [content[i : i + 7] for i in range(0, len(content), 7)]
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        for piece in pieces
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if usage is not None:
        chunks.append({**base, "choices": [], "usage": usage})
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


@pytest.mark.parametrize("with_usage", [True, False])
async def test_a_streamed_reply_is_assembled_validated_and_accounted(with_usage: bool) -> None:
    usage = {"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366}
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            return_value=_sse(json.dumps(GOOD), usage=usage if with_usage else None)
        )
        config = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key=SECRET, stream=True)
        client = ChatClient(config)
        reply = await ask(client)
    sent = json.loads(route.calls[0].request.content)
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert reply.value.model_dump() == GOOD
    if with_usage:
        assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (321, 45)
    else:  # counted here: the prompt as estimated, the reply with tiktoken
        assert reply.usage.prompt_tokens > 100
        assert reply.usage.completion_tokens == client.encoding.count(json.dumps(GOOD))


async def test_a_streamed_reply_cut_at_the_limit_is_retried_larger() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[
                _sse('{"summary": "Chi', usage=None, finish="length"),
                _sse(json.dumps(GOOD), usage=None),
            ]
        )
        config = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key=SECRET, stream=True)
        reply = await ask(ChatClient(config), max_output_tokens=300)
    limits = [json.loads(call.request.content)["max_tokens"] for call in route.calls]
    assert limits == [300, 600] and reply.value.summary == GOOD["summary"]


# -- summarizer doctor -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (httpx.Response(404), 32768),  # only the training context is said: it is used
        # llama.cpp's /props names the context the server runs with (its -c): that one wins
        (httpx.Response(200, json={"default_generation_settings": {"n_ctx": 4096}}), 4096),
    ],
)
def test_doctor_probes_the_modes_reads_the_context_and_remembers_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], props: httpx.Response, expected: int
) -> None:
    from summarizer._cli import main

    model = ScriptedModel()

    def llama_like(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("response_format", {}).get("type") == "json_schema":
            return error(500, "Either 'json_schema' or 'grammar' can be specified, but not both")
        return model.handle(request)

    listing = {"object": "list", "data": [{"id": "gemma", "meta": {"n_ctx_train": 32768}}]}
    cache = tmp_path / "cache.sqlite3"
    with respx.mock(base_url=BASE_URL) as mock:
        mock.get("/models").mock(return_value=httpx.Response(200, json=listing))
        mock.get("http://llm.test/props").mock(return_value=props)
        mock.post("/chat/completions").mock(side_effect=llama_like)
        code = main(["doctor", "--base-url", BASE_URL, "--model", "gemma", "--cache", str(cache)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 model(s) listed (gemma); listed" in out
    assert f"context length: {expected:,} tokens" in out
    assert "mode json_schema refused" in out and "mode json_object valid" in out
    assert "verdict: usable, in mode json_object" in out
    assert f"--context-window {expected}" in out
    facts = EndpointState.beside(cache).get("http://llm.test/v1/", "gemma")
    assert (facts.mode, facts.context_window) == ("json_object", expected)


def test_doctor_says_when_the_endpoint_is_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    from summarizer._cli import main

    with respx.mock() as mock:
        mock.route().mock(side_effect=httpx.ConnectError("refused"))
        secret_url = BASE_URL.replace("http://", f"http://user:{SECRET}@")
        code = main(["doctor", "--base-url", secret_url, "--model", "gemma"])
    out = capsys.readouterr().out
    assert code == 2 and "unreachable: cannot reach" in out
    assert SECRET not in out


# -- attempts, counted once -------------------------------------------------------------------


async def test_a_failure_names_its_attempts_once_and_they_match_the_usage() -> None:
    from summarizer._errors import ModelTransportError

    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=httpx.ReadTimeout("slow"))
        config = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key=SECRET, max_attempts=3)
        time = FakeTime()
        client = ChatClient(config, clock=time.clock, sleep=time.sleep)
        with pytest.raises(ModelTransportError) as raised:
            await ask(client)
    text = str(raised.value)
    assert text.count("attempt") == 1 and "3 attempts" in text
    assert raised.value.attempts == raised.value.usage.requests == 3  # type: ignore[union-attr]
    assert client.usage.retries == 2


class _DropAfterFirstChunk(httpx.AsyncByteStream):
    """One chunk of a stream, then the connection drops."""

    def __init__(self, first: bytes):
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message")


async def test_a_stream_dropped_midway_is_retried_as_a_connection_error() -> None:
    first = _sse(json.dumps(GOOD), usage=None).content.split(b"\n\n")[0] + b"\n\n"
    dropped = httpx.Response(
        200, stream=_DropAfterFirstChunk(first), headers={"content-type": "text/event-stream"}
    )
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[dropped, _sse(json.dumps(GOOD), usage=None)]
        )
        config = LLMConfig(
            model="gpt-4o-mini", base_url=BASE_URL, api_key=SECRET, stream=True, max_attempts=3
        )
        reply = await ask(ChatClient(config))
    assert route.call_count == 2 and reply.value.model_dump() == GOOD


async def test_a_streamed_reply_with_an_unlisted_finish_reason_is_read_as_a_plain_one() -> None:
    # llama.cpp-style servers send finish reasons the SDK's ChatCompletion does not list;
    # a streamed reply is read as leniently as a non-streamed one
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(
            return_value=_sse(json.dumps(GOOD), usage=None, finish="eos")
        )
        config = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key=SECRET, stream=True)
        reply = await ask(ChatClient(config))
    assert reply.value.model_dump() == GOOD


async def test_a_waiter_cancelled_after_a_release_raises_cancelled_and_keeps_the_count() -> None:
    limit = AdaptiveConcurrency(1, adaptive=False)
    await limit.acquire()
    waiter = asyncio.ensure_future(limit.acquire())
    await asyncio.sleep(0)  # the waiter queues
    waiter.cancel()
    limit.release()  # the slot is freed before the cancelled waiter runs again
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert limit.in_flight == 0
    await limit.acquire()  # the slot is free again
    assert limit.in_flight == 1


def test_a_context_window_set_explicitly_wins_over_the_learned_one(tmp_path: Path) -> None:
    state = EndpointState.beside(tmp_path / "cache.sqlite3")
    state.update("http://llm.test/v1/", "gpt-4o-mini", context_window=2400)
    learned = ChatClient(LLMConfig(model="gpt-4o-mini", base_url=BASE_URL), state=state)
    explicit = ChatClient(
        LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, context_window=8000), state=state
    )
    assert (learned.context_window, explicit.context_window) == (2400, 8000)
