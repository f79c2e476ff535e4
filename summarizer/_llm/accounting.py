"""Usage and cost of every attempt, failed ones included, and the budget.

The budget holds at any concurrency: before a request is sent, its worst-case cost (the
prompt, and the whole output limit) is reserved, and a request whose reservation would
take spent + reserved past the budget is not sent. The reservation is released when the
reply's real cost is recorded.

A :class:`Ledger` is the hook for a budget shared with other processes: every cost is
added to it, and the budget is checked against its total instead of this client's."""

from __future__ import annotations

from typing import Any, Protocol

from summarizer._errors import BudgetExceededError
from summarizer._models import Usage
from summarizer._pricing import Price, cost_usd


class Ledger(Protocol):
    """Spending shared with other processes (one budget for a cluster)."""

    def spent_usd(self) -> float:
        """Everything spent by every sharer so far."""

    def add(self, cost_usd: float) -> None:
        """Record this process's ``cost_usd``."""


class Accountant:
    """Run-wide totals of one client; each call also keeps its own ``Usage``."""

    def __init__(
        self, price: Price | None, budget_usd: float | None, *, ledger: Ledger | None = None
    ):
        self.price = price
        self.budget_usd = budget_usd
        self.ledger = ledger
        self.usage = self.new_usage()
        self.reserved_usd = 0.0

    def new_usage(self) -> Usage:
        """An empty tally; cost is None (unknown) when the model has no price."""
        return Usage(cost_usd=0.0 if self.price else None)

    @property
    def spent_usd(self) -> float:
        return self.usage.cost_usd or 0.0

    def _budget_spent(self) -> float:
        """What counts against the budget: the shared ledger's total, else this client's."""
        return self.ledger.spent_usd() if self.ledger is not None else self.spent_usd

    def check_budget(self) -> None:
        if self.budget_usd is None:
            return
        spent = self._budget_spent()
        if spent >= self.budget_usd:
            raise BudgetExceededError(spent, self.budget_usd)

    def reserve(self, *, prompt_tokens: int, output_tokens: int) -> float:
        """Reserve the worst-case cost of one request, or raise BudgetExceededError when
        it does not fit in what is left; returns the amount to :meth:`release`."""
        self.check_budget()
        if self.budget_usd is None:
            return 0.0
        worst = cost_usd(
            self.price,
            prompt_tokens=prompt_tokens,
            cached_tokens=0,
            completion_tokens=output_tokens,
        )
        if worst is None:  # unknown price: nothing to hold the budget against
            return 0.0
        spent = self._budget_spent()
        if spent + self.reserved_usd + worst > self.budget_usd:
            raise BudgetExceededError(spent, self.budget_usd)
        self.reserved_usd += worst
        return worst

    def release(self, amount: float) -> None:
        self.reserved_usd = max(0.0, self.reserved_usd - amount)

    def count_request(self, usage: Usage) -> None:
        usage.requests += 1
        self.usage.requests += 1

    def count_retry(self, usage: Usage) -> None:
        usage.retries += 1
        self.usage.retries += 1

    def record(self, response: Any, usage: Usage) -> None:
        """Add a response's reported tokens and their cost to ``usage`` and the totals."""
        reported = getattr(response, "usage", None)
        if reported is None:
            return
        prompt = reported.prompt_tokens or 0
        completion = reported.completion_tokens or 0
        details = getattr(reported, "prompt_tokens_details", None)
        cached = (getattr(details, "cached_tokens", None) or 0) if details else 0
        cost = cost_usd(
            self.price, prompt_tokens=prompt, cached_tokens=cached, completion_tokens=completion
        )
        for total in (usage, self.usage):
            total.prompt_tokens += prompt
            total.completion_tokens += completion
            total.cached_tokens += cached
            if total.cost_usd is not None and cost is not None:
                total.cost_usd += cost
        if self.ledger is not None and cost:
            self.ledger.add(cost)
