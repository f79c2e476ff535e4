"""The HTML report in a real headless Chromium (Debian's package, driven by Playwright).

Clicking a claim must highlight exactly its evidence in the article's text; the filters
must hide claims; the digest page must show both sides of a contradiction. A screenshot
is kept in ``test-artifacts/`` (gitignored). Skipped when /usr/bin/chromium or the
``playwright`` package is absent
(``.ci/run`` sets ``SUMMARIZER_REQUIRE_BROWSER=1`` to make that a failure instead).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    required = os.environ.get("SUMMARIZER_REQUIRE_BROWSER") == "1"  # set by .ci/run
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        pytest.fail(reason) if required else pytest.skip(reason)
    try:
        from playwright import sync_api
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[browser]')"
        pytest.fail(reason) if required else pytest.skip(reason)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # No request may leave the page: the report is self-contained.
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert outside == [] and errors == []


def test_clicking_a_claim_highlights_its_evidence(
    page: Any, tmp_path: Path, seeds_dir: Path
) -> None:
    folder = tmp_path / "in"
    shutil.copytree(seeds_dir, folder)
    shutil.copy(Path(__file__).parent / "data" / "inputs" / "page.html", folder)
    (folder / "emoji.txt").write_text(
        "Emoji 🎉 Day Is Declared\n\nThe city declared a 🎉 day on Friday, the mayor said. "
        "“Everyone gets a holiday,” said Mayor Ana Ruiz on Friday morning.\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    # A process of its own: Playwright's sync API holds this thread's event loop.
    command = [sys.executable, "-m", "summarizer", "run", str(folder), "-o", str(out), "-q"]
    subprocess.run([*command, "--no-log"], check=True)
    results = {
        r["doc_id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())
    }
    page.goto((out / "report.html").as_uri())
    for doc_id in ("page.html", "emoji.txt", "002_f248215e3943961e.txt"):
        claims = results[doc_id]["claims"]
        index = list(results).index(doc_id)
        section = page.locator(f"section#doc-{index}")
        item = section.locator("ol.claims li").nth(len(claims) - 1)
        item.click()
        marks = section.locator("mark.hl")
        assert marks.count() == 1
        assert marks.first.text_content() == claims[-1]["evidence"]
        assert marks.first.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-claim-highlight.png"))
    # Filters: only opinions left visible.
    page.select_option("#f-kind", "opinion")
    kinds = page.eval_on_selector_all(
        "ol.claims li:not(.hidden)", "items => items.map(i => i.dataset.kind)"
    )
    assert kinds and set(kinds) == {"opinion"}
    page.select_option("#f-kind", "")
    page.select_option("#f-grounded", "no")
    assert page.locator("ol.claims li:not(.hidden)").count() == 0


def test_the_digest_page_shows_contradictions_side_by_side(page: Any, tmp_path: Path) -> None:
    from summarizer._digest.models import (
        Contradiction,
        ContradictionSide,
        DigestClaim,
        DigestReport,
        Story,
        Support,
    )
    from summarizer._report_html import digest_html

    texts = {
        "a.txt": "The fire destroyed 12 homes on Monday, officials said.",
        "b.txt": "Officials said 15 homes were destroyed by Monday's fire.",
    }
    support = [
        Support(
            doc_id=d, claim_id="c1", claim="fire", evidence=q, start=0, end=len(q), grounded=True
        )
        for d, q in (("a.txt", "The fire destroyed 12 homes"), ("b.txt", "Officials said 15 homes"))
    ]
    story = Story(
        id="s1",
        articles=["a.txt", "b.txt"],
        near_duplicates=[],
        sources=2,
        summary="A fire destroyed homes.",
        consensus=[
            DigestClaim(
                id="d1", text="A fire destroyed homes on Monday.", support=support,
                articles=2, sources=2, support_note="2 of 2 sources (2 articles)",
            )
        ],
        unique=[],
        contradictions=[
            Contradiction(
                id="x1", slot="number", description="homes destroyed: 12 vs 15",
                sides=[
                    ContradictionSide(doc_id="a.txt", claim_id="c1", quote="destroyed 12 homes", value="12"),
                    ContradictionSide(doc_id="b.txt", claim_id="c1", quote="15 homes were destroyed", value="15"),
                ],
            )
        ],
    )  # fmt: skip
    report = DigestReport(engine="extractive", articles=["a.txt", "b.txt"], stories=[story])
    path = tmp_path / "digest.html"
    path.write_text(digest_html(report, texts), encoding="utf-8")
    page.goto(path.as_uri())
    sides = page.locator(".contradiction .side")
    assert sides.count() == 2
    assert sides.nth(0).locator("mark.q").text_content() == "destroyed 12 homes"
    assert sides.nth(1).locator("mark.q").text_content() == "15 homes were destroyed"
    first, second = sides.nth(0).bounding_box(), sides.nth(1).bounding_box()
    assert first["y"] == second["y"] and first["x"] < second["x"]  # side by side
    assert "2 of 2 sources" in page.locator("body").text_content()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "digest.png"), full_page=True)
