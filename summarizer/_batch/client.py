"""The model client of a batch round: the live client's conversation (mode, truncation
retry, re-ask) with the network replaced by the job store.

A request whose answer the store holds gets it, validated and accounted at the batch
price, exactly as if it had just come back; any other request is recorded for the next
batch file and the call stops (the document waits). Re-asks, grounding re-asks and reduce
steps therefore become follow-up requests by themselves. With ``live=True`` an unanswered
request is sent to the endpoint instead, to finish a job without another batch.

The reply cache is the live client's, under the same keys: a live answer already cached is
reused for free, and every answer validated here is cached for later live runs. Keys this
job wrote itself are re-derived from the store in later rounds, so a document's usage and
cost count each of its requests once, in whichever round it finishes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from openai.types.chat import ChatCompletion

from summarizer._batch.jsonl import batch_body, custom_id
from summarizer._batch.store import JobStore
from summarizer._cache import ResponseCache
from summarizer._client import ChatClient
from summarizer._config import LLMConfig, StructuredMode
from summarizer._errors import ModelTransportError, SummarizerError
from summarizer._llm.accounting import Accountant
from summarizer._llm.context import error_context
from summarizer._llm.modes import Message, ModeNegotiator
from summarizer._models import Usage
from summarizer._pricing import Price, price_for


class JobCache(ResponseCache):
    """The shared reply cache, except for the keys this job wrote (see the module doc)."""

    thread_safe = False  # the job store's connection belongs to the job's thread

    def __init__(self, path: Path, store: JobStore):
        super().__init__(path)
        self.store = store

    def get(self, key: str) -> tuple[str, dict[str, Any]] | None:
        return None if self.store.owns_cache_key(key) else super().get(key)

    def put(self, key: str, value: str, usage: dict[str, Any]) -> None:
        super().put(key, value, usage)
        self.store.add_cache_key(key)


def scaled_price(price: Price | None, factor: float) -> Price | None:
    if price is None:
        return None
    return Price(
        input=price.input * factor,
        cached_input=price.cached_input * factor,
        output=price.output * factor,
    )


class BatchChatClient(ChatClient):
    """A :class:`ChatClient` whose requests are answered from a batch job's store."""

    def __init__(
        self,
        config: LLMConfig,
        store: JobStore,
        *,
        round_: int,
        price_factor: float,
        live: bool = False,
        cache: ResponseCache | None = None,
        http_client: httpx.AsyncClient | None = None,
        dropped_modes: tuple[StructuredMode, ...] = (),
    ):
        super().__init__(config, http_client=http_client, cache=cache)
        modes = tuple(m for m in self.config.structured_modes if m not in dropped_modes)
        self.modes = ModeNegotiator(modes, self.endpoint)
        self.store = store
        self.round = round_
        self.live = live
        price = scaled_price(price_for(self.config.model, self.config.prices), price_factor)
        self.batch_accountant = Accountant(price, None)

    async def _send(
        self,
        conversation: list[Message],
        call: Any,
        mode: StructuredMode,
        step: str,
        limit: int,
        usage: Usage,
    ) -> Any:
        request = self._request(conversation, call, mode, step, limit)
        body = batch_body(request)
        key = custom_id(call.context, step, body)
        stored = self.store.request(key)
        if stored is not None and stored.state == "answered" and stored.response is not None:
            response = ChatCompletion.model_validate(stored.response)
            self.batch_accountant.count_request(usage)
            self.batch_accountant.record(response, usage)
            return response
        if stored is not None and stored.state == "failed":
            usage.requests += stored.attempts
            raise ModelTransportError(
                f"batch request failed {stored.attempts} times: {stored.error}",
                **error_context(self.endpoint, call.context, usage),
            )
        if self.live:
            return await super()._send(conversation, call, mode, step, limit, usage)
        self.store.add_request(key, call.context.document_id or "?", body, self.round)
        # A plain SummarizerError: the round reads which documents wait from the store,
        # never from the exception, so a real failure is never mistaken for waiting.
        raise SummarizerError(f"{key}: waiting for a batch answer")
