"""The fast HTTP transport (summarizer._llm.http11) against real loopback servers: keep-alive,
closes, split and chunked replies, timeouts, refusals, cancellation, width; and the client
on it (config, proxies, the POST written as bytes, errors mapped as on httpx's pool)."""

from __future__ import annotations

import asyncio
import gzip
import importlib.util
import json
import logging
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from summarizer import DocumentSummary, LLMConfig, Summarizer, SummarizerConfig
from summarizer._cli import main
from summarizer._client import ChatClient
from summarizer._config import HTTP_TRANSPORT_VARIABLE
from summarizer._errors import ConfigError, EndpointError, ModelTransportError
from summarizer._llm import http11
from summarizer._llm.http11 import HTTP11Transport
from summarizer._llm.transport import fast_transport_usable
from summarizer._models import ExtractionDraft
from summarizer._testing import FakeServer, ScriptedModel, completion

from .test_adaptive import _sse, seed_variants
from .test_client import CONTEXT, GOOD, MESSAGES, TEMPLATE
from .test_network import _Server, self_signed, serving

pytest.importorskip("httptools")

Reply = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # True: close after


def reply_bytes(body: bytes, *, extra: bytes = b"") -> bytes:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n" % len(body)
    return head + extra + b"\r\n" + body


async def echo(body: bytes, writer: asyncio.StreamWriter) -> bool:
    """The request's body back, so every caller can check it got its own reply."""
    writer.write(reply_bytes(body))
    return False


class RawServer(_Server):
    """Loopback HTTP/1.1 from asyncio streams; ``reply`` writes each answer."""

    def __init__(self, reply: Reply = echo):
        super().__init__()
        self.reply = reply

    async def answer(self, body: bytes, writer: asyncio.StreamWriter) -> bool:
        return await self.reply(body, writer)


def fast_client(**options: object) -> httpx.AsyncClient:
    transport = HTTP11Transport(**options)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, timeout=5.0)


def unused_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port: int = unused.getsockname()[1]
    return port


# -- the transport ---------------------------------------------------------------------------


async def test_connections_are_kept_alive_and_reused() -> None:
    server = RawServer()
    async with serving(server) as url, fast_client() as client:
        for i in range(3):
            assert (
                await client.post(url, content=b"x%d" % i * 5_000)
            ).content == b"x%d" % i * 5_000
        replies = await asyncio.gather(*(client.post(url, content=b"%d" % i) for i in range(4)))
    assert [r.content for r in replies] == [b"0", b"1", b"2", b"3"]
    assert server.requests == 7 and server.connections == 4  # one, then three more at once


