from __future__ import annotations

import json
import re
from pathlib import Path

from summarizer import Document, Summarizer, SummarizerConfig, load_articles
from summarizer._digest import build_digest
from summarizer._digest.align import KEYS_PER_CLAIM, MAX_BLOCK, candidate_pairs, items_of
from summarizer._digest.contradictions import dates
from summarizer._digest.models import DigestReport
from summarizer._engines import ExtractiveEngine
from summarizer._eval.digest_eval import run_digest_eval

from .conftest import REPO


async def digest_of(documents: list[Document], claim_density: float = 3.0) -> DigestReport:
    engine = ExtractiveEngine(claim_density=claim_density)
    summarizer = Summarizer(SummarizerConfig(engine="extractive"), engine=engine)
    results = await summarizer.asummarize_many(documents)
    return await build_digest(results, documents)


async def test_the_seed_corpus_is_one_story_with_two_retold_pairs(seeds_dir: Path) -> None:
    report = await digest_of(load_articles([seeds_dir]).documents)
    [story] = report.stories
    assert len(story.articles) == 5 and story.sources == 3
    pairs = {tuple(d.articles) for d in story.near_duplicates}
    assert pairs == {
        ("000_30a5b09cbd3e3be1.txt", "001_927e38b87814a409.txt"),
        ("003_65811a93c3d58a0f.txt", "004_55ac9cc17b546c97.txt"),
    }
    assert all(0.25 <= d.similarity <= 1 for d in story.near_duplicates)
    for claim in story.consensus:
        assert claim.sources >= 2
        if claim.articles > claim.sources:
            assert "near-duplicates counted once" in claim.support_note
        for support in claim.support:  # each article's own quote and span
            source = (seeds_dir / support.doc_id).read_text(encoding="utf-8")
            assert (
                support.start is not None
                and source[support.start : support.end] == support.evidence
            )


async def test_seed_contradictions_quote_both_sides(seeds_dir: Path) -> None:
    # The title conflict sits in claims past the default extractive claim budget (issue 18
    # bounds it); a denser claim list brings them in.
    report = await digest_of(load_articles([seeds_dir]).documents, claim_density=4.0)
    flags = {
        (c.slot, tuple(sorted(s.doc_id[:3] for s in c.sides))): c
        for c in report.stories[0].contradictions
    }
    date = flags[("date", ("003", "004"))]
    assert {s.value for s in date.sides} == {"2024-06", "2023-06"}  # "in June" dated by 2024-11-06
    title = flags[("title", ("003", "004"))]
    assert "Naval Warfare School" in title.description and "Naval War College" in title.description
    assert all(side.quote for side in title.sides)


def test_a_bare_month_takes_the_publication_year() -> None:
    assert dates("signed in June", "2024-11-06") == {6: {2024}}
    assert dates("met in December", "2024-11-06") == {12: {2023}}
    assert dates("signed in June 2023", None) == {6: {2023}}
    assert dates("signed in June", None) == {}


async def test_numbers_and_polarity_disagreements_are_flagged() -> None:
    documents = [
        Document.from_text(
            "Officials in Valmora said at least 10,000 troops arrived in Kursk on Monday.\n"
            "The Valmora ministry confirmed the Tressel agreement was signed on Monday.",
            id="a",
        ),
        Document.from_text(
            "Officials in Valmora said at least 12,000 troops arrived in Kursk on Monday.\n"
            "The Valmora ministry confirmed the Tressel agreement was not signed on Monday.",
            id="b",
        ),
    ]
    report = await digest_of(documents)
    slots = {c.slot: c for story in report.stories for c in story.contradictions}
    assert {s.value for s in slots["number"].sides} == {"10000", "12000"}
    assert {s.value for s in slots["polarity"].sides} == {"negated", "affirmed"}


async def test_unrelated_articles_form_separate_stories(seeds_dir: Path) -> None:
    documents = load_articles([seeds_dir]).documents + [
        Document.from_text(
            "Heavy rain flooded Valencia on Tuesday. Spain's weather agency AEMET said 40 "
            "centimetres fell in Chiva. Pedro Sanchez visited Paiporta on Wednesday.",
            id="floods",
        ),
    ]
    report = await digest_of(documents)
    assert sorted(len(s.articles) for s in report.stories) == [1, 5]


def test_claims_are_only_compared_within_blocks() -> None:
    from summarizer._models import Claim

    claims = [
        Claim(
            id=f"c{i}",
            text=f"Topic{i} alpha{i} beta{i} said gamma{i % 7} delta{i % 11}.",
            evidence="-",
            speaker=None,
            kind="fact",
            grounded=False,
            spans=[],
        )
        for i in range(600)
    ]
    items = items_of("a", claims[:300]) + items_of("b", claims[300:])
    pairs = candidate_pairs(items)
    assert len(pairs) <= len(items) * KEYS_PER_CLAIM * MAX_BLOCK  # never all pairs


async def test_the_digest_eval_meets_its_thresholds() -> None:
    for engine in ("extractive", "replay"):
        _, score = await run_digest_eval(engine, REPO / "evals")
        assert score.gate_failures == [], (engine, score.gate_failures)
        assert score.cluster_pair_accuracy == 1.0 and score.near_duplicate_recall == 1.0


def test_the_digest_command_writes_both_files(tmp_path: Path, seeds_dir: Path) -> None:
    from summarizer._cli import main

    assert main(["digest", str(seeds_dir), "--out", str(tmp_path)]) == 0
    report = DigestReport.model_validate(json.loads((tmp_path / "digest.json").read_text()))
    assert report.stories and report.engine == "extractive"
    markdown = (tmp_path / "digest.md").read_text()
    assert "### Contradictions" in markdown and "(+1 near-duplicate)" in markdown


async def test_a_model_confirms_or_rejects_contradiction_candidates() -> None:
    import respx

    from summarizer import LLMConfig
    from summarizer._client import ChatClient
    from summarizer._digest.confirm import ModelConfirmation
    from summarizer._digest.contradictions import confirm_all
    from summarizer._digest.models import Contradiction, ContradictionSide

    from .fakes import BASE_URL, ok, request_json

    candidate = Contradiction(
        id="x1",
        slot="date",
        description="pact dated 2024-06 and 2023-06",
        sides=[
            ContradictionSide(doc_id="a", claim_id="c1", quote="signed in June", value="2024-06"),
            ContradictionSide(
                doc_id="b", claim_id="c2", quote="signed in June 2023", value="2023-06"
            ),
        ],
    )
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[
                ok({"reason": "different years", "contradicts": True}),
                ok({"reason": "same thing", "contradicts": False}),
            ]
        )
        confirm = ModelConfirmation(ChatClient(LLMConfig(base_url=BASE_URL, api_key="k")))
        [yes] = await confirm_all([candidate], confirm)
        [no] = await confirm_all([candidate], confirm)
    assert yes.confirmed is True and no.confirmed is False
    sent = request_json(route.calls[0])["messages"][1]["content"]
    assert re.search(r"<a-(\w+)>signed in June</a-\1>\n<b-\1>signed in June 2023</b-\1>", sent)
