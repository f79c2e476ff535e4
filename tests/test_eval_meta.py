"""Meta-evaluation: agreement with human judges, bootstrap intervals, references, the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy.stats import kendalltau

from summarizer._errors import FixtureError
from summarizer._eval.meta import (
    agreement,
    bootstrap_interval,
    gate_meta,
    load_rose,
    markdown_meta,
    meta_values,
    reference_recall,
    run_meta,
    tau,
)

from .conftest import REPO

ROSE = REPO.parent / "shared" / "eval-data" / "rose"

UNITS = [
    ["Michael König made a video.", "Michael König is from Cologne.", "The video shows the sun."],
    ["Tim Tebow signed with the Eagles.", "Tebow is 27.", "Tebow was cut by the Patriots."],
]
REFERENCES = [
    "Michael König from Cologne made a video that shows the sun.",
    "Tim Tebow, 27, signed with the Eagles after the Patriots cut him.",
]
SYSTEMS = {  # system -> (summary per article, human score per article)
    "full": (REFERENCES, [1.0, 1.0]),
    "half": (
        ["Michael König made a video.", "Tim Tebow signed with the Eagles."],
        [0.4, 0.3],
    ),
    "none": (["The weather was mild.", "A match was played."], [0.0, 0.1]),
}


def write_dataset(path: Path) -> Path:
    rows = []
    for index, (units, reference) in enumerate(zip(UNITS, REFERENCES, strict=True)):
        summaries = [
            {"system": name, "text": texts[index], "human": {"acu": scores[index]}}
            for name, (texts, scores) in SYSTEMS.items()
        ]
        rows.append(
            {
                "id": index,
                "article": reference,
                "reference": reference,
                "acus": units,
                "summaries": summaries,
            }
        )
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_tau_is_kendall_tau_b_and_zero_when_undefined() -> None:
    x, y = [1, 2, 2, 3, 5], [1, 3, 2, 2, 4]
    assert tau(x, y) == pytest.approx(kendalltau(x, y).statistic)
    assert tau([1, 1, 1], [1, 2, 3]) == 0.0


def test_agreement_levels_and_a_seeded_bootstrap() -> None:
    rows = [
        ("a1", "s1", 0.9, 0.8), ("a1", "s2", 0.5, 0.6), ("a1", "s3", 0.1, 0.2),
        ("a2", "s1", 0.7, 0.9), ("a2", "s2", 0.8, 0.5), ("a2", "s3", 0.2, 0.1),
    ]  # fmt: skip
    result = agreement("m", "acu", rows)
    assert result.summary_tau == pytest.approx(
        tau([r[2] for r in rows], [r[3] for r in rows]), abs=1e-4
    )
    assert result.per_article_tau == pytest.approx((1.0 + 1 / 3) / 2, abs=1e-4)
    assert result.system_tau == pytest.approx(1.0)  # means: s1 > s2 > s3 on both sides
    low, high = result.summary_ci
    assert low <= result.summary_tau <= high
    groups = [[(0.9, 0.8), (0.5, 0.6), (0.1, 0.2)], [(0.7, 0.9), (0.8, 0.5), (0.2, 0.1)]]
    assert bootstrap_interval(groups) == bootstrap_interval(groups)  # seeded


def test_a_bad_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"id": 1, "reference": "r", "acus": ["u"]}\n{"id": 2, "acus": []}\n')
    with pytest.raises(FixtureError, match=r"data.jsonl: line 2: reference: Field required"):
        load_rose(path)
    path.write_text("not json\n")
    with pytest.raises(FixtureError, match="line 1: not JSON"):
        load_rose(path)


def test_references_support_their_own_units_and_not_others(tmp_path: Path) -> None:
    rows = load_rose(write_dataset(tmp_path / "d.jsonl"))
    result = reference_recall("d", [*rows, rows[0].model_copy(update={"acus": []})])
    assert result.self_recall == 1.0 and result.cross_recall == 0.0
    assert result.references == 2 and result.skipped == 1 and result.self_misses == []


async def test_the_harness_ranks_summaries_like_the_humans(tmp_path: Path) -> None:
    report = await run_meta(write_dataset(tmp_path / "d.jsonl"))
    harness = next(a for a in report.agreement if a.metric == "harness recall")
    assert report.summaries == 6 and harness.system_tau == pytest.approx(1.0)
    assert harness.summary_tau > 0.8
    assert report.systems["full"]["harness recall"] == 1.0
    assert report.systems["none"]["harness recall"] == 0.0
    text = markdown_meta(report)
    assert "| harness recall | acu |" in text and "| ROUGE-1 F | acu |" in text


async def test_the_gate_reports_each_crossed_limit(tmp_path: Path) -> None:
    report = await run_meta(write_dataset(tmp_path / "d.jsonl"))
    values = meta_values(report)
    assert gate_meta(report, {"min_system_tau": 0.8, "max_cross_recall": 0.05}).gate_failures == []
    failed = gate_meta(report, {"min_summary_tau": 1.01, "max_self_recall": 0.5, "min_x": 1})
    assert failed.gate_failures == [
        f"summary_tau {values['summary_tau']:.3f} is below the minimum 1.01",
        f"self_recall {values['self_recall']:.3f} is above the maximum 0.5",
        "unknown meta threshold: min_x",
    ]


def test_the_meta_command_writes_reports_and_exits_one_on_a_failed_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from summarizer._cli import main

    data = write_dataset(tmp_path / "d.jsonl")
    config = tmp_path / "evals"
    config.mkdir()
    (config / "config.toml").write_text("[thresholds.meta]\nmin_system_tau = 0.8\n")
    out = tmp_path / "r"
    assert main(["eval", "meta", str(data), "--fixtures", str(config), "--report", str(out)]) == 0
    assert json.loads((out / "meta.json").read_text())["summaries"] == 6
    assert (out / "meta.md").read_text().startswith("# Meta-evaluation: d.jsonl")
    (config / "config.toml").write_text("[thresholds.meta]\nmin_summary_tau = 1.5\n")
    assert main(["eval", "meta", str(data), "--fixtures", str(config)]) == 1
    assert "GATE FAILED: summary_tau" in capsys.readouterr().err
    assert main(["eval", "meta", str(tmp_path / "missing.jsonl"), "--fixtures", str(config)]) == 2


@pytest.mark.skipif(
    not (ROSE / "rose_dev.jsonl").exists(), reason="shared RoSE data not beside the repo"
)
async def test_on_real_rose_articles_the_harness_beats_rouge_and_recalls_references(
    tmp_path: Path,
) -> None:
    lines = (ROSE / "rose_dev.jsonl").read_text(encoding="utf-8").splitlines()[:10]
    subset = tmp_path / "rose10.jsonl"
    subset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = await run_meta(subset)
    by_metric = {a.metric: a for a in report.agreement}
    assert by_metric["harness recall"].summary_tau > by_metric["ROUGE-1 F"].summary_tau
    assert report.references[0].self_recall >= 0.95
    assert report.references[0].cross_recall <= 0.05
