"""Client-side limits shared by every request of one endpoint.

Concurrency (:class:`AdaptiveConcurrency`: AIMD, as TCP, or a fixed number),
requests-per-minute and tokens-per-minute token buckets, and a shared pause: when the
server answers 429, :meth:`RateLimiter.pause` holds back every request of the client, not
only the one that was refused. The clock and sleep are injectable, so tests check waits
without sleeping.

The adaptive level starts at half the configured maximum (at least a few). It grows by one
per reply that came back about as fast as the fastest seen (doubling each round trip, as
TCP's slow start), and by one per round trip after the first sign of a queue. Once a round
trip (``level`` replies) it is judged by the fastest reply of the round, against the best
latency seen: over 1.25x, no more growth and one request fewer (as TCP Vegas); over 1.5x,
halved. A timeout, 429, 503 or 504 halves it too. It is also kept where a queue cannot
outlast one attempt's timeout: on a server that answers one request at a time, n requests
in flight make the last wait n replies, so once a reply to a lone request took L seconds,
at most timeout / L go out at once (times the number seen running at once: a reply that
overtook requests sent before it). One of those replies may run to its output limit (a
small model that loops writes to the limit; a limit fitted to the timeout lets it take
all of it), so the bound is 1 + (timeout - W) / L, W the time a full-length reply takes
at the pace of the longest lone reply: 1 when W is the whole timeout. Requests sent
before a cut cannot cause another (one cut per round trip), and each cut at the same
level doubles the patience before probing it again, so a server that takes one request
at a time settles at 1 in flight. Latency is not judged while this client's own event
loop runs late (its CPU, not the server, sets the pace). It never exceeds the configured
maximum; the RPM/TPM buckets apply on top.

A run that took the level to its maximum without a cut lets the next run against the same
endpoint start there (as TCP may reuse a route's window between connections, RFC 2140):
:meth:`AdaptiveConcurrency.learned` says so, :meth:`AdaptiveConcurrency.start_from` starts
there (slow start goes on above it when the new maximum is higher). A run with a cut, or
one lowered to fit the timeout, says to forget it, so the next starts at half again; a run
that found nothing (no reply, or a smaller maximum than the width known) leaves what was
known. Only a finding that costs nothing when wrong is kept: a width that was too wide is
cut within a round trip, while a remembered push-back (a 429 burst, a model still loading)
would slow every later run.

:class:`SharedLimits` is the hook for limits held by something other than this process
(one coordinator of a cluster): each admitted request is also admitted there, and a pause
after a 429 is passed on to it.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from summarizer._errors import ConfigError

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

logger = logging.getLogger("summarizer.client")

MODEST_START = 4  # the adaptive level starts at max(this, maximum // 2), capped at maximum
LATENCY_RISE = 1.5  # a round trip's fastest reply this many times the best seen: queueing
SLOW_START_EXIT = 1.25  # ... and this many times ends the slow start (as TCP's HyStart)
BASE_DRIFT = 1.002  # the best latency seen may rise 0.2% a reply (the work may change)
CLIENT_BOUND = 0.05  # event-loop lag over this share of the best latency: the client is slow
MAX_PATIENCE = 16  # round trips between probes of a level that was cut, at most
LONG_ENOUGH_TO_PACE = 256  # output tokens of a lone reply that tell the server's pace


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


@dataclass
class Ticket:
    """One admitted request: when it was sent and how busy the client was then."""

    sequence: int
    started: float
    limited: bool  # every slot was taken when it was admitted (the level was the limit)
    others: int = 0  # other requests of this client in flight when it was admitted


@dataclass(frozen=True)
class LearnedConcurrency:
    """What a run found of a server's capacity (:meth:`AdaptiveConcurrency.learned`):
    ``reached``, the width it held without a cut, for the next run to start at; None: the
    server pushed back, so the next run starts at half again."""

    reached: int | None


class AdaptiveConcurrency:
    """How many requests may be in flight: AIMD (see the module) or, with ``adaptive``
    off, exactly ``maximum``. Waiters are served first come, first served. What a run
    found (:meth:`learned`) can start the next (:meth:`start_from`)."""

    def __init__(
        self,
        maximum: int,
        *,
        adaptive: bool = True,
        clock: Clock = time.monotonic,
        timeout: float | None = None,
    ):
        self.maximum = maximum
        self.timeout = timeout
        self.adaptive = adaptive
        self.clock = clock
        self.level = min(maximum, max(MODEST_START, maximum // 2)) if adaptive else maximum
        self._slow_start = adaptive and self.level < maximum
        self.started_from: int | None = None  # the width an earlier run reached
        self.in_flight = 0
        self.peak = 0  # most requests in flight at once
        self.replies = 0
        self.replies_to_maximum: int | None = None  # replies before the level first got there
        self.cuts = 0
        self.fitted = False  # the level was lowered to fit the timeout (a slow server)
        self._credit = 0
        self._patience = 1
        self._cut_level = 0  # the level of the last latency cut
        self._round_left = 0  # replies left in this round trip's judgement
        self._round_fastest = math.inf
        self._flat = True  # the last judgement saw no queue building
        self._lag = 0.0  # how late this event loop runs a callback, averaged
        self._best: float | None = None
        self._alone_worst = 0.0  # the slowest reply to a request sent with none other
        self._alone_longest = (0, 0.0)  # the lone reply with the most output: tokens, seconds
        self._parallel = 1  # the most seen running at once: a reply overtook earlier ones
        self._output_asked = 0  # the largest output limit a request asked for
        self._outstanding: list[int] = []  # sequence numbers of the requests in flight
        self.changes: deque[tuple[float, int]] = deque([(clock(), self.level)], maxlen=10_000)
        self._sent = 0
        self._cut_after = 0  # requests sent before this sequence number cause no cut
        self._waiters: deque[asyncio.Future[None]] = deque()

    def start_from(self, reached: int) -> None:
        """Start at the width an earlier run reached without a cut (before any request;
        never below the usual start, never above the maximum)."""
        if not self.adaptive or reached < 1 or self._sent:
            return
        self.started_from = reached
        self.level = max(self.level, min(self.maximum, reached))
        self._slow_start = self.level < self.maximum
        self.changes.append((self.clock(), self.level))
        logger.info(
            "starting at %d in flight (of at most %d): an earlier run reached %d",
            self.level,
            self.maximum,
            reached,
        )

    def learned(self) -> LearnedConcurrency | None:
        """What this run found for the next one (see :class:`LearnedConcurrency`); None
        when it found nothing new: no reply, a maximum below the width already known, a
        run that never got to its maximum, or a fixed width."""
        if not self.adaptive or self.replies == 0:
            return None
        if self.cuts or self.fitted:
            return LearnedConcurrency(None)
        if self.started_from is not None and self.started_from > self.maximum:
            return None  # this run asked for less than was known: it says nothing of that
        if self.replies_to_maximum is not None or self.level >= self.maximum:
            return LearnedConcurrency(self.maximum)
        return None

    def rebind(self) -> None:
        """Forget waiters of an ended event loop (each request in flight releases its own
        slot, so ``in_flight`` stays right)."""
        self._waiters.clear()

    async def acquire(self) -> Ticket:
        if self.in_flight >= self.level or self._waiters:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter  # granted: in_flight already counts this request
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.release()
                elif waiter in self._waiters:  # _wake may have dropped it already
                    self._waiters.remove(waiter)
                raise
        else:
            self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self._sent += 1
        self._outstanding.append(self._sent)  # sequence numbers only grow: stays sorted
        return Ticket(
            self._sent, self.clock(), self.in_flight >= self.level, others=self.in_flight - 1
        )

    def release(self, ticket: Ticket | None = None) -> None:
        """Give a slot back (``ticket``: the request it held, when it had one)."""
        if ticket is not None:
            where = bisect.bisect_left(self._outstanding, ticket.sequence)
            if where < len(self._outstanding) and self._outstanding[where] == ticket.sequence:
                del self._outstanding[where]
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.level:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    def succeeded(self, ticket: Ticket, output_tokens: int = 0) -> None:
        """A reply of ``output_tokens`` came back: grow, or cut if the latency says the
        server is queueing.

        Latency is judged once a round trip (``level`` replies) by the fastest of them: a
        server that queues slows every reply, while a client busy reading a burst of
        replies delays only the later ones of the burst."""
        self.replies += 1
        latency = self.clock() - ticket.started
        # alone: nothing else was in flight from its admission to its reply
        alone = ticket.others == 0 and self._sent == ticket.sequence
        if alone and output_tokens > self._alone_longest[0]:
            self._alone_longest = (output_tokens, latency)
        # a reply that overtook requests sent before it ran beside them (a server that
        # takes one at a time answers in order)
        overtaken = bisect.bisect_left(self._outstanding, ticket.sequence)
        self._parallel = max(self._parallel, overtaken + 1)
        if not self.adaptive:
            return
        if self._best is None or latency < self._best:
            self._best = latency
        else:
            self._best *= BASE_DRIFT
        self._round_fastest = min(self._round_fastest, latency)
        self._round_left -= 1
        self._probe_lag()
        if alone:
            self._alone_worst = max(self._alone_worst, latency)
            if self._fit_timeout(latency):
                return
        if self._lag > CLIENT_BOUND * self._best:
            # this client cannot read its replies promptly (its CPU is the bottleneck): the
            # latency is its own, and says nothing of the server (timeouts, 429, 503 still do)
            self._flat, self._round_left = True, self.level
        elif self._round_left <= 0:
            fastest, self._round_fastest = self._round_fastest, math.inf
            self._round_left = self.level
            reason = f"latency {fastest:.2f}s (best {self._best:.2f}s)"
            if fastest > LATENCY_RISE * self._best and self._cut(ticket, reason):
                return
            # a queue starts to build: no more growth, the slow start is over, and one
            # request fewer (as TCP Vegas) lets it drain
            self._flat = fastest <= SLOW_START_EXIT * self._best
            if not self._flat and not self._slow_start:
                self._cut(ticket, reason, to=self.level - 1)
            self._slow_start = self._slow_start and self._flat
        client_bound = self._lag > CLIENT_BOUND * self._best
        if self._slow_start and latency > SLOW_START_EXIT * self._best and not client_bound:
            return  # this reply waited in a queue: it earns no growth (HyStart, per reply)
        busy = self.in_flight >= self.level or bool(self._waiters)
        if self._flat and (busy or ticket.limited) and self.level < self.maximum:
            self._grow()

    def _probe_lag(self) -> None:
        """Time how long a callback waits in this event loop: the client's own lag."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_soon(self._record_lag, self.clock())

    def _record_lag(self, queued: float) -> None:
        self._lag = 0.9 * self._lag + 0.1 * (self.clock() - queued)

    def timeout_cap(self) -> int | None:
        """The most requests in flight that cannot outlast the timeout. On a server that
        runs ``parallel`` at once (1 until seen otherwise), the last of ``n`` waits for
        about ``n / parallel - 1`` replies before its own, each as slow as the slowest
        reply that waited for nothing (L), except that one of them may run to its output
        limit (W: a model that loops writes to the limit, and a limit fitted to the
        timeout lets W be all of it): ``W + (n - 1) L <= timeout``. None before any such
        reply, or without a timeout."""
        if self.timeout is None or self._alone_worst <= 0:
            return None
        slowest = self._alone_worst
        full = max(slowest, self._full_reply_seconds() or 0.0)
        return self._parallel * max(1, 1 + int((self.timeout - full) / slowest))

    def _full_reply_seconds(self) -> float | None:
        """How long a reply to the largest output limit asked for takes (at most the
        timeout), at the pace of the longest lone reply; None until a lone reply long
        enough to tell the pace (a short one is mostly prompt time, which would make a
        fast server look slow)."""
        tokens, seconds = self._alone_longest
        if self.timeout is None or self._output_asked <= 0 or tokens <= 0 or seconds <= 0:
            return None
        if tokens < min(self._output_asked / 4, LONG_ENOUGH_TO_PACE):
            return None
        return min(self.timeout, self._output_asked * seconds / tokens)

    def asked_for(self, output_tokens: int) -> None:
        """A request asks for up to ``output_tokens`` (before any fitting to the timeout);
        a larger limit than before may lower the bound at once."""
        if output_tokens > self._output_asked:
            self._output_asked = output_tokens
            if self.adaptive and self._alone_worst > 0:
                self._fit_timeout(self._alone_worst)

    def output_within_timeout(self) -> int | None:
        """The most output tokens this server writes within the timeout, at the pace of
        the longest reply to a lone request (its prompt time counted in, so the pace is
        if anything slow). None before such a reply, or without a timeout."""
        tokens, seconds = self._alone_longest
        if self.timeout is None or tokens <= 0 or seconds <= 0:
            return None
        return int(self.timeout * tokens / seconds)

    def _fit_timeout(self, latency: float) -> bool:
        """Lower the level to :meth:`timeout_cap` if it is above it (a new round starts)."""
        cap = self.timeout_cap()
        if cap is None or self.level <= cap:
            return False
        before = self.level
        self._lower_to(cap)
        self.fitted = True
        full = self._full_reply_seconds()
        logger.info(
            "a reply took %.0fs with nothing else in flight, a full-length reply (%d "
            "tokens) would take %s and the timeout is %.0fs: concurrency %d -> %d",
            latency,
            self._output_asked,
            "an unknown time" if full is None else f"{full:.0f}s",
            self.timeout or 0.0,
            before,
            self.level,
        )
        return True

    def _grow(self) -> None:
        cap = self.timeout_cap()
        if cap is not None and self.level >= cap:
            return  # one more would wait past the timeout on a server that queues
        if self._slow_start:
            self.level += 1
        else:
            self._credit += 1
            needed = self.level * (self._patience if self.level + 1 >= self._cut_level else 1)
            if self._credit < needed:
                return
            self._credit = 0
            self.level += 1
            if self.level > self._cut_level:
                self._patience = 1
        self.changes.append((self.clock(), self.level))
        if self.level >= self.maximum:
            if self.replies_to_maximum is None:
                self.replies_to_maximum = self.replies
            self._slow_start = False
            logger.info("concurrency reached the maximum, %d in flight", self.maximum)
        self._wake()

    def overloaded(self, ticket: Ticket, reason: str) -> None:
        """A timeout, 429 or 503 to ``ticket``: halve the level (once a round trip)."""
        if self.adaptive:
            self._cut(ticket, reason)

    def _cut(self, ticket: Ticket, reason: str, *, to: int | None = None) -> bool:
        """Lower the level to ``to`` (default: half), unless ``ticket`` was sent before
        the last cut (one cut a round trip)."""
        if ticket.sequence <= self._cut_after or self.level <= 1:
            return False
        if self.level <= self._cut_level:  # the same trouble again: probe less often
            self._patience = min(MAX_PATIENCE, self._patience * 2)
        self._cut_level = self.level
        self._slow_start = False
        self._lower_to(max(1, self.level // 2 if to is None else to))
        self.cuts += 1
        logger.info("%s: concurrency %d -> %d", reason, self._cut_level, self.level)
        return True

    def _lower_to(self, level: int) -> None:
        """Set a lower level: growth credit is reset, requests already sent cause no
        further cut, and a new round trip of judgement starts."""
        self.level = level
        self._credit = 0
        self._cut_after = self._sent
        self._round_left, self._round_fastest = self.level, math.inf
        self.changes.append((self.clock(), self.level))


class RateLimiter:
    def __init__(
        self,
        *,
        concurrency: int,
        adaptive: bool = False,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        shared: SharedLimits | None = None,
        timeout: float | None = None,
    ):
        """``concurrency``: the most requests in flight; with ``adaptive``, the level
        found by :class:`AdaptiveConcurrency` under it, which ``timeout`` (one attempt's
        deadline) also bounds."""
        self.clock = clock
        self.shared = shared
        self.sleep = sleep
        self.concurrency = AdaptiveConcurrency(
            concurrency, adaptive=adaptive, clock=clock, timeout=timeout
        )
        self._lock = asyncio.Lock()
        self._requests = TokenBucket(requests_per_minute, clock) if requests_per_minute else None
        self._tokens = TokenBucket(tokens_per_minute, clock) if tokens_per_minute else None
        self._resume_at = 0.0

    def rebind(self) -> None:
        """New locks for a new event loop (asyncio primitives belong to one loop); the
        buckets and any pause carry over. Call only when no request is in flight."""
        self.concurrency.rebind()
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
    async def slot(self, tokens: int) -> AsyncIterator[Ticket]:
        """Hold a concurrency slot for one request of about ``tokens`` tokens. A request
        larger than a whole minute's token budget can never be sent within the limit: a
        ConfigError says so at once, instead of a silent wait."""
        if self._tokens is not None and tokens > self._tokens.capacity:
            raise ConfigError(
                f"one request needs about {tokens:,} tokens (prompt and output limit), more "
                f"than the tokens-per-minute limit of {self._tokens.capacity:,.0f}: raise --tpm "
                "or lower the output limit"
            )
        ticket = await self.concurrency.acquire()
        try:
            await self._admit(tokens)
            if self.shared is not None:
                await self.shared.admit(tokens)
            ticket.started = self.clock()  # waits for the buckets are not the server's
            yield ticket
        finally:
            self.concurrency.release(ticket)
