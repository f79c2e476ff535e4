"""Self-contained HTML reports: one file, inline CSS and JavaScript, no network, opened
straight from disk.

:func:`results_html` shows every article with its summary, key points and claims beside
the original text; clicking a claim highlights its evidence span(s) in the text and
scrolls there. Ungrounded claims, warnings and failures are marked, and filters narrow the
claims by kind, speaker and grounding. :func:`digest_html` shows a corpus digest: stories,
consensus claims with their source counts, and contradictions side by side with both
quotes highlighted in their articles.

Offsets in results count Python code points; JavaScript strings count UTF-16 units, so
spans are converted here before they reach the page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from summarizer._models import DocumentFailure, DocumentSummary

Result = DocumentSummary | DocumentFailure

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:8px 16px;
z-index:2}
main{padding:0 16px 40px}h1{font-size:20px;margin:4px 0}h2{font-size:18px;margin:0 0 4px}
.article{background:#fff;border:1px solid #ddd;border-radius:6px;margin:16px 0;padding:12px}
.cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px}
.source{white-space:pre-wrap;font:13px/1.45 ui-monospace,monospace;background:#f4f4f4;
padding:8px;max-height:70vh;overflow:auto;border-radius:4px}
.claims li{cursor:pointer;margin:2px 0;padding:2px 4px;border-radius:3px}
.claims li:hover,.claims li.active{background:#eef4ff}
.ungrounded{color:#a40000}.badge{font-size:11px;border:1px solid #999;border-radius:3px;
padding:0 3px;margin-right:4px;color:#444}.meta{color:#666;font-size:13px}
.warn{background:#fff4d6;border-left:3px solid #e0a000;padding:4px 8px;margin:4px 0}
.failed{border-color:#d33}.failed h2{color:#a40000}mark.hl{background:#ffe066}
mark.q{background:#ffe066}nav.toc{columns:3;font-size:13px}nav.toc a{display:block}
.hidden{display:none}.side{background:#f4f4f4;padding:8px;border-radius:4px}
"""

