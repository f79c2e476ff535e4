"""HTTP/1.1 keep-alive connections on asyncio with httptools' parser, as an httpx transport.

The SDK's default httpx client sends every request through httpcore's connection pool and
h11's pure-Python HTTP parser; at hundreds of requests in flight they are most of the
client's CPU per call. :class:`HTTP11Transport` is an ``httpx.AsyncBaseTransport`` that
does the same job with less: one :class:`asyncio.Protocol` per connection, llhttp (the
parser Node.js and uvicorn use, through ``httptools``) for the replies, a LIFO list of idle
connections per origin, TLS through asyncio's ``ssl``. It is opt-in (``http_transport =
"fast"``, needing the ``fast`` extra), because respx, the tests' seam, patches httpcore's
pool, which this transport does not use.

What it keeps of httpx's contract:
- the request's ``timeout`` extension: ``connect`` for the TCP and TLS handshake, ``read``
  for each wait for data, ``write`` while the socket's buffer is full, ``pool`` while
  ``max_connections`` are busy;
- httpx's exception types (``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``,
  ``ReadError``, ``WriteTimeout``, ``RemoteProtocolError``, ``PoolTimeout``), so the SDK
  and our retries map them as they map httpx's own;
- a connection goes back to the pool only once its reply was read to the end and both
  sides allow keep-alive; a reply abandoned half-read (an error, a cancelled task, a stream
  closed early) closes its connection, as does anything the server sends while it idles;
- bodies with Content-Length, chunked or read to the end of the connection; streamed
  replies (the body is yielded as it arrives, reading pauses past ``HIGH_WATER`` bytes).

Not supported: proxies (the caller keeps httpx's own transport when one is configured),
HTTP/2, Unix sockets, ``Expect: 100-continue`` and HEAD bodies (a HEAD reply is read as
headers only and its connection closed).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx

HIGH_WATER = 256 * 1024  # buffered body bytes past which reading pauses
Origin = tuple[bytes, bytes, int]


class _Reply:
    """What the parser has read of one response."""

    __slots__ = ("status", "headers", "chunks", "buffered", "head_done", "complete")

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.head_done = False
        self.complete = False


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request at a time, its reply parsed by httptools."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        import httptools  # the fast extra's: imported where it is used

        self._loop = loop
        self._parser = httptools.HttpResponseParser(self)
        # Content-Length and chunked both: the chunked framing wins, as in h11 (RFC 9112 6.3)
        lenient = getattr(self._parser, "set_dangerous_leniencies", None)
        if lenient is not None:  # httptools >= 0.6.2
            lenient(lenient_chunked_length=True)
        self._transport: asyncio.Transport | None = None
        self._reply: _Reply | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._reading_paused = False
        self.error: BaseException | None = None  # why the connection ended, if it did
        self.closed = False
        self.keep_alive = True
        self.idle_since = 0.0

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        if self._reply is None or self._reply.complete:  # nothing asked: not reusable
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except Exception as error:  # httptools.HttpParserError and its kinds
            self._end(httpx.RemoteProtocolError(f"malformed HTTP reply: {error}"))
            self.close()
            return
        reply = self._reply
        if (
            reply is not None
            and not reply.complete
            and reply.buffered > HIGH_WATER
            and (self._transport is not None)
        ):
            self._reading_paused = True
            self._transport.pause_reading()

    def eof_received(self) -> bool:
        return False  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._transport = None
        reply = self._reply
        if reply is not None and not reply.complete:
            if reply.head_done and self._read_to_eof(reply):
                reply.complete = True  # the body ends with the connection
                self.keep_alive = False
            elif exc is not None:
                self._end(httpx.ReadError(str(exc) or type(exc).__name__))
            elif reply.head_done:
                self._end(httpx.RemoteProtocolError("the server closed the connection mid-body"))
            else:
                self._end(
                    httpx.RemoteProtocolError("the server closed the connection without a reply")
                )
        self._wake()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        if self._drained is None or self._drained.done():
            self._drained = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # -- httptools callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._reply is None or self._reply.complete:  # more than one reply: not reusable
            self.keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self._reply is not None
        self._reply.headers.append((name, value))

    def on_headers_complete(self) -> None:
        reply = self._reply
        assert reply is not None
        status = self._parser.get_status_code()
        if status < 200:  # an interim reply (100 Continue): the real one follows
            reply.headers = []
            return
        reply.status = status
        reply.head_done = True
        self.keep_alive = self._parser.should_keep_alive()
        self._wake()

    def on_body(self, body: bytes) -> None:
        reply = self._reply
        assert reply is not None
        reply.chunks.append(body)
        reply.buffered += len(body)
        self._wake()

    def on_message_complete(self) -> None:
        reply = self._reply
        if reply is not None and reply.head_done:
            reply.complete = True
            self._wake()

    # -- used by the transport ---------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _end(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error

    @staticmethod
    def _read_to_eof(reply: _Reply) -> bool:
        """True when the reply has neither Content-Length nor chunked encoding."""
        names = {name.lower() for name, _ in reply.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    @property
    def reusable(self) -> bool:
        return not self.closed and self.keep_alive and self.error is None

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    async def send(self, data: bytes, timeout: float | None) -> None:
        """Write one request; waits (up to ``timeout``) only while the buffer is full."""
        if self._transport is None or self._transport.is_closing():
            raise httpx.WriteError("the connection is closed")
        self._reply = _Reply()
        self._transport.write(data)
        drained = self._drained
        if drained is not None and not drained.done():
            try:
                await asyncio.wait_for(asyncio.shield(drained), timeout)
            except asyncio.TimeoutError:
                raise httpx.WriteTimeout(f"not written within {timeout}s") from None

    async def wait(self, timeout: float | None, *, for_head: bool) -> None:
        """Until the reply's head (``for_head``) or more of its body is read; raises the
        connection's error or ReadTimeout."""
        reply = self._reply
        assert reply is not None
        while True:
            if self.error is not None:
                raise self.error
            if (reply.head_done if for_head else reply.chunks or reply.complete) or self.closed:
                if for_head and not reply.head_done:
                    raise httpx.RemoteProtocolError("the connection closed without a reply")
                return
            waiter = self._waiter = self._loop.create_future()
            timer = self._loop.call_later(timeout, _expire, waiter) if timeout is not None else None
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
            if waiter.result() is _TIMED_OUT:
                raise httpx.ReadTimeout(f"no data within {timeout}s")

    def take_body(self) -> bytes:
        """The body bytes read so far (reading resumes if it was paused)."""
        reply = self._reply
        assert reply is not None
        chunks, reply.chunks, reply.buffered = reply.chunks, [], 0
        if self._reading_paused and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def head(self) -> tuple[int, list[tuple[bytes, bytes]]]:
        assert self._reply is not None
        return self._reply.status, self._reply.headers

    @property
    def reply_complete(self) -> bool:
        return self._reply is not None and self._reply.complete

    def end_at_head(self) -> None:
        """The reply has no body (HEAD): it ends here, and so does the connection."""
        assert self._reply is not None
        self._reply.complete = True
        self.keep_alive = False

    def finish(self) -> None:
        """The reply is read (or the rest of it dropped): ready for the next request, with
        reading on, so the next reply and a close while idle are seen."""
        self._reply = None
        self.idle_since = _now()
        if self._reading_paused and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()


