"""Prices per million tokens, and the cost of a call.

A small default table of list prices (USD per 1M tokens) for common OpenAI models; any
entry can be overridden or added through configuration. A model with no price has an
unknown cost (None), never a guessed one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float
    cached_input: float
    output: float


DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o": Price(input=2.50, cached_input=1.25, output=10.00),
    "gpt-4o-mini": Price(input=0.15, cached_input=0.075, output=0.60),
    "gpt-4.1": Price(input=2.00, cached_input=0.50, output=8.00),
    "gpt-4.1-mini": Price(input=0.40, cached_input=0.10, output=1.60),
    "gpt-4.1-nano": Price(input=0.10, cached_input=0.025, output=0.40),
    "gpt-5": Price(input=1.25, cached_input=0.125, output=10.00),
    "gpt-5-mini": Price(input=0.25, cached_input=0.025, output=2.00),
    "gpt-5-nano": Price(input=0.05, cached_input=0.005, output=0.40),
    "o4-mini": Price(input=1.10, cached_input=0.275, output=4.40),
}


def price_for(model: str, overrides: dict[str, Price] | None = None) -> Price | None:
    """The price of ``model``: exact name first, then the longest known prefix
    (``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``)."""
    table = {**DEFAULT_PRICES, **(overrides or {})}
    if model in table:
        return table[model]
    name = model.rsplit("/", 1)[-1]
    matches = [key for key in table if name.startswith(key)]
    return table[max(matches, key=len)] if matches else None


def cost_usd(
    price: Price | None, *, prompt_tokens: int, cached_tokens: int, completion_tokens: int
) -> float | None:
    if price is None:
        return None
    uncached = max(0, prompt_tokens - cached_tokens)
    return (
        uncached * price.input
        + cached_tokens * price.cached_input
        + completion_tokens * price.output
    ) / 1_000_000
