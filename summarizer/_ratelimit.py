"""Client-side limits shared by every request of one endpoint.

Bounded concurrency (a semaphore), requests-per-minute and tokens-per-minute token
buckets, and a shared pause: when the server answers 429, :meth:`RateLimiter.pause`
holds back every request of the client, not only the one that was refused.
The clock and sleep are injectable, so tests check waits without sleeping.

:class:`SharedLimits` is the hook for limits held by something other than this process
(one coordinator of a cluster): each admitted request is also admitted there, and a pause
after a 429 is passed on to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from summarizer._errors import ConfigError

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class SharedLimits(Protocol):
    """Limits shared with other processes; :class:`RateLimiter` consults them after its own."""

    async def admit(self, tokens: int) -> None:
        """Return once one request of about ``tokens`` tokens may be sent."""

    def pause(self, seconds: float) -> None:
        """Hold every sharer back for ``seconds`` from now (after a 429)."""


class TokenBucket:
    """``rate_per_minute`` units per minute, up to one minute's worth banked."""

    def __init__(self, rate_per_minute: float, clock: Clock):
        self.capacity = rate_per_minute
        self.rate = rate_per_minute / 60.0
        self.level = rate_per_minute
        self.clock = clock
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` (capped at capacity) is available; 0 if it is now."""
        self._refill()
        amount = min(amount, self.capacity)
        return 0.0 if self.level >= amount else (amount - self.level) / self.rate

    def take(self, amount: float) -> None:
        self._refill()
        self.level -= min(amount, self.capacity)


class RateLimiter:
    def __init__(
        self,
        *,
        concurrency: int,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        shared: SharedLimits | None = None,
    ):
        self.clock = clock
        self.shared = shared
        self.sleep = sleep
        self.concurrency = concurrency
        self._semaphore = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()
        self._requests = TokenBucket(requests_per_minute, clock) if requests_per_minute else None
        self._tokens = TokenBucket(tokens_per_minute, clock) if tokens_per_minute else None
        self._resume_at = 0.0

    def rebind(self) -> None:
        """New locks for a new event loop (asyncio primitives belong to one loop); the
        buckets and any pause carry over. Call only when no request is in flight."""
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (after a 429)."""
        self._resume_at = max(self._resume_at, self.clock() + seconds)
        if self.shared is not None:
            self.shared.pause(seconds)

    async def _admit(self, tokens: int) -> None:
        async with self._lock:  # one waiter at a time keeps the buckets fair (FIFO)
            while True:
                wait = max(0.0, self._resume_at - self.clock())
                if self._requests:
                    wait = max(wait, self._requests.wait_for(1))
                if self._tokens:
                    wait = max(wait, self._tokens.wait_for(tokens))
                if wait <= 0:
                    break
                await self.sleep(wait)
            if self._requests:
                self._requests.take(1)
            if self._tokens:
                self._tokens.take(tokens)

    @asynccontextmanager
    async def slot(self, tokens: int) -> AsyncIterator[None]:
        """Hold a concurrency slot for one request of about ``tokens`` tokens. A request
        larger than a whole minute's token budget can never be sent within the limit: a
        ConfigError says so at once, instead of a silent wait."""
        if self._tokens is not None and tokens > self._tokens.capacity:
            raise ConfigError(
                f"one request needs about {tokens:,} tokens (prompt and output limit), more "
                f"than the tokens-per-minute limit of {self._tokens.capacity:,.0f}: raise --tpm "
                "or lower the output limit"
            )
        async with self._semaphore:
            await self._admit(tokens)
            if self.shared is not None:
                await self.shared.admit(tokens)
            yield
