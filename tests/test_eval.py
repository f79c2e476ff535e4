from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from summarizer._claims import ground_claims
from summarizer._eval.fixtures import ArticleFixture, load_fixtures
from summarizer._eval.harness import gate, run_eval
from summarizer._eval.scoring import WEIGHTS, score_article
from summarizer._models import ChunkResult, ClaimDraft, DocumentSummary, Provenance

from .conftest import REPO, SEEDS, rebaselined_evals

EVALS = REPO / "evals"
FIXTURES = {f.article_id: f for f in load_fixtures(EVALS)}


def article(article_id: str) -> str:
    return (SEEDS / article_id).read_text(encoding="utf-8")


def prediction(
    fixture: ArticleFixture, drafts: list[ClaimDraft], summary: str = ""
) -> DocumentSummary:
    text = article(fixture.article_id)
    chunk = ChunkResult(
        index=0,
        start=0,
        end=len(text),
        original_start=0,
        original_end=len(text),
        token_count=0,
        summary=summary,
        key_points=[],
        claims=drafts,
    )
    claims, warnings = ground_claims(text, [chunk])
    return DocumentSummary(
        doc_id=fixture.article_id,
        source="test",
        content_hash="x",
        title=None,
        date=None,
        summary=summary or fixture.reference_summary,
        key_points=[],
        claims=claims,
        warnings=warnings,
        provenance=Provenance(engine="extractive"),
    )


def gold_drafts(fixture: ArticleFixture) -> list[ClaimDraft]:
    return [
        ClaimDraft(claim=g.claim, evidence=g.support[0], speaker=g.speaker, kind="fact")
        for g in fixture.claims
    ]


async def score(fixture: ArticleFixture, result: DocumentSummary):
    return await score_article(fixture, article(fixture.article_id), result, summary_words=120)


def test_fixtures_cover_every_seed_and_quote_it_verbatim() -> None:
    assert sorted(FIXTURES) == sorted(p.name for p in SEEDS.glob("*.txt"))
    for fixture in FIXTURES.values():
        text = article(fixture.article_id)
        assert fixture.tricky and fixture.reference_summary and fixture.must_not
        assert any(c.importance == "core" for c in fixture.claims)
        for claim in fixture.claims:
            for support in claim.support:
                assert support in text, (fixture.article_id, claim.id)


@pytest.mark.parametrize("article_id", sorted(FIXTURES))
async def test_a_perfect_prediction_scores_one(article_id: str) -> None:
    fixture = FIXTURES[article_id]
    result = await score(fixture, prediction(fixture, gold_drafts(fixture)))
    assert result.weighted_recall == 1.0 and result.precision == 1.0
    assert result.grounding_rate == 1.0 and result.speaker_accuracy == 1.0
    assert result.invented == [] and result.must_not_stated == []
    assert result.summary_coverage == 1.0  # the reference summary covers every core claim


@pytest.mark.parametrize("article_id", sorted(FIXTURES))
async def test_dropping_k_core_claims_lowers_recall_by_exactly_their_share(article_id: str) -> None:
    fixture = FIXTURES[article_id]
    core = [g.id for g in fixture.claims if g.importance == "core"]
    total = sum(WEIGHTS[g.importance] for g in fixture.claims)
    for k in range(1, len(core) + 1):
        kept = [
            d
            for d, g in zip(gold_drafts(fixture), fixture.claims, strict=True)
            if g.id not in core[:k]
        ]
        result = await score(fixture, prediction(fixture, kept))
        assert result.weighted_recall == pytest.approx(1 - k * WEIGHTS["core"] / total)
        assert result.core_recall == pytest.approx(1 - k / len(core))
        assert sorted(result.missed_core) == sorted(core[:k])
        assert result.precision == 1.0


async def test_a_fabricated_quote_is_always_counted() -> None:
    fixture = FIXTURES["003_65811a93c3d58a0f.txt"]
    drafts = gold_drafts(fixture)
    drafts[0] = drafts[0].model_copy(
        update={"evidence": "Mao personally led the first wave of troops."}
    )
    drafts.append(
        ClaimDraft(
            claim="China closed its border with North Korea on Monday.",
            evidence="Beijing closed the border crossing at Dandong on Monday.",
            speaker=None,
            kind="fact",
        )
    )
    result = await score(fixture, prediction(fixture, drafts))
    assert len(result.ungrounded) == 2  # the matched claim with a fake quote, and the invention
    assert result.invented == ["China closed its border with North Korea on Monday."]
    # both fabricated quotes are ungrounded: n - 1 of n + 1 claims are grounded
    assert result.grounding_rate == pytest.approx(
        (len(fixture.claims) - 1) / (len(fixture.claims) + 1)
    )


async def test_paraphrased_claims_still_match_the_right_gold_claim() -> None:
    fixture = FIXTURES["004_55ac9cc17b546c97.txt"]
    paraphrases = {
        "g4": "Some 10,000 or more North Korean soldiers are already in the Kursk province of Russia, reports say.",
        "g5": "In June 2023 Pyongyang and Moscow signed a pact on mutual defense.",
        "g9": "Washington passed its concerns to Beijing, State Department spokesperson Matthew Miller said last week.",
        "g17": "Youth unemployment is rising in China, which also faces slower growth and a property slump.",
    }
    drafts = [
        ClaimDraft(claim=text, evidence="not quoted", speaker=None, kind="fact")
        for text in paraphrases.values()
    ]
    result = await score(fixture, prediction(fixture, drafts))
    matched = {m.predicted_text: m.gold for m in result.matches}
    assert matched == {text: gold for gold, text in paraphrases.items()}


