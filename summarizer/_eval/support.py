"""Does a text support a gold unit? Directional, many-to-one, explainable.

:func:`unit_support` decides whether ``texts`` (a summary's sentences, claims, or an
article's sentences) *support* one gold unit (a gold claim or an atomic content unit).

**Decision rule** (gold -> prediction; extra detail in the prediction never hurts):

1. The unit's *content terms* are its non-stopword words, stemmed with the Snowball
   English stemmer (``snowballstemmer``; hyphenated words give their parts);
   numbers are normalised (``40,000`` -> ``40000``). Number words ("two") are ordinary
   words, not numbers. A term of :data:`TYPO_MIN_LENGTH` or more characters also matches a
   term one edit away (optimal string alignment), so a typo in a unit is not a miss.
2. *Coverage* of a candidate support = the share of the unit's content terms present in
   it, each term weighted by its inverse sentence frequency in the source article when
   the article is known (:func:`article_weights`; a term on every line of the article
   counts less than a rare one), else uniformly. The candidate is the text covering most
   of the unit, joined with the text covering most of the rest (many-to-one: a unit
   spread over two sentences is still covered, and one sentence may cover many units).
3. *Hard checks*, each of which blocks the match: every number of the unit is present (a
   different quantity blocks); every name of the unit (a capitalised word that is not the
   first of its sentence, or is followed by another capitalised word) is present, as
   itself or a word of the same root (:func:`name_present`: China/Chinese);
   polarity agrees: a negator ("not", "no", "never", "n't", "without" ...) negates the
   next :data:`NEGATION_SCOPE` content word of its clause (the predicate it denies), and
   unless both negate a common term, the support may not negate a term of the unit, nor
   contain a term the unit negates.
4. The unit is supported when its coverage is above :data:`SUPPORT_THRESHOLD` (a majority
   of its content is present) and no hard check fails.

Every :class:`SupportDecision` names the best supporting text, its coverage, the terms
that were missing, and the reason for the verdict.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import pysbd
import snowballstemmer
from rapidfuzz.distance import OSA

from summarizer._text import STOPWORDS

SUPPORT_THRESHOLD = 0.5
"""A unit is supported when more than this share (a majority) of its content terms is present."""

NEGATION_SCOPE = 1
"""A negator ("not", "never", "n't" ...) negates the next this-many content words of its clause."""

TYPO_MIN_LENGTH = 4
"""Terms this long or longer also match a term one edit away (a typo: Iraq/Irqa, Gulf/Guld)."""

_TOKEN = re.compile(r"[^\W\d_][\w'’\-]*|\d[\d,.]*\d|\d|[,;:()]")
_NEGATIONS = frozenset({"not", "no", "never", "without", "nobody", "nothing", "neither", "nor"})
_STEMMER = snowballstemmer.stemmer("english")
_SEGMENTER = pysbd.Segmenter(language="en", clean=False)
_STOP = STOPWORDS - _NEGATIONS


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


@dataclass(frozen=True)
class Terms:
    """The comparable content of one text."""

    text: str
    terms: frozenset[str]
    numbers: frozenset[str]
    names: frozenset[str]
    negated: frozenset[str]

    def __or__(self, other: Terms) -> Terms:
        return Terms(
            self.text + " … " + other.text,
            self.terms | other.terms,
            self.numbers | other.numbers,
            self.names | other.names,
            self.negated | other.negated,
        )


def _words(sentence: str) -> list[tuple[bool, str]]:
    """(is a name, token) pairs; hyphenated words give their parts (25-year-old, US-Japan).

    A name is a capitalised word that is not the first of its sentence, or the first
    when the next word is capitalised too ("Michael König", "New York")."""
    tokens = _TOKEN.findall(sentence.replace("’", "'"))
    result = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        name = token[0].isupper() and (index > 0 or following[:1].isupper())
        parts = [part for part in token.split("-") if part]
        result += [(name, part) for part in parts] if len(parts) > 1 else [(name, token)]
    return result


@lru_cache(maxsize=16384)
def terms(text: str) -> Terms:
    """Stemmed content terms, numbers, names and negated terms of ``text``."""
    found: set[str] = set()
    numbers: set[str] = set()
    names: set[str] = set()
    negated: set[str] = set()
    for sentence in split(text) or [text]:
        scope = 0
        for name, token in _words(sentence):
            lower = token.lower()
            if token in ",;:()":
                scope = 0
            elif token[0].isdigit():
                numbers.add(token.rstrip(".,").replace(",", ""))
                found.add(token.rstrip(".,").replace(",", ""))
            elif lower in _NEGATIONS or lower.endswith("n't"):
                scope = NEGATION_SCOPE
            else:
                base = lower[:-2] if lower.endswith("'s") else lower
                if base in _STOP or len(base) < 2 or not base[0].isalnum():
                    continue
                stem = _stem(base)
                found.add(stem)
                if name:
                    names.add(stem)
                if scope:
                    negated.add(stem)
                    scope -= 1
    return Terms(text, frozenset(found), frozenset(numbers), frozenset(names), frozenset(negated))


@lru_cache(maxsize=4096)
def _split(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in _SEGMENTER.segment(text) if s.strip())


def split(text: str) -> list[str]:
    """Sentences of ``text`` (``pysbd``, rule-based, handles abbreviations and decimals)."""
    return list(_split(text))


def present(term: str, support: frozenset[str]) -> bool:
    """``term`` is in ``support``, or one edit away from a term there when both are long."""
    if term in support:
        return True
    if len(term) < TYPO_MIN_LENGTH or term[0].isdigit():
        return False
    return any(
        len(other) >= TYPO_MIN_LENGTH and OSA.distance(term, other, score_cutoff=1) <= 1
        for other in support
    )


def name_present(name: str, support: frozenset[str]) -> bool:
    """A name is present as itself, with a typo, or as a word of the same root: one is a
    prefix of the other or they share all but the last letter of the shorter, at least
    four letters (Russia/Russian, Korea/Korean, China/Chinese)."""
    if present(name, support):
        return True
    for other in support:
        shorter = min(len(name), len(other))
        common = len(os.path.commonprefix([name, other]))
        if common >= 4 and common >= shorter - 1:
            return True
    return False


@dataclass(frozen=True)
class SupportDecision:
    """Whether a gold unit is supported, by which text, and why."""

    unit: str
    supported: bool
    coverage: float
    support: str
    reason: str
    missing: list[str] = field(default_factory=list)


def _covered(unit: Terms, candidate: Terms) -> frozenset[str]:
    return frozenset(t for t in unit.terms if present(t, candidate.terms))


def _best(unit: Terms, candidates: Sequence[Terms]) -> Terms:
    """The text covering most of the unit, joined with the text covering most of the rest
    when that adds anything (many-to-one: a unit may be spread over two sentences)."""
    covers = [(_covered(unit, c), c) for c in candidates]
    best_cover, best = max(covers, key=lambda pair: len(pair[0]))
    rest = unit.terms - best_cover
    if not rest or len(covers) < 2:
        return best
    extra, second = max(
        ((cover & rest, c) for cover, c in covers if c is not best), key=lambda p: len(p[0])
    )
    return best | second if extra else best


Weight = Callable[[str], float]
"""How informative a content term is (see :func:`article_weights`)."""


def article_weights(article: str) -> Weight:
    """Inverse sentence frequency of each term in ``article``: log((n + 1) / (df + 0.5)),
    n sentences, df of them containing the term. A term the article repeats everywhere (its
    main subject) says less about which fact a unit states than a rare one. Computed from
    the article alone, so nothing is fitted to a corpus."""
    sentences = split(article) or [article]
    frequency: Counter[str] = Counter()
    for sentence in sentences:
        frequency.update(terms(sentence).terms)
    n = len(sentences)
    return lambda term: math.log((n + 1) / (frequency[term] + 0.5))


def _uniform(_term: str) -> float:
    return 1.0


def unit_support(
    unit: str,
    texts: Sequence[str],
    weight: Weight | None = None,
    exempt: frozenset[str] = frozenset(),
) -> SupportDecision:
    """Decide whether ``texts`` support ``unit`` (see the module docstring for the rule).

    ``texts`` are the candidate supports: a summary's sentences (and claims), or an
    article's sentences. The unit is supported when most of its content terms
    are present in the best one or two texts and its numbers, names and polarity agree.
    ``weight`` (e.g. :func:`article_weights` of the source article) weighs the terms by
    how informative they are; without it every term counts the same. Names in ``exempt``
    (stemmed, e.g. ``terms(speaker).terms``) still count for coverage but are not required.
    """
    gold = terms(unit)
    candidates = [terms(t) for t in texts if t.strip()]
    if not gold.terms:
        return SupportDecision(unit, False, 0.0, "", "the unit has no content words")
    if not candidates:
        return SupportDecision(unit, False, 0.0, "", "nothing to support it", sorted(gold.terms))
    support = _best(gold, candidates)
    missing = sorted(gold.terms - _covered(gold, support))
    weigh = weight or _uniform
    total = sum(weigh(term) for term in gold.terms)
    coverage = 1 - sum(weigh(term) for term in missing) / total if total > 0 else 0.0
    reason = _blocked(gold, support, exempt)
    if reason is None and coverage <= SUPPORT_THRESHOLD:
        reason = f"coverage {coverage:.2f} is not above {SUPPORT_THRESHOLD}"
    return SupportDecision(
        unit=unit,
        supported=reason is None,
        coverage=round(coverage, 4),
        support=support.text,
        reason=reason or f"coverage {coverage:.2f}; numbers, names and polarity agree",
        missing=missing,
    )


def _blocked(gold: Terms, support: Terms, exempt: frozenset[str]) -> str | None:
    """Why the hard checks reject ``support`` for ``gold``, or None."""
    numbers = gold.numbers - support.numbers
    if numbers:
        return f"number(s) {', '.join(sorted(numbers))} not in the support"
    names = sorted(n for n in gold.names - exempt if not name_present(n, support.terms))
    if names:
        return f"name(s) {', '.join(names)} not in the support"
    if gold.negated & support.negated:
        return None  # both negate the same thing
    denied = sorted(support.negated & gold.terms)
    if denied:
        return f"polarity differs: the support negates {', '.join(denied)}"
    affirmed = sorted(gold.negated & support.terms)
    if affirmed:
        return f"polarity differs: the unit negates {', '.join(affirmed)}, the support does not"
    return None


LENGTH_ALPHA = 2.0
"""RoSE's length penalty: score x exp(min(0, (1 - tokens / reference tokens) / alpha))."""


def token_count(text: str) -> int:
    """Words and punctuation marks, the unit of RoSE's length penalty."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def length_penalty(summary: str, reference: str) -> float:
    """RoSE's penalty for a summary longer than the reference (1.0 when not longer)."""
    ratio = token_count(summary) / max(1, token_count(reference))
    return math.exp(min(0.0, (1 - ratio) / LENGTH_ALPHA))
