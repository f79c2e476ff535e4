"""Sending one request to the endpoint: the openai SDK clients, retries, typed errors.

Transport retries are the only retry layer (the SDK's own are off): connection errors,
timeouts, 408, 409, 429 and 5xx, and 2xx replies that are no chat completion (empty, HTML,
no choices), with jittered exponential backoff that honours ``retry-after-ms`` /
``Retry-After``. A wait beyond ``max_retry_after_seconds``, or ``insufficient_quota``,
fails fast. A 429 pauses the whole client. Each attempt takes a concurrency slot and the
rate-limit buckets, then reserves its worst-case cost against the budget.

Every attempt has a total deadline (``timeout_seconds``) whatever the server does (a reply
dripped a byte at a time included), apart from the connect timeout.

Failures that no other request of the run can escape (connection refused, 401/403, 404)
become :class:`EndpointError`, with a hint naming what to check.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import itertools
import logging
import math
import re
import ssl
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import openai
from openai._models import FinalRequestOptions
from pydantic import ValidationError
from pydantic_core import to_json
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from summarizer._config import LLMConfig, StructuredMode
from summarizer._errors import (
    BudgetExceededError,
    ContextLengthExceededError,
    EndpointError,
    ModelError,
    ModelRequestError,
    ModelResponseError,
    ModelTransportError,
    QuotaExceededError,
)
from summarizer._llm.accounting import Accountant
from summarizer._llm.completion import ChatReply, UnusableReply, read_reply
from summarizer._llm.context import CallContext, error_context
from summarizer._llm.http11 import HTTP11Transport
from summarizer._llm.modes import ModeRejected, rejects_mode
from summarizer._llm.network import use_asyncio_sockets
from summarizer._llm.redact import Redactor, redact_url, url_secrets
from summarizer._models import Usage
from summarizer._ratelimit import RateLimiter, Sleep
from summarizer._tokens import encoding_for_model

logger = logging.getLogger("summarizer.client")

_RETRYABLE_STATUS = {408, 409, 429}
_OVERLOAD_STATUS = {429, 503, 504}  # the server is busy: lower the concurrency
_ENDPOINT_HINTS = {
    401: "the server refused the API key: check OPENAI_API_KEY or --api-key",
    403: "the key may not use this endpoint or model: check the key's permissions and --model",
    404: "no such model or path at this endpoint: check --model (SUMMARIZER_MODEL) and "
    "--base-url (OPENAI_BASE_URL)",
}
POOL_SHARD_SIZE = 4
STREAM_LOG_EVERY = 200  # chunks between debug lines of a streamed reply


def retry_after_seconds(error: BaseException, *, now: float | None = None) -> float | None:
    """The wait a server asked for, from ``retry-after-ms`` or ``Retry-After``."""
    response = getattr(error, "response", None)
    if not isinstance(response, httpx.Response):
        return None
    headers = response.headers
    if "retry-after-ms" in headers:
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def insufficient_quota(error: openai.APIStatusError) -> bool:
    body = error.body if isinstance(error.body, dict) else {}
    detail = body.get("error", body) if isinstance(body, dict) else {}
    code = detail.get("code") or detail.get("type") if isinstance(detail, dict) else None
    return code == "insufficient_quota" or "insufficient_quota" in str(error.message)


_CONTEXT_WORDS = re.compile(
    r"context_length_exceeded|maximum context length|exceeds? (the )?(available )?context|"
    r"context (size|window|length) (of|is)|n_ctx|max_model_len|too many tokens",
    re.IGNORECASE,
)
_CONTEXT_SIZE = re.compile(
    r"(?:maximum context length is|context (?:size|window|length) (?:of|is)|n_ctx\D{0,4}|"
    r"max_model_len\D{0,4})\s*\(?(\d{3,7})",
    re.IGNORECASE,
)


def exceeds_context(error: openai.APIStatusError) -> bool:
    """True when a refusal says the request does not fit the model's context."""
    return bool(_CONTEXT_WORDS.search(f"{error.message} {error.body}"))


def stated_context_window(text: str) -> int | None:
    """The context size a context-length refusal names (OpenAI, vLLM, llama.cpp wording)."""
    found = _CONTEXT_SIZE.search(text)
    return int(found.group(1)) if found else None


