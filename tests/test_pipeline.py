from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from summarizer._config import LLMConfig, SummarizerConfig
from summarizer._documents import Document, load_articles
from summarizer._models import DocumentFailure, DocumentSummary
from summarizer._pipeline import Summarizer
from summarizer._prompts import STEP_HEADER
from summarizer._testing import FABRICATED_QUOTE, ScriptedModel

from .fakes import BASE_URL, completion


def llm_config(tmp_path: Path, **overrides: object) -> SummarizerConfig:
    llm = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key="sk-test", concurrency=4)
    values = {"engine": "llm", "llm": llm, "cache_path": tmp_path / "cache.sqlite3", **overrides}
    return SummarizerConfig(**values)


@pytest.fixture
def model():
    scripted = ScriptedModel()
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=scripted.handle)
        yield scripted


def seeds(seeds_dir: Path) -> list[Document]:
    return load_articles([seeds_dir]).documents


def assert_quotes_located(result: DocumentSummary, document: Document) -> None:
    for claim in result.claims:
        for span in claim.spans:
            if span.start is None:
                continue
            located = document.text[span.start : span.end]
            if span.match == "exact":
                assert located in span.quote or span.quote.strip().startswith(located)
            assert located


async def test_seed_folder_through_the_llm_engine(
    model: ScriptedModel, tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)
    summarizer = Summarizer(llm_config(tmp_path))
    results = await summarizer.asummarize_many(documents)
    await summarizer.aclose()
    assert [r.doc_id for r in results] == [d.id for d in documents]
    for result, document in zip(results, documents, strict=True):
        assert isinstance(result, DocumentSummary)
        assert result.provenance.engine == "llm" and result.provenance.model == "gpt-4o-mini"
        assert result.provenance.prompt_version and result.provenance.prompt_hash
        assert result.claims and all(c.grounded for c in result.claims)
        assert result.provenance.usage.requests == 1
        assert_quotes_located(result, document)
    assert model.requests == len(documents)


async def test_fabricated_quotes_are_flagged_not_dropped(
    model: ScriptedModel, tmp_path: Path, seeds_dir: Path
) -> None:
    model.fabricate_in = {"001_927e38b87814a409.txt"}
    document = seeds(seeds_dir)[1]
    summarizer = Summarizer(llm_config(tmp_path))
    result = await summarizer.asummarize(document)
    await summarizer.aclose()
    [invented] = [c for c in result.claims if c.text == FABRICATED_QUOTE]
    assert invented.grounded is False and invented.spans[0].match == "none"
    assert any(w.code == "ungrounded_claim" and w.claim_id == invented.id for w in result.warnings)
    assert model.requests == 2  # one re-ask for the missing quote
    assert sum(c.grounded for c in result.claims) == len(result.claims) - 1


async def test_a_long_document_goes_through_map_reduce(
    model: ScriptedModel, tmp_path: Path, seeds_dir: Path
) -> None:
    document = seeds(seeds_dir)[4]
    config = llm_config(tmp_path, single_call_tokens=1200, chunk_tokens=300)
    summarizer = Summarizer(config)
    result = await summarizer.asummarize(document)
    await summarizer.aclose()
    assert result.chunks >= 6
    assert model.requests == result.chunks + 1  # every chunk, then one reduce
    assert sorted({chunk for c in result.claims for chunk in c.chunks}) == list(
        range(result.chunks)
    )
    assert all(c.grounded for c in result.claims)
    positions = [c.spans[0].start or 0 for c in result.claims]
    assert positions == sorted(positions)  # document order across chunks


async def test_reduce_recurses_when_notes_do_not_fit(
    model: ScriptedModel, tmp_path: Path, seeds_dir: Path
) -> None:
    document = seeds(seeds_dir)[4]
    config = llm_config(tmp_path, single_call_tokens=700, chunk_tokens=150, max_reduce_depth=4)
    summarizer = Summarizer(config)
    result = await summarizer.asummarize(document)
    await summarizer.aclose()
    assert model.requests > result.chunks + 1  # grouped reduces, then a final one
    assert result.summary


