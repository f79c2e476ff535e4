"""httpcore's sockets on asyncio (summarizer._llm.network): what anyio's backend did, with
httpcore's error types, under httpx and the SDK's default client."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpcore
import httpx
import pytest

from summarizer._llm.network import AsyncioBackend, use_asyncio_sockets

from .test_client import make_client

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio backend: 3.11+")

REPLY = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello"


class _Server:
    """Loopback HTTP/1.1: one fixed reply per request after ``delay``; with
    ``close_idle``, every connection is closed once its reply is sent (keep-alive
    promised, then the server drops the idle connection, as servers do)."""

    def __init__(self, *, delay: float = 0.0, close_idle: bool = False):
        self.delay = delay
        self.close_idle = close_idle
        self.connections = 0
        self.requests = 0
        self.paths: list[bytes] = []  # each request's target, in order

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.paths.append(head.split(b" ", 2)[1])
                length = 0
                for line in head.lower().split(b"\r\n"):
                    if line.startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.requests += 1
                close = await self.answer(body, writer)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def answer(self, body: bytes, writer: asyncio.StreamWriter) -> bool:  # noqa: ARG002
        """Write the reply to one request; True closes the connection after it."""
        await asyncio.sleep(self.delay)
        writer.write(REPLY)
        return self.close_idle


@asynccontextmanager
async def serving(server: _Server, tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}/"
    finally:
        listening.close()


def asyncio_client(**options: object) -> httpx.AsyncClient:
    client = httpx.AsyncClient(**options)  # type: ignore[arg-type]
    assert use_asyncio_sockets(client)
    return client


async def test_connections_are_kept_alive_and_reused() -> None:
    server = _Server()
    async with serving(server) as url, asyncio_client() as client:
        for _ in range(3):
            response = await client.post(url, content=b"x" * 10_000)
            assert response.text == "hello"
        replies = await asyncio.gather(*(client.get(url) for _ in range(4)))
    assert [r.text for r in replies] == ["hello"] * 4
    assert server.requests == 7
    assert server.connections == 4  # the first one, then three more for the four at once


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    server = _Server(close_idle=True)
    async with serving(server) as url, asyncio_client() as client:
        for _ in range(3):
            assert (await client.get(url)).text == "hello"
            await asyncio.sleep(0.05)  # the close reaches the client
    assert server.connections == 3


async def test_timeouts_and_refusals_are_httpx_errors() -> None:
    server = _Server(delay=1.0)
    async with serving(server) as url, asyncio_client() as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(url, timeout=httpx.Timeout(5.0, read=0.1))
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with asyncio_client() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


def self_signed(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server's TLS context for 127.0.0.1 with a fresh self-signed certificate, and a
    client's context that trusts it (needs the openssl command)."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    return served, ssl.create_default_context(cafile=str(cert))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_https_goes_through_the_same_sockets(tmp_path: Path) -> None:
    served, trusted = self_signed(tmp_path)
    server = _Server()
    async with serving(server, served) as url:
        async with asyncio_client(verify=trusted) as client:
            assert (await client.get(url)).text == "hello"
            assert (await client.get(url)).text == "hello"
        assert server.connections == 1
        async with asyncio_client() as untrusting:  # the system CAs do not know this one
            with pytest.raises(httpx.ConnectError):
                await untrusting.get(url)


def test_the_clients_own_pools_use_the_asyncio_backend_and_a_given_client_is_left_alone() -> None:
    client = make_client(concurrency=8, http_transport="default")  # the fast one has no httpcore
    for sdk in client.transport._pool:
        pool = sdk._client._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool, httpcore.AsyncConnectionPool)
        assert isinstance(pool._network_backend, AsyncioBackend)
    mocked = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200)))
    assert not use_asyncio_sockets(mocked)
