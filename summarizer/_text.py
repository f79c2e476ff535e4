"""Small English text tools shared by the extractive engine, claim merging, evals and the
digest: sentence spans, content words with a light stemmer, numbers, and attribution
("X said", "according to X").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "sen", "rep", "gov", "lt", "col", "sgt", "capt",
    "st", "jr", "sr", "inc", "ltd", "co", "corp", "vs", "etc", "no", "fig", "dept", "univ",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "u.s", "u.k", "u.n", "e.u", "e.g", "i.e", "a.m", "p.m",
}  # fmt: skip
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])|\n+")
# A word ("[A-Za-z][A-Za-z'’\-]*") or a number ("\d[\d,.]*"), written with one first character
# class so that the regex engine skips ahead to it (a fifth faster).
_WORD = re.compile(r"[A-Za-z\d](?:(?<=[A-Za-z])[A-Za-z'’\-]*|(?<=\d)[\d,.]*)")

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves said says say according its it's that's there's may might must
    shall us one also however""".split()
)


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    """Sentence spans of ``text`` (line breaks always end a sentence)."""
    sentences: list[Sentence] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end() if match.group().startswith("\n") else match.end()
        if not match.group().startswith("\n"):
            before = text[start : match.start()].split()
            last = before[-1].lower().rstrip(".") if before else ""
            if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue
        _add(sentences, text, start, end)
        start = end
    _add(sentences, text, start, len(text))
    return sentences


