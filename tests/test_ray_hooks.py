"""The hooks the Ray executor plugs into (no Ray needed): a limiter that also admits through
shared limits, an accountant whose budget is a shared ledger's, and the coordinator's
reservations."""

from __future__ import annotations

import asyncio

import pytest

from summarizer._errors import BudgetExceededError
from summarizer._llm.accounting import Accountant
from summarizer._pricing import Price
from summarizer._ratelimit import RateLimiter, TokenBucket


class RecordingLimits:
    def __init__(self) -> None:
        self.admitted: list[int] = []
        self.paused: list[float] = []

    async def admit(self, tokens: int) -> None:
        self.admitted.append(tokens)

    def pause(self, seconds: float) -> None:
        self.paused.append(seconds)


class SharedLedger:
    def __init__(self, spent: float) -> None:
        self.spent = spent
        self.added: list[float] = []

    def spent_usd(self) -> float:
        return self.spent

    def add(self, cost_usd: float) -> None:
        self.added.append(cost_usd)
        self.spent += cost_usd


class Reply:
    class usage:  # noqa: N801 - the SDK's attribute name
        prompt_tokens = 1_000_000
        completion_tokens = 0
        prompt_tokens_details = None


async def test_the_limiter_admits_through_shared_limits_and_passes_a_pause_on() -> None:
    shared = RecordingLimits()
    limiter = RateLimiter(concurrency=2, shared=shared)
    async with limiter.slot(120):
        pass
    async with limiter.slot(7):
        pass
    limiter.pause(3.0)
    assert shared.admitted == [120, 7]
    assert shared.paused == [3.0]


async def test_a_shared_admission_holds_the_request_until_it_returns() -> None:
    gate = asyncio.Event()

    class Gated(RecordingLimits):
        async def admit(self, tokens: int) -> None:
            await gate.wait()
            await super().admit(tokens)

    limiter = RateLimiter(concurrency=1, shared=Gated())
    sent: list[str] = []

    async def request() -> None:
        async with limiter.slot(1):
            sent.append("sent")

    task = asyncio.create_task(request())
    await asyncio.sleep(0.01)
    assert sent == []
    gate.set()
    await task
    assert sent == ["sent"]


def test_the_budget_is_checked_against_the_shared_ledger() -> None:
    price = Price(input=1.0, cached_input=0.5, output=2.0)
    ledger = SharedLedger(spent=4.5)  # other workers spent 4.5 of 5
    accountant = Accountant(price, 5.0, ledger=ledger)
    accountant.check_budget()  # this client alone has spent nothing; the cluster 4.5
    accountant.record(Reply(), accountant.new_usage())  # $1 for a million prompt tokens
    assert ledger.added == [1.0]
    assert accountant.spent_usd == 1.0
    with pytest.raises(BudgetExceededError) as raised:
        accountant.check_budget()
    assert raised.value.spent_usd == 5.5


def test_without_a_ledger_the_budget_is_the_clients_own() -> None:
    accountant = Accountant(Price(input=1.0, cached_input=0.5, output=2.0), 5.0)
    accountant.record(Reply(), accountant.new_usage())
    accountant.check_budget()


@pytest.mark.ray
def test_reservations_from_many_callers_are_spaced_by_the_bucket() -> None:
    """The coordinator's admission: 60 a minute, 60 banked; the next callers wait 1 s, 2 s..."""
    pytest.importorskip("ray", reason="the ray extra is not installed")
    from summarizer._config import LLMConfig
    from summarizer._ray.coordinator import Coordinator

    coordinator = Coordinator(
        LLMConfig(model="m", base_url="http://127.0.0.1:1/v1", requests_per_minute=60), None
    )
    waits = [coordinator.reserve(100) for _ in range(63)]
    assert waits[:60] == [0.0] * 60
    assert waits[60:] == pytest.approx([1.0, 2.0, 3.0], abs=0.05)
    coordinator.pause(10.0)
    assert coordinator.reserve(1) >= 9.9
    assert coordinator.add(0.25) == 0.25 and coordinator.spent() == 0.25


def test_a_bucket_in_debt_says_how_long_until_it_is_even() -> None:
    now = [0.0]
    bucket = TokenBucket(60, lambda: now[0])
    bucket.take(60)
    bucket.take(1)
    assert bucket.wait_for(1) == pytest.approx(2.0)
    now[0] = 2.0
    assert bucket.wait_for(1) == 0.0