_TIMED_OUT: Any = object()


def _now() -> float:
    """The clock of keep-alive expiry (a function, so a test can move it)."""
    return time.monotonic()


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_result(_TIMED_OUT)


class ReplyBody(httpx.AsyncByteStream):
    """The body of one reply as httpx reads it; gives the connection back when done."""

    def __init__(
        self, connection: Connection, pool: HTTP11Transport, origin: Origin, timeout: float | None
    ):
        self._connection = connection
        self._pool = pool
        self._origin = origin
        self._timeout = timeout
        self._done = False

    async def read(self) -> bytes:
        """The whole body (at once when it is already in)."""
        connection = self._connection
        if connection.reply_complete:
            body = connection.take_body()
            self._release()
            return body
        return b"".join([chunk async for chunk in self])

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        try:
            while not self._done:
                await connection.wait(self._timeout, for_head=False)
                chunk = connection.take_body()
                if connection.reply_complete:
                    self._release()
                elif connection.closed:
                    raise httpx.RemoteProtocolError("the server closed the connection mid-body")
                if chunk:
                    yield chunk
        except BaseException:
            self._abandon()
            raise

    def _release(self) -> None:
        if not self._done:
            self._done = True
            self._pool.release(self._origin, self._connection)

    def _abandon(self) -> None:
        if not self._done:
            self._done = True
            self._connection.close()
            self._pool.release(self._origin, self._connection)

    async def aclose(self) -> None:
        if self._connection.reply_complete:  # parsed to its end, perhaps not all read
            self._release()
        self._abandon()  # read only in part: the rest would be the next reply's start