async def test_a_connection_the_server_closes_is_not_reused() -> None:
    async def close_said(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(reply_bytes(body, extra=b"connection: close\r\n"))
        return True

    async def close_silently(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(reply_bytes(body))  # keep-alive promised, then dropped
        return True

    for reply in (close_said, close_silently):
        server = RawServer(reply)
        async with serving(server) as url, fast_client() as client:
            for i in range(3):
                assert (await client.post(url, content=b"%d" % i)).content == b"%d" % i
                await asyncio.sleep(0.05)  # a silent close reaches the client
        assert server.connections == 3, reply.__name__


async def test_a_reply_split_into_many_small_writes_is_read_whole() -> None:
    async def dripped(body: bytes, writer: asyncio.StreamWriter) -> bool:
        whole = reply_bytes(body * 50)
        for at in range(0, len(whole), 7):
            writer.write(whole[at : at + 7])
            await writer.drain()
            if at % 700 == 0:
                await asyncio.sleep(0.001)
        return False

    server = RawServer(dripped)
    async with serving(server) as url, fast_client() as client:
        for i in range(2):
            assert (await client.post(url, content=b"ab%d" % i)).content == b"ab%d" % i * 50
    assert server.connections == 1


async def test_chunked_and_read_to_close_replies() -> None:
    async def chunked(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for part in (b"hello ", b"chunked ", body):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        return False

    async def to_close(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end " + body)
        return True

    server = RawServer(chunked)
    async with serving(server) as url, fast_client() as client:
        assert (await client.post(url, content=b"1")).text == "hello chunked 1"
        async with client.stream("POST", url, content=b"2") as streamed:
            parts = [part async for part in streamed.aiter_raw()]
        assert parts == [b"hello ", b"chunked ", b"2"]  # yielded as they came
        assert (await client.post(url, content=b"3")).text == "hello chunked 3"
    assert server.connections == 1
    server = RawServer(to_close)
    async with serving(server) as url, fast_client() as client:
        assert (await client.post(url, content=b"a")).text == "until the end a"
        assert (await client.post(url, content=b"b")).text == "until the end b"
    assert server.connections == 2


async def test_errors_are_httpxs_and_a_broken_connection_is_never_reused() -> None:
    async def misbehaving(body: bytes, writer: asyncio.StreamWriter) -> bool:
        if body == b"slow":
            await asyncio.sleep(0.5)
        if body == b"garbage":
            writer.write(b"HTTP/1.1 abc\r\n\r\n")
            return True
        if body == b"cut":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this")
            return True
        if body == b"nothing":
            return True
        writer.write(reply_bytes(body))
        return False

    server = RawServer(misbehaving)
    async with serving(server) as url, fast_client() as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(url, content=b"slow", timeout=httpx.Timeout(5.0, read=0.1))
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(url, content=b"garbage")
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(url, content=b"cut")
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(url, content=b"nothing")
        assert (await client.post(url, content=b"fine")).content == b"fine"
    assert server.connections == 5  # every failure closed its connection


async def test_a_refused_connection_is_the_same_error_on_both_transports() -> None:
    url = f"http://127.0.0.1:{unused_port()}/"
    for client in (fast_client(), httpx.AsyncClient()):
        async with client:
            with pytest.raises(httpx.ConnectError):
                await client.get(url)


async def test_a_request_cancelled_mid_read_leaves_no_half_read_connection() -> None:
    async def half_then_rest(body: bytes, writer: asyncio.StreamWriter) -> bool:
        whole = reply_bytes(body)
        writer.write(whole[:-2])
        await writer.drain()
        await asyncio.sleep(0.3 if body == b"cancel me" else 0)
        writer.write(whole[-2:])
        return False

    server = RawServer(half_then_rest)
    async with serving(server) as url, fast_client() as client:
        waiting = asyncio.create_task(client.post(url, content=b"cancel me"))
        await asyncio.sleep(0.1)  # the head and part of the body are in
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert (await client.post(url, content=b"next")).content == b"next"
        assert (await client.post(url, content=b"again")).content == b"again"
    assert server.connections == 2  # the cancelled one was closed, the next one kept


async def test_256_requests_at_once_each_get_their_own_reply() -> None:
    server = RawServer()
    async with serving(server) as url, fast_client() as client:
        for _ in range(2):
            replies = await asyncio.gather(
                *(client.post(url, content=b"request %d" % i) for i in range(256))
            )
            assert [r.content for r in replies] == [b"request %d" % i for i in range(256)]
    assert server.requests == 512 and server.connections == 256


async def test_max_connections_queue_requests_and_the_pool_timeout_holds() -> None:
    async def slow(body: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.05)
        writer.write(reply_bytes(body))
        return False

    server = RawServer(slow)
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    async with serving(server) as url, fast_client(limits=limits) as client:
        replies = await asyncio.gather(*(client.post(url, content=b"%d" % i) for i in range(6)))
        assert [r.content for r in replies] == [b"%d" % i for i in range(6)]
        assert server.connections == 2
        tight = httpx.Timeout(5.0, pool=0.01)
        with pytest.raises(httpx.PoolTimeout):
            await asyncio.gather(*(client.post(url, content=b"x", timeout=tight) for _ in range(3)))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_https_through_asyncios_ssl(tmp_path: Path) -> None:
    served, trusted = self_signed(tmp_path)
    server = RawServer()
    async with serving(server, served) as url:
        async with fast_client(ssl_context=trusted) as client:
            assert (await client.post(url, content=b"secret")).content == b"secret"
            assert (await client.post(url, content=b"again")).content == b"again"
        assert server.connections == 1
        async with fast_client() as untrusting:  # the system CAs do not know this one
            with pytest.raises(httpx.ConnectError):
                await untrusting.post(url, content=b"x")


# -- the client on it ------------------------------------------------------------------------


def fast_chat_client(base_url: str, **config: object) -> ChatClient:
    settings = {"model": "gpt-4o-mini", "base_url": base_url, "api_key": "k", **config}
    return ChatClient(LLMConfig(http_transport="fast", **settings))


def test_the_transport_is_chosen_once_in_the_config() -> None:
    base = {"base_url": "http://127.0.0.1:1/v1"}
    assert LLMConfig.from_env({}, **base).http_transport == "default"
    assert LLMConfig.from_env({HTTP_TRANSPORT_VARIABLE: "FAST"}, **base).http_transport == "fast"
    explicit = LLMConfig.from_env(
        {HTTP_TRANSPORT_VARIABLE: "fast"}, http_transport="default", **base
    )
    assert explicit.http_transport == "default"
    with pytest.raises(ConfigError, match=HTTP_TRANSPORT_VARIABLE):
        LLMConfig.from_env({HTTP_TRANSPORT_VARIABLE: "quick"}, **base)


def test_the_fast_transport_without_httptools_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "httptools" else real(name, *a),
    )
    with pytest.raises(ConfigError, match=r"--http-transport fast.*summarizer\[fast\]"):
        LLMConfig(base_url="http://127.0.0.1:1/v1", http_transport="fast").resolve({})
    assert LLMConfig(base_url="http://127.0.0.1:1/v1").resolve({}).http_transport == "default"


def test_the_fast_client_has_one_pool_and_a_proxy_keeps_httpxs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = fast_chat_client("http://127.0.0.1:1/v1", concurrency=256)
    assert len(client.transport._pool) == 1
    assert isinstance(client.transport._pool[0]._client._transport, HTTP11Transport)
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    with caplog.at_level(logging.INFO, logger="summarizer.client"):
        proxied = fast_chat_client("http://127.0.0.1:1/v1", concurrency=256)
    assert not isinstance(proxied.transport._pool[0]._client._transport, HTTP11Transport)
    assert len(proxied.transport._pool) > 1
    assert "http_proxy" in caplog.text and "default transport" in caplog.text


def test_the_pipeline_gives_the_same_results_on_both_transports() -> None:
    documents = seed_variants(12)
    results = {}
    with FakeServer(ScriptedModel()) as server:
        for transport in ("default", "fast"):
            llm = LLMConfig(
                base_url=server.base_url, api_key="k", concurrency=16, http_transport=transport
            )
            summarizer = Summarizer(SummarizerConfig(engine="llm", llm=llm, cache=False))
            first = summarizer.summarize_many(documents[:6])  # each sync call: a loop of its own
            results[transport] = first + summarizer.summarize_many(documents[6:])
            summarizer.close()
    assert all(isinstance(r, DocumentSummary) for r in results["fast"])
    assert [r.model_dump(exclude={"provenance"}) for r in results["fast"]] == [
        r.model_dump(exclude={"provenance"}) for r in results["default"]
    ]


async def test_refusals_redirects_and_compressed_replies_on_the_fast_path() -> None:
    body = json.dumps(completion(json.dumps(GOOD))).encode()
    seen: list[bytes] = []

    async def varied(sent: bytes, writer: asyncio.StreamWriter) -> bool:
        seen.append(sent)
        if len(seen) == 1:  # a busy server: retried after the wait it asks for
            writer.write(
                b"HTTP/1.1 429 Too Many\r\nretry-after-ms: 10\r\ncontent-length: 2\r\n\r\n{}"
            )
        elif len(seen) == 2:
            writer.write(
                b"HTTP/1.1 307 Moved\r\nlocation: /v2/chat/completions\r\ncontent-length: 0\r\n\r\n"
            )
        else:
            packed = gzip.compress(body)
            writer.write(reply_bytes(packed, extra=b"content-encoding: gzip\r\n"))
        return False

    server = RawServer(varied)
    async with serving(server) as url:
        client = fast_chat_client(url + "v1", max_attempts=2, backoff_seconds=0.01)
        reply = await client.structured(
            MESSAGES, ExtractionDraft, template=TEMPLATE, context=CONTEXT
        )
        await client.aclose()
    assert reply.value.summary == GOOD["summary"]
    assert len(seen) == 3 and seen[1] == seen[2]  # the redirect sent the same body again
    assert server.paths == [b"/v1/chat/completions"] * 2 + [b"/v2/chat/completions"]

    async def unauthorised(_sent: bytes, writer: asyncio.StreamWriter) -> bool:
        error = b'{"error": {"message": "bad key"}}'
        writer.write(b"HTTP/1.1 401 No\r\ncontent-length: %d\r\n\r\n%s" % (len(error), error))
        return False

    async with serving(RawServer(unauthorised)) as url:
        client = fast_chat_client(url + "v1")
        with pytest.raises(EndpointError, match="401"):
            await client.structured(MESSAGES, ExtractionDraft, template=TEMPLATE, context=CONTEXT)
        await client.aclose()


async def test_transport_failures_map_to_the_same_errors_as_on_httpxs_pool() -> None:
    url = f"http://127.0.0.1:{unused_port()}/v1"
    for transport in ("fast", "default"):
        client = ChatClient(
            LLMConfig(base_url=url, api_key="k", max_attempts=1, http_transport=transport)
        )
        with pytest.raises(EndpointError, match="cannot connect"):
            await client.structured(MESSAGES, ExtractionDraft, template=TEMPLATE, context=CONTEXT)
        await client.aclose()

    async def silent(_sent: bytes, _writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(1.0)
        return True

    async with serving(RawServer(silent)) as url:
        client = fast_chat_client(url + "v1", max_attempts=1, timeout_seconds=0.2)
        with pytest.raises(ModelTransportError, match="no complete reply within"):
            await client.structured(MESSAGES, ExtractionDraft, template=TEMPLATE, context=CONTEXT)
        await client.aclose()


def test_the_command_line_runs_on_the_fast_transport(
    tmp_path: Path, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    with FakeServer(ScriptedModel()) as server:
        out = tmp_path / "out"
        command = ["run", str(seeds_dir), "--engine", "llm", "--base-url", server.base_url]
        command += ["--no-cache", "--out", str(out)]
        assert main([*command, "--http-transport", "fast"]) == 0
        assert server.model.requests >= 5
        assert len(list(out.glob("*.txt.json"))) == 5
        monkeypatch.setenv(HTTP_TRANSPORT_VARIABLE, "quick")
        assert main(command) == 2  # without the flag, the variable is read: refused
    assert f"{HTTP_TRANSPORT_VARIABLE}='quick'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["run", str(seeds_dir), "--http-transport", "quick"])
    assert caught.value.code == 2


async def test_a_streamed_reply_through_the_fast_transport() -> None:
    sse = _sse(
        json.dumps(GOOD), usage={"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}
    )
    events = [line + b"\n\n" for line in sse.content.split(b"\n\n") if line]

    async def streamed(_sent: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
        writer.write(b"transfer-encoding: chunked\r\n\r\n")
        for event in events:  # one chunk an event, as servers flush them
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        return False

    server = RawServer(streamed)
    async with serving(server) as url:
        client = fast_chat_client(url + "v1", stream=True)
        for _ in range(2):
            reply = await client.structured(
                MESSAGES, ExtractionDraft, template=TEMPLATE, context=CONTEXT
            )
            assert reply.value.summary == GOOD["summary"]
        await client.aclose()
    assert client.usage.completion_tokens == 18 and server.connections == 1


async def test_an_idle_connection_past_its_keep_alive_expiry_is_not_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]  # the transport's clock, moved by hand: no race with a slow machine
    monkeypatch.setattr(http11, "_now", lambda: now[0])
    server = RawServer()
    limits = httpx.Limits(keepalive_expiry=5.0)
    async with serving(server) as url, fast_client(limits=limits) as client:
        assert (await client.post(url, content=b"1")).content == b"1"
        now[0] += 4.9
        assert (await client.post(url, content=b"2")).content == b"2"  # within expiry: reused
        now[0] += 5.1
        assert (await client.post(url, content=b"3")).content == b"3"
    assert server.connections == 2


async def test_a_stream_closed_unread_after_its_whole_reply_came_leaves_a_usable_connection() -> (
    None
):
    big = b"x" * (http11.HIGH_WATER + 40_000)

    async def answer(sent: bytes, writer: asyncio.StreamWriter) -> bool:
        if sent != b"big":
            writer.write(reply_bytes(sent))
            return False
        whole = reply_bytes(big)
        cut = len(whole) - 40_500  # just under HIGH_WATER first, then the rest
        writer.write(whole[:cut])
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(whole[cut:])
        return False

    server = RawServer(answer)
    async with serving(server) as url, fast_client() as client:
        async with client.stream("POST", url, content=b"big") as response:
            assert response.status_code == 200
            await asyncio.sleep(0.4)  # the whole reply is in, unread
        assert (await client.post(url, content=b"next")).content == b"next"
        assert (await client.post(url, content=b"big")).content == big
    assert server.requests == 3


async def test_a_corrupt_compressed_reply_is_a_failed_call_as_on_httpxs_pool() -> None:
    async def corrupt(_sent: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(reply_bytes(b"not gzip at all", extra=b"content-encoding: gzip\r\n"))
        return False

    for transport in ("fast", "default"):
        server = RawServer(corrupt)
        async with serving(server) as url:
            client = ChatClient(
                LLMConfig(
                    base_url=url + "v1",
                    api_key="k",
                    max_attempts=2,
                    backoff_seconds=0.01,
                    http_transport=transport,
                )
            )
            with pytest.raises(ModelTransportError):
                await client.structured(
                    MESSAGES, ExtractionDraft, template=TEMPLATE, context=CONTEXT
                )
            await client.aclose()
        assert server.requests == 2, transport  # retried, as any broken reply


async def test_length_and_chunked_together_read_as_chunked_and_a_streamed_body_is_framed() -> None:
    async def both(sent: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\ntransfer-encoding: chunked\r\n")
        writer.write(b"\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(sent), sent))
        return False

    async def parts() -> AsyncIterator[bytes]:
        yield b"hello "
        yield b"world"

    server = RawServer(both)
    async with serving(server) as url, fast_client() as client:
        assert (await client.post(url, content=b"abc")).content == b"abc"  # as h11 reads it
        # a streamed body is sent whole, framed by its length (the server reads by length)
        assert (await client.post(url, content=parts())).content == b"hello world"
    assert server.requests == 2


def test_the_fast_transport_keeps_to_httpx_for_a_proxied_endpoint_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        for variable in (name, name.upper()):
            monkeypatch.delenv(variable, raising=False)
    local = LLMConfig(base_url="http://127.0.0.1:9/v1", api_key="k", http_transport="fast")
    assert fast_transport_usable(local)
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    assert fast_transport_usable(local)  # an https proxy: not for an http endpoint
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    with caplog.at_level(logging.WARNING, logger="summarizer"):
        assert not fast_transport_usable(local)
    assert "proxy is configured" in caplog.text
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert fast_transport_usable(local)  # no_proxy covers the endpoint
    assert not fast_transport_usable(local.model_copy(update={"http_transport": "default"}))


async def test_the_fast_pool_allows_a_connection_per_request_in_flight() -> None:
    client = ChatClient(
        LLMConfig(
            base_url="http://127.0.0.1:9/v1", api_key="k", concurrency=3000, http_transport="fast"
        )
    )
    sdk = client.transport._sdk()
    pool = sdk._client._transport
    assert isinstance(pool, HTTP11Transport)
    assert pool._slots is not None and pool._slots._value == 3000
    await client.aclose()


async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    server = RawServer()
    async with serving(server) as url:
        for transport in ("fast", "default"):
            client = ChatClient(
                LLMConfig(
                    base_url=url + "v1",
                    api_key="k",
                    max_attempts=1,
                    headers={"x-note": "a\r\nx-injected: yes"},
                    http_transport=transport,
                )
            )
            with pytest.raises(ModelTransportError, match="connection failed"):
                await client.structured(
                    MESSAGES, ExtractionDraft, template=TEMPLATE, context=CONTEXT
                )
            await client.aclose()
    assert server.requests == 0
