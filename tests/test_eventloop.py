"""The event loop of the command line and the sync API: uvloop when installed, asyncio
otherwise or when asked; the same results and the same respx seam on either."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import sys

import httpx
import pytest
import respx

from summarizer._config import LLMConfig, SummarizerConfig
from summarizer._documents import Document
from summarizer._errors import ConfigError
from summarizer._eventloop import event_loop_name, loop_factory, run
from summarizer._models import DocumentSummary
from summarizer._pipeline import Summarizer
from summarizer._testing import ScriptedModel

from .fakes import BASE_URL

HAVE_UVLOOP = sys.version_info >= (3, 11) and importlib.util.find_spec("uvloop") is not None
needs_uvloop = pytest.mark.skipif(not HAVE_UVLOOP, reason="uvloop (the fast extra) not installed")
ARTICLE = (
    "Officials said 40 people were rescued on Monday in Valencia after the river rose "
    "3 metres overnight. The mayor said schools would stay closed until Wednesday."
)


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def _without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a)
    )


def test_asyncio_is_used_when_uvloop_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_uvloop(monkeypatch)
    assert event_loop_name({}) == "asyncio" and loop_factory({}) is None
    assert run(_loop_module()).startswith("asyncio")
    with pytest.raises(ConfigError, match="SUMMARIZER_EVENT_LOOP=uvloop: uvloop is not installed"):
        event_loop_name({"SUMMARIZER_EVENT_LOOP": "uvloop"})


@needs_uvloop
def test_uvloop_is_used_when_installed_unless_asyncio_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert event_loop_name({}) == event_loop_name({"SUMMARIZER_EVENT_LOOP": "uvloop"}) == "uvloop"
    assert run(_loop_module()).startswith("uvloop")
    monkeypatch.setenv("SUMMARIZER_EVENT_LOOP", "asyncio")
    assert run(_loop_module()).startswith("asyncio")


def test_an_unknown_choice_names_the_variable_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUMMARIZER_EVENT_LOOP", "trio")
    work = _loop_module()
    with pytest.raises(ConfigError, match="SUMMARIZER_EVENT_LOOP='trio': choose one of auto"):
        run(work)
    assert (
        inspect.getcoroutinestate(work) == "CORO_CLOSED"
    )  # closed, so no "never awaited" warning either


@pytest.mark.parametrize(
    "loop", ["asyncio", pytest.param("uvloop", marks=needs_uvloop)], ids=["asyncio", "uvloop"]
)
def test_the_sync_api_gives_the_same_results_through_respx_on_either_loop(
    loop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUMMARIZER_EVENT_LOOP", loop)
    llm = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key="sk-test", concurrency=4)
    config = SummarizerConfig(engine="llm", llm=llm, cache=False)
    scripted = ScriptedModel()
    loops: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        loops.append(type(asyncio.get_running_loop()).__module__)
        return scripted.handle(request)

    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=answer)
        with Summarizer(config) as summarizer:
            results = summarizer.summarize_many(
                [Document.from_text(ARTICLE, id="a"), Document.from_text(ARTICLE, id="b")]
            )
    assert all(isinstance(r, DocumentSummary) and r.claims for r in results)
    assert scripted.requests == 2 == len(loops) and all(m.startswith(loop) for m in loops)