class Unusable(Exception):
    """A 2xx reply that is not a chat completion; retried like a 5xx."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class DeadlineExceeded(Exception):
    """No complete reply within the total deadline of one attempt."""


def unusable_reason(response: Any) -> str | None:
    """Why a reply is not a usable chat completion, or None when it is (an empty or
    non-JSON body never gets here: :func:`read_reply` says so first)."""
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        return "no choices"
    if getattr(choices[0], "message", None) is None:
        return "a choice without a message"
    return None


def post_arguments(request: dict[str, Any]) -> tuple[dict[str, Any], openai.RequestOptions]:
    """The JSON body and SDK request options of ``chat.completions.create(**request)``:
    ``extra_body`` merged into the body, ``extra_headers`` sent as headers, bearer auth."""
    body = {k: v for k, v in request.items() if k not in ("extra_body", "extra_headers")}
    body.update(request.get("extra_body") or {})
    options: openai.RequestOptions = {"security": {"bearer_auth": True}}
    if request.get("extra_headers"):
        options["headers"] = request["extra_headers"]
    return body, options


class PreparedPost:
    """The chat-completions POST of one SDK client as the SDK builds it, built once: the
    URL, the headers (auth, organization and project, the SDK's own, the configured
    ones, httpx's defaults) and the timeouts. Each call adds its own headers and body and
    is sent through the SDK's httpx client, with the SDK's error types: what the SDK
    would do per request with its retries off, without rebuilding all of it every time.

    Only for a plain :class:`openai.AsyncOpenAI`; a client that routes, signs or
    refreshes per request (Azure, an API-key provider, a provider runtime, custom
    auth) has :func:`prepared_post` return None and is called through ``post``."""

    def __init__(self, sdk: openai.AsyncOpenAI):
        options = FinalRequestOptions.construct(
            method="post", url="/chat/completions", json_data={}, security={"bearer_auth": True}
        )
        template = sdk._build_request(options)
        self.url = template.url
        self.headers = [(k, v) for k, v in template.headers.items() if k != "content-length"]
        self.extensions = dict(template.extensions)
        self._http = sdk._client
        self._sdk = sdk
        self._head: bytes | None = None  # the request line and headers, for the fast transport
        self._fast = isinstance(self._http._transport, HTTP11Transport)

    async def send(self, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        """POST ``body`` with ``headers`` added; a refusal raises the SDK's status error,
        a timeout APITimeoutError, any other failure APIConnectionError."""
        content = to_json(body)
        # asked each call, not kept: respx's httpx mocker swaps the transport in there
        fast = self._http._transport_for_url(self.url) if self._fast else None
        if isinstance(fast, HTTP11Transport):
            response = await self._send_bytes(fast, content, headers)
        else:
            response = await self._send_request(self._request(content, headers))
        if response.is_error:
            raise self._sdk._make_status_error_from_response(response)
        return response

    def _merged(self, headers: dict[str, str]) -> list[tuple[str, str]]:
        if not headers:
            return self.headers
        names = {name.lower() for name in headers}
        return [h for h in self.headers if h[0] not in names] + list(headers.items())

    def _request(self, content: bytes, headers: dict[str, str]) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.url,
            headers=self._merged(headers),
            content=content,
            extensions=dict(self.extensions),
        )

    async def _send_request(self, request: httpx.Request) -> httpx.Response:
        """``request`` through the SDK's httpx client, its errors the SDK's."""
        try:
            return await self._http.send(request)
        except httpx.TimeoutException as error:
            raise openai.APITimeoutError(request=request) from error
        except openai.OpenAIError:
            raise
        except Exception as error:
            raise openai.APIConnectionError(request=request) from error

    async def _send_bytes(
        self, fast: HTTP11Transport, content: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        """The same POST written out as bytes, straight to the fast transport: no httpx
        request, client or cookie jar in the way. A redirect's target is asked through the
        httpx client, as the default transport would."""
        try:
            if self._head is None:
                self._head = _head_lines(self.url, self.headers)
            head = _head_lines(self.url, self._merged(headers)) if headers else self._head
            data = b"%scontent-length: %d\r\n\r\n%s" % (head, len(content), content)
            status, reply_headers, reply = await fast.send_bytes(
                self.url, data, self.extensions.get("timeout", {})
            )
        except httpx.TimeoutException as error:
            raise openai.APITimeoutError(request=self._request(content, headers)) from error
        except Exception as error:
            raise openai.APIConnectionError(request=self._request(content, headers)) from error
        request = self._request(content, headers) if status >= 300 else None
        try:  # decodes the body (gzip, deflate): a corrupt one is a failed call, as in httpx
            response = httpx.Response(status, headers=reply_headers, content=reply, request=request)
        except Exception as error:
            raise openai.APIConnectionError(request=self._request(content, headers)) from error
        if request is not None and 300 <= status < 400 and "location" in response.headers:
            # the redirect's target through the httpx client, which follows any further ones
            return await self._send_request(self._http._build_redirect_request(request, response))
        return response


def _head_lines(url: httpx.URL, headers: list[tuple[str, str]]) -> bytes:
    """A POST's request line and ``headers``, as written on the wire (ASCII, as httpx);
    ValueError for a line break in a header (h11 refuses those too)."""
    if any("\r" in name + value or "\n" in name + value for name, value in headers):
        raise ValueError("a header holds a line break")
    lines = [b"POST " + url.raw_path + b" HTTP/1.1\r\n"]
    lines += [f"{name}: {value}\r\n".encode("ascii") for name, value in headers]
    return b"".join(lines)


def prepared_post(sdk: openai.AsyncOpenAI) -> PreparedPost | None:
    """The prepared POST of ``sdk``, or None when the SDK must build each request itself."""
    per_request = (
        getattr(sdk, "_provider_runtime", None),
        getattr(sdk, "_api_key_provider", None),
        sdk.custom_auth,
    )
    if type(sdk) is not openai.AsyncOpenAI or any(hook is not None for hook in per_request):
        return None
    return PreparedPost(sdk)


def fast_transport_usable(config: LLMConfig) -> bool:
    """Whether ``config`` asks for the fast HTTP transport and it can serve: not when the
    environment names a proxy for the endpoint (its scheme's or ``all_proxy``, unless
    ``no_proxy`` covers its host), which only httpx's own transport honours (a warning)."""
    if config.http_transport != "fast":
        return False
    url = httpx.URL(config.base_url or "https://api.openai.com/v1")
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.netloc.decode()):
        return True
    logger.warning(
        "a proxy is configured for %s (%s_proxy): httpx's default transport is used, "
        "not the fast one, which cannot go through a proxy",
        redact_url(str(url)),
        url.scheme if proxies.get(url.scheme) else "all",
    )
    return False


