"""The digest's faster forms give exactly what the plain forms they replaced give."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from summarizer._digest.cluster import _ENTITY
from summarizer._digest.contradictions import _PERSON
from summarizer._text import _WORD

PLAIN = {  # the patterns as first written, with "\b" before the first capital
    "entity": (re.compile(r"\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*"), _ENTITY),
    "person": (
        re.compile(r"\b([A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]+(?:-[a-z]+)?)\b"),
        _PERSON,
    ),
    "word": (re.compile(r"[A-Za-z][A-Za-z'’\-]*|\d[\d,.]*"), _WORD),
}

PIECES = [
    "Observers", "Anna", "Kowalski", "the", "Navy", "US", "U.S.", "Monday", "June", "said",
    "O'Neil", "Smith’s", "Jean-Luc", "A", "I", "It", "of", "42", "10,000", "3.5", "x", "_X",
    "Reuters", "aB", "9Z", "Ünal", "Éric", "ß", "٣", "\uff13", ".", ",", "!", "?", ":", '"',
    "“", "”", "'", "’", "-", "(", ")", "_", " ", "  ", "\n", "\t", "\u00a0",
]  # fmt: skip


def spans(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], tuple[str, ...]]]:
    return [(m.span(), m.groups()) for m in pattern.finditer(text)]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.sampled_from(["", " "]))
def test_the_fast_patterns_match_exactly_where_the_plain_ones_do(
    pieces: list[str], glue: str
) -> None:
    text = glue.join(pieces)
    for plain, fast in PLAIN.values():
        assert spans(fast, text) == spans(plain, text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_the_fast_patterns_match_the_plain_ones_on_any_text(text: str) -> None:
    for plain, fast in PLAIN.values():
        assert spans(fast, text) == spans(plain, text)


def test_the_fast_patterns_match_the_plain_ones_on_the_seeds(seeds_dir: Path) -> None:
    for path in sorted(seeds_dir.iterdir()):
        text = path.read_text(encoding="utf-8")
        for name, (plain, fast) in PLAIN.items():
            assert spans(fast, text) == spans(plain, text), name
            assert len(spans(fast, text)) > (2 if name == "person" else 20), name
