"""digest.md: what a person reads in a minute (digest.json stays complete).

Contents first; stories largest first, each with its consensus facts and source counts,
then contradictions side by side, then a capped list of single-source facts. Stories of
one article are one line each at the end. Every quote shown under an article is that
article's own text (a grounded span); ungrounded claims are marked and never quoted.
"""

from __future__ import annotations

from summarizer._digest.models import Contradiction, DigestClaim, DigestReport, Story, Support

SHOWN_QUOTES = 4
SHOWN_UNIQUE = 8
SHOWN_SINGLES = 60


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _quote(text: str) -> str:
    return "“" + " ".join(text.split()).replace("|", "\\|") + "”"


def _who(support: Support) -> str:
    notes = [_plural(len(support.copies), "copy", "copies")] if support.copies else []
    if support.restated_by:
        notes.append(_plural(len(support.restated_by), "near-duplicate") + " with the same quote")
    return f"`{support.doc_id}`" + (f" (+{', '.join(notes)})" if notes else "")


def _title(story: Story) -> str:
    text = story.consensus[0].text if story.consensus else story.summary
    words = text.removeprefix(f"From `{story.articles[0]}` alone: ").split()
    return " ".join(words[:12]) + (" …" if len(words) > 12 else "")


def _claim_lines(claim: DigestClaim) -> list[str]:
    lines = [f"- {claim.text} — *{claim.support_note}*"]
    shown: set[str] = set()
    for support in claim.support:
        if support.grounded and support.source not in shown and len(shown) < SHOWN_QUOTES:
            shown.add(support.source)
            lines.append(f"  - {_who(support)}: {_quote(support.evidence)}")
    ungrounded = [doc for s in claim.support if not s.grounded for doc in s.articles]
    if ungrounded:
        lines.append("  - *ungrounded, not counted*: " + ", ".join(f"`{d}`" for d in ungrounded))
    return lines


def _verdict(c: Contradiction) -> str:
    if c.confirmation_error:
        return f" *(unconfirmed: the model's check failed: {c.confirmation_error})*"
    if c.confirmed is None:
        return ""
    return " *(confirmed by the model)*" if c.confirmed else " *(the model disagrees)*"


def _contradiction_lines(c: Contradiction) -> list[str]:
    values = c.values
    lines = [f"- **{c.slot}** — {c.description}{_verdict(c)}", ""]
    lines.append("  | " + " | ".join(values) + " |")
    lines.append("  |" + " --- |" * len(values))
    columns = [[side for side in c.sides if side.value == value] for value in values]
    for row in range(max(len(column) for column in columns)):
        cells = []
        for column in columns:
            side = column[row] if row < len(column) else None
            more = len(side.articles) - 1 if side else 0
            note = f" (+{_plural(more, 'more article')} of this source)" if more > 0 else ""
            cells.append(f"`{side.doc_id}`{note}: {_quote(side.quote)}" if side else "")
        lines.append("  | " + " | ".join(cells) + " |")
    return lines + [""]


def _story_lines(story: Story) -> list[str]:
    lines = [
        f'<a id="story-{story.id}"></a>',
        "",
        f"## Story {story.id}: {_title(story)}",
        "",
        f"{_plural(len(story.articles), 'article')}, "
        f"{_plural(story.sources, 'independent source')}.",
        "",
        story.summary,
        "",
    ]
    groups = sorted(story.source_groups, key=lambda g: (-len(g), g))
    lines.append(
        "Sources: "
        + "; ".join(f"`{g[0]}`" + (f" (+{_plural(len(g) - 1, 'near-duplicate')})" if g[1:] else "")
                    for g in groups[:10])
        + (f"; and {len(groups) - 10} more" if len(groups) > 10 else "")
    )  # fmt: skip
    lines.append("")
    if story.consensus:
        lines += [f"### Consensus ({len(story.consensus)})", ""]
        for claim in story.consensus:
            lines += _claim_lines(claim)
        lines.append("")
    if story.contradictions:
        lines += [f"### Contradictions ({len(story.contradictions)})", ""]
        for contradiction in story.contradictions:
            lines += _contradiction_lines(contradiction)
    if story.unique:
        shown = story.unique[:SHOWN_UNIQUE]
        lines += [
            "<details><summary>Single-source facts "
            f"({len(shown)} of {len(story.unique)}; all in digest.json)</summary>",
            "",
        ]
        for claim in shown:
            support = claim.support[0]
            mark = "" if support.grounded else " *(ungrounded)*"
            lines.append(f"- {_who(support)}: {claim.text}{mark}")
        lines += ["", "</details>", ""]
    return lines


def markdown_digest(report: DigestReport) -> str:
    summarised = report.summarised or [a for s in report.stories for a in s.articles]
    big = [s for s in report.stories if len(s.articles) > 1]
    singles = [s for s in report.stories if len(s.articles) == 1]
    lines = [
        "# Digest",
        "",
        f"{_plural(len(summarised), 'article')} summarised"
        f" ({_plural(len(report.failures), 'failure')}), "
        f"{_plural(len(report.stories), 'story', 'stories')}; engine: {report.engine}.",
        "",
        "## Contents",
        "",
    ]
    for story in big:
        lines.append(
            f"- [Story {story.id}](#story-{story.id}): {_title(story)} — "
            f"{_plural(len(story.articles), 'article')}, {_plural(story.sources, 'source')}, "
            f"{len(story.consensus)} consensus, {len(story.contradictions)} contradictions"
        )
    if singles:
        lines.append(f"- {_plural(len(singles), 'story', 'stories')} of one article")
    if report.failures:
        lines.append(f"- Failed: {', '.join(f'`{f.doc_id}`' for f in report.failures)}")
    lines.append("")
    for story in big:
        lines += _story_lines(story)
    if singles:
        lines += ["## Stories of one article", ""]
        for story in singles[:SHOWN_SINGLES]:
            lines.append(f"- `{story.articles[0]}`: {_title(story)}")
        if len(singles) > SHOWN_SINGLES:
            lines.append(f"- … and {len(singles) - SHOWN_SINGLES} more (digest.json)")
        lines.append("")
    if report.failures:
        lines += ["## Failed articles", ""]
        lines += [f"- `{f.doc_id}`: {f.error_type}: {f.message}" for f in report.failures] + [""]
    return "\n".join(lines)
