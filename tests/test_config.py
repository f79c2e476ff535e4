"""Configuration is resolved once, in one place, and a Summarizer keeps its engine for life."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from summarizer import ConfigError, LLMConfig, Summarizer, SummarizerConfig
from summarizer._config import StructuredMode
from summarizer._grounding import QuoteLocator
from summarizer._testing import ScriptedModel

from .fakes import BASE_URL, error

ARTICLE = (
    "The city council approved a budget of 4.2 million dollars on Monday. "
    '"We kept every library open," said Mayor Ana Ruiz. '
    "The vote was 7 to 2, with two members absent from the session."
)


def test_openai_base_url_alone_is_where_requests_go() -> None:
    resolved = SummarizerConfig().resolve({"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert resolved.engine == "llm" and "OPENAI_BASE_URL" in resolved.reason
    assert resolved.llm is not None and resolved.llm.base_url == "http://127.0.0.1:9/v1"
    # not OpenAI itself: the output limit goes as max_tokens, and no key is needed
    assert resolved.llm.output_limit_parameter == "max_tokens"
    assert resolved.llm.resolved_api_key() == "no-key-needed"


def test_explicit_values_win_over_the_environment() -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "SUMMARIZER_MODEL": "env-model"}
    llm = LLMConfig(model="mine", base_url="http://127.0.0.1:8/v1").resolve(env)
    assert (llm.model, llm.base_url) == ("mine", "http://127.0.0.1:8/v1")
    assert LLMConfig().resolve({**env, "OPENAI_API_KEY": "k"}).model == "env-model"


def test_the_engine_choice_says_why() -> None:
    assert SummarizerConfig().resolve({}).engine == "extractive"
    assert "OPENAI_API_KEY" in SummarizerConfig().resolve({}).reason
    assert SummarizerConfig().resolve({"OPENAI_API_KEY": "k"}).reason == "OPENAI_API_KEY is set"
    limits_only = SummarizerConfig(llm=LLMConfig(concurrency=2))
    assert limits_only.resolve({}).engine == "extractive"  # limits do not name a model
    assert limits_only.resolve({"OPENAI_API_KEY": "k"}).llm.concurrency == 2  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        SummarizerConfig(engine="llm").resolve({})


def test_a_resolved_summarizer_ignores_later_changes_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    summarizer = Summarizer()
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other")
    assert summarizer.resolved.engine == "llm"
    assert summarizer.client is not None and summarizer.client.endpoint.startswith(
        "http://127.0.0.1:9/v1"
    )
    assert summarizer.config.llm is not None
    assert summarizer.config.llm.resolved_api_key() == "no-key-needed"
    summarizer.close()


def test_sync_calls_keep_one_engine_and_the_mode_it_learned() -> None:
    scripted = ScriptedModel()
    modes = []

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        kind = body.get("response_format", {}).get("type", "none")
        modes.append(kind)
        if kind == "json_schema":
            return error(400, "response_format json_schema is not supported")
        return scripted.handle(request)

    llm = LLMConfig(base_url=BASE_URL, api_key="sk-test", concurrency=1)
    config = SummarizerConfig(engine="llm", llm=llm, cache=False)
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=handle)
        with Summarizer(config) as summarizer:
            engine = summarizer.engine
            first = summarizer.summarize(ARTICLE)
            second = summarizer.summarize(ARTICLE + " It passed.")
            assert summarizer.engine is engine
            assert summarizer.client is not None
            assert summarizer.client.mode is StructuredMode.JSON_OBJECT
    assert first.claims and second.claims
    assert modes == ["json_schema", "json_object", "json_object"]  # one rejection in all


def test_each_quote_is_located_once(monkeypatch: pytest.MonkeyPatch) -> None:
    searched: list[str] = []
    real = QuoteLocator._search

    def counting(self: QuoteLocator, quote: str, hint: tuple[int, int] | None) -> object:
        searched.append(quote)
        return real(self, quote, hint)

    monkeypatch.setattr(QuoteLocator, "_search", counting)
    scripted = ScriptedModel(fabricate_in={"doc"})
    llm = LLMConfig(base_url=BASE_URL, api_key="sk-test")
    config = SummarizerConfig(engine="llm", llm=llm, cache=False)
    from summarizer import Document

    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=scripted.handle)
        with Summarizer(config) as summarizer:
            result = summarizer.summarize(Document.from_text(ARTICLE, id="doc"))
    # the engine looked every quote up to decide the re-ask; grounding asked again, for free
    assert len(searched) == len(set(searched))
    assert {c.evidence for c in result.claims} <= set(searched)
    assert not all(c.grounded for c in result.claims)  # the fabricated quote stays flagged
