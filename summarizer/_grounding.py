"""Locating evidence quotes in the article they claim to come from.

In order: the quote verbatim; then after folding both texts (curly quotes and primes to
straight ones, dashes to "-", "…" to "...", whitespace runs to one space, case folded);
then a bounded fuzzy match (rapidfuzz ``partial_ratio_alignment`` on the folded texts,
only for quotes of at least ``MIN_FUZZY_CHARS`` characters and at or above the score
threshold). Each search looks first inside the hinted span (the chunk the quote came
from), then in the whole article, and only in that article. A span is always reported in
the original text's characters.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from summarizer._models import EvidenceSpan
from summarizer._normalize import OffsetMap

MIN_FUZZY_CHARS = 24
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2026": "...",
    }
)
_NON_SPACE = re.compile(r"\S+")
_STRIP = " \t\n\"'\u201c\u201d\u2018\u2019\u00ab\u00bb"


def fold(text: str) -> tuple[str, OffsetMap]:
    """The folded text and a map from its characters back to ``text``."""
    offsets = OffsetMap(len(text))
    out: list[str] = []
    for match in _NON_SPACE.finditer(text):
        start, word = match.start(), match.group()
        if out:
            out.append(" ")
            offsets.append(start - 1, 1)
        folded = word.translate(_FOLD).casefold()
        out.append(folded)
        if len(folded) == len(word):
            offsets.append(start, len(word))
        else:  # "…" -> "...", "ß" -> "ss": every output character maps to its source
            for index, char in enumerate(word):
                for _ in char.translate(_FOLD).casefold():
                    offsets.append(start + index, 1)
    return "".join(out), offsets


class QuoteLocator:
    """Finds quotes in one article; folding and fuzzy search are done lazily, and each
    (quote, hint) is searched once: the engine asks whether to re-ask, the pipeline then
    grounds the same quotes, and both get the one answer."""

    def __init__(self, text: str, *, fuzzy_threshold: float = 90.0):
        self.text = text
        self.fuzzy_threshold = fuzzy_threshold
        self._folded: tuple[str, OffsetMap] | None = None
        self._found: dict[tuple[str, tuple[int, int] | None], EvidenceSpan] = {}

    @property
    def folded(self) -> tuple[str, OffsetMap]:
        if self._folded is None:
            self._folded = fold(self.text)
        return self._folded

    def locate(self, quote: str, hint: tuple[int, int] | None = None) -> EvidenceSpan:
        """Where ``quote`` stands in the text, searched first inside ``hint``."""
        key = (quote, hint)
        if key not in self._found:
            self._found[key] = self._search(quote, hint)
        return self._found[key]

    def _search(self, quote: str, hint: tuple[int, int] | None) -> EvidenceSpan:
        whole = quote.strip()
        wanted = whole.strip(_STRIP).rstrip(".,;:").strip(_STRIP) or whole
        if not wanted:
            return EvidenceSpan(quote=quote, start=None, end=None, match="none", score=0.0)
        for candidate in dict.fromkeys([whole, wanted]):  # as given, then without wrapping marks
            for start, end in self._areas(hint):
                index = self.text.find(candidate, start, end)
                if index != -1:
                    return EvidenceSpan(
                        quote=quote,
                        start=index,
                        end=index + len(candidate),
                        match="exact",
                        score=100.0,
                    )
        folded_text, offsets = self.folded
        folded_quote, _ = fold(wanted)
        folded_hint = self._fold_hint(hint, offsets)
        for start, end in self._areas(folded_hint, len(folded_text)):
            index = folded_text.find(folded_quote, start, end)
            if index != -1:
                span = offsets.span_to_original(index, index + len(folded_quote))
                return EvidenceSpan(
                    quote=quote, start=span[0], end=span[1], match="normalized", score=100.0
                )
        if len(folded_quote) >= MIN_FUZZY_CHARS:
            for start, end in self._areas(folded_hint, len(folded_text)):
                found = fuzz.partial_ratio_alignment(
                    folded_quote, folded_text[start:end], score_cutoff=self.fuzzy_threshold
                )
                if found is not None:
                    span = offsets.span_to_original(
                        start + found.dest_start, start + found.dest_end
                    )
                    return EvidenceSpan(
                        quote=quote, start=span[0], end=span[1], match="fuzzy", score=found.score
                    )
        return EvidenceSpan(quote=quote, start=None, end=None, match="none", score=0.0)

    def _areas(
        self, hint: tuple[int, int] | None, length: int | None = None
    ) -> list[tuple[int, int]]:
        size = len(self.text) if length is None else length
        whole = (0, size)
        if hint is None or hint == whole:
            return [whole]
        margin = 200
        return [(max(0, hint[0] - margin), min(size, hint[1] + margin)), whole]

    @staticmethod
    def _fold_hint(hint: tuple[int, int] | None, offsets: OffsetMap) -> tuple[int, int] | None:
        """The hint's approximate place in the folded text (folding only shortens text)."""
        if hint is None:
            return None
        scale = offsets.length / max(1, offsets.original_length)
        return int(hint[0] * scale), int(hint[1] * scale) + 1