_JS = """
const data = JSON.parse(document.getElementById('report-data').textContent);
function show(docIndex, spans, li) {
  const pre = document.getElementById('src-' + docIndex);
  const text = data.texts[docIndex];
  pre.textContent = '';
  let at = 0;
  const sorted = spans.slice().sort((a, b) => a[0] - b[0]);
  for (const [s, e] of sorted) {
    if (s < at) continue;
    pre.append(text.slice(at, s));
    const mark = document.createElement('mark');
    mark.className = 'hl';
    mark.textContent = text.slice(s, e);
    pre.append(mark);
    at = e;
  }
  pre.append(text.slice(at));
  document.querySelectorAll('.claims li.active').forEach(x => x.classList.remove('active'));
  if (li) li.classList.add('active');
  const first = pre.querySelector('mark.hl');
  if (first) first.scrollIntoView({block: 'center'});
}
document.querySelectorAll('pre.source').forEach(pre => {
  pre.textContent = data.texts[pre.dataset.doc];
});
document.querySelectorAll('.claims li').forEach(li => {
  li.addEventListener('click', () =>
    show(li.closest('.article').dataset.doc, JSON.parse(li.dataset.spans), li));
});
function applyFilters() {
  const kind = document.getElementById('f-kind').value;
  const speaker = document.getElementById('f-speaker').value;
  const grounded = document.getElementById('f-grounded').value;
  document.querySelectorAll('.claims li').forEach(li => {
    const ok = (!kind || li.dataset.kind === kind)
      && (!speaker || li.dataset.speaker === speaker)
      && (!grounded || li.dataset.grounded === grounded);
    li.classList.toggle('hidden', !ok);
  });
}
document.querySelectorAll('header select').forEach(s => s.addEventListener('change', applyFilters));
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def utf16_offset(text: str, index: int) -> int:
    """The JavaScript (UTF-16) index of Python string index ``index``."""
    return len(text[:index].encode("utf-16-le")) // 2


def _json_script(element_id: str, payload: object) -> str:
    body = json.dumps(payload, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")
    return f'<script type="application/json" id="{element_id}">{body}</script>'


def _page(title: str, header: str, body: str, payload: object, script: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<header>{header}</header><main>{body}</main>"
        f"{_json_script('report-data', payload)}<script>{script}</script></body></html>\n"
    )


def _claim_item(result: DocumentSummary, index: int, text: str) -> str:
    claim = result.claims[index]
    spans = [
        [utf16_offset(text, s.start), utf16_offset(text, s.end)]
        for s in claim.spans
        if s.start is not None and s.end is not None and s.end <= len(text)
    ]
    grounded = claim.grounded and bool(spans)
    mark = "" if grounded else ' <span class="ungrounded">⚠ evidence not found in the text</span>'
    who = f" — <em>{_esc(claim.speaker)}</em>" if claim.speaker else ""
    return (
        f'<li data-kind="{_esc(claim.kind.value)}" data-speaker="{_esc(claim.speaker or "")}"'
        f' data-grounded="{"yes" if grounded else "no"}" data-spans="{_esc(json.dumps(spans))}"'
        f' data-evidence="{_esc(claim.evidence)}">'
        f'<span class="badge">{_esc(claim.id)}</span><span class="badge">'
        f"{_esc(claim.kind.value)}</span>{_esc(claim.text)}{who}{mark}</li>"
    )


def _summary_section(result: DocumentSummary, index: int, text: str) -> str:
    meta = [f"<code>{_esc(result.doc_id)}</code>"]
    if result.date:
        meta.append(f"published {_esc(result.date)}")
    provenance = result.provenance
    meta.append(f"engine {_esc(provenance.engine)}")
    if provenance.model:
        meta.append(f"model {_esc(provenance.model)}")
    points = "".join(f"<li>{_esc(p)}</li>" for p in result.key_points)
    claims = "".join(_claim_item(result, i, text) for i in range(len(result.claims)))
    warnings = "".join(
        f'<div class="warn">{_esc(w.code)}: {_esc(w.message)}</div>'
        for w in result.warnings
        if w.code != "engine_note"
    )
    grounded = sum(c.grounded for c in result.claims)
    suspect = "".join(f"<li>{_esc(r.code)}: {_esc(r.message)}</li>" for r in result.suspect)
    if suspect:
        suspect = (
            '<div class="warn suspect"><strong>⚠ Suspect result</strong>: not believable as '
            f"a summary of this article.<ul>{suspect}</ul></div>"
        )
    return (
        f'<section class="article" id="doc-{index}" data-doc="{index}"'
        f' data-suspect="{"yes" if result.suspect else "no"}">'
        f"<h2>{_esc(result.title or result.doc_id)}</h2>"
        f'<div class="meta">{" · ".join(meta)}</div><div class="cols"><div>{suspect}'
        f"<p>{_esc(result.summary)}</p>"
        + (f"<h3>Key points</h3><ul>{points}</ul>" if points else "")
        + f"<h3>Claims ({grounded} of {len(result.claims)} grounded)</h3>"
        f'<ol class="claims">{claims}</ol>{warnings}</div>'
        f'<pre class="source" id="src-{index}" data-doc="{index}"></pre></div></section>'
    )


def _failure_section(result: DocumentFailure, index: int) -> str:
    return (
        f'<section class="article failed" id="doc-{index}" data-doc="{index}">'
        f"<h2>{_esc(result.doc_id)}</h2><p><strong>Failed</strong> "
        f"({_esc(result.error_type)}): {_esc(result.message)}</p></section>"
    )


def _flagged(result: Result) -> bool:
    """A failed or suspect article: marked in the table of contents."""
    return isinstance(result, DocumentFailure) or bool(result.suspect)


def _select(element_id: str, label: str, options: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<option value="{_esc(v)}">{_esc(t)}</option>' for v, t in options)
    return (
        f'<label>{label} <select id="{element_id}"><option value="">all</option>'
        f"{items}</select></label> "
    )


def results_html(results: Sequence[Result], texts: Mapping[str, str]) -> str:
    """The report for a run; ``texts`` maps each doc id to its original text."""
    ok = [r for r in results if isinstance(r, DocumentSummary)]
    claims = [c for r in ok for c in r.claims]
    speakers = sorted({c.speaker for c in claims if c.speaker})
    kinds = sorted({c.kind.value for c in claims})
    header = (
        f'<h1>Summaries</h1><div class="meta">{len(ok)} of {len(results)} articles '
        f"summarised ({sum(bool(r.suspect) for r in ok)} suspect); {len(claims)} claims, "
        f"{sum(c.grounded for c in claims)} grounded</div>"
        + _select("f-kind", "kind", [(k, k) for k in kinds])
        + _select("f-speaker", "speaker", [(s, s) for s in speakers])
        + _select("f-grounded", "grounded", [("yes", "grounded"), ("no", "not grounded")])
    )
    toc = "".join(
        f'<a href="#doc-{i}"{" class=ungrounded" if _flagged(r) else ""}>'
        f"{_esc(getattr(r, 'title', None) or r.doc_id)}</a>"
        for i, r in enumerate(results)
    )
    sections = []
    payload: dict[str, str] = {}
    for index, result in enumerate(results):
        if isinstance(result, DocumentFailure):
            sections.append(_failure_section(result, index))
            continue
        text = texts.get(result.doc_id, "")
        payload[str(index)] = text
        sections.append(_summary_section(result, index, text))
    body = f'<nav class="toc">{toc}</nav>' + "".join(sections)
    return _page("Summaries", header, body, {"texts": payload}, _JS)


# --- the digest ---------------------------------------------------------------------------


def _snippet(text: str, start: int | None, end: int | None, quote: str, width: int = 240) -> str:
    """The text around a quote with the quote marked; the quote alone when not located."""
    if start is None or end is None or end > len(text) or start >= end:
        found = text.find(quote) if quote else -1
        if found < 0:
            return f'<mark class="q">{_esc(quote)}</mark>'
        start, end = found, found + len(quote)
    before = text[max(0, start - width) : start]
    after = text[end : end + width]
    return (
        f'{"…" if start > width else ""}{_esc(before)}<mark class="q">{_esc(text[start:end])}'
        f"</mark>{_esc(after)}{'…' if end + width < len(text) else ''}"
    )


def _digest_claim(claim: Mapping[str, Any], texts: Mapping[str, str]) -> str:
    items = []
    for item in claim.get("support", []):
        doc_id = item.get("doc_id", "")
        quoted = _snippet(
            texts.get(doc_id, ""), item.get("start"), item.get("end"), item.get("evidence", "")
        )
        items.append(f"<li><code>{_esc(doc_id)}</code>: {quoted}</li>")
    support = "".join(items)
    note = claim.get("support_note") or f"{claim.get('sources', '?')} sources"
    return (
        f"<li><strong>{_esc(claim.get('text', ''))}</strong> "
        f'<span class="badge">{_esc(note)}</span><ul>{support}</ul></li>'
    )


def _contradiction(item: Mapping[str, Any], texts: Mapping[str, str]) -> str:
    sides = "".join(
        f'<div class="side"><code>{_esc(s.get("doc_id", ""))}</code> says '
        f"<strong>{_esc(s.get('value', ''))}</strong><p>"
        f"{_snippet(texts.get(s.get('doc_id', ''), ''), None, None, s.get('quote', ''))}</p></div>"
        for s in item.get("sides", [])
    )
    confirmed = item.get("confirmed")
    verdict = "" if confirmed is None else f" (model: {'confirmed' if confirmed else 'rejected'})"
    return (
        f'<div class="contradiction"><p><span class="badge">{_esc(item.get("slot", ""))}</span>'
        f"{_esc(item.get('description', ''))}{_esc(verdict)}</p>"
        f'<div class="cols">{sides}</div></div>'
    )


def _story(story: Mapping[str, Any], texts: Mapping[str, str]) -> str:
    articles = ", ".join(f"<code>{_esc(a)}</code>" for a in story.get("articles", []))
    dupes = story.get("near_duplicates", [])
    consensus = "".join(_digest_claim(c, texts) for c in story.get("consensus", []))
    contradictions = "".join(_contradiction(c, texts) for c in story.get("contradictions", []))
    unique = story.get("unique", [])
    return (
        f'<section class="article" id="{_esc(story.get("id", ""))}">'
        f"<h2>{_esc(story.get('id', ''))}: {len(story.get('articles', []))} articles, "
        f'{_esc(story.get("sources", "?"))} sources</h2><div class="meta">{articles}'
        + (f"; {len(dupes)} near-duplicate pairs" if dupes else "")
        + f"</div><p>{_esc(story.get('summary', ''))}</p>"
        + (f"<h3>Consensus</h3><ol>{consensus}</ol>" if consensus else "")
        + (f"<h3>Contradictions</h3>{contradictions}" if contradictions else "")
        + (f'<p class="meta">{len(unique)} claims stated by one source only.</p>' if unique else "")
        + "</section>"
    )


def digest_html(report: Any, texts: Mapping[str, str]) -> str:
    """The digest page, rendered from the report's fields (a ``DigestReport`` or its dict)."""
    data: dict[str, Any] = report.model_dump() if hasattr(report, "model_dump") else dict(report)
    stories = data.get("stories", [])
    failures = data.get("failures", [])
    header = (
        f'<h1>Digest</h1><div class="meta">{len(data.get("articles", []))} articles, '
        f"{len(stories)} stories, engine {_esc(data.get('engine', '?'))}, "
        f"{len(failures)} failures</div>"
    )
    toc = "".join(
        f'<a href="#{_esc(s.get("id", ""))}">{_esc(s.get("id", ""))}: '
        f"{_esc(str(s.get('summary', ''))[:80])}</a>"
        for s in stories
    )
    failed = "".join(
        f'<div class="warn">{_esc(f.get("doc_id", ""))}: {_esc(f.get("message", ""))}</div>'
        for f in failures
    )
    body = f'<nav class="toc">{toc}</nav>{failed}' + "".join(_story(s, texts) for s in stories)
    return _page("Digest", header, body, {}, "")
