"""The digest at scale: copies, distinct stories, attribution, failed confirmations."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from summarizer import Document, Summarizer, SummarizerConfig, load_articles
from summarizer._digest import build_digest, markdown_digest
from summarizer._digest.cluster import (
    DUPLICATE_NAMES_THRESHOLD,
    DUPLICATE_THRESHOLD,
    PrefixIndex,
    Signature,
    UnionFind,
    name_weights,
    source_groups,
    weighted_jaccard,
    word_hashes,
    word_jaccard,
    word_jaccards,
)
from summarizer._digest.markdown import SHOWN_UNIQUE
from summarizer._digest.models import Contradiction, DigestReport
from summarizer._digest.records import Texts, read_corpus
from summarizer._engines import ExtractiveEngine
from summarizer._errors import InvalidModelOutputError
from summarizer._models import DocumentFailure, DocumentSummary
from summarizer._text import jaccard

from .digest_articles import distinct_articles, edited_copy


async def summarise(documents: list[Document]) -> list[DocumentSummary | DocumentFailure]:
    # A denser claim list than the default, so that both seed contradictions (the pact date
    # and the title) are among the claims the digest compares.
    engine = ExtractiveEngine(claim_density=4.0)
    summarizer = Summarizer(SummarizerConfig(engine="extractive"), engine=engine)
    return await summarizer.asummarize_many(documents)


async def copied_seeds(
    seeds_dir: Path, copies: int
) -> tuple[list[DocumentSummary | DocumentFailure], list[Document]]:
    """The seeds, each copied ``copies`` times under other names (summarised once)."""
    seeds = load_articles([seeds_dir]).documents
    results = await summarise(seeds)
    all_results: list[DocumentSummary | DocumentFailure] = []
    documents = []
    for n in range(copies):
        for seed, result in zip(seeds, results, strict=True):
            doc_id = f"{n:04d}-{seed.id}"
            documents.append(Document.from_text(seed.text, id=doc_id))
            all_results.append(result.model_copy(update={"doc_id": doc_id}))
    return all_results, documents


def flags(report: DigestReport) -> list[tuple[str, tuple[str, ...]]]:
    return sorted(
        (c.slot, tuple(sorted({s.source[5:8] for s in c.sides})))
        for story in report.stories
        for c in story.contradictions
    )


async def test_seeds_copied_300_times_are_one_story_with_each_contradiction_once(
    seeds_dir: Path,
) -> None:
    results, documents = await copied_seeds(seeds_dir, 300)
    report = await build_digest(results, documents)
    [story] = report.stories
    assert len(story.articles) == 1500 and story.sources == 3
    assert sorted(len(g) for g in story.source_groups) == [300, 600, 600]
    assert ("date", ("003",)) in flags(report) and ("title", ("003",)) in flags(report)
    assert len(flags(report)) == len(set(flags(report)))  # each reported once
    five = await build_digest(*(await copied_seeds(seeds_dir, 1)))
    assert len(story.contradictions) == len(five.stories[0].contradictions)
    date = next(c for c in story.contradictions if c.slot == "date")
    by_value = {side.value: set(side.articles) for side in date.sides}
    assert {a[5:8] for a in by_value["2023-06"]} == {"004"} and len(by_value["2023-06"]) == 300
    assert {a[5:8] for a in by_value["2024-06"]} == {"003"} and len(by_value["2024-06"]) == 300
    for claim in story.consensus:  # support counts source groups, not copies
        assert claim.sources <= 3 and claim.articles >= 300 * claim.sources


async def test_a_hundred_distinct_articles_are_a_hundred_stories() -> None:
    texts = distinct_articles(100)
    documents = [Document.from_text(t, id=f"a{i:03d}") for i, t in enumerate(texts)]
    report = await build_digest(await summarise(documents), documents)
    assert len(report.stories) == 100
    assert all(len(s.articles) == 1 and s.sources == 1 for s in report.stories)


async def test_edited_copies_form_one_source_group_and_distinct_stories_stay_apart() -> None:
    rng = random.Random(3)
    base, *others = distinct_articles(20, seed=5)
    texts = [base] + [edited_copy(base, rng) for _ in range(200)] + others
    documents = [Document.from_text(t, id=f"d{i:03d}") for i, t in enumerate(texts)]
    report = await build_digest(await summarise(documents), documents)
    assert sorted(len(s.articles) for s in report.stories) == [1] * 19 + [201]
    assert report.stories[0].sources == 1 and report.stories[0].id == "s1"  # largest first
    text_of = {d.id: d.text for d in documents}
    claims = report.stories[0].unique + report.stories[0].consensus
    entries = [s for claim in claims for s in claim.support]
    for claim in claims:  # one entry per wording and quote, every article listed once
        listed = [doc for s in claim.support for doc in s.articles]
        assert len(listed) == len(set(listed)) and claim.articles == len(listed)
    assert sum(len(s.restated_by) for s in entries) > len(entries)  # most are restatements
    for s in entries:  # each restating article has the quote in its own text
        assert all(s.evidence in text_of[doc] for doc in s.restated_by)


def quotes_in_markdown(markdown: str) -> list[tuple[str, str]]:
    """(doc id, quote) for every quote digest.md shows under an article."""
    return re.findall(r"`([^`]+)`(?: \([^)]*\))?: “([^”]*)”", markdown)


async def test_every_quote_is_a_span_of_the_article_it_is_credited_to(seeds_dir: Path) -> None:
    results, documents = await copied_seeds(seeds_dir, 2)
    report = await build_digest(results, documents)
    texts = {d.id: d.text for d in documents}
    checked = 0
    for story in report.stories:
        for claim in story.consensus + story.disputed + story.unique:
            for s in claim.support:
                if s.grounded:
                    assert s.start is not None and texts[s.doc_id][s.start : s.end] == s.evidence
                    assert all(s.evidence in texts[doc] for doc in s.articles)
                    checked += 1
        for contradiction in story.contradictions:
            for side in contradiction.sides:
                assert texts[side.doc_id][side.start : side.end] == side.quote
    normalised = {doc: " ".join(text.split()).replace("|", "\\|") for doc, text in texts.items()}
    shown = quotes_in_markdown(markdown_digest(report))
    assert checked > 50 and len(shown) >= 3  # not vacuous: quotes were shown and checked
    for doc_id, quote in shown:
        assert quote in normalised[doc_id], (doc_id, quote)


async def test_a_disputed_fact_is_never_consensus() -> None:
    texts = [
        "Officials in Valmora said at least 10,000 troops arrived in Kursk from Tressel.\n"
        "The Valmora ministry said the Tressel agreement was signed in Kursk.",
        "Officials in Valmora said at least 12,000 troops arrived in Kursk from Tressel.\n"
        "The Valmora ministry said the Tressel agreement was not signed in Kursk.",
        "Officials in Valmora said at least 10,000 troops arrived in Kursk from Tressel.\n"
        "The Valmora ministry said the Tressel agreement was signed in Kursk on time.",
    ]
    documents = [Document.from_text(t, id=f"x{i}") for i, t in enumerate(texts)]
    report = await build_digest(await summarise(documents), documents)
    [story] = report.stories
    assert {c.slot for c in story.contradictions} >= {"number", "polarity"}
    assert story.disputed and not any("troops" in c.text for c in story.consensus)
    assert not any("agreement" in c.text for c in story.consensus)


async def test_a_failed_confirmation_leaves_that_candidate_unconfirmed(seeds_dir: Path) -> None:
    asked: list[str] = []

    async def confirm(candidate: Contradiction) -> bool:
        asked.append(candidate.slot)
        if candidate.slot == "date":
            raise InvalidModelOutputError("reply failed validation", document_id="003 vs 004")
        return True

    results, documents = await copied_seeds(seeds_dir, 1)
    report = await build_digest(results, documents, engine="llm", confirm=confirm)
    verdicts = {c.slot: c for c in report.stories[0].contradictions}
    assert set(asked) >= {"date", "title"}
    assert verdicts["date"].confirmed is None and verdicts["date"].confirmation_error
    assert "InvalidModelOutputError" in (verdicts["date"].confirmation_error or "")
    assert verdicts["title"].confirmed is True and verdicts["title"].confirmation_error is None
    assert "unconfirmed: the model's check failed" in markdown_digest(report)


async def test_ungrounded_claims_never_count_and_failures_are_listed(seeds_dir: Path) -> None:
    results, documents = await copied_seeds(seeds_dir, 1)
    ok = [r for r in results if isinstance(r, DocumentSummary)]
    ungrounded = [
        r.model_copy(
            update={"claims": [c.model_copy(update={"grounded": False}) for c in r.claims]}
        )
        for r in ok[:2]
    ]
    failed = DocumentFailure(
        doc_id="broken.txt", source="broken.txt", error_type="ModelError", message="boom"
    )
    report = await build_digest([*ungrounded, *ok[2:], failed], documents)
    assert report.summarised == [r.doc_id for r in ok] and report.failures == [failed]
    for story in report.stories:
        for claim in story.consensus + story.disputed + story.unique:
            counted = {s.source for s in claim.support if s.grounded}
            assert claim.sources == len(counted)
            assert all(s.grounded or s.start is None for s in claim.support)
    markdown = markdown_digest(report)
    assert (
        "5 articles summarised (1 failure)" in markdown and "`broken.txt`: ModelError" in markdown
    )
    assert "ungrounded" in markdown


async def test_digest_md_reads_top_down_contents_then_stories_largest_first(
    seeds_dir: Path,
) -> None:
    rng = random.Random(11)
    base, *others = distinct_articles(6, seed=9)
    seeds, seed_documents = await copied_seeds(seeds_dir, 1)
    texts = [base] + [edited_copy(base, rng) for _ in range(7)] + others
    documents = [Document.from_text(t, id=f"n{i:02d}") for i, t in enumerate(texts)]
    report = await build_digest(
        [*seeds, *(await summarise(documents))], [*seed_documents, *documents]
    )
    markdown = markdown_digest(report)
    headers = re.findall(r"^## Story (s\d+):", markdown, re.MULTILINE)
    sizes = {s.id: len(s.articles) for s in report.stories}
    assert markdown.index("## Contents") < markdown.index("## Story ")
    assert [sizes[h] for h in headers] == sorted((sizes[h] for h in headers), reverse=True)
    assert [sizes[h] for h in headers] == [8, 5]  # the 8 copies, then the seeds' story
    seed_story = next(s for s in report.stories if len(s.articles) == 5)
    assert len(seed_story.unique) > SHOWN_UNIQUE  # capped and collapsed, complete in JSON
    assert f"Single-source facts ({SHOWN_UNIQUE} of {len(seed_story.unique)};" in markdown
    assert markdown.count("<details>") == markdown.count("</details>") >= 1
    assert "5 stories of one article" in markdown


Article = tuple[str, set[str], set[str]]  # doc id, names, content words


def random_articles(rng: random.Random, count: int) -> list[Article]:
    """Articles drawn around a few templates (so that many pairs sit near the thresholds),
    some without names, some empty, some exact copies of a word set."""
    vocabulary = [f"w{n}" for n in range(60)]
    names = [f"n{n}" for n in range(25)]
    templates = [(set(rng.sample(vocabulary, 12)), set(rng.sample(names, 4))) for _ in range(6)]
    made = []
    for n in range(count):
        words, entities = rng.choice(templates)
        words = {w for w in words if rng.random() < 0.7} | set(rng.sample(vocabulary, 6))
        entities = {e for e in entities if rng.random() < 0.7} | set(rng.sample(names, 2))
        if n % 7 == 0:
            entities = set()
        if n % 23 == 0:
            words = set()
        made.append((f"r{n:03d}", entities, words))
    return made


def brute_force_groups(
    articles: list[Article], weight: dict[str, float]
) -> tuple[dict[str, str], list[tuple[str, str, float]]]:
    """:func:`source_groups` by comparing each article's word and name sets (Python sets,
    not hashes) with those of every earlier leader."""
    groups = UnionFind(doc for doc, _, _ in articles)
    leaders: list[Article] = []
    pairs = []
    for doc, names, words in articles:
        joined = False
        for other, other_names, other_words in leaders:
            similarity = jaccard(words, other_words)
            names_ok = not (names or other_names) or (
                weighted_jaccard(names, other_names, weight) >= DUPLICATE_NAMES_THRESHOLD
            )
            if similarity >= DUPLICATE_THRESHOLD and names_ok:
                groups.union(other, doc)
                first, second = sorted((other, doc))
                pairs.append((first, second, round(similarity, 3)))
                joined = True
        if not joined:
            leaders.append((doc, names, words))
    return {doc: groups.find(doc) for doc, _, _ in articles}, pairs


def test_source_groups_find_exactly_the_pairs_a_brute_force_check_finds() -> None:
    """The prefix-filtered join misses no near-duplicate pair and invents none: on random
    corpora built around shared templates (hundreds of pairs near both thresholds), the
    same groups and the same verified pairs as comparing every article with every leader."""
    for seed in range(8):
        articles = random_articles(random.Random(seed), 150)
        primaries = [Signature(doc, names, word_hashes(w)) for doc, names, w in articles]
        leader_of, pairs = source_groups(primaries)
        expected_leaders, expected_pairs = brute_force_groups(articles, name_weights(primaries))
        assert len(expected_pairs) > 20  # the corpus does have near-duplicates to find
        assert sorted(pairs) == sorted(expected_pairs)
        assert leader_of == expected_leaders


def test_a_prefix_shares_a_token_with_every_set_at_the_threshold() -> None:
    """The prefix property itself, on weighted sets: every pair at or above the threshold
    shares a token of both prefixes, and the prefixes are shorter than the sets."""
    rng = random.Random(5)
    tokens = [f"t{n}" for n in range(40)]
    sets = [set(rng.sample(tokens, rng.randint(1, 12))) for _ in range(300)]
    frequency = Counter(token for s in sets for token in s)
    weight = {t: math.log1p(len(sets) / frequency[t]) for t in frequency}
    index = PrefixIndex[str](0.3, frequency, weight)
    prefixes = [index.prefix(s) for s in sets]
    assert sum(map(len, prefixes)) < sum(map(len, sets))
    checked = 0
    for i, a in enumerate(sets):
        for j in range(i):
            if weighted_jaccard(a, sets[j], weight) >= 0.3:
                checked += 1
                assert set(prefixes[i]) & set(prefixes[j]), (a, sets[j])
    assert checked > 50


def test_content_words_memo_matches_judging_each_word_afresh(seeds_dir: Path) -> None:
    """The per-word memo of ``content_words`` gives what judging each word afresh gives,
    and ``content_word_set`` the same words."""
    from summarizer import _text
    from summarizer._text import content_word_set, content_words

    texts = [d.text for d in load_articles([seeds_dir]).documents] + distinct_articles(20)
    for text in texts:
        memoised = content_words(text)
        assert content_word_set(text) == set(memoised)
        _text._CONTENT.clear()
        assert content_word_set(text) == set(memoised)
        assert content_words(text) == memoised


async def test_the_digest_leaves_the_cycle_collector_as_it_found_it() -> None:
    import gc

    texts = distinct_articles(3)
    documents = [Document.from_text(t, id=f"g{i}") for i, t in enumerate(texts)]
    results = await summarise(documents)
    assert gc.isenabled()
    frozen = gc.get_freeze_count()  # objects another part of the process froze stay so
    await build_digest(results, documents)
    assert gc.isenabled() and gc.get_freeze_count() <= frozen  # never more frozen
    gc.disable()
    try:
        await build_digest(results, documents)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_digest_returned_from_asyncio_run_is_not_dumped_whole(seeds_dir: Path) -> None:
    """Python 3.11's asyncio.run reprs the task's result on the way out: a report's repr
    is its counts, not its hundreds of megabytes of fields."""
    import asyncio

    async def work() -> DigestReport:
        return await build_digest(*(await copied_seeds(seeds_dir, 2)))

    report = asyncio.run(work())
    assert repr(report) == (
        "DigestReport(engine='extractive', articles=10, summarised=10, stories=1, failures=0)"
    )
    assert len(report.model_dump_json()) > 10 * len(repr(report))  # the JSON is all there


def _dumped(report: DigestReport) -> str:
    return report.model_copy(update={"created": 0.0}).model_dump_json()


async def test_streamed_input_gives_the_digest_of_the_lists_and_is_read_once(
    seeds_dir: Path,
) -> None:
    results, documents = await copied_seeds(seeds_dir, 3)
    failed = DocumentFailure(doc_id="missing", source="x", error_type="E", message="m")
    results = [*results[:4], failed, *results[4:]]
    expected = _dumped(await build_digest(results, documents))
    read: list[str] = []

    def one_at_a_time() -> Iterator[DocumentSummary | DocumentFailure]:
        for result in results:
            read.append(result.doc_id)
            yield result

    streamed = await build_digest(one_at_a_time(), iter(documents))
    assert _dumped(streamed) == expected
    assert read == [r.doc_id for r in results]  # each read once, in order
    texts = {d.id: d.text for d in documents}  # a mapping, in another order, works too
    shuffled = dict(sorted(texts.items(), reverse=True))
    assert _dumped(await build_digest(iter(results), shuffled)) == expected


def test_documents_are_read_in_step_with_the_results() -> None:
    documents = [Document.from_text(f"Text {n}.", id=f"a{n}") for n in range(5)]
    taken: list[str] = []

    def lazily() -> Iterator[Document]:
        for document in documents:
            taken.append(document.id)
            yield document

    texts = Texts(lazily())
    assert texts.take("a0") == "Text 0." and taken == ["a0"]  # nothing read ahead
    assert texts.take("a2") == "Text 2." and taken == ["a0", "a1", "a2"]
    assert texts.take("a1") == "Text 1."  # passed over on the way: waited
    assert texts.take("zz") is None and taken == ["a0", "a1", "a2", "a3", "a4"]
    assert texts.take("a3") == "Text 3." and texts.take("a3") is None  # handed out once


async def test_records_are_kept_for_the_first_article_of_each_text_only(
    seeds_dir: Path,
) -> None:
    results, documents = await copied_seeds(seeds_dir, 2)
    corpus = read_corpus(results, documents)
    assert corpus.articles == corpus.summarised == [r.doc_id for r in results]
    assert sorted(corpus.records) == [d.id for d in documents[:5]]  # copies: signatures only
    text = {d.id: d.text for d in documents}
    for doc_id, record in corpus.records.items():
        for statement in record.statements:
            if statement.quote is not None:
                assert text[doc_id][statement.start : statement.end] == statement.quote


def test_word_jaccards_at_once_equal_each_pair_alone() -> None:
    rng = random.Random(11)
    vocabulary = [f"w{n}" for n in range(300)]
    words = word_hashes(rng.sample(vocabulary, 80))
    others = [word_hashes(rng.sample(vocabulary, rng.randint(0, 120))) for _ in range(40)]
    assert word_jaccards(words, others) == [word_jaccard(words, o) for o in others]
    assert word_jaccards(word_hashes([]), others[:3]) == [0.0, 0.0, 0.0]
    assert word_jaccards(words, []) == []


async def test_adigest_hands_each_result_over_once_and_matches_the_lists(
    seeds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import summarizer._digest.corpus as corpus_module
    from summarizer import adigest

    handed: list[str] = []
    real = build_digest

    async def counting(results: Any, documents: Any, **options: Any) -> DigestReport:
        assert not isinstance(results, list)  # a stream: the results are not held twice

        async def counted() -> AsyncIterator[DocumentSummary | DocumentFailure]:
            async for result in results:
                handed.append(result.doc_id)
                yield result

        return await real(counted(), documents, **options)

    monkeypatch.setattr(corpus_module, "build_digest", counting)
    documents = load_articles([seeds_dir]).documents
    summarizer = Summarizer(
        SummarizerConfig(engine="extractive"), engine=ExtractiveEngine(claim_density=4.0)
    )
    expected = _dumped(await build_digest(await summarise(documents), documents))
    report = await adigest(summarizer, iter(documents))
    assert _dumped(report) == expected
    assert report.articles == [d.id for d in documents]
    assert handed == [d.id for d in documents]  # each result handed over once, in order