async def test_a_truncated_reply_is_recovered_by_splitting(
    model: ScriptedModel, tmp_path: Path, seeds_dir: Path
) -> None:
    model.truncate_over_tokens = 900
    document = seeds(seeds_dir)[3]  # ~1,500 tokens: truncated whole, fine in halves
    summarizer = Summarizer(llm_config(tmp_path))
    result = await summarizer.asummarize(document)
    await summarizer.aclose()
    assert any(w.code == "chunk_split" for w in result.warnings)
    assert result.chunks >= 2 and all(c.grounded for c in result.claims)


def looping(request: httpx.Request) -> httpx.Response:  # noqa: ARG001
    """A small model at temperature 0: the same key point over and over, to the limit."""
    body = '{"summary": "Talks.", "key_points": [' + '"North Korea sent troops.", ' * 60
    return httpx.Response(200, json=completion(body, finish_reason="length"))


async def test_a_reply_that_loops_is_neither_retried_larger_nor_split(
    tmp_path: Path, seeds_dir: Path
) -> None:
    document = seeds(seeds_dir)[3]  # long enough that a truncated reply would be split
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(side_effect=looping)
        async with Summarizer(llm_config(tmp_path)) as summarizer:
            [result] = await summarizer.asummarize_many([document])
    assert isinstance(result, DocumentFailure)
    assert result.error_type == "RepetitiveOutputError" and route.call_count == 1
    assert "repeating one passage" in result.message


async def test_a_ground_re_ask_that_runs_to_the_limit_keeps_the_first_answer(
    tmp_path: Path, seeds_dir: Path
) -> None:
    scripted = ScriptedModel(fabricate_in={"001_927e38b87814a409.txt"})

    def handle(request: httpx.Request) -> httpx.Response:
        if request.headers[STEP_HEADER].endswith("ground_reask"):
            return looping(request)
        return scripted.handle(request)

    document = seeds(seeds_dir)[1]
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=handle)
        async with Summarizer(llm_config(tmp_path)) as summarizer:
            result = await summarizer.asummarize(document)
    assert isinstance(result, DocumentSummary), result
    assert result.provenance.usage.requests == 2  # the extraction and the failed follow-up
    assert any(not c.grounded for c in result.claims)  # the first answer's invention, flagged


async def test_one_failing_article_does_not_sink_the_others(
    model: ScriptedModel, tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)
    model.fail_documents = {documents[2].id}
    summarizer = Summarizer(
        llm_config(tmp_path, llm=LLMConfig(base_url=BASE_URL, api_key="k", max_attempts=2))
    )
    results = await summarizer.asummarize_many(documents)
    await summarizer.aclose()
    assert [type(r).__name__ for r in results] == ["DocumentSummary"] * 2 + ["DocumentFailure"] + [
        "DocumentSummary"
    ] * 2
    failure = results[2]
    assert isinstance(failure, DocumentFailure)
    assert failure.error_type == "ModelTransportError" and documents[2].id in failure.message
    assert failure.usage.requests == 2


async def test_a_rerun_makes_zero_model_calls(
    model: ScriptedModel, tmp_path: Path, seeds_dir: Path
) -> None:
    documents = seeds(seeds_dir)
    first = Summarizer(llm_config(tmp_path))
    before = await first.asummarize_many(documents)
    await first.aclose()
    calls = model.requests
    second = Summarizer(llm_config(tmp_path))
    after = await second.asummarize_many(documents)
    await second.aclose()
    assert model.requests == calls
    assert [r.model_dump(exclude={"provenance"}) for r in after] == [
        r.model_dump(exclude={"provenance"}) for r in before
    ]
    assert all(isinstance(r, DocumentSummary) and r.provenance.usage.cache_hits == 1 for r in after)


