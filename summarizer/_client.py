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
   as :class:`OutputTruncatedError` for the caller to split the input; a reply that ends
   in a loop (one passage over and over) is raised at once as
   :class:`RepetitiveOutputError`, and not split.
7. **Validation and re-ask**: the reply is parsed and validated by pydantic whatever the
   mode; on failure the validation errors (never transport errors) are sent back and the
   model asked again, at most ``max_reasks`` times.

Usage (prompt, cached and completion tokens, requests, retries, re-asks) and cost are
summed over every attempt, failed ones included.

:class:`ChatClient` composes the parts in :mod:`summarizer._llm` (transport and retries,
mode negotiation, reply checks, accounting, in-flight dedupe) with the SQLite cache; the
conversation itself (steps 4, 6 and 7) is here.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from summarizer._cache import ReplyCache, ResponseCache, cache_key
from summarizer._config import LLMConfig, StructuredMode
from summarizer._endpoints import EndpointState
from summarizer._errors import (
    BudgetExceededError,
    ContextLengthExceededError,
    InvalidModelOutputError,
    OutputTruncatedError,
    RepetitiveOutputError,
)
from summarizer._llm.accounting import Accountant, Ledger
from summarizer._llm.context import CallContext, error_context
from summarizer._llm.dedupe import InFlight
from summarizer._llm.modes import Message, ModeNegotiator, ModeRejected, build_request
from summarizer._llm.replies import (
    check_choice,
    format_validation_errors,
    parse_json_reply,
    repeating_tail,
)
from summarizer._llm.transport import Transport, retry_after_seconds
from summarizer._models import Usage
from summarizer._pricing import price_for
from summarizer._prompts import PromptTemplate
from summarizer._ratelimit import Clock, RateLimiter, SharedLimits, Sleep
from summarizer._schemas import grammar_schema, schema_hash, strict_schema
from summarizer._tokens import encoding_for_model

__all__ = ["CallContext", "ChatClient", "StructuredReply", "retry_after_seconds"]

logger = logging.getLogger("summarizer.client")

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")
_NO_CONTEXT = CallContext()
MIN_OUTPUT_TOKENS = 256
LEASE_POLL_SECONDS = 0.2  # how often a process waiting on another's request looks again
_FIXED_COUNTS_KEPT = 64  # distinct system blocks whose token counts are remembered


def _known_mode(value: str | None) -> StructuredMode | None:
    try:
        return StructuredMode(value) if value else None
    except ValueError:
        return None


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
    grammar_schema: dict[str, Any]
    template: PromptTemplate
    step: str
    context: CallContext


_startup_frozen = False


def freeze_startup_objects() -> None:
    """Hide the objects alive now (chiefly the thousands of classes and types the SDK
    creates on import) from the cyclic garbage collector, once per process: every full
    collection would walk them all again, and a wide run triggers several a second. A
    collection first, so no garbage is kept; the objects are still freed by refcount.

    It changes the whole process's collector, so only the command line, which owns its
    process, calls it; a library embedded in someone else's program must not."""
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.collect()
        gc.freeze()


def read_structured(content: str, response_model: type[T]) -> T:
    """The reply validated straight from its text (a model's usual, bare JSON object), else
    by :func:`parse_json_reply`, which tolerates fences and text around the object; its
    ValidationError is what a re-ask sends back."""
    try:
        return response_model.model_validate_json(content)
    except ValidationError:
        return parse_json_reply(content, response_model)


