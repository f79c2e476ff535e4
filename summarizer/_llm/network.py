"""httpcore's sockets on asyncio streams, for the SDK's default httpx client.

httpcore reaches the network through a backend; its default is anyio, whose stream
wrappers, cancel scopes and library detection cost a fair part of every request at high
concurrency. :class:`AsyncioBackend` is the same interface on asyncio's own streams and
timeouts, with httpcore's error types, so httpx, the SDK and respx (which patches the
connection pool, not the sockets) see no difference. It needs Python 3.11 (``asyncio.
timeout``, ``StreamWriter.start_tls``); on 3.10 the client keeps anyio.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

import httpcore
import httpx
from httpcore._backends.base import SOCKET_OPTION as SocketOption
from httpcore._utils import is_socket_readable

# Python 3.11's (the backend is not used on 3.10)
_timeout = cast(
    Callable[[float | None], AbstractAsyncContextManager[None]], getattr(asyncio, "timeout", None)
)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection as an asyncio reader and writer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with _timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout(f"no data within {timeout}s") from None
        except OSError as error:
            raise httpcore.ReadError(str(error) or type(error).__name__) from error

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with _timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout(f"not written within {timeout}s") from None
        except OSError as error:
            raise httpcore.WriteError(str(error) or type(error).__name__) from error

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with _timeout(timeout):
                await self._writer.start_tls(  # type: ignore[attr-defined]
                    ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._writer.close()
            raise httpcore.ConnectTimeout(f"no TLS handshake within {timeout}s") from None
        except OSError as error:  # ssl.SSLError included
            self._writer.close()
            raise httpcore.ConnectError(str(error) or type(error).__name__) from error
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":  # an idle connection the server closed or wrote to
            return self._reader.at_eof() or is_socket_readable(
                self._writer.get_extra_info("socket")
            )
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """TCP connections for httpcore on asyncio (Unix sockets are left to anyio)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        try:
            async with _timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, local_addr=local)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection within {timeout}s") from None
        except OSError as error:
            raise httpcore.ConnectError(str(error) or type(error).__name__) from error
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await httpcore.AnyIOBackend().connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def use_asyncio_sockets(client: httpx.AsyncClient) -> bool:
    """Give ``client``'s own connection pool the asyncio backend (True), or leave it as it
    is (False: Python 3.10, or a transport that is not httpx's pool over httpcore)."""
    if sys.version_info < (3, 11):
        return False
    transport = getattr(client, "_transport", None)
    pool = getattr(transport, "_pool", None)
    if not isinstance(transport, httpx.AsyncHTTPTransport) or not isinstance(
        pool, httpcore.AsyncConnectionPool
    ):
        return False
    pool._network_backend = AsyncioBackend()
    return True
