"""`summarizer digest` and adigest stream: documents are loaded as the pipeline goes, each
result goes into the digest as it is made (in input order), and the digest is the same
as the digest of the results in a list."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import summarizer._digest.records as records_module
import summarizer._pipeline as pipeline_module
from summarizer import Document, Summarizer, SummarizerConfig, adigest, load_articles
from summarizer._config import LLMConfig
from summarizer._digest import build_digest
from summarizer._digest.models import DigestReport
from summarizer._documents import LoadResult, iter_articles
from summarizer._engines import EngineOutput, ExtractiveEngine, PreparedDocument
from summarizer._errors import SummarizerError
from summarizer._prompts import STEP_HEADER
from summarizer._report_html import digest_html
from summarizer._testing import ScriptedModel

from .digest_articles import distinct_article
from .fakes import BASE_URL


def _dumped(report: DigestReport) -> str:
    return report.model_copy(update={"created": 0.0}).model_dump_json()


class _FailingEngine(ExtractiveEngine):
    """The extractive engine, failing the documents named."""

    def __init__(self, failing: set[str]) -> None:
        super().__init__()
        self.failing = failing

    async def run(self, prepared: PreparedDocument, *, summary_words: int) -> EngineOutput:
        if prepared.document.id in self.failing:
            raise SummarizerError(f"cannot summarise {prepared.document.id}")
        return await super().run(prepared, summary_words=summary_words)


def _distinct(count: int) -> list[Document]:
    rng = random.Random(5)
    return [Document.from_text(distinct_article(rng, n), id=f"d{n}") for n in range(count)]


def _pulled(documents: list[Document], pulled: list[str]) -> Iterator[Document]:
    for document in documents:
        pulled.append(document.id)
        yield document


async def test_the_digest_reads_each_result_before_the_later_documents_are_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documents = _distinct(60)
    pulled: list[str] = []
    ahead: list[int] = []  # documents loaded beyond the one being read, at each read
    real = records_module.statements

    def reading(claims: Any, text: str | None = None) -> Any:
        ahead.append(len(pulled) - len(ahead) - 1)
        return real(claims, text)

    monkeypatch.setattr(records_module, "statements", reading)
    monkeypatch.setattr(pipeline_module, "STREAM_AHEAD", 4)  # a bound below the corpus
    summarizer = Summarizer(engine=_FailingEngine({"d7"}))
    report = await adigest(summarizer, _pulled(documents, pulled))
    assert len(ahead) == 59 and report.failures[0].doc_id == "d7"
    # concurrency 1 (offline): at most STREAM_AHEAD documents are loaded and summarised
    # ahead of the digest; all of them at once (60) before the digest read any, before
    assert max(ahead) <= 4
    assert report.articles == [d.id for d in documents]


async def test_adigest_equals_the_digest_of_the_lists_on_a_generated_corpus() -> None:
    from benchmarks.digest_scale import corpus

    documents = [Document.from_text(text, id=doc_id) for doc_id, text, _, _ in corpus(400)]
    failing = {documents[3].id, documents[250].id}
    summarizer = Summarizer(engine=_FailingEngine(failing))
    results = await summarizer.asummarize_many(documents)
    expected = await build_digest(results, documents)
    report = await adigest(summarizer, iter(documents))
    assert _dumped(report) == _dumped(expected)
    assert {f.doc_id for f in report.failures} == failing and len(report.articles) == 400
    assert len(report.stories) < 300  # copies of large stories grouped: a real test


async def test_with_a_model_results_come_in_input_order_and_contradictions_are_confirmed(
    tmp_path: Path, seeds_dir: Path
) -> None:
    seeds = load_articles([seeds_dir]).documents
    documents = [
        Document.from_text(d.text, id=f"{n}-{d.id}", source=d.source)
        for n in range(4)
        for d in seeds
    ]
    model = ScriptedModel(claims_per_part=60, fail_documents={documents[6].id})
    steps: list[str] = []
    finished: list[str] = []
    in_flight = [0, 0]  # now, most

    async def handle(request: httpx.Request) -> httpx.Response:
        step = request.headers.get(STEP_HEADER, "extract")
        steps.append(step)
        body = json.loads(request.content)
        in_flight[0] += 1
        in_flight[1] = max(in_flight)
        if step.startswith("extract"):  # the early documents take longest: out of order
            found = [d.id for d in documents if f'id="{d.id}"' in body["messages"][1]["content"]]
            await asyncio.sleep(0.002 * (len(documents) - documents.index(
                next(d for d in documents if d.id == found[0])
            )))  # fmt: skip
            finished.append(found[0])
        in_flight[0] -= 1
        return model.handle(request)

    llm = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key="k", max_attempts=1)
    config = SummarizerConfig(
        engine="llm",
        llm=llm.model_copy(update={"concurrency": 3}),
        cache_path=tmp_path / "cache.sqlite3",
    )
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=handle)
        async with Summarizer(config) as summarizer:
            report = await adigest(summarizer, iter(documents))
        async with Summarizer(config) as summarizer:
            from summarizer._digest.confirm import ModelConfirmation

            assert summarizer.client is not None
            listed = await summarizer.asummarize_many(documents)
            expected = await build_digest(
                listed, documents, engine="llm", confirm=ModelConfirmation(summarizer.client)
            )
    assert finished[:2] != [d.id for d in documents[:2]]  # the model answered out of order
    assert 1 < in_flight[1] <= 6  # documents summarised at once, as asummarize_many does
    assert report.articles == [d.id for d in documents]
    assert [f.doc_id for f in report.failures] == [documents[6].id]
    assert _dumped(report) == _dumped(expected)
    contradictions = [c for s in report.stories for c in s.contradictions]
    assert contradictions and any(step.startswith("contradiction") for step in steps)
    assert all(c.confirmed is not None or c.confirmation_error for c in contradictions)


class _GatedEngine(ExtractiveEngine):
    """The extractive engine; the documents named wait for ``gate`` (or are cancelled)."""

    def __init__(self, held: set[str]) -> None:
        super().__init__()
        self.held = held
        self.gate = asyncio.Event()
        self.done: list[str] = []
        self.cancelled: list[str] = []

    async def run(self, prepared: PreparedDocument, *, summary_words: int) -> EngineOutput:
        name = prepared.document.id
        try:
            if name in self.held:
                await self.gate.wait()
            return await super().run(prepared, summary_words=summary_words)
        except asyncio.CancelledError:
            self.cancelled.append(name)
            raise
        finally:
            self.done.append(name)


async def test_closing_the_stream_early_cancels_what_is_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipeline_module, "STREAM_AHEAD", 4)
    pulled: list[str] = []
    engine = _GatedEngine({f"d{n}" for n in range(3, 50)})  # all but the first three wait
    summarizer = Summarizer(engine=engine)
    stream = summarizer.astream_many(_pulled(_distinct(50), pulled), concurrency=4)

    async def first_three_then_close() -> list[str]:
        async with aclosing(stream):
            handed = [document.id async for document, _ in _first(stream, 3)]
            await asyncio.sleep(0.05)  # the next four are in flight, waiting
        return handed

    handed = await asyncio.wait_for(first_three_then_close(), 10)  # not waiting for them
    assert handed == ["d0", "d1", "d2"] and len(pulled) <= 3 + 4 * 4
    assert sorted(engine.cancelled) == ["d3", "d4", "d5", "d6"]  # in flight: cancelled
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_a_slow_document_does_not_hold_back_the_ones_after_it() -> None:
    engine = _GatedEngine({"d0"})
    summarizer = Summarizer(engine=engine)
    documents = _distinct(120)

    async def open_the_gate() -> None:
        while len(engine.done) < 100:  # the others finish while d0 waits
            await asyncio.sleep(0.01)
        engine.gate.set()

    async def read() -> list[str]:
        return [d.id async for d, _ in summarizer.astream_many(documents, concurrency=4)]

    opener = asyncio.create_task(open_the_gate())
    results = await asyncio.wait_for(read(), 30)  # the old window (16 ahead) waited for good
    await opener
    assert results == [d.id for d in documents] and engine.done.index("d0") >= 100


async def test_an_input_that_raises_midway_still_hands_out_what_it_gave() -> None:
    def five_then_broken() -> Iterator[Document]:
        yield from _distinct(5)
        raise OSError("the disk went away")

    summarizer = Summarizer(SummarizerConfig(engine="extractive"))
    handed: list[str] = []
    with pytest.raises(OSError, match="disk went away"):
        async for document, _ in summarizer.astream_many(five_then_broken(), concurrency=2):
            handed.append(document.id)
    assert handed == [f"d{n}" for n in range(5)]


async def _first(stream: Any, count: int) -> Any:
    async for item in stream:
        yield item
        count -= 1
        if count == 0:
            return


def test_iter_articles_reads_one_file_at_a_time_and_loads_what_load_articles_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import summarizer._documents as documents_module

    for n in range(6):
        (tmp_path / f"a{n}.txt").write_text(f"Article {n} says the river rose {n} metres.")
    (tmp_path / "b.jsonl").write_text('{"id": 1, "text": "One."}\n{"id": 1, "text": "Two."}\n')
    (tmp_path / "empty.txt").write_text("  ")
    (tmp_path / "skip.pdf").write_text("x")
    expected = load_articles([tmp_path])
    read: list[str] = []
    real = documents_module.load_file

    def counting(path: Path, **options: Any) -> Document:
        read.append(path.name)
        return real(path, **options)

    monkeypatch.setattr(documents_module, "load_file", counting)
    loaded = LoadResult()
    stream = iter_articles([tmp_path], loaded)
    assert loaded.skipped == expected.skipped and read == []  # folders listed, none read
    assert next(stream).id == "a0.txt" and read == ["a0.txt"]
    rest = list(stream)
    assert [d.id for d in rest] == [d.id for d in expected.documents[1:]]
    assert [str(e) for e in loaded.errors] == [str(e) for e in expected.errors]
    assert len(loaded.errors) == 2 and loaded.documents == []


def test_the_html_digest_quotes_the_spilled_texts_as_it_quoted_the_documents(
    tmp_path: Path, seeds_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from summarizer._cli import main

    assert main(["digest", str(seeds_dir), "-o", str(tmp_path), "-q", "--no-log"]) == 0
    report = DigestReport.model_validate_json((tmp_path / "digest.json").read_text())
    texts = {d.id: d.text for d in load_articles([seeds_dir]).documents}
    assert (tmp_path / "digest.html").read_text() == digest_html(report, texts)
    assert '<mark class="q">' in (tmp_path / "digest.html").read_text()
    capsys.readouterr()
    assert main(["digest", str(seeds_dir), "--format", "html", "-q", "--no-log"]) == 0
    printed = capsys.readouterr().out
    assert '<mark class="q">' in printed  # to stdout, the texts are spilled too
    assert printed.split("<footer")[0] == digest_html(report, texts).split("<footer")[0]


def test_a_broken_file_in_the_folder_is_listed_and_the_others_are_digested(
    tmp_path: Path, seeds_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from summarizer._cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    for seed in sorted(seeds_dir.glob("*.txt")):
        (folder / seed.name).write_text(seed.read_text())
    (folder / "zz-broken.txt").write_bytes(b"\xff\xfe\x00\x00\x00garbage\x00")
    (folder / "records.jsonl").write_text('{"id": 1, "text": "Lone \\ud800 escape."}\n')
    out = tmp_path / "out"
    code = main(["digest", str(folder), "-o", str(out), "--no-log"])
    captured = capsys.readouterr()
    report = DigestReport.model_validate_json((out / "digest.json").read_text())
    failed = {f.doc_id: f.message for f in report.failures}
    assert code == 1 and len(report.articles) == 5 and len(failed) == 2, failed
    assert any("zz-broken.txt" in name for name in failed)
    assert any("unpaired surrogate" in message for message in failed.values())
    assert "zz-broken.txt" in captured.err and "unpaired surrogate" in captured.err
    assert "zz-broken.txt" in (out / "digest.md").read_text()


def test_spilled_texts_give_back_each_first_text() -> None:
    from summarizer._cli.evaluate import SpilledTexts

    documents = [
        Document.from_text("Zoë said “no” — twice.", id="a"),
        Document("b", "Lone \ud800 surrogate, as JSON can give.", "b.jsonl", ""),
        Document.from_text("Another text for a.", id="a"),
        Document.from_text("x" * 10_000, id="c"),
    ]
    with SpilledTexts() as texts:
        assert [d.id for d in texts.passing(documents)] == ["a", "b", "a", "c"]
        assert dict(texts) == {d.id: d.text for d in documents if d.text != "Another text for a."}
        assert texts.get("missing") is None and len(texts) == 3
