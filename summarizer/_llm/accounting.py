"""Usage and cost of every attempt, failed ones included, and the budget that stops new
requests once it is spent.

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

    def new_usage(self) -> Usage:
        """An empty tally; cost is None (unknown) when the model has no price."""
        return Usage(cost_usd=0.0 if self.price else None)

    @property
    def spent_usd(self) -> float:
        return self.usage.cost_usd or 0.0

    def check_budget(self) -> None:
        if self.budget_usd is None:
            return
        spent = self.ledger.spent_usd() if self.ledger is not None else self.spent_usd
        if spent >= self.budget_usd:
            raise BudgetExceededError(spent, self.budget_usd)

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
