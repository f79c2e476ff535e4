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

Each flag quotes both sides. A model can be asked to confirm a candidate (``confirm``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable

from summarizer._digest.align import Item
from summarizer._digest.models import Contradiction, ContradictionSide
from summarizer._normalize import MONTHS
from summarizer._text import bag, normalize_number, stem

POLARITY_THRESHOLD = 0.65  # near-identical claims only: "X signed" / "X did not sign"
Confirm = Callable[[Contradiction], Awaitable[bool]]

_NUMBER_UNIT = re.compile(r"(\d[\d,.]*\d|\d)\s+(?:of\s+(?:these|the|those)\s+)?([A-Za-z]+)")
_MONTH_YEAR = re.compile(
    r"\b(" + "|".join(sorted((m for m in MONTHS if len(m) > 3), key=len, reverse=True)) + r")\b"
    r"(?:\s+(\d{4}))?",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(?:not|no|never|n't|neither|nor|denied|denies)\b", re.IGNORECASE)
_PERSON = re.compile(r"\b([A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]+(?:-[a-z]+)?)\b")
_AFFILIATION = re.compile(
    r"^(?:,\s*(?:an?\s+|the\s+)?[^,]{0,60}?)?\s*\b(?:of|from|at)\s+(?:the\s+)?"
    r"((?:[A-Z][\w.]*|of|for|and)(?:\s+(?:[A-Z][\w.]*|of|for|and))*)"
)
_ORG_NOISE = {"of", "for", "and", "the", "u.s", "us", "u.s.", "united", "states"}


def number_slots(text: str) -> dict[str, set[str]]:
    slots: dict[str, set[str]] = defaultdict(set)
    for value, unit in _NUMBER_UNIT.findall(text):
        slots[stem(unit)].add(normalize_number(value))
    return slots


def dates(text: str, published: str | None) -> dict[int, set[int]]:
    """month -> years stated; a bare month takes the publication year (or the year before)."""
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
    return {w for w in re.findall(r"[a-z.]+", org.lower()) if w not in _ORG_NOISE}


def _side(item: Item, value: str) -> ContradictionSide:
    return ContradictionSide(
        doc_id=item.doc_id, claim_id=item.claim.id, quote=item.claim.evidence, value=value
    )


def find_contradictions(
    pairs: list[tuple[Item, Item, float]],
    items: list[Item],
    published: dict[str, str | None],
) -> list[Contradiction]:
    found: list[Contradiction] = []
    seen: set[tuple[str, str, str]] = set()

    def add(slot: str, description: str, a: Item, b: Item, va: str, vb: str) -> None:
        first, second = sorted((a.key, b.key))
        key = (slot, first, second)
        if key in seen:
            return
        seen.add(key)
        found.append(
            Contradiction(
                id=f"x{len(found) + 1}",
                slot=slot,
                description=description,
                sides=[_side(a, va), _side(b, vb)],
            )
        )

    for a, b, similarity in pairs:
        text_a, text_b = a.claim.evidence, b.claim.evidence
        slots_a, slots_b = number_slots(text_a), number_slots(text_b)
        for unit in slots_a.keys() & slots_b.keys():
            if slots_a[unit] and slots_b[unit] and not slots_a[unit] & slots_b[unit]:
                va, vb = ", ".join(sorted(slots_a[unit])), ", ".join(sorted(slots_b[unit]))
                add("number", f"{unit}: {va} vs {vb}", a, b, va, vb)
        dates_a = dates(text_a, published.get(a.doc_id))
        dates_b = dates(text_b, published.get(b.doc_id))
        for month in dates_a.keys() & dates_b.keys():
            if dates_a[month] and dates_b[month] and not dates_a[month] & dates_b[month]:
                va = "/".join(f"{y}-{month:02d}" for y in sorted(dates_a[month]))
                vb = "/".join(f"{y}-{month:02d}" for y in sorted(dates_b[month]))
                add("date", f"the same event dated {va} and {vb}", a, b, va, vb)
        if similarity >= POLARITY_THRESHOLD and not any(
            key[1:] == tuple(sorted((a.key, b.key))) for key in seen
        ):
            negated_a, negated_b = bool(_NEGATION.search(text_a)), bool(_NEGATION.search(text_b))
            if negated_a != negated_b and bag(a.claim.text) & bag(b.claim.text):
                add(
                    "polarity",
                    "one source negates what the other states",
                    a,
                    b,
                    "negated" if negated_a else "affirmed",
                    "negated" if negated_b else "affirmed",
                )

    # Titles: block by person name, compare the affiliations each article gives.
    named: dict[str, list[tuple[Item, str]]] = defaultdict(list)
    for item in items:
        for person, org in affiliations(item.claim.evidence).items():
            named[person].append((item, org))
    for person, mentions in named.items():
        for index, (a, org_a) in enumerate(mentions):
            for b, org_b in mentions[index + 1 :]:
                if a.doc_id == b.doc_id:
                    continue
                words_a, words_b = _org_words(org_a), _org_words(org_b)
                overlap = (
                    len(words_a & words_b) / len(words_a | words_b) if words_a | words_b else 1
                )
                if overlap < 0.5:
                    add("title", f"{person}: {org_a} vs {org_b}", a, b, org_a, org_b)
    return found


async def confirm_all(contradictions: list[Contradiction], confirm: Confirm) -> list[Contradiction]:
    return [c.model_copy(update={"confirmed": await confirm(c)}) for c in contradictions]
