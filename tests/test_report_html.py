"""The HTML report's markup, without a browser (the browser test clicks it)."""

from __future__ import annotations

import json
import re

from summarizer._models import (
    Claim,
    ClaimKind,
    DocumentFailure,
    DocumentSummary,
    EvidenceSpan,
    Provenance,
    SummaryWarning,
)
from summarizer._report_html import results_html, utf16_offset

TEXT = "Title 🎉\n\nThe mayor said the bridge opens </script> on Monday. Nobody said this."


def summary() -> DocumentSummary:
    start = TEXT.index("The mayor")
    end = TEXT.index(" Nobody")
    claims = [
        Claim(
            id="c1", text="The bridge opens Monday.", evidence=TEXT[start:end], speaker="mayor",
            kind=ClaimKind.FACT, grounded=True,
            spans=[EvidenceSpan(quote=TEXT[start:end], start=start, end=end, match="exact", score=100)],
        ),
        Claim(
            id="c2", text="Invented.", evidence="not in the text", speaker=None,
            kind=ClaimKind.OPINION, grounded=False,
            spans=[EvidenceSpan(quote="not in the text", start=None, end=None, match="none", score=0)],
        ),
    ]  # fmt: skip
    return DocumentSummary(
        doc_id="a.txt", source="a.txt", content_hash="x", title="Title", date=None,
        summary="A bridge.", key_points=["Opens Monday."], claims=claims,
        warnings=[SummaryWarning(code="ungrounded_claim", message="c2 not found", claim_id="c2")],
        provenance=Provenance(engine="extractive"),
    )  # fmt: skip


def test_spans_are_utf16_offsets_and_ungrounded_claims_are_marked() -> None:
    failure = DocumentFailure(doc_id="b.txt", source="b.txt", error_type="X", message="broken")
    page = results_html([summary(), failure], {"a.txt": TEXT})
    spans = re.findall(r'data-spans="([^"]*)"', page)
    start = TEXT.index("The mayor")
    assert json.loads(spans[0].replace("&quot;", '"')) == [
        [utf16_offset(TEXT, start), utf16_offset(TEXT, TEXT.index(" Nobody"))]
    ]
    assert utf16_offset(TEXT, start) == start + 1  # the emoji is two UTF-16 units
    assert spans[1] == "[]" and 'data-grounded="no"' in page
    assert "evidence not found in the text" in page
    assert "ungrounded_claim: c2 not found" in page
    assert "<strong>Failed</strong> (X): broken" in page


def test_article_text_cannot_close_the_data_script() -> None:
    page = results_html([summary()], {"a.txt": TEXT})
    data = page.split('<script type="application/json" id="report-data">', 1)[1]
    data = data.split("</script>", 1)[0]
    assert json.loads(data)["texts"]["0"] == TEXT