def _add(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        offset = start + (len(piece) - len(piece.lstrip()))
        sentences.append(Sentence(offset, offset + len(stripped), stripped))


@lru_cache(maxsize=1 << 17)  # a corpus repeats its words: the digest stems millions of them
def stem(word: str) -> str:
    """A light suffix stripper: enough to match 'troops'/'troop', 'deployed'/'deploy'."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                break
            return word[: -len(suffix)] + keep
    return word


_ABBREVIATED = [  # (what any match contains, pattern, expansion)
    (("U.S.", "US"), re.compile(r"\bU\.S\.(?:A\.)?|\bUS\b|\bUSA\b"), "United States"),
    (("U.K.", "UK"), re.compile(r"\bU\.K\.|\bUK\b"), "United Kingdom"),
    (("U.N.", "UN"), re.compile(r"\bU\.N\.|\bUN\b"), "United Nations"),
]


def words(text: str) -> list[str]:
    for (dotted, bare), pattern, expansion in _ABBREVIATED:
        if dotted in text or bare in text:  # a substring test is 50x cheaper
            text = pattern.sub(expansion, text)
    return _WORD.findall(text)


_CONTENT: dict[str, str | None] = {}  # word -> its content word (None: not one)
_CONTENT_MAX = 1 << 19  # distinct words remembered before the memo starts again


def _content_word(word: str) -> str | None:
    if word[0].isdigit():
        return normalize_number(word)
    return stem(word) if word.lower() not in STOPWORDS and len(word) > 1 else None


def _judge(words: Iterable[str]) -> list[str | None]:
    """The content word of each of ``words`` (None: not one), from the memo."""
    if len(_CONTENT) > _CONTENT_MAX:
        _CONTENT.clear()
    judged = []
    for word in words:
        if word in _CONTENT:
            content = _CONTENT[word]
        else:
            content = _CONTENT[word] = _content_word(word)
        judged.append(content)
    return judged


def content_words(text: str) -> list[str]:
    """Stemmed words that carry meaning (no stopwords), numbers normalised. Each distinct
    word is judged once per process (a corpus repeats its words; the digest reads every
    article and every claim)."""
    judged = _judge(words(text))
    return [content for content in judged if content is not None]


def content_word_set(text: str) -> set[str]:
    """``set(content_words(text))``, judging each distinct word of the text once, with set
    operations instead of a loop over every word (the digest's word sets of whole articles
    and of claims)."""
    if len(_CONTENT) > _CONTENT_MAX:
        _CONTENT.clear()
    distinct = set(words(text))
    for word in distinct.difference(_CONTENT):
        _CONTENT[word] = _content_word(word)
    judged: set[str | None] = set(map(_CONTENT.__getitem__, distinct))  # no loop in Python
    judged.discard(None)
    return judged  # type: ignore[return-value]  # None discarded


def jaccard(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    """Shared share of two word sets; 0.0 when either is empty (nothing to compare)."""
    if not a or not b:
        return 0.0
    shared = len(a & b)  # the union's size follows: no second set is built
    return shared / (len(a) + len(b) - shared)


def dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def normalize_number(token: str) -> str:
    return token.rstrip(".,").replace(",", "")


_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "hundred": "100", "thousand": "1000",
}  # fmt: skip


def numbers(text: str) -> set[str]:
    """Numbers stated in ``text`` (digits, plus small number words)."""
    found = {normalize_number(m) for m in re.findall(r"\d[\d,.]*\d|\d", text)}
    found |= {_NUMBER_WORDS[w.lower()] for w in words(text) if w.lower() in _NUMBER_WORDS}
    return found


# --- attribution -----------------------------------------------------------------------------

_VERBS = (
    r"said|says|say|told|tells|writes|wrote|notes|noted|argues|argued|believes|believed|warns|"
    r"warned|explains|explained|stated|states|added|adds|observes|observed|suggests|suggested|"
    r"claims|claimed|called|calls|remarked|remarks|reportedly said|summarizes|summarises|"
    r"points out|pointed out|cautions|cautioned|thinks|thought|insists|insisted|recalls|"
    r"recalled|acknowledges|acknowledged|admits|admitted|concludes|concluded|asserts|asserted|"
    r"stresses|stressed|contends|contended"
)
_NAME = r"(?:[A-Z][\w’'\-.]*(?:\s+(?:[A-Z][\w’'\-.]*|(?:de|van|von|al|bin|du|la|le)\b)){0,4})"
_ATTRIBUTION_PATTERNS = [
    re.compile(rf"\b[Aa]ccording to (?:the )?(?P<name>{_NAME})"),
    re.compile(rf"(?:[,?!]['’”\"]?|[”\"])\s*(?:{_VERBS}) (?:the )?(?P<name>{_NAME})"),
    re.compile(rf"(?P<name>{_NAME})(?:,[^,.;]{{3,90}},)?\s+(?:also\s+|[a-z]+ly\s+)?(?:{_VERBS})\b"),
    re.compile(
        rf"\b(?P<name>the (?:analysts?|officials?|authorities|police|government))\s+(?:{_VERBS})\b",
        re.I,
    ),
]
_NOT_NAMES = {
    "The", "This", "That", "It", "He", "She", "They", "We", "I", "But", "And", "However",
    "Some", "Officially", "Meanwhile", "Recall", "Although", "Behind", "Last", "On", "In",
    "As", "So", "Yet", "For", "Such", "Today", "Now", "Article", "Publication", "Report",
    "Study", "Story", "Piece", "Analysis", "Paper", "Author", "Authors", "A", "An", "His", "Her",
    "Their", "Its", "Our", "My", "Your", "You", "If", "When", "While", "Why", "What",
}  # fmt: skip
ATTRIBUTION_VERB = re.compile(rf"\b(?:{_VERBS})\b|\b[Aa]ccording to\b")


def attribution(sentence: str) -> str | None:
    """Who ``sentence`` attributes its statement to, if it names someone."""
    for pattern in _ATTRIBUTION_PATTERNS:
        for match in pattern.finditer(sentence):
            name = _clean_name(match.group("name"))
            if name:
                return name
    return None


def _clean_name(name: str) -> str | None:
    parts = name.strip().rstrip(".,").split()
    while parts and parts[0] in _NOT_NAMES:
        parts = parts[1:]
    # Titles before a name: "spokesman Matthew Miller" keeps the capitalised run at the end.
    if not parts:
        return None
    text = " ".join(parts)
    if text.lower().startswith("the "):
        return text[0].upper() + text[1:]
    return text if parts[0][0].isupper() else None
