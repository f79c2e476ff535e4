"""The LLM support matcher: batched, cached, counted; `eval meta` can use it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import respx

from summarizer._cache import ResponseCache
from summarizer._client import ChatClient
from summarizer._config import LLMConfig
from summarizer._eval.matcher import LLMMatcher
from summarizer._eval.meta import run_meta

from .fakes import BASE_URL, ok
from .test_eval_meta import write_dataset

SUMMARY = "Tim Tebow, 27, signed with the Eagles."
UNITS = ["Tim Tebow signed with the Eagles.", "Tebow is 27.", "Tebow was cut by the Patriots."]


def verdicts(*pairs: tuple[int, bool]) -> dict[str, object]:
    return {"verdicts": [{"unit": u, "reason": "r", "supported": s} for u, s in pairs]}


def client(tmp_path: Path | None = None) -> ChatClient:
    cache = ResponseCache(tmp_path / "c.sqlite3") if tmp_path else None
    return ChatClient(LLMConfig(base_url=BASE_URL, api_key="k", model="gpt-4o-mini"), cache=cache)


async def test_units_are_sent_in_numbered_batches_and_verdicts_map_back() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[ok(verdicts((2, True), (1, True))), ok(verdicts((1, False)))]
        )
        matcher = LLMMatcher(client(), batch_size=2)
        assert await matcher(SUMMARY, UNITS) == [True, True, False]
    assert matcher.calls == 2 and route.call_count == 2
    first = json.loads(route.calls[0].request.content)["messages"][-1]["content"]
    assert re.search(r"<summary-(\w+)>Tim Tebow, 27, signed with the Eagles.</summary-\1>", first)
    assert "1. Tim Tebow signed with the Eagles.\n2. Tebow is 27." in first
    assert "Patriots" in json.loads(route.calls[1].request.content)["messages"][-1]["content"]
    assert matcher.missing == []
    assert matcher.name == "llm gpt-4o-mini (matcher v1)"


async def test_a_unit_without_a_verdict_is_not_supported_and_recorded() -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(return_value=ok(verdicts((1, True))))
        matcher = LLMMatcher(client())
        assert await matcher(SUMMARY, UNITS) == [True, False, False]
    assert matcher.missing == UNITS[1:]


async def test_replies_are_cached_and_their_cost_counted(tmp_path: Path) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            return_value=ok(verdicts((1, True), (2, True), (3, False)))
        )
        llm = client(tmp_path)
        matcher = LLMMatcher(llm)
        first = await matcher(SUMMARY, UNITS)
        spent = llm.spent_usd
        assert await matcher(SUMMARY, UNITS) == first
        await llm.aclose()
    assert route.call_count == 1 and spent > 0 and llm.spent_usd == spent


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        LLMMatcher(client(), batch_size=0)


async def test_meta_eval_can_use_the_llm_matcher(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d.jsonl")
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            return_value=ok(verdicts((1, True), (2, False), (3, False)))
        )
        matcher = LLMMatcher(client())
        report = await run_meta(data, matcher=matcher, matcher_name=matcher.name)
    assert route.call_count == 6  # one call per summary: 2 articles x 3 systems
    assert report.matcher == "llm gpt-4o-mini (matcher v1)"
    assert all(
        s["harness recall"] == pytest.approx(1 / 3, abs=1e-4) for s in report.systems.values()
    )