def _request_of(error: httpx.TransportError, endpoint: str) -> httpx.Request:
    """The request an httpx error was raised for (a stand-in naming the endpoint when the
    error carries none)."""
    try:
        return error.request
    except RuntimeError:
        return httpx.Request("POST", endpoint)


def transient(error: BaseException) -> bool:
    if isinstance(error, openai.APIConnectionError | Unusable | DeadlineExceeded):
        return True
    if isinstance(error, openai.APIStatusError):
        if insufficient_quota(error):
            return False
        return error.status_code in _RETRYABLE_STATUS or error.status_code >= 500
    return False


class Transport:
    """The SDK clients of one endpoint, pooled per event loop, and the retry loop."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        http_client: httpx.AsyncClient | None,
        limiter: RateLimiter,
        accountant: Accountant,
        sleep: Sleep,
    ):
        self.config = config
        self.limiter = limiter
        self.accountant = accountant
        self._sleep = sleep
        self._encoding = encoding_for_model(config.model, override=config.encoding)
        self._common: dict[str, Any] = {
            "api_key": config.resolved_api_key(),
            "max_retries": 0,  # tenacity is the one retry layer
            "timeout": httpx.Timeout(
                config.timeout_seconds, connect=config.connect_timeout_seconds
            ),
            "default_headers": config.headers or None,
            "http_client": http_client,
        }
        self._owns_http = http_client is None
        # httpcore's pool rescans every connection on every event, so its cost grows with
        # the square of the requests in flight: above POOL_SHARD_SIZE concurrent requests,
        # spread them over several clients, each with its own small pool. A request goes
        # to the shard with the fewest in flight, so no pool holds more than
        # POOL_SHARD_SIZE connections; the shards share one TLS context (building one
        # reads the CA bundle: tens of ms each).
        # The fast transport's pool costs the same at any width: one client is enough.
        self._fast = http_client is None and fast_transport_usable(config)
        shards = (
            1
            if http_client or self._fast
            else max(1, math.ceil(config.concurrency / POOL_SHARD_SIZE))
        )
        self._shards = shards
        self._tls: ssl.SSLContext | None = None
        self._prepared: dict[openai.AsyncOpenAI, PreparedPost | None] = {}
        self._pool = self._new_pool()
        self._busy = [0] * shards
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn = itertools.count()
        self.redact = Redactor(
            [config.resolved_api_key(), *config.headers.values(), *url_secrets(config.base_url)]
        )
        self.endpoint = redact_url(str(self._pool[0].base_url))

    # -- the SDK clients ---------------------------------------------------------------------

    def _new_pool(self) -> list[openai.AsyncOpenAI]:
        self._prepared = {}
        return [self._make_openai() for _ in range(self._shards)]

    def _make_openai(self) -> openai.AsyncOpenAI:
        common = dict(self._common)
        if common["http_client"] is None:  # the SDK's default client, with the shared TLS
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            if self._fast:
                http = openai.DefaultAsyncHttpxClient(transport=self._fast_transport())
            else:
                http = openai.DefaultAsyncHttpxClient(verify=self._tls)
                use_asyncio_sockets(http)
            common["http_client"] = http
        if self.config.azure_api_version:
            return openai.AsyncAzureOpenAI(
                azure_endpoint=self.config.base_url or "",
                api_version=self.config.azure_api_version,
                **common,
            )
        return openai.AsyncOpenAI(
            base_url=self.config.base_url, organization=self.config.organization, **common
        )

    def _fast_transport(self) -> httpx.AsyncBaseTransport:
        limits = openai.DEFAULT_CONNECTION_LIMITS
        idle = max(limits.max_keepalive_connections or 0, self.config.concurrency)
        return HTTP11Transport(
            ssl_context=self._tls,
            limits=httpx.Limits(
                # at least one connection per request in flight (the default's shards
                # each allow the SDK's limit)
                max_connections=max(limits.max_connections or 0, self.config.concurrency),
                max_keepalive_connections=idle,
                keepalive_expiry=limits.keepalive_expiry,
            ),
        )

    def _sdk(self) -> openai.AsyncOpenAI:
        """The next SDK client of the pool, bound to the running event loop. Connections
        belong to one loop: on another loop (a later sync call) the pool and the limiter's
        locks are made anew, while everything the client learned carries over."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._loop is not None:
                self._pool = self._new_pool()
                self.limiter.rebind()
            self._loop = loop
        return self._pool[next(self._turn) % len(self._pool)]

    @contextlib.contextmanager
    def _least_busy(self) -> Iterator[openai.AsyncOpenAI]:
        """The SDK client of the pool with the fewest requests in flight, held for one."""
        self._sdk()  # binds the pool to the running loop
        busy = self._busy
        shard = busy.index(min(busy)) if len(busy) > 1 else 0
        busy[shard] += 1
        try:
            yield self._pool[shard]
        finally:
            busy[shard] -= 1

    async def release_connections(self) -> None:
        """Close the connections of the running event loop before it ends (the sync API
        runs each call on a loop of its own); the next call opens new ones."""
        if self._owns_http and self._loop is not None:
            await self.close()
            self._pool = self._new_pool()
        self._loop = None
        self.limiter.rebind()

    async def close(self) -> None:
        for sdk in self._pool:
            await sdk.close()

    # -- one request, retried ----------------------------------------------------------------

    async def send(
        self,
        request: dict[str, Any],
        *,
        mode: StructuredMode,
        estimate: int,
        context: CallContext,
        usage: Usage,
    ) -> Any:
        """The SDK response to ``request``; raises ModeRejected, BudgetExceededError or a
        typed ModelError once retries are spent."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(self._should_retry),
            sleep=self._sleep,
            before_sleep=lambda state: self._log_retry(state, context),
            reraise=True,
        )
        first = True
        try:
            async for attempt in retrying:
                with attempt:
                    if not first:
                        self.accountant.count_retry(usage)
                    first = False
                    return await self._send_once(request, mode, estimate, usage)
        except (ModeRejected, BudgetExceededError):
            raise
        except openai.APIStatusError as error:
            raise self.status_error(error, context, usage) from None
        except (openai.APIConnectionError, Unusable, DeadlineExceeded) as error:
            raise self.transport_error(error, context, usage) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(
        self, request: dict[str, Any], mode: StructuredMode, estimate: int, usage: Usage
    ) -> Any:
        self.accountant.check_budget()
        async with self.limiter.slot(estimate) as ticket:
            parameter = self.config.output_limit_parameter
            limit = int(request.get(parameter) or 0)
            prompt = max(0, estimate - limit)
            self.limiter.concurrency.asked_for(limit)
            within = self.output_within_timeout()
            if within is not None and within < limit:
                # no more than the server writes within the timeout: a reply cut at the
                # limit comes back (and may be split) where a longer one would time out
                limit = within
                request = {**request, parameter: limit}
            held = self.accountant.reserve(prompt_tokens=prompt, output_tokens=limit)
            self.accountant.count_request(usage)
            try:
                if self.config.stream:
                    response = await self._create_streamed(request, prompt)
                else:
                    response = await self._create(request)
                written = getattr(getattr(response, "usage", None), "completion_tokens", 0)
                self.limiter.concurrency.succeeded(ticket, written or 0)
                self.accountant.record(response, usage)
            except openai.APIStatusError as error:
                if mode is not StructuredMode.PROMPT and rejects_mode(error):
                    raise ModeRejected(error, mode) from error
                if error.status_code in _OVERLOAD_STATUS:
                    self.limiter.concurrency.overloaded(ticket, f"HTTP {error.status_code}")
                raise
            except (DeadlineExceeded, openai.APITimeoutError):
                # the server may be queueing: the retry waits for a slot under the lower
                # level, i.e. for in-flight work to drain, instead of adding to the queue
                self.limiter.concurrency.overloaded(ticket, "timeout")
                raise
            finally:
                self.accountant.release(held)
        reason = unusable_reason(response)
        if reason is not None:
            raise Unusable(reason)
        return response

    async def _create(self, request: dict[str, Any]) -> ChatReply:
        """One SDK call under the total deadline, the reply read once from its bytes (see
        :mod:`summarizer._llm.completion`); a body that is not JSON is Unusable.

        The SDK's httpx client sends the request the SDK built (headers, auth, Azure
        routing, its typed errors), but the SDK neither re-walks the body through its
        parameter types nor builds its own reply objects: ``request`` is already the wire
        body; a plain OpenAI client's request is built once (:class:`PreparedPost`)."""
        body, options = post_arguments(request)
        with self._least_busy() as sdk:
            if sdk not in self._prepared:
                self._prepared[sdk] = prepared_post(sdk)
            prepared = self._prepared[sdk]
            if prepared is not None:
                call = prepared.send(body, request.get("extra_headers") or {})
            else:
                call = sdk.post(
                    "/chat/completions", cast_to=httpx.Response, body=body, options=options
                )
            try:
                response = await asyncio.wait_for(call, self.config.timeout_seconds)
            except asyncio.TimeoutError:
                raise DeadlineExceeded() from None
        try:
            return read_reply(response.content)
        except UnusableReply as error:
            raise Unusable(error.reason) from None

    async def _create_streamed(self, request: dict[str, Any], prompt_tokens: int) -> ChatReply:
        """One streamed SDK call under the total deadline, assembled into the chat
        completion a non-streamed call returns (so it is checked, validated and accounted
        the same way). Usage comes from the final chunk (``include_usage``); a server that
        sends none is counted with tiktoken (the prompt as estimated, the reply as sent)."""
        streamed = {**request, "stream": True, "stream_options": {"include_usage": True}}
        try:
            reply = await asyncio.wait_for(self._collect(streamed), self.config.timeout_seconds)
        except (asyncio.TimeoutError, httpx.TimeoutException):
            raise DeadlineExceeded() from None
        except httpx.TransportError as error:
            # once the stream is open the SDK no longer maps network errors: a connection
            # dropped mid-stream is retried as any connection error is
            raise openai.APIConnectionError(request=_request_of(error, self.endpoint)) from error
        except (ValueError, openai.APIResponseValidationError) as error:
            raise Unusable(f"a stream that is not a chat completion ({error})") from None
        except openai.APIError as error:
            if isinstance(error, openai.APIStatusError | openai.APIConnectionError):
                raise
            raise Unusable(f"an error event in the stream ({error.message})") from None
        if reply["usage"] is None:
            completion = self._encoding.count(reply["choices"][0]["message"]["content"] or "")
            reply["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion,
                "total_tokens": prompt_tokens + completion,
            }
        try:  # the same reply type as a non-streamed call: any finish reason is read
            return ChatReply.model_validate(reply)
        except ValidationError as error:
            raise Unusable(f"a stream that is not a chat completion ({error})") from None

    async def _collect(self, request: dict[str, Any]) -> dict[str, Any]:
        """The chunks of one stream joined into a chat-completion body."""
        content: list[str] = []
        refusal: list[str] = []
        finish, usage, model, ident, chunks = None, None, "", "", 0
        with self._least_busy() as sdk:  # the stream holds its shard's connection throughout
            stream = await sdk.chat.completions.create(**request)
            async for chunk in stream:
                chunks += 1
                model, ident = chunk.model or model, chunk.id or ident
                if chunk.usage is not None:
                    usage = chunk.usage.model_dump()
                for choice in chunk.choices[:1]:
                    content.append(choice.delta.content or "")
                    refusal.append(getattr(choice.delta, "refusal", None) or "")
                    finish = choice.finish_reason or finish
                if chunks % STREAM_LOG_EVERY == 0:
                    logger.debug("%s: %d chunks received", self.endpoint, chunks)
        if chunks == 0:
            raise Unusable("an empty stream")
        message = {
            "role": "assistant",
            "content": "".join(content),
            "refusal": "".join(refusal) or None,
        }
        return {
            "id": ident or "stream",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "finish_reason": finish or "stop", "message": message}],
            "usage": usage,
        }

    def _should_retry(self, error: BaseException) -> bool:
        if not transient(error):
            return False
        wait = retry_after_seconds(error)
        return wait is None or wait <= self.config.max_retry_after_seconds

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = retry_after_seconds(error) if error else None
        if asked is not None:
            wait = asked
        else:
            backoff = wait_random_exponential(
                multiplier=self.config.backoff_seconds, max=self.config.max_backoff_seconds
            )
            wait = backoff(state)
        if isinstance(error, openai.APIStatusError) and error.status_code == 429:
            self.limiter.pause(wait)  # slow the whole client down, not only this request
        return wait

    def _log_retry(self, state: RetryCallState, context: CallContext) -> None:
        error = state.outcome.exception() if state.outcome else None
        reason = (
            f"HTTP {error.status_code}"
            if isinstance(error, openai.APIStatusError)
            else type(error).__name__
        )
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "%s: %s from %s; retry %d of %d in %.2fs",
            context,
            reason,
            self.endpoint,
            state.attempt_number,
            self.config.max_attempts - 1,
            wait,
        )

    # -- errors ------------------------------------------------------------------------------

    def transport_error(
        self, error: BaseException, context: CallContext, usage: Usage
    ) -> ModelError:
        """The error for a request whose every attempt failed without an HTTP status."""
        # the number of attempts is said once, by the error's own text (``attempts``)
        where = error_context(self.endpoint, context, usage)
        if isinstance(error, Unusable):
            reason = self.redact(error.reason)
            return ModelResponseError(f"unusable reply: {reason}", **where)
        if isinstance(error, DeadlineExceeded | openai.APITimeoutError):
            return ModelTransportError(
                f"no complete reply within {self.config.timeout_seconds:g}s", **where
            )
        if isinstance(error.__cause__, httpx.ConnectError):
            return EndpointError(
                "cannot connect",
                hint=f"is a server listening at {self.endpoint}? Check --base-url or "
                "OPENAI_BASE_URL",
                **where,
            )
        return ModelTransportError("connection failed", **where)

    def output_within_timeout(self) -> int | None:
        """The most output tokens the server writes within the timeout, once seen (see
        :meth:`AdaptiveConcurrency.output_within_timeout`)."""
        within = self.limiter.concurrency.output_within_timeout()
        return None if within is None else max(1, within)

    def request_error(
        self, error: openai.APIStatusError, context: CallContext, usage: Usage
    ) -> ModelError:
        where = error_context(self.endpoint, context, usage)
        message = f"HTTP {error.status_code}: {self.redact(error.message)}"
        if error.status_code in (400, 413, 422) and exceeds_context(error):
            found = ContextLengthExceededError(message, status_code=error.status_code, **where)
            found.context_window = stated_context_window(f"{error.message} {error.body}")
            return found
        hint = _ENDPOINT_HINTS.get(error.status_code)
        if hint is not None:
            return EndpointError(message, hint=hint, status_code=error.status_code, **where)
        return ModelRequestError(message, status_code=error.status_code, **where)

    def status_error(
        self, error: openai.APIStatusError, context: CallContext, usage: Usage
    ) -> ModelError:
        where = error_context(self.endpoint, context, usage)
        if insufficient_quota(error):
            return QuotaExceededError(f"insufficient quota: {self.redact(error.message)}", **where)
        asked = retry_after_seconds(error)
        if asked is not None and asked > self.config.max_retry_after_seconds:
            return QuotaExceededError(
                f"HTTP {error.status_code}: server asked to wait {asked:.0f}s, more than the "
                f"{self.config.max_retry_after_seconds:.0f}s allowed",
                **where,
            )
        if transient(error):
            return ModelTransportError(
                f"HTTP {error.status_code}: {self.redact(error.message)}",
                **where,
            )
        return self.request_error(error, context, usage)
