"""The one place a cluster's limits live, and the client-side views of it.

:class:`Coordinator` is a Ray actor (one per run, on the driver's node) that owns the
requests- and tokens-per-minute buckets, the pause after a 429, the money spent, and the
reply cache. Every worker's :class:`~summarizer._client.ChatClient` reaches it through the
client's hooks: :class:`ClusterLimits` (``SharedLimits``), :class:`ClusterLedger`
(``Ledger``) and :class:`ClusterCache` (``ReplyCache``). The actor runs one call at a time,
so no two workers ever take the same tokens.

Admission is a reservation: the coordinator takes the tokens at once (a bucket may go
below zero) and answers how long the caller must wait before sending, so a waiting request
costs one round trip, not a poll.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from summarizer._cache import ResponseCache
from summarizer._config import LLMConfig
from summarizer._ratelimit import TokenBucket


class Coordinator:
    """Cluster-wide RPM/TPM buckets, pause, budget ledger and reply cache (a Ray actor)."""

    def __init__(self, llm: LLMConfig, cache_path: Path | None):
        clock = time.monotonic
        rpm, tpm = llm.requests_per_minute, llm.tokens_per_minute
        self._requests = TokenBucket(rpm, clock) if rpm else None
        self._tokens = TokenBucket(tpm, clock) if tpm else None
        self._resume_at = 0.0
        self._spent = 0.0
        self._cache = ResponseCache(cache_path) if cache_path is not None else None
        self.admitted = 0

    def reserve(self, tokens: int) -> float:
        """Take one request of ``tokens`` tokens; the seconds the caller waits before sending."""
        wait = max(0.0, self._resume_at - time.monotonic())
        for bucket, amount in ((self._requests, 1), (self._tokens, tokens)):
            if bucket is not None:
                wait = max(wait, bucket.wait_for(amount))
                bucket.take(amount)
        self.admitted += 1
        return wait

    def pause(self, seconds: float) -> None:
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def add(self, cost_usd: float) -> float:
        self._spent += cost_usd
        return self._spent

    def spent(self) -> float:
        return self._spent

    def stats(self) -> dict[str, float]:
        return {"admitted": self.admitted, "spent_usd": self._spent}

    def cache_get(self, key: str) -> tuple[str, dict[str, Any]] | None:
        return self._cache.get(key) if self._cache is not None else None

    def cache_put(self, key: str, value: str, usage: dict[str, Any]) -> None:
        if self._cache is not None:
            self._cache.put(key, value, usage)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None


def start_coordinator(llm: LLMConfig, cache_path: Path | None) -> Any:
    """A new coordinator actor (a handle) on the driver's node, where the cache file is; it
    lives as long as a handle to it does."""
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    actor: Any = ray.remote(Coordinator)
    options = actor.options(num_cpus=0, max_concurrency=1, scheduling_strategy=here)
    return options.remote(llm, cache_path)


class ClusterLimits:
    """``SharedLimits`` backed by a coordinator: wait for the reservation it grants."""

    def __init__(self, coordinator: Any):
        self.coordinator = coordinator

    async def admit(self, tokens: int) -> None:
        wait: float = await self.coordinator.reserve.remote(tokens)
        if wait > 0:
            await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        self.coordinator.pause.remote(seconds)


class ClusterLedger:
    """``Ledger`` backed by a coordinator: one budget for every worker. Both calls wait for
    the coordinator (a round trip, small beside a model call), so a cost recorded by one
    worker is seen by the next budget check of any other."""

    def __init__(self, coordinator: Any):
        self.coordinator = coordinator

    def spent_usd(self) -> float:
        spent: float = ray.get(self.coordinator.spent.remote())
        return spent

    def add(self, cost_usd: float) -> None:
        ray.get(self.coordinator.add.remote(cost_usd))  # seen by the next check anywhere


class ClusterCache:
    """``ReplyCache`` backed by a coordinator's SQLite file: a re-run anywhere pays nothing."""

    def __init__(self, coordinator: Any):
        self.coordinator = coordinator

    def get(self, key: str) -> tuple[str, dict[str, Any]] | None:
        hit: tuple[str, dict[str, Any]] | None = ray.get(self.coordinator.cache_get.remote(key))
        return hit

    def put(self, key: str, value: str, usage: dict[str, Any]) -> None:
        ray.get(self.coordinator.cache_put.remote(key, value, usage))

    def close(self) -> None:
        return  # the coordinator owns the file