class HTTP11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over keep-alive asyncio connections (see the module's docstring)."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, limits: httpx.Limits | None = None
    ):
        limits = limits or httpx.Limits()
        self._ssl = ssl_context
        self._alpn_set = False
        self._max_idle = limits.max_keepalive_connections
        self._expiry = limits.keepalive_expiry
        self._slots = asyncio.Semaphore(limits.max_connections) if limits.max_connections else None
        self._idle: dict[Origin, list[Connection]] = {}
        self._idle_count = 0
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        origin = origin_of(request.url)
        data = _request_bytes(request, await _body(request))
        try:
            connection = await self._exchange(origin, data, timeouts)
        except httpx.TransportError as error:
            error.request = request
            raise
        status, headers = connection.head()
        if request.method == "HEAD":  # no body follows, whatever the headers say
            connection.end_at_head()
        return httpx.Response(
            status,
            headers=headers,
            stream=ReplyBody(connection, self, origin, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1"},
            request=request,
        )

    async def send_bytes(
        self, url: httpx.URL, data: bytes, timeouts: dict[str, float | None]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """One request already written out as bytes (``data``) to ``url``'s origin: the
        reply's status, headers and whole body (as sent: not decoded). Errors are httpx's,
        without a request."""
        origin = origin_of(url)
        connection = await self._exchange(origin, data, timeouts)
        status, headers = connection.head()
        body = await ReplyBody(connection, self, origin, timeouts.get("read")).read()
        return status, headers, body

    async def _exchange(
        self, origin: Origin, data: bytes, timeouts: dict[str, float | None]
    ) -> Connection:
        """A connection that sent ``data`` and read its reply's head."""
        await self._take_slot(timeouts.get("pool"))
        try:
            connection = self._idle_connection(origin) or await self._connect(
                origin, timeouts.get("connect")
            )
        except BaseException:
            self._give_slot()
            raise
        try:
            await connection.send(data, timeouts.get("write"))
            await connection.wait(timeouts.get("read"), for_head=True)
        except BaseException:
            connection.close()
            self.release(origin, connection)
            raise
        return connection

    async def _take_slot(self, timeout: float | None) -> None:
        if self._slots is None:
            return
        if not self._slots.locked():
            await self._slots.acquire()  # free: returns at once
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout)
        except asyncio.TimeoutError:
            raise httpx.PoolTimeout("no free connection") from None

    def _give_slot(self) -> None:
        if self._slots is not None:
            self._slots.release()

    def _idle_connection(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        now = _now()
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            fresh = self._expiry is None or now - connection.idle_since < self._expiry
            if connection.reusable and fresh:
                return connection
            connection.close()
        return None

    def _tls_context(self) -> ssl.SSLContext:
        """The one TLS context of every connection (building one reads the CA bundle: tens
        of ms), offering HTTP/1.1 by ALPN as httpcore does."""
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        if not self._alpn_set:
            self._ssl.set_alpn_protocols(["http/1.1"])
            self._alpn_set = True
        return self._ssl

    async def _connect(self, origin: Origin, timeout: float | None) -> Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if scheme == b"https":
            tls = self._tls_context()
        name = host.decode("ascii")
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: Connection(loop),
                    name,
                    port,
                    ssl=tls,
                    server_hostname=name if tls is not None else None,
                ),
                timeout,
            )
        except asyncio.TimeoutError:
            raise httpx.ConnectTimeout(f"no connection within {timeout}s") from None
        except OSError as error:  # ssl.SSLError included
            raise httpx.ConnectError(str(error) or type(error).__name__) from error
        return connection

    def release(self, origin: Origin, connection: Connection) -> None:
        """A connection's request is over: idle it if it can serve another, else close it."""
        self._give_slot()
        if self._closed or not connection.reusable or not connection.reply_complete:
            connection.close()
            return
        connection.finish()
        if self._max_idle is not None and self._idle_count >= self._max_idle:
            connection.close()
            return
        self._idle.setdefault(origin, []).append(connection)
        self._idle_count += 1

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        self._idle_count = 0


def origin_of(url: httpx.URL) -> Origin:
    """The scheme, host and port a connection serves."""
    return url.raw_scheme, url.raw_host, url.port or (443 if url.raw_scheme == b"https" else 80)


async def _body(request: httpx.Request) -> bytes:
    try:
        return request.content
    except httpx.RequestNotRead:
        return await request.aread()


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    """The request line, headers and body, as sent. The body is sent whole, so it is
    framed by its length (a streamed body's ``Transfer-Encoding: chunked`` is replaced)."""
    url = request.url
    lines = [request.method.encode("ascii"), b" ", url.raw_path, b" HTTP/1.1\r\n"]
    framed = False
    for name, value in request.headers.raw:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            framed = True
            continue
        lines += (name, b": ", value, b"\r\n")
    if framed or body:
        lines.append(b"content-length: %d\r\n" % len(body))
    lines.append(b"\r\n")
    lines.append(body)
    return b"".join(lines)
