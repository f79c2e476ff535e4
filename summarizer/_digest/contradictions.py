"""Flagging disagreements between sources, within blocks of related claims only.

Candidates come from :func:`summarizer._digest.align.candidate_pairs` (claims of different
articles that share rare words and are related) and from people named in two articles:

- **number**: the same unit slot ("10,000 troops" / "12,000 troops") with other values;
- **date**: the same month with another year; a month stated without a year takes the
  year of the article's own publication date (``date 2024-11-06`` makes "in June" June 2024);
- **title**: one person given different affiliations ("Peter Dutton of the US Naval
  Warfare School" / "from the U.S. Naval War College"), compared by content words;
- **polarity**: near-identical claims (Dice at least ``POLARITY_THRESHOLD``) where one
  is negated and the other is not, and no number or date already explains the difference.

Only grounded claims take part, and each side quotes the article's own text. Candidates
are merged by what they disagree about (slot, subject and values), so a disagreement that
hundreds of copies repeat is reported once, with one side per source group and value. A
model can be asked to confirm a candidate (``confirm``); a failed confirmation leaves the
candidate unconfirmed, with the error, and never the digest.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from functools import lru_cache

from summarizer._digest.align import Item, negated
from summarizer._digest.models import Contradiction, ContradictionSide
from summarizer._errors import SummarizerError
from summarizer._normalize import MONTHS
from summarizer._text import content_words, normalize_number, stem

POLARITY_THRESHOLD = 0.65  # near-identical claims only: "X signed" / "X did not sign"
Confirm = Callable[[Contradiction], Awaitable[bool]]

_NUMBER_UNIT = re.compile(r"(\d[\d,.]*\d|\d)\s+(?:of\s+(?:these|the|those)\s+)?([A-Za-z]+)")
_MONTH_YEAR = re.compile(
    r"\b(" + "|".join(sorted((m for m in MONTHS if len(m) > 3), key=len, reverse=True)) + r")\b"
    r"(?:\s+(\d{4}))?",
    re.IGNORECASE,
)
# "[A-Z](?<!\w[A-Z])" is "\b[A-Z]", written so that the engine skips to the next capital.
_PERSON = re.compile(r"([A-Z](?<!\w[A-Z])[a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]+(?:-[a-z]+)?)\b")
_AFFILIATION = re.compile(
    r"^(?:,\s*(?:an?\s+|the\s+)?[^,]{0,60}?)?\s*\b(?:of|from|at)\s+(?:the\s+)?"
    r"((?:[A-Z][\w.]*|of|for|and)(?:\s+(?:[A-Z][\w.]*|of|for|and))*)"
)
Flag = tuple[str, str, Item, Item, str, str]  # slot, subject, a, b, value of a, value of b


@lru_cache(maxsize=1 << 16)  # a quote is compared with many related quotes: parse it once
def number_slots(text: str) -> dict[str, set[str]]:
    slots: dict[str, set[str]] = defaultdict(set)
    for value, unit in _NUMBER_UNIT.findall(text):
        slots[stem(unit)].add(normalize_number(value))
    return slots


@lru_cache(maxsize=1 << 16)
def dates(text: str, published: str | None) -> dict[int, set[int]]:
    """month -> years stated; a bare month takes the publication year (or the year before).
    Like :func:`number_slots`, the result is cached: read it, never change it."""
    found: dict[int, set[int]] = defaultdict(set)
    for month_name, year in _MONTH_YEAR.findall(text):
        month = MONTHS[month_name.lower()]
        if year:
            found[month].add(int(year))
        elif published:
            pub_year, pub_month = int(published[:4]), int(published[5:7])
            found[month].add(pub_year if month <= pub_month else pub_year - 1)
    return found


def affiliations(text: str) -> dict[str, str]:
    """person -> organisation stated right after the name."""
    result = {}
    for match in _PERSON.finditer(text):
        after = _AFFILIATION.match(text[match.end() : match.end() + 120])
        if after:
            result[match.group(1)] = after.group(1).strip().rstrip(".")
    return result


def _org_words(org: str) -> set[str]:
    return set(content_words(org))


def _pair_flags(
    a: Item, b: Item, similarity: float, published: dict[str, str | None]
) -> list[Flag]:
    text_a, text_b = a.quote or "", b.quote or ""
    flags: list[Flag] = []
    slots_a, slots_b = number_slots(text_a), number_slots(text_b)
    for unit in sorted(slots_a.keys() & slots_b.keys()):
        if slots_a[unit] and slots_b[unit] and not slots_a[unit] & slots_b[unit]:
            va, vb = ", ".join(sorted(slots_a[unit])), ", ".join(sorted(slots_b[unit]))
            flags.append(("number", unit, a, b, va, vb))
    dates_a = dates(text_a, published.get(a.doc_id))
    dates_b = dates(text_b, published.get(b.doc_id))
    for month in sorted(dates_a.keys() & dates_b.keys()):
        if dates_a[month] and dates_b[month] and not dates_a[month] & dates_b[month]:
            va = "/".join(f"{y}-{month:02d}" for y in sorted(dates_a[month]))
            vb = "/".join(f"{y}-{month:02d}" for y in sorted(dates_b[month]))
            flags.append(("date", f"month {month}", a, b, va, vb))
    if not flags and similarity >= POLARITY_THRESHOLD and negated(text_a) != negated(text_b):
        subject = " ".join(sorted(a.words & b.words))
        if subject:
            va = "negated" if negated(text_a) else "affirmed"
            vb = "negated" if negated(text_b) else "affirmed"
            flags.append(("polarity", subject, a, b, va, vb))
    return flags


def _title_flags(items: list[Item]) -> list[Flag]:
    """Block by person name; compare the affiliations each article gives."""
    named: dict[str, list[tuple[Item, str]]] = defaultdict(list)
    for item in items:
        for person, org in affiliations(item.quote or "").items():
            named[person].append((item, org))
    flags: list[Flag] = []
    for person, mentions in named.items():
        distinct: dict[frozenset[str], tuple[Item, str]] = {}
        for item, org in mentions:  # one mention per distinct affiliation is enough
            distinct.setdefault(frozenset(_org_words(org)), (item, org))
        stated = list(distinct.items())
        for index, (words_a, (a, org_a)) in enumerate(stated):
            for words_b, (b, org_b) in stated[index + 1 :]:
                overlap = (
                    len(words_a & words_b) / len(words_a | words_b) if words_a | words_b else 1
                )
                if overlap < 0.5:
                    flags.append(("title", person, a, b, org_a, org_b))
    return flags


def _description(slot: str, subject: str, values: list[str]) -> str:
    if slot == "number":
        return f"{subject}: {' vs '.join(values)}"
    if slot == "date":
        return f"the same event dated {' and '.join(values)}"
    if slot == "title":
        return f"{subject}: {' vs '.join(values)}"
    return "one source negates what another states"


def find_contradictions(
    pairs: list[tuple[Item, Item, float]],
    items: list[Item],
    published: dict[str, str | None],
    source_of: dict[str, str] | None = None,
    copies: dict[str, list[str]] | None = None,
    twins: dict[str, list[Item]] | None = None,
) -> tuple[list[Contradiction], dict[str, set[str]]]:
    """Contradictions between grounded claims, each reported once (see the module doc), and
    for each the keys of every claim on one of its sides. ``twins`` maps an item's key to
    every item with the same claim and quote (aligned once, stated by each)."""
    grounded = [item for item in items if item.quote]
    flags = [
        flag
        for a, b, similarity in pairs
        if a.quote and b.quote
        for flag in _pair_flags(a, b, similarity, published)
    ] + _title_flags(grounded)
    merged: dict[tuple[str, str, frozenset[str]], dict[tuple[str, str], dict[str, Item]]] = {}
    for slot, subject, a, b, va, vb in flags:
        if va == vb:
            continue
        sides = merged.setdefault((slot, subject, frozenset((va, vb))), {})
        for twin, value in ((a, va), (b, vb)):
            for item in (twins or {}).get(twin.key, [twin]):  # claims with the same text
                group = (source_of or {}).get(item.doc_id, item.doc_id)
                sides.setdefault((value, group), {}).setdefault(item.key, item)
    found: list[Contradiction] = []
    involved: dict[str, set[str]] = {}
    for (slot, subject, _), sides in merged.items():
        values = sorted({value for value, _ in sides})
        found.append(
            Contradiction(
                id=f"x{len(found) + 1}",
                slot=slot,
                description=_description(slot, subject, values),
                sides=[
                    _side(value, group, list(stated.values()), copies or {})
                    for (value, group), stated in sorted(sides.items())
                ],
            )
        )
        involved[found[-1].id] = {item.key for stated in sides.values() for item in stated.values()}
    return found, involved


def _side(
    value: str, group: str, stated: list[Item], copies: dict[str, list[str]]
) -> ContradictionSide:
    first = stated[0]
    articles = sorted(
        {doc for item in stated for doc in (item.doc_id, *copies.get(item.doc_id, []))}
    )
    return ContradictionSide(
        doc_id=first.doc_id,
        claim_id=first.claim.id,
        quote=first.quote or "",
        start=first.start,
        end=first.end,
        value=value,
        source=group,
        articles=articles,
    )


async def _confirm_one(candidate: Contradiction, confirm: Confirm) -> Contradiction:
    try:
        verdict = await confirm(candidate)
    except SummarizerError as exc:
        return candidate.model_copy(
            update={"confirmed": None, "confirmation_error": f"{type(exc).__name__}: {exc}"}
        )
    return candidate.model_copy(update={"confirmed": verdict})


async def confirm_all(contradictions: list[Contradiction], confirm: Confirm) -> list[Contradiction]:
    """Each candidate with the model's verdict; a failed call leaves that one unconfirmed."""
    return [await _confirm_one(c, confirm) for c in contradictions]