class ChatClient:
    """Structured calls to one endpoint, with limits, retries, re-asks and accounting."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        http_client: httpx.AsyncClient | None = None,
        cache: ReplyCache | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        shared_limits: SharedLimits | None = None,
        ledger: Ledger | None = None,
        state: EndpointState | None = None,
    ):
        """``shared_limits`` and ``ledger``: rate limits and a budget held with other
        processes (a cluster's coordinator), on top of this client's own. ``state``: what
        earlier runs learned about endpoints (the structured mode, the context window, the
        width the adaptive level reached), read at start and added to as this client
        learns."""
        config = config.resolve()  # a no-op for a config the Summarizer already resolved
        self.config = config
        self.cache = cache
        self.encoding = encoding_for_model(config.model, override=config.encoding)
        self.limiter = RateLimiter(
            concurrency=config.concurrency,
            adaptive=config.adaptive_concurrency,
            requests_per_minute=config.requests_per_minute,
            tokens_per_minute=config.tokens_per_minute,
            clock=clock,
            sleep=sleep,
            shared=shared_limits,
            timeout=config.timeout_seconds,
        )
        price = price_for(config.model, config.prices)
        self.accountant = Accountant(price, config.max_cost_usd, ledger=ledger)
        self.transport = Transport(
            config,
            http_client=http_client,
            limiter=self.limiter,
            accountant=self.accountant,
            sleep=sleep,
        )
        self.endpoint = self.transport.endpoint
        self.state = state
        known = state.get(self.endpoint, config.model) if state is not None else None
        if known is not None and known.concurrency_reached is not None:
            self.limiter.concurrency.start_from(known.concurrency_reached)
        self.modes = ModeNegotiator(
            config.structured_modes,
            self.endpoint,
            known=_known_mode(known.mode if known else None),
            on_confirm=self._remember_mode,
        )
        learned = known.context_window if known else None
        if learned and "context_window" not in config.model_fields_set:
            # what an earlier run or doctor learned; a window the user set explicitly wins
            # (the server may have been restarted with a larger one)
            self.context_window = min(config.context_window, learned)
        else:
            self.context_window = config.context_window
        self._inflight = InFlight()
        # what reads a request's token estimate: a tokens-per-minute bucket (this client's
        # or the cluster's), the budget's worst-case reservation, a stream's usage when
        # the server sends none. Without them no prompt is counted before it is sent.
        self.counts_prompts = bool(
            config.tokens_per_minute
            or shared_limits is not None
            or self.accountant.budget_usd is not None
            or config.stream
        )
        self._fixed_counts: dict[str, int] = {}
        self._concurrency_kept = self.limiter.concurrency.started_from  # as in the state
        self._schemas: dict[type[BaseModel], tuple[dict[str, Any], str, dict[str, Any]]] = {}

    def _remember_mode(self, mode: StructuredMode) -> None:
        if self.state is not None:
            self.state.update(self.endpoint, self.config.model, mode=mode.value)

    def _remember_concurrency(self) -> None:
        learned = self.limiter.concurrency.learned()
        if self.state is None or learned is None or learned.reached == self._concurrency_kept:
            return
        self._concurrency_kept = learned.reached
        self.state.update(self.endpoint, self.config.model, concurrency_reached=learned.reached)

    def learn_context_window(self, tokens: int) -> None:
        """The server said its context holds ``tokens``: keep requests under it, now and in
        later runs."""
        if tokens < self.context_window:
            self.context_window = tokens
            if self.state is not None:
                self.state.update(self.endpoint, self.config.model, context_window=tokens)

    # -- public ------------------------------------------------------------------------------

    @property
    def mode(self) -> StructuredMode | None:
        """The structured-output mode the next request uses (None: every mode refused)."""
        return self.modes.current

    @property
    def usage(self) -> Usage:
        """Totals over every call of this client."""
        return self.accountant.usage

    @property
    def spent_usd(self) -> float:
        return self.accountant.spent_usd

    def output_limit(self, asked: int | None = None) -> int:
        """The output limit of a call: ``asked`` or the configured one, at most half a
        small context window (a 2,048-token server cannot answer 2,048 tokens)."""
        limit = asked or self.config.max_output_tokens
        return min(limit, max(MIN_OUTPUT_TOKENS, self.context_window // 2))

    def count_tokens(self, messages: list[Message]) -> int:
        """Tokens of ``messages`` as sent; the system block (the same text on every call)
        is counted once and remembered."""
        total = 3
        for message in messages:
            content = message["content"]
            if message["role"] == "system":
                count = self._fixed_counts.get(content)
                if count is None:
                    if len(self._fixed_counts) >= _FIXED_COUNTS_KEPT:
                        self._fixed_counts.clear()
                    count = self._fixed_counts[content] = self.encoding.count(content)
            else:
                count = self.encoding.count(content)
            total += count + 4
        return total

    def _schema(
        self, response_model: type[BaseModel]
    ) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """The strict schema of ``response_model``, its hash and the schema sent for a
        grammar in ``json_object`` mode, built once per model (requests only read them)."""
        found = self._schemas.get(response_model)
        if found is None:
            schema = strict_schema(response_model)
            found = (schema, schema_hash(schema), grammar_schema(response_model))
            self._schemas[response_model] = found
        return found

    async def structured(
        self,
        messages: list[Message],
        response_model: type[T],
        *,
        template: PromptTemplate,
        context: CallContext = _NO_CONTEXT,
        max_output_tokens: int | None = None,
        step: str | None = None,
        on_cancel: Callable[[Usage], None] | None = None,
    ) -> StructuredReply[T]:
        """Ask for ``response_model`` and return it validated, or raise a ModelError.
        ``step`` (default: the template's name) goes out in the ``STEP_HEADER``. When the
        call is cancelled, ``on_cancel`` gets what it had used by then: requests already
        sent are paid for whether or not their replies are read."""
        schema, schema_digest, grammar = self._schema(response_model)
        limit = self.output_limit(max_output_tokens)
        key = cache_key(
            model=self.config.model,
            endpoint=self.endpoint,
            prompt=template.sha256,
            schema=schema_digest,
            temperature=self.config.temperature,
            max_output_tokens=limit,
            messages=messages,
        )
        found = await self._from_cache(key, response_model)
        if found is None:
            raw = await self._inflight.wait(key)
            found = None if raw is None else response_model.model_validate_json(raw)
        if found is not None:
            return StructuredReply(found, Usage(cache_hits=1, cost_usd=0.0), None, True)
        async with self._inflight.leading(key) as shared:
            found = await self._after_other_process(key, response_model)
            if found is not None:
                shared.set_result(found.model_dump_json())
                return StructuredReply(found, Usage(cache_hits=1, cost_usd=0.0), None, True)
            call = _Call(response_model, schema, grammar, template, step or template.name, context)
            usage = self.accountant.new_usage()
            try:
                try:
                    reply = await self._ask(messages, call, limit, usage)
                finally:
                    if isinstance(self.cache, ResponseCache):
                        await self._off_loop(self.cache.release, key)
                raw = reply.value.model_dump_json()
                shared.set_result(raw)
                if self.cache is not None:
                    await self._off_loop(self.cache.put, key, raw, reply.usage.model_dump())
            except asyncio.CancelledError:
                if on_cancel is not None:
                    on_cancel(usage)
                raise
        return reply

    async def _off_loop(self, work: Callable[..., R], *args: Any) -> R:
        """A cache call: in a worker thread for a cache that says it is ``thread_safe`` (the
        SQLite cache locks its connection), inline for others, which may be bound to their
        thread."""
        if getattr(self.cache, "thread_safe", False):
            return await asyncio.to_thread(work, *args)
        return work(*args)

    async def _from_cache(self, key: str, response_model: type[T]) -> T | None:
        """The stored reply for ``key``, read off the event loop; a row that no longer
        validates is dropped and counts as a miss."""
        if self.cache is None:
            return None
        hit = await self._off_loop(self.cache.get, key)
        if hit is None:
            return None
        try:
            return response_model.model_validate_json(hit[0])
        except ValidationError:
            logger.warning("cached reply for %s does not validate; asking again", key[:12])
            if isinstance(self.cache, ResponseCache):
                await self._off_loop(self.cache.forget, key)
            return None

    async def _after_other_process(self, key: str, response_model: type[T]) -> T | None:
        """Take the cache's lease on ``key``; while another live process holds it, wait for
        the reply it is paying for (None: this process sends the request itself)."""
        cache = self.cache
        if not isinstance(cache, ResponseCache):
            return None
        lease = self.config.timeout_seconds * self.config.max_attempts + 60
        holder = await self._off_loop(cache.claim, key, lease)
        while holder is not None:
            await asyncio.sleep(LEASE_POLL_SECONDS)
            found = await self._from_cache(key, response_model)
            if found is not None:
                return found
            holder = await self._off_loop(cache.claim, key, lease)
        return None

    async def release_connections(self) -> None:
        """Close the connections of the running event loop (see :class:`Transport`)."""
        await self.transport.release_connections()

    async def aclose(self) -> None:
        """Close the HTTP connections and the cache (the client owns both); keep what the
        adaptive level found of the server's capacity for the next run."""
        try:
            self._remember_concurrency()
        finally:
            await self.transport.close()
            if self.cache is not None:
                self.cache.close()

    # -- the conversation --------------------------------------------------------------------

    async def _ask(
        self, messages: list[Message], call: _Call[T], limit: int, usage: Usage
    ) -> StructuredReply[T]:
        """One structured answer: mode fallback, one retry at a larger output limit after a
        truncated reply, and re-asks with the validation errors after an invalid one; what
        it uses is added to ``usage``."""
        conversation = list(messages)
        truncation_retried = False
        step = call.step
        while True:
            try:
                response, mode = await self._send_in_mode(conversation, call, step, limit, usage)
            except ModeRejected as rejected:
                self.modes.drop(rejected.mode or self._current_mode(), rejected.error)
                if self.mode is None:
                    raise self.transport.request_error(
                        rejected.error, call.context, usage
                    ) from None
                continue
            choice = response.choices[0]
            where = error_context(self.endpoint, call.context, usage)
            check_choice(choice, where)
            if choice.finish_reason == "length":
                loop = repeating_tail(choice.message.content or "")
                if loop is not None:
                    raise RepetitiveOutputError(
                        f"reply truncated at the output limit while repeating "
                        f"one passage of {loop[0]} characters ({loop[1]} characters of copies)",
                        **where,
                    )
                within = self.transport.output_within_timeout()
                if within is not None and within < limit:  # the transport sent no more
                    raise OutputTruncatedError(
                        f"reply truncated at the output limit (at most {within} tokens: as "
                        f"many as this server writes in one attempt's "
                        f"{self.config.timeout_seconds:.0f}s)",
                        **where,
                    )
                ceiling = self.config.max_output_tokens_ceiling
                if truncation_retried or limit >= ceiling:
                    raise OutputTruncatedError(
                        f"reply truncated at the output limit ({limit} tokens)", **where
                    )
                truncation_retried = True
                logger.warning(
                    "%s: reply truncated at %d output tokens; retrying once with %d",
                    call.context,
                    limit,
                    min(ceiling, limit * 2),
                )
                limit = min(ceiling, limit * 2)
                continue
            content = self.transport.redact(choice.message.content or "")
            try:
                return StructuredReply(read_structured(content, call.response_model), usage, mode)
            except ValidationError as invalid:
                if usage.reasks >= self.config.max_reasks:
                    raise InvalidModelOutputError(
                        f"reply invalid after {usage.reasks} re-asks: "
                        f"{format_validation_errors(invalid)}",
                        **where,
                    ) from None
                usage.reasks += 1
                step = f"{call.template.name}.reask"
                logger.info("%s: invalid reply, re-asking (%d)", call.context, usage.reasks)
                conversation += [
                    {"role": "assistant", "content": content},
                    {
                        "role": "user",
                        "content": call.template.fill(
                            "reask", errors=format_validation_errors(invalid)
                        ),
                    },
                ]

    async def _send_in_mode(
        self, conversation: list[Message], call: _Call[Any], step: str, limit: int, usage: Usage
    ) -> tuple[Any, StructuredMode]:
        """Send in the current mode. While no reply has confirmed it, one request at a time
        probes it and the others wait for the answer (ModeRejected: the probe was refused)."""
        if not self.modes.confirmed:
            async with self.modes.probing():
                if not self.modes.confirmed:
                    mode = self._current_mode()
                    response = await self._send(conversation, call, mode, step, limit, usage)
                    self.modes.confirm(mode)
                    return response, mode
        mode = self._current_mode()
        return await self._send(conversation, call, mode, step, limit, usage), mode

    def _current_mode(self) -> StructuredMode:
        mode = self.mode
        if mode is None:
            raise AssertionError("unreachable: a refused last mode raises")  # pragma: no cover
        return mode

    async def _send(
        self,
        conversation: list[Message],
        call: _Call[Any],
        mode: StructuredMode,
        step: str,
        limit: int,
        usage: Usage,
    ) -> Any:
        request = self._request(conversation, call, mode, step, limit)
        prompt = self.count_tokens(request["messages"]) if self.counts_prompts else 0
        try:
            return await self.transport.send(
                request, mode=mode, estimate=prompt + limit, context=call.context, usage=usage
            )
        except BudgetExceededError as stop:
            stop.usage = usage  # what this call had used before the budget stopped it
            raise
        except ContextLengthExceededError as too_long:
            # what the server said, else just under what was asked: the next parts fit
            asked = (prompt or self.count_tokens(request["messages"])) + limit
            self.learn_context_window(too_long.context_window or asked - 1)
            raise

    def _request(
        self,
        conversation: list[Message],
        call: _Call[Any],
        mode: StructuredMode,
        step: str,
        limit: int,
    ) -> dict[str, Any]:
        """The ``chat.completions.create`` keyword arguments of one attempt."""
        return build_request(
            self.config,
            conversation,
            mode=mode,
            schema=call.schema,
            grammar_schema=call.grammar_schema,
            name=call.response_model.__name__,
            template=call.template,
            step=step,
            limit=limit,
        )
