"""Claims for the extractive engine: atomic clauses, which are checkable, and their kind.

A unit (one or more whole sentences, see :mod:`._selection`) is split into clauses at
coordination and contrast outside quotations ("; ", ", but ", ", while ", ", whereas ",
", and he ..."), keeping every piece at least :data:`MIN_CLAUSE_WORDS` long, so a claim is
one statement and its evidence a verbatim span of the article. A clause is checkable when
it carries a number, a date, an attribution or two named entities.

Kinds come from tense and modality, not topic words: the future ("will", "is expected
to", "predicts") and epistemic possibility ("could", "may", "might", but not "could have")
make a prediction; deontic modals ("should", "must") and verbs of belief make an opinion,
as does an attributed statement without data; the rest, including past narration told
with "would" (the future in the past), is a fact.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from summarizer._engines._selection import quotes_open
from summarizer._models import ClaimKind
from summarizer._text import ATTRIBUTION_VERB

MIN_CLAUSE_WORDS = 6
_SPLIT = re.compile(
    r"(?:;\s+|,\s+(?=(?:but|while|whereas|although|though)\s)"
    r"|,\s+and\s+(?=(?:he|she|it|they|we|I)\s))"
)
_LEADING_CONJUNCTION = re.compile(r"^(?:but|while|whereas|although|though|and)\s+", re.I)
_MONTH_OR_YEAR = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|"
    r"last (?:week|month|year)|this week|(?:1[89]|20)\d\d)\b"
)
_ENTITY = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_NUMBER = re.compile(r"\d")
_FUTURE = re.compile(
    r"\b(?:will|won't|shall|going to|(?:is|are|am)\s+(?:expected|likely|set|poised|due)\s+to|"
    r"forecasts?|predicts?)\b",
    re.I,
)
_POSSIBILITY = re.compile(r"\b(?:could|may|might)\b(?!\s+(?:not\s+|well\s+)?have\b)")
_OPINION = re.compile(
    r"\b(?:should|must|ought to|believes?|believed|argues?|argued|thinks?|fears?|feared|"
    r"contends?|insists?|in (?:my|our|his|her|their) view)\b",
    re.I,
)


@dataclass(frozen=True)
class Clause:
    start: int
    end: int
    text: str


CLAIM_DENSITY = 3.0


def claim_budget(units: int, density: float = CLAIM_DENSITY) -> int:
    """How many claims an article of ``units`` sentences (or quotations) gets.

    ``density`` * sqrt(n), at least 3: grows with the article but ever more slowly, so a
    long article yields more facts without the claim list becoming the article (at the
    default density, 10 units: 9 claims; 30: 16; 100: 30).
    """
    return max(3, round(density * math.sqrt(units)))


def clauses(text: str, start: int, end: int) -> list[Clause]:
    """Atomic clauses of ``text[start:end]``, each a verbatim span, quotes never cut."""
    piece = text[start:end]
    cuts = [0]
    for match in _SPLIT.finditer(piece):
        head, tail = piece[cuts[-1] : match.start()], piece[match.end() :]
        if quotes_open(piece[: match.start()]) or len(head.split()) < MIN_CLAUSE_WORDS:
            continue
        if len(tail.split()) < MIN_CLAUSE_WORDS:
            continue
        cuts += [match.start(), match.end()]
    cuts.append(len(piece))
    found: list[Clause] = []
    for a, b in zip(cuts[::2], cuts[1::2], strict=True):
        lead = _LEADING_CONJUNCTION.match(piece[a:b]) if a else None
        a += lead.end() if lead else 0
        span = piece[a:b].rstrip(" ,;")
        found.append(Clause(start + a, start + a + len(span), span))
    return found


def claim_text(clause: str) -> str:
    """The clause as a sentence: capitalised, ending in punctuation."""
    text = clause[0].upper() + clause[1:]
    return text if text[-1] in ".!?”’\"'" else text + "."


def is_checkable(text: str) -> bool:
    if len(text.split()) < MIN_CLAUSE_WORDS or text.rstrip().endswith("?"):
        return False
    if _NUMBER.search(text) or _MONTH_OR_YEAR.search(text):
        return True
    if ATTRIBUTION_VERB.search(text):
        return True
    return len(set(_ENTITY.findall(text))) >= 2


def claim_kind(text: str, speaker: str | None) -> ClaimKind:
    if _FUTURE.search(text) or _POSSIBILITY.search(text):
        return ClaimKind.PREDICTION
    if _OPINION.search(text) or (speaker and not _NUMBER.search(text)):
        return ClaimKind.OPINION
    return ClaimKind.FACT
