"""Suspect results: schema-valid replies that are not believable summaries of the article
(every quote invented, instructions, field descriptions, field names or the id echoed, a
summary about something else) are marked, counted and, on request, failures; a speaker
must be a name the article uses; control characters inside JSON strings are tolerated."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from pydantic import ValidationError

from summarizer._claims import speaker_in_text
from summarizer._cli import main
from summarizer._config import LLMConfig, SummarizerConfig
from summarizer._llm.replies import parse_json_reply
from summarizer._models import (
    Claim,
    ClaimDraft,
    ClaimKind,
    DocumentSummary,
    EvidenceSpan,
    ExtractionDraft,
)
from summarizer._pipeline import Summarizer
from summarizer._quality import Checker
from summarizer._render import markdown
from summarizer._report_html import results_html
from summarizer._runner import RunReport, print_report
from summarizer._testing import ScriptedModel

from .fakes import BASE_URL, ok

ARTICLE = (
    "Shen Dingli, a professor at Fudan University, said China would keep its troops at the "
    "border through the winter. The defence ministry confirmed that 4,000 soldiers arrived "
    "in Harbin on Monday. Officials expect talks with Moscow to resume in March."
)
DOC_ID = "border-troops.txt"
GOOD_SUMMARY = "China will keep 4,000 troops at the border through winter, Shen Dingli said."


def claim(grounded: bool, text: str = "4,000 soldiers arrived in Harbin.") -> Claim:
    span = EvidenceSpan(
        quote=text,
        start=0 if grounded else None,
        end=10 if grounded else None,
        match="exact" if grounded else "none",
        score=100.0 if grounded else 0.0,
    )
    return Claim(
        id="c1",
        text=text,
        evidence=text,
        speaker=None,
        kind=ClaimKind.FACT,
        grounded=grounded,
        spans=[span],
    )


def llm_checker() -> Checker:
    from summarizer._prompts import load_prompt

    return Checker(load_prompt("extract").instruction_text())


def codes(
    summary: str = GOOD_SUMMARY,
    key_points: list[str] | None = None,
    claims: list[Claim] | None = None,
    article: str = ARTICLE,
) -> list[str]:
    reasons = llm_checker().reasons(
        doc_id=DOC_ID,
        article=article,
        summary=summary,
        key_points=key_points if key_points is not None else ["Troops stay at the border."],
        claims=claims if claims is not None else [claim(True)],
    )
    return [reason.code for reason in reasons]


def test_a_believable_result_is_not_suspect() -> None:
    assert codes() == []
    assert codes(claims=[claim(True), claim(False, "Made up.")]) == []  # one invented of two
    assert codes(claims=[]) == []  # no claims at all: nothing was invented


def test_every_claim_ungrounded_is_suspect() -> None:
    assert codes(claims=[claim(False), claim(False, "Made up.")]) == ["no_grounded_claims"]


@pytest.mark.parametrize(
    "summary",
    [
        ExtractionDraft.model_fields["summary"].description,  # the schema's own description
        '"><article id="',  # the prompt's markup
        DOC_ID,  # the document id
        "border-troops",
        "You summarize news articles and list their checkable claims for fact-checkers.",
    ],
)
def test_a_summary_echoing_the_instructions_is_suspect(summary: str) -> None:
    assert "echoes_instructions" in codes(summary=summary)


def test_a_passage_of_the_article_is_no_echo_even_in_instruction_words() -> None:
    summary = "only what the article says"  # every word is in the prompt's rules
    assert "echoes_instructions" in codes(summary=summary)
    article = ARTICLE + " Readers get only what the article says."
    assert codes(summary=summary, article=article) == []


@pytest.mark.parametrize(
    "point", ["claim", "evidence", "speaker", "key_points", "Key points", "fact"]
)
def test_a_key_point_that_is_a_field_name_is_suspect(point: str) -> None:
    assert codes(key_points=["Troops stay at the border.", point]) == ["field_name"]


def test_a_key_point_echoing_a_field_description_is_suspect() -> None:
    description = ClaimDraft.model_fields["evidence"].description or ""
    assert codes(key_points=[description]) == ["echoes_instructions"]


def test_a_summary_about_something_else_is_suspect() -> None:
    unrelated = "Apple released a new phone with a faster chip and a brighter screen."
    assert codes(summary=unrelated) == ["unrelated_summary"]
    assert codes(summary="   ") == ["unrelated_summary"]
    # A paraphrase keeps most of the article's content words: believable.
    assert codes(summary="Professor Shen expects Chinese troops to stay on the border.") == []


def test_the_extractive_engine_is_never_suspect_on_the_seeds(seeds_dir: Path) -> None:
    from summarizer._documents import load_articles

    documents = load_articles([seeds_dir]).documents
    with Summarizer(SummarizerConfig(engine="extractive")) as summarizer:
        results = summarizer.summarize_many(documents)
    assert all(isinstance(r, DocumentSummary) and r.suspect == [] for r in results)


# --- speakers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "speaker",
    ["Shen Dingli", "Dingli", "Professor Shen Dingli", "Fudan University's Shen Dingli",
     "the defence ministry", "Officials", "China"],
)  # fmt: skip
def test_a_name_the_article_uses_is_a_speaker(speaker: str) -> None:
    assert speaker_in_text(speaker, ARTICLE)


@pytest.mark.parametrize(
    "speaker",
    [
        # the case: invented sentences that happen to contain "China"
        "The Chinese government deployed troops. It also said China wants peace.",
        "China's foreign ministry",  # "foreign" is nowhere in the article
        "Ministry of Truth",
        "Janet Yellen",
        "...",
    ],
)
def test_an_invented_or_sentence_speaker_is_not_in_the_article(speaker: str) -> None:
    assert not speaker_in_text(speaker, ARTICLE)


# --- through the pipeline, the CLI and the outputs ---------------------------------------


def junk_reply() -> dict[str, object]:
    """What a confused small model sent: schema-valid, nothing from the article."""
    return {
        "summary": ExtractionDraft.model_fields["summary"].description,
        "key_points": ["claim", "evidence", "speaker"],
        "claims": [
            {
                "claim": "The minister resigned.",
                "evidence": "The minister resigned on Tuesday after the vote.",
                "speaker": "The Chinese government deployed troops. It also said China wants peace.",
                "kind": "fact",
            }
        ],
    }


@pytest.fixture
def junk_model():
    """Article 000 gets the junk reply; every other article a believable one."""
    scripted = ScriptedModel()

    def handle(request: httpx.Request) -> httpx.Response:
        if "000_30a5b09cbd3e3be1.txt" in json.loads(request.content)["messages"][1]["content"]:
            return ok(junk_reply())
        return scripted.handle(request)

    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=handle)
        yield mock


@pytest.mark.usefixtures("junk_model")
def test_junk_is_marked_suspect_in_the_result(tmp_path: Path, seeds_dir: Path) -> None:
    from summarizer._documents import load_articles

    llm = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key="sk-test")
    config = SummarizerConfig(engine="llm", llm=llm, cache_path=tmp_path / "c.sqlite3")
    documents = load_articles([seeds_dir]).documents
    with Summarizer(config) as summarizer:
        results = summarizer.summarize_many(documents)
    junk, *others = results
    assert isinstance(junk, DocumentSummary) and junk.status == "ok"
    assert {r.code for r in junk.suspect} == {
        "no_grounded_claims",
        "echoes_instructions",
        "field_name",
        "unrelated_summary",
    }
    assert any(w.code == "speaker_not_in_article" for w in junk.warnings)
    assert all(isinstance(r, DocumentSummary) and not r.suspect for r in others)
    # rendered where people read results
    assert "Suspect result" in markdown(results)
    assert "no_grounded_claims" in markdown(results)
    page = results_html(results, {d.id: d.text for d in documents})
    assert 'data-suspect="yes"' in page and page.count('data-suspect="no"') == len(others)
    assert json.loads(junk.model_dump_json())["suspect"][0]["code"]


def cli_args(seeds_dir: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "run",
        str(seeds_dir),
        "--out",
        str(tmp_path / "out"),
        "--base-url",
        BASE_URL,
        "--model",
        "gpt-4o-mini",
        "--cache",
        str(tmp_path / "cache.sqlite3"),
        *extra,
    ]


@pytest.mark.usefixtures("junk_model")
def test_the_cli_counts_suspects_and_fails_on_request(
    tmp_path: Path, seeds_dir: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert main(cli_args(seeds_dir, tmp_path)) == 0  # suspect is not a failure by default
    err = capsys.readouterr().err
    assert "SUSPECT: no_grounded_claims" in err  # the progress line
    table = {line.split("  ")[0]: line for line in err.splitlines() if "  " in line}
    assert "1 (succeeded, but not believable" in table["suspect"]
    assert "suspect: 000_30a5b09cbd3e3be1.txt: none of the 1 claims' quotes" in err
    line = json.loads((tmp_path / "out" / "results.jsonl").read_text().splitlines()[0])
    assert line["status"] == "ok" and line["suspect"]
    # the same run (answered from the cache) with --fail-suspect exits as for a failure
    assert main(cli_args(seeds_dir, tmp_path, "--fail-suspect")) == 1


def test_the_end_table_says_zero_suspects() -> None:
    import io

    stream = io.StringIO()
    print_report(RunReport(results=[]), stream)
    assert "suspect" in stream.getvalue()


# --- lenient JSON ------------------------------------------------------------------------


def test_raw_control_characters_in_strings_are_accepted() -> None:
    reply = '{"summary": "Line one.\nLine\ttwo.", "key_points": ["a\nb"], "claims": []}'
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply)  # strict JSON refuses it, as pydantic does
    draft = parse_json_reply(reply, ExtractionDraft)
    assert draft.summary == "Line one.\nLine\ttwo." and draft.key_points == ["a\nb"]


def test_lenient_parsing_still_validates_the_schema() -> None:
    with pytest.raises(ValidationError):  # control characters fine, a field missing is not
        parse_json_reply('{"summary": "a\nb", "key_points": []}', ExtractionDraft)
    with pytest.raises(ValidationError):  # and broken JSON stays broken
        parse_json_reply('{"summary": "a\nb", "key_points": [', ExtractionDraft)


def test_a_control_character_reply_needs_no_reask() -> None:
    reply = json.dumps({"summary": "X", "key_points": ["Y"], "claims": []})
    reply = reply.replace('"X"', '"4,000 soldiers\narrived in Harbin."')
    llm = LLMConfig(model="gpt-4o-mini", base_url=BASE_URL, api_key="sk-test")
    config = SummarizerConfig(engine="llm", llm=llm, cache_path=None)
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(return_value=ok(reply))
        with Summarizer(config) as summarizer:
            result = summarizer.summarize(ARTICLE)
    assert route.call_count == 1 and result.provenance.usage.reasks == 0
    assert result.summary == "4,000 soldiers\narrived in Harbin."