def test_the_sync_api_can_be_called_repeatedly() -> None:
    summarizer = Summarizer(SummarizerConfig(engine="extractive"))
    text = "Officials said 40 people were rescued on Monday in Valencia. The river rose 3 metres."
    first = summarizer.summarize(text)
    second = summarizer.summarize(text)
    assert first.model_dump(exclude={"provenance"}) == second.model_dump(exclude={"provenance"})
    [a, b] = summarizer.summarize_many(
        [text, Document.from_text("A second, different article about 7 ships.")]
    )
    assert isinstance(a, DocumentSummary) and isinstance(b, DocumentSummary)


def test_extractive_results_are_deterministic_and_say_what_made_them(seeds_dir: Path) -> None:
    summarizer = Summarizer(SummarizerConfig(engine="extractive"))
    documents = seeds(seeds_dir)
    first = summarizer.summarize_many(documents)
    second = summarizer.summarize_many(documents)
    for a, b, document in zip(first, second, documents, strict=True):
        assert isinstance(a, DocumentSummary) and isinstance(b, DocumentSummary)
        assert a.model_dump(exclude={"provenance"}) == b.model_dump(exclude={"provenance"})
        assert a.provenance.engine == "extractive" and a.provenance.model is None
        assert any(w.code == "engine_note" and "no language model" in w.message for w in a.warnings)
        assert len(a.summary.split()) <= 120
        for claim in a.claims:
            assert claim.grounded and claim.spans[0].match == "exact"
            assert document.text[claim.spans[0].start : claim.spans[0].end] == claim.evidence


def test_extractive_speakers_come_from_attributions(seeds_dir: Path) -> None:
    [document] = [d for d in seeds(seeds_dir) if d.id.startswith("004")]
    result = Summarizer(SummarizerConfig(engine="extractive")).summarize(document)
    speakers = {c.speaker for c in result.claims if c.speaker}
    assert {"Zhu Feng", "Tong Zhao", "Shen Dingli", "Matthew Miller"} <= speakers


def test_a_speaker_missing_from_the_article_is_warned() -> None:
    from summarizer._claims import ground_claims
    from summarizer._grounding import QuoteLocator
    from summarizer._models import ChunkResult, ClaimDraft

    text = "Prices rose 4% in May, the bank said."
    draft = ClaimDraft(
        claim="Prices rose 4% in May.",
        evidence="Prices rose 4% in May",
        speaker="Janet Yellen",
        kind="fact",
    )
    chunk = ChunkResult(
        index=0,
        start=0,
        end=len(text),
        original_start=0,
        original_end=len(text),
        token_count=10,
        summary="",
        key_points=[],
        claims=[draft],
    )
    claims, warnings = ground_claims(QuoteLocator(text), [chunk])
    assert claims[0].grounded
    assert [w.code for w in warnings] == ["speaker_not_in_article"]


async def test_every_request_names_its_step(tmp_path: Path, seeds_dir: Path) -> None:
    """Fakes and the replay engine route on the step header, never on prompt wording."""
    from summarizer._eval.replay import call_kind
    from summarizer._prompts import STEP_HEADER

    scripted = ScriptedModel(fabricate_in={"004_55ac9cc17b546c97.txt"})
    steps: list[str] = []

    def handle(request):
        steps.append(request.headers[STEP_HEADER])
        return scripted.handle(request)

    config = llm_config(tmp_path, single_call_tokens=1200, chunk_tokens=300)
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=handle)
        async with Summarizer(config) as summarizer:
            await summarizer.asummarize(seeds(seeds_dir)[4])
    assert set(steps) == {"extract", "extract.ground_reask", "reduce"}
    assert steps[-1] == "reduce"
    assert [call_kind(s) for s in ("extract", "extract.ground_reask", "extract.reask")] == [
        "extract",
        "ground_reask",
        "reask",
    ]
