"""One OpenAI-compatible chat endpoint, turned into validated pydantic objects.

What happens to a request, in order:

1. **Cache** (optional): an identical request already answered is returned from SQLite;
   identical requests in flight at the same time are sent once.
2. **Budget**: once ``max_cost_usd`` is spent, no new request is sent.
3. **Rate limits**: a concurrency slot, then the requests- and tokens-per-minute buckets
   (tokens counted with tiktoken before sending, the output limit included).
4. **Structured output mode**: ``json_schema`` (strict), else ``json_object`` with the
   schema attached (llama.cpp style), else the schema in the prompt. A server that rejects
   a mode (HTTP 400/422, or a 500 that complains about the schema, as llama-cpp-python's
   does) moves the client to the next mode for the rest of the run.
5. **Transport retries** (the only retry layer; the SDK's own is off): connection errors,
   timeouts, 408, 409, 429 and 5xx, with jittered exponential backoff that honours
   ``retry-after-ms`` / ``Retry-After``. A wait beyond ``max_retry_after_seconds``, or
   ``insufficient_quota``, fails fast. A 429 pauses the whole client.
6. **Reply checks**: a refusal or a content-filter stop is a typed error;
   ``finish_reason == "length"`` is retried once with a larger output limit, then raised
   as :class:`OutputTruncatedError` for the caller to split the input.
7. **Validation and re-ask**: the reply is parsed and validated by pydantic whatever the
   mode; on failure the validation errors (never transport errors) are sent back and the
   model asked again, at most ``max_reasks`` times.

Usage (prompt, cached and completion tokens, requests, retries, re-asks) and cost are
summed over every attempt, failed ones included.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import openai
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from summarizer._cache import ResponseCache, cache_key
from summarizer._config import LLMConfig, StructuredMode
from summarizer._errors import (
    BudgetExceededError,
    ContentFilterError,
    InvalidModelOutputError,
    ModelError,
    ModelRequestError,
    ModelTransportError,
    OutputTruncatedError,
    QuotaExceededError,
    RefusalError,
)
from summarizer._models import Usage
from summarizer._pricing import cost_usd, price_for
from summarizer._prompts import STEP_HEADER, PromptTemplate
from summarizer._ratelimit import Clock, RateLimiter, Sleep
from summarizer._schemas import schema_hash, strict_schema
from summarizer._tokens import encoding_for_model

logger = logging.getLogger("summarizer.client")

T = TypeVar("T", bound=BaseModel)
Message = dict[str, str]

_RETRYABLE_STATUS = {408, 409, 429}
POOL_SHARD_SIZE = 16
_MODE_WORDS = ("response_format", "json_schema", "json_object", "schema", "grammar", "structured")


@dataclass(frozen=True)
class CallContext:
    """Which document and chunk a call serves, for errors and logs."""

    document_id: str | None = None
    chunk_index: int | None = None

    def __str__(self) -> str:
        parts = [f"document {self.document_id}"] if self.document_id else []
        if self.chunk_index is not None:
            parts.append(f"chunk {self.chunk_index}")
        return ", ".join(parts) or "call"


@dataclass
class StructuredReply(Generic[T]):
    value: T
    usage: Usage
    mode: StructuredMode | None
    cached: bool = False


@dataclass(frozen=True)
class _Call(Generic[T]):
    """What one structured call asks for, fixed for all its attempts and re-asks."""

    response_model: type[T]
    schema: dict[str, Any]
    template: PromptTemplate
    step: str
    context: CallContext


class _ModeRejected(Exception):
    def __init__(self, error: openai.APIStatusError):
        self.error = error


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


def _insufficient_quota(error: openai.APIStatusError) -> bool:
    body = error.body if isinstance(error.body, dict) else {}
    detail = body.get("error", body) if isinstance(body, dict) else {}
    code = detail.get("code") or detail.get("type") if isinstance(detail, dict) else None
    return code == "insufficient_quota" or "insufficient_quota" in str(error.message)


def _transient(error: BaseException) -> bool:
    if isinstance(error, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(error, openai.APIStatusError):
        if _insufficient_quota(error):
            return False
        return error.status_code in _RETRYABLE_STATUS or error.status_code >= 500
    return False


def parse_json_reply(content: str, model: type[T]) -> T:
    """Validate a reply, tolerating code fences and text around the JSON object."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    if not text.lstrip().startswith("{"):
        first, last = text.find("{"), text.rfind("}")
        if first != -1 and last > first:
            text = text[first : last + 1]
    return model.model_validate_json(text)


def format_validation_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors()[:20]:
        where = ".".join(str(part) for part in item["loc"]) or "(root)"
        lines.append(f"- {where}: {item['msg']}")
    return "\n".join(lines)


class ChatClient:
    """Structured calls to one endpoint, with limits, retries, re-asks and accounting."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        http_client: httpx.AsyncClient | None = None,
        cache: ResponseCache | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ):
        config = config.resolve()  # a no-op for a config the Summarizer already resolved
        self.config = config
        self.cache = cache
        self._sleep = sleep
        self.encoding = encoding_for_model(config.model, override=config.encoding)
        self._common: dict[str, Any] = {
            "api_key": config.resolved_api_key(),
            "max_retries": 0,  # tenacity is the one retry layer
            "timeout": config.timeout_seconds,
            "default_headers": config.headers or None,
            "http_client": http_client,
        }
        self._owns_http = http_client is None
        # httpcore's pool rescans every connection on every event, so its cost grows with
        # the square of the requests in flight: above POOL_SHARD_SIZE concurrent requests,
        # spread them over several clients, each with its own small pool.
        self._shards = 1 if http_client else max(1, math.ceil(config.concurrency / POOL_SHARD_SIZE))
        self._pool = self._new_pool()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn = itertools.count()
        self.endpoint = str(
            httpx.URL(str(self._pool[0].base_url)).copy_with(username=None, password=None)
        )
        self.limiter = RateLimiter(
            concurrency=config.concurrency,
            requests_per_minute=config.requests_per_minute,
            tokens_per_minute=config.tokens_per_minute,
            clock=clock,
            sleep=sleep,
        )
        self._modes = list(config.structured_modes)
        self._price = price_for(config.model, config.prices)
        self.usage = Usage(cost_usd=0.0 if self._price else None)
        self._inflight: dict[str, asyncio.Future[tuple[str, Usage]]] = {}

    def _new_pool(self) -> list[openai.AsyncOpenAI]:
        return [self._make_openai() for _ in range(self._shards)]

    def _make_openai(self) -> openai.AsyncOpenAI:
        if self.config.azure_api_version:
            return openai.AsyncAzureOpenAI(
                azure_endpoint=self.config.base_url or "",
                api_version=self.config.azure_api_version,
                **self._common,
            )
        return openai.AsyncOpenAI(
            base_url=self.config.base_url, organization=self.config.organization, **self._common
        )

    def _sdk(self) -> openai.AsyncOpenAI:
        """The next SDK client of the pool, bound to the running event loop. Connections
        belong to one loop: on another loop (a later sync call) the pool and the limiter's
        locks are made anew, while the mode learned, usage and cache carry over."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._loop is not None:
                self._pool = self._new_pool()
                self.limiter.rebind()
            self._loop = loop
        return self._pool[next(self._turn) % len(self._pool)]

    async def release_connections(self) -> None:
        """Close the connections of the running event loop before it ends (the sync API
        runs each call on a loop of its own); the next call opens new ones."""
        if self._owns_http and self._loop is not None:
            for sdk in self._pool:
                await sdk.close()
            self._pool = self._new_pool()
        self._loop = None
        self.limiter.rebind()

    # -- public ------------------------------------------------------------------------------

    @property
    def mode(self) -> StructuredMode:
        return self._modes[0]

    @property
    def spent_usd(self) -> float:
        return self.usage.cost_usd or 0.0

    def count_tokens(self, messages: list[Message]) -> int:
        return sum(self.encoding.count(m["content"]) + 4 for m in messages) + 3

    async def structured(
        self,
        messages: list[Message],
        response_model: type[T],
        *,
        template: PromptTemplate,
        context: CallContext = CallContext(),
        max_output_tokens: int | None = None,
        step: str | None = None,
    ) -> StructuredReply[T]:
        """Ask for ``response_model`` and return it validated, or raise a ModelError.
        ``step`` (default: the template's name) goes out in the ``STEP_HEADER``."""
        schema = strict_schema(response_model)
        limit = max_output_tokens or self.config.max_output_tokens
        key = cache_key(
            model=self.config.model,
            endpoint=self.endpoint,
            prompt=template.sha256,
            schema=schema_hash(schema),
            temperature=self.config.temperature,
            max_output_tokens=limit,
            messages=messages,
        )
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                usage = Usage(cache_hits=1, cost_usd=0.0)
                return StructuredReply(
                    response_model.model_validate_json(hit[0]), usage, None, True
                )
        if key in self._inflight:
            raw, _ = await asyncio.shield(self._inflight[key])
            usage = Usage(cache_hits=1, cost_usd=0.0)
            return StructuredReply(response_model.model_validate_json(raw), usage, None, True)
        future: asyncio.Future[tuple[str, Usage]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            call = _Call(response_model, schema, template, step or template.name, context)
            reply = await self._ask(messages, call, limit)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._inflight[key]
        raw = reply.value.model_dump_json()
        future.set_result((raw, reply.usage))
        if self.cache is not None:
            self.cache.put(key, raw, reply.usage.model_dump())
        return reply

    # -- the conversation --------------------------------------------------------------------

    async def _ask(self, messages: list[Message], call: _Call[T], limit: int) -> StructuredReply[T]:
        usage = Usage(cost_usd=0.0 if self._price else None)
        conversation = list(messages)
        response_model, template, context = call.response_model, call.template, call.context
        truncation_retried = False
        step = call.step
        while True:
            mode = self.mode
            try:
                request = self._request(conversation, mode, call, step, limit)
                response = await self._send(request, mode, limit, context, usage)
            except _ModeRejected as rejected:
                self._drop_mode(mode, rejected.error)
                if not self._modes:
                    raise self._request_error(rejected.error, context, usage) from None
                continue
            choice = response.choices[0]
            message = choice.message
            refusal = getattr(message, "refusal", None)
            if refusal:
                raise RefusalError(
                    f"the model refused: {refusal}", refusal=refusal, **self._where(context, usage)
                )
            if choice.finish_reason == "content_filter":
                raise ContentFilterError(
                    "the provider's content filter stopped the reply", **self._where(context, usage)
                )
            if choice.finish_reason == "length":
                ceiling = self.config.max_output_tokens_ceiling
                if not truncation_retried and limit < ceiling:
                    truncation_retried = True
                    logger.warning(
                        "%s: reply truncated at %d output tokens; retrying once with %d",
                        context,
                        limit,
                        min(ceiling, limit * 2),
                    )
                    limit = min(ceiling, limit * 2)
                    continue
                raise OutputTruncatedError(
                    f"reply truncated at the output limit ({limit} tokens)",
                    **self._where(context, usage),
                )
            content = message.content or ""
            try:
                value = parse_json_reply(content, response_model)
            except ValidationError as invalid:
                if usage.reasks >= self.config.max_reasks:
                    raise InvalidModelOutputError(
                        f"reply invalid after {usage.reasks} re-asks: "
                        f"{format_validation_errors(invalid)}",
                        **self._where(context, usage),
                    ) from None
                usage.reasks += 1
                step = f"{template.name}.reask"
                logger.info("%s: invalid reply, re-asking (%d)", context, usage.reasks)
                conversation += [
                    {"role": "assistant", "content": content},
                    {
                        "role": "user",
                        "content": template.fill("reask", errors=format_validation_errors(invalid)),
                    },
                ]
                continue
            return StructuredReply(value, usage, mode)

    def _drop_mode(self, mode: StructuredMode, error: openai.APIStatusError) -> None:
        if self._modes and self._modes[0] == mode:
            self._modes.pop(0)
            following = self._modes[0].value if self._modes else "none left"
            logger.warning(
                "%s rejected structured-output mode %s (HTTP %d); using %s from now on",
                self.endpoint,
                mode.value,
                error.status_code,
                following,
            )

    def _request(
        self,
        conversation: list[Message],
        mode: StructuredMode,
        call: _Call[Any],
        step: str,
        limit: int,
    ) -> dict[str, Any]:
        schema, name = call.schema, call.response_model.__name__
        messages = [dict(m) for m in conversation]
        if mode is not StructuredMode.JSON_SCHEMA:
            instruction = call.template.fill("json_instruction", schema=json.dumps(schema))
            messages[0]["content"] = f"{messages[0]['content']}\n\n{instruction}"
        request: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            self.config.output_limit_parameter: limit,
            "extra_headers": {STEP_HEADER: step},
        }
        if self.config.temperature is not None:
            request["temperature"] = self.config.temperature
        # response_format goes in extra_body: the same JSON on the wire, without the SDK
        # walking the whole schema through its TypedDict transform on every request.
        if mode is StructuredMode.JSON_SCHEMA:
            request["extra_body"] = {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": schema, "strict": True},
                }
            }
        elif mode is StructuredMode.JSON_OBJECT:
            request["extra_body"] = {"response_format": {"type": "json_object", "schema": schema}}
        return request

    # -- transport ---------------------------------------------------------------------------

    async def _send(
        self,
        request: dict[str, Any],
        mode: StructuredMode,
        limit: int,
        context: CallContext,
        usage: Usage,
    ) -> Any:
        estimate = self.count_tokens(request["messages"]) + limit
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
                        usage.retries += 1
                        self.usage.retries += 1
                    first = False
                    return await self._send_once(request, mode, estimate, usage)
        except _ModeRejected:
            raise
        except BudgetExceededError:
            raise
        except openai.APIStatusError as error:
            raise self._status_error(error, context, usage) from None
        except openai.APIConnectionError as error:
            kind = "timed out" if isinstance(error, openai.APITimeoutError) else "connection failed"
            raise ModelTransportError(
                f"{kind} after {self.config.max_attempts} attempts", **self._where(context, usage)
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(
        self, request: dict[str, Any], mode: StructuredMode, estimate: int, usage: Usage
    ) -> Any:
        budget = self.config.max_cost_usd
        if budget is not None and self.spent_usd >= budget:
            raise BudgetExceededError(self.spent_usd, budget)
        async with self.limiter.slot(estimate):
            usage.requests += 1
            self.usage.requests += 1
            try:
                response = await self._sdk().chat.completions.create(**request)
            except openai.APIStatusError as error:
                if mode is not StructuredMode.PROMPT and self._rejects_mode(error):
                    raise _ModeRejected(error) from error
                raise
        self._account(response, usage)
        return response

    @staticmethod
    def _rejects_mode(error: openai.APIStatusError) -> bool:
        if error.status_code not in (400, 422, 500, 501):
            return False
        text = f"{error.message} {error.body}".lower()
        return any(word in text for word in _MODE_WORDS)

    def _account(self, response: Any, usage: Usage) -> None:
        reported = getattr(response, "usage", None)
        if reported is None:
            return
        prompt = reported.prompt_tokens or 0
        completion = reported.completion_tokens or 0
        details = getattr(reported, "prompt_tokens_details", None)
        cached = (getattr(details, "cached_tokens", None) or 0) if details else 0
        cost = cost_usd(
            self._price, prompt_tokens=prompt, cached_tokens=cached, completion_tokens=completion
        )
        for total in (usage, self.usage):
            total.prompt_tokens += prompt
            total.completion_tokens += completion
            total.cached_tokens += cached
            if total.cost_usd is not None and cost is not None:
                total.cost_usd += cost

    def _should_retry(self, error: BaseException) -> bool:
        if not _transient(error):
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

    def _where(self, context: CallContext, usage: Usage) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "document_id": context.document_id,
            "chunk_index": context.chunk_index,
            "attempts": usage.requests,
            "usage": usage,
        }

    def _request_error(
        self, error: openai.APIStatusError, context: CallContext, usage: Usage
    ) -> ModelError:
        return ModelRequestError(
            f"HTTP {error.status_code}: {error.message}",
            status_code=error.status_code,
            **self._where(context, usage),
        )

    def _status_error(
        self, error: openai.APIStatusError, context: CallContext, usage: Usage
    ) -> ModelError:
        where = self._where(context, usage)
        if _insufficient_quota(error):
            return QuotaExceededError(f"insufficient quota: {error.message}", **where)
        asked = retry_after_seconds(error)
        if asked is not None and asked > self.config.max_retry_after_seconds:
            return QuotaExceededError(
                f"HTTP {error.status_code}: server asked to wait {asked:.0f}s, more than the "
                f"{self.config.max_retry_after_seconds:.0f}s allowed",
                **where,
            )
        if _transient(error):
            return ModelTransportError(
                f"HTTP {error.status_code} after {usage.requests} attempts: {error.message}",
                **where,
            )
        return self._request_error(error, context, usage)

    async def aclose(self) -> None:
        """Close the HTTP connections and the cache (the client owns both)."""
        for sdk in self._pool:
            await sdk.close()
        if self.cache is not None:
            self.cache.close()
