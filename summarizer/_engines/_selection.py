"""Sentence units and budgeted coverage selection for the extractive engine.

Units: the sentence splitter's spans, merged while a quotation (double or single quotes)
is open, so that a quote that runs over several sentences is one unit and is never cut or
entered mid-way.

Selection maximises a monotone submodular coverage function under a word budget, the
concept-coverage objective of Gillick & Favre (2009) with the cost-scaled greedy of
Lin & Bilmes (2010): each concept (a stemmed content word) is worth its positional
frequency, the sum over the sentences that contain it of ``1 / (position + 1)`` (the
harmonic lead prior of position-biased TextRank), and a summary is worth the concepts it
covers, so repeating a covered concept earns nothing (redundancy is penalised by
construction). Greedy picks the unit with the best gain per unit of cost that still
fits, then compares the result with the best single unit, which keeps the (1 - 1/e)/2
guarantee. The cost is the word count raised to :data:`COST_EXPONENT` (Lin & Bilmes's
scaled cost, ``r``): at ``r = 1`` the ratio rewards brevity so much that a later
six-word aside ("It's not, especially for victims.") outbids the third sentence of the
lede, though the fact-bearing sentences of news are long; the square root keeps a
preference for short sentences (they leave room for more) without letting fragments win.

Only story sentences are candidates (:func:`is_story_sentence`): page furniture such as
"Scroll down for video", bylines and photo captions is never chosen, however well its
words cover the story (captions repeat the story's names, so they score high).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from summarizer._text import ATTRIBUTION_VERB, Sentence, content_words

# Quote marks by position: one opens at the start of a word (after a space, dash or
# bracket) and closes after a word or punctuation when no letter follows, so apostrophes
# ("you’ve", "Mao’s") are neither. A quote that opens a sentence while another is open
# continues it (news style re-opens a quote at each paragraph and closes it only once).
_QUOTE_MARK = re.compile(
    r"(?P<open>(?:^|(?<=[\s(\[—–-]))['‘\"“](?=[^\s'’\"”]))"
    r"|(?P<close>(?<=[^\s'‘\"“])['’\"”](?=[\s.,;:!?)\]—–-]|$))"
)
_SENTENCE_START = re.compile(r"(?:^|[.!?…]['’\"”]?)\s*$")
# Page furniture that is not the story: video and gallery prompts, bylines, datelines of
# publication, sharing and support lines.
_BOILERPLATE = re.compile(
    r"\b(?:scroll down|click here|read more|watch the video|watch video|share this article|"
    r"sign up|follow us|daily mail reporter|mailonline reporter|last updated)\b"
    r"|^(?:by|published|updated)\b\s*[.:]|^by\s+[A-Z][a-z]+\s+[A-Z][a-z]+\s*\.?$",
    re.I,
)
# A photo caption refers to the picture ("(pictured)", "(left)", "shown above") or is
# headed by a short label and a colon ("Evicted: Hayley Sandiford has ...", "THE EXPERT:
# We sent ..."), which news pages use for captions and never for a reported statement
# (those name a speaker and a verb: "He said: 'I ..."; the quote test below keeps them).
_PICTURE = re.compile(
    r"\((?:pictured|pictures?|shown|seen|left|right|centre|center|above|below|top|bottom|"
    r"inset|front|back|file|file photo|[lrc]|[a-z ,]*\b(?:left|right|centre|center))\)"
    r"|\b(?:pictured|photographed|shown (?:above|below|here)|in the (?:photo|picture|image) "
    r"(?:above|below))\b|^(?:above|below|left|right|inset|top|bottom|from left to right):",
    re.I,
)
_CAPTION_LABEL = re.compile(r"^(?P<label>[A-Z][\w'’-]*(?:\s+[\w'’-]+){0,4}):\s+(?P<rest>\S)")
MIN_SUMMARY_WORDS = 5
COST_EXPONENT = 0.5


@dataclass(frozen=True)
class Unit:
    """One or more whole sentences: ``text`` is the normalised text from start to end."""

    start: int
    end: int
    text: str
    index: int

    @property
    def words(self) -> int:
        return len(self.text.split())


def quotes_open(text: str) -> bool:
    """Whether ``text`` leaves a quotation open: curly or straight, double or single."""
    depth = 0
    for match in _QUOTE_MARK.finditer(text):
        if match.group("close"):
            depth = max(0, depth - 1)
        elif not (depth and _SENTENCE_START.search(text, 0, match.start())):
            depth += 1
    return depth > 0


def is_story_sentence(text: str) -> bool:
    """Whether ``text`` may stand in a summary: a statement of the story, not page furniture.

    Not: boilerplate ("Scroll down for video", bylines), photo captions (see
    :data:`_PICTURE` and caption labels), questions (a summary states, it does not ask),
    and fragments under :data:`MIN_SUMMARY_WORDS` words ("Deborah, 43, Lanarkshire."; the
    floor is the one PreSumm's CNN/DM preprocessing uses).
    """
    stripped = text.strip()
    if len(stripped.split()) < MIN_SUMMARY_WORDS or stripped.rstrip("'’\"” ").endswith("?"):
        return False
    if _BOILERPLATE.search(stripped) or _PICTURE.search(stripped):
        return False
    label = _CAPTION_LABEL.match(stripped)
    if label and not ATTRIBUTION_VERB.search(label.group("label")):
        return label.group("rest") in "'‘\"“"
    return True


def quote_units(text: str, sentences: list[Sentence], *, max_merge: int = 4) -> list[Unit]:
    """Merge consecutive ``sentences`` of ``text`` while a quotation is still open.

    ``max_merge`` bounds the run so that one stray quotation mark cannot swallow the
    article; a run that never closes keeps its sentences apart.
    """
    units: list[Unit] = []
    i = 0
    while i < len(sentences):
        j = i
        while quotes_open(text[sentences[i].start : sentences[j].end]) and j + 1 < len(sentences):
            if j - i + 1 >= max_merge:
                j = i
                break
            j += 1
        if quotes_open(text[sentences[i].start : sentences[j].end]):
            j = i
        start, end = sentences[i].start, sentences[j].end
        units.append(Unit(start, end, text[start:end], len(units)))
        i = j + 1
    return units


def concept_weights(bags: list[set[str]]) -> dict[str, float]:
    """Positional frequency of each concept: sum of 1 / (position + 1) over its units."""
    weights: dict[str, float] = {}
    for position, bag in enumerate(bags):
        for concept in bag:
            weights[concept] = weights.get(concept, 0.0) + 1.0 / (position + 1)
    return weights


def select(units: list[Unit], budget: int, weights: dict[str, float] | None = None) -> list[Unit]:
    """Units covering the most concept weight within ``budget`` words, in article order.

    ``weights`` defaults to :func:`concept_weights` of ``units``; pass the whole article's
    when ``units`` is a part of it.
    """
    bags = [set(content_words(u.text)) for u in units]
    weights = weights if weights is not None else concept_weights(bags)

    def gain(index: int, covered: set[str]) -> float:
        return _worth(bags[index] - covered, weights)

    chosen: list[int] = []
    covered: set[str] = set()
    used = 0
    remaining = {i for i, u in enumerate(units) if 0 < u.words <= budget}
    while remaining:
        best = max(
            sorted(remaining), key=lambda i: gain(i, covered) / units[i].words ** COST_EXPONENT
        )
        remaining.discard(best)
        if gain(best, covered) <= 0:
            break
        if used + units[best].words <= budget:
            chosen.append(best)
            covered |= bags[best]
            used += units[best].words
            remaining = {i for i in remaining if used + units[i].words <= budget}
    singles = [i for i, u in enumerate(units) if 0 < u.words <= budget]
    if singles:
        single = max(singles, key=lambda i: (gain(i, set()), -i))
        if gain(single, set()) > _worth(covered, weights):
            chosen = [single]
    return [units[i] for i in sorted(chosen)]


def greedy_cover(
    bags: list[set[str]],
    weights: dict[str, float],
    count: int,
    *,
    covered: set[str] | frozenset[str] = frozenset(),
) -> list[int]:
    """Indices of up to ``count`` bags that cover the most new weight, greedily, in order.

    The standard greedy for maximum coverage under a cardinality constraint (1 - 1/e of
    the optimum); a bag that adds nothing beyond ``covered`` is never taken.
    """
    seen = set(covered)
    chosen: list[int] = []
    remaining = set(range(len(bags)))
    while remaining and len(chosen) < count:
        best = max(sorted(remaining), key=lambda i: _worth(bags[i] - seen, weights))
        if not bags[best] - seen:
            break
        chosen.append(best)
        seen |= bags[best]
        remaining.discard(best)
    return sorted(chosen)


def _worth(concepts: set[str], weights: dict[str, float]) -> float:
    """Total weight; fsum is exact, so set order (string hashing) never changes a choice."""
    return math.fsum(weights.get(c, 0.0) for c in concepts)