async def test_a_different_number_does_not_match() -> None:
    fixture = FIXTURES["004_55ac9cc17b546c97.txt"]
    wrong = ClaimDraft(
        claim="At least 20,000 North Korean soldiers have arrived in Russia's Kursk province.",
        evidence="x",
        speaker=None,
        kind="fact",
    )
    result = await score(fixture, prediction(fixture, [wrong]))
    assert result.matches == []


async def test_must_not_facts_are_caught() -> None:
    fixture = FIXTURES["003_65811a93c3d58a0f.txt"]
    result = await score(
        fixture,
        prediction(fixture, gold_drafts(fixture), summary="The pact was signed in June 2023."),
    )
    assert result.must_not_stated == ["The Russia-North Korea pact was signed in June 2023."]


async def test_the_planted_defects_in_the_recordings_are_all_found() -> None:
    defects = json.loads((EVALS / "recorded" / "defects.json").read_text())["defects"]
    report = await run_eval("replay", EVALS)
    by_article = {s.article_id: s for s in report.articles}
    assert {d["kind"] for d in defects} == {
        "paraphrased_quote",
        "missed_claim",
        "misattributed_speaker",
        "invented_claim",
    }
    for defect in defects:
        found = by_article[defect["article_id"]]
        if defect["kind"] == "paraphrased_quote":
            assert defect["claim"] in found.ungrounded and defect["claim"] not in found.invented
        elif defect["kind"] == "invented_claim":
            assert defect["claim"] in found.invented
        elif defect["kind"] == "missed_claim":
            assert defect["gold_id"] in found.missed_core + found.missed_supporting
        elif defect["kind"] == "misattributed_speaker":
            [match] = [m for m in found.matches if m.predicted_text == defect["claim"]]
            assert match.gold == defect["gold_id"]
            assert any(
                e.startswith(match.predicted) and "Zhu Feng" in e for e in found.speaker_errors
            )


async def test_gates_fail_on_thresholds_and_on_regressions(tmp_path: Path) -> None:
    report = await run_eval("extractive", EVALS)
    assert gate(report, rebaselined_evals(tmp_path)).gate_failures == []  # the thresholds hold
    strict = tmp_path / "evals"
    strict.mkdir()
    (strict / "config.toml").write_text(
        f'articles = "{SEEDS}"\n[thresholds.extractive]\nmin_precision = 0.99\nmax_claims = 10\n'
        "[regression]\nmax_drop = 0.01\n"
    )
    failures = gate(report, strict).gate_failures
    assert any("precision" in f for f in failures) and any("claims" in f for f in failures)
    better = report.model_copy(
        update={"aggregate": {**report.aggregate, "weighted_recall": 1.0, "invented": -1}}
    )
    regressed = gate(report, EVALS, baseline=better)
    assert any("weighted_recall fell" in f for f in regressed.gate_failures)
    assert any("invented rose" in f for f in regressed.gate_failures)
    assert regressed.deltas["weighted_recall"] < 0


def test_the_eval_command_exits_nonzero_when_a_gate_fails(tmp_path: Path, capsys) -> None:
    from summarizer._cli import main

    evals = str(rebaselined_evals(tmp_path))
    assert (
        main(
            ["eval", "--engine", "extractive", "--fixtures", evals, "--report", str(tmp_path / "r")]
        )
        == 0
    )
    assert (tmp_path / "r" / "extractive.json").exists() and (
        tmp_path / "r" / "extractive.md"
    ).exists()
    report = json.loads((tmp_path / "r" / "extractive.json").read_text())
    report["aggregate"]["weighted_recall"] = 1.0
    (tmp_path / "better.json").write_text(json.dumps(report))
    assert (
        main(
            [
                "eval",
                "--engine",
                "extractive",
                "--fixtures",
                evals,
                "--baseline",
                str(tmp_path / "better.json"),
            ]
        )
        == 1
    )
    assert "GATE FAILED: weighted_recall fell" in capsys.readouterr().err


async def test_an_llm_judge_decides_borderline_pairs() -> None:
    from summarizer._client import ChatClient
    from summarizer._config import LLMConfig
    from summarizer._eval.judge import LLMJudge

    from .fakes import BASE_URL, ok

    fixture = FIXTURES["002_f248215e3943961e.txt"]
    vague = ClaimDraft(
        claim="Beijing is keeping quiet in public about the soldiers heading to Ukraine.",
        evidence="-",
        speaker=None,
        kind="fact",
    )
    plain = await score(fixture, prediction(fixture, [vague]))
    assert plain.matches == []
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            return_value=ok({"reason": "same event", "same": True})
        )
        judge = LLMJudge(ChatClient(LLMConfig(base_url=BASE_URL, api_key="k")))
        judged = await score_article(
            fixture,
            article(fixture.article_id),
            prediction(fixture, [vague]),
            summary_words=120,
            judge=judge,
        )
        assert route.called
    assert [m.how for m in judged.matches] == ["judge"] and judged.matches[0].gold == "g5"
    assert isinstance(route.calls[0].request, httpx.Request)


async def test_a_different_person_does_not_match() -> None:
    fixture = FIXTURES["004_55ac9cc17b546c97.txt"]
    right = ClaimDraft(
        claim="Tong Zhao says Russian help for North Korea's nuclear program challenges non-proliferation.",
        evidence="x",
        speaker=None,
        kind="fact",
    )
    wrong = right.model_copy(update={"claim": right.claim.replace("Tong Zhao", "Zhu Feng")})
    assert [m.gold for m in (await score(fixture, prediction(fixture, [right]))).matches] == ["g14"]
    assert (await score(fixture, prediction(fixture, [wrong]))).matches == []
