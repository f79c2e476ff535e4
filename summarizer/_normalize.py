"""Cleaning an article's text, with a map back to the original character offsets.

What is done, in order, line by line:

- whitespace noise collapsed (runs of spaces, tabs, NBSP, zero-width characters; CRLF and
  CR read as line ends; leading and trailing blanks dropped);
- a date header near the top (``date 2024-11-06 Politics``) recorded as the publication
  date and dropped from the text;
- web boilerplate lines dropped: breadcrumbs (``Home » ...``), short bylines (``by alex``),
  ``Related topics:``, ``More news``, ``You may also like``, ``Leave a Comment``,
  share/subscribe/follow prompts and the like (only short lines; a sentence that mentions
  "subscribe" is content);
- a line that repeats an earlier one verbatim (after whitespace normalisation) dropped:
  repeated titles and pasted-twice paragraphs.

Kept lines of one block are joined by ``\\n``, blocks by ``\\n\\n``. Every removal is
listed in ``NormalizedText.removed`` with its span in the original text.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

_LINE_END = re.compile(r"\r\n|\r|\n")
_WORD = re.compile(r"[^\s\u200b\u200c\u200d\u2060\ufeff]+")


class OffsetMap:
    """Maps character positions of a derived text back to the text it was derived from.

    Stored as runs: normalized ``[n, n + length)`` comes from original ``[o, o + length)``.
    """

    __slots__ = ("_norm_starts", "_orig_starts", "_lengths", "length", "original_length")

    def __init__(self, original_length: int) -> None:
        self._norm_starts: list[int] = []
        self._orig_starts: list[int] = []
        self._lengths: list[int] = []
        self.length = 0
        self.original_length = original_length

    def append(self, original_start: int, length: int) -> None:
        """The next ``length`` derived characters are copied from ``original_start``."""
        if length <= 0:
            return
        if self._lengths:
            last = len(self._lengths) - 1
            if self._orig_starts[last] + self._lengths[last] == original_start:
                self._lengths[last] += length
                self.length += length
                return
        self._norm_starts.append(self.length)
        self._orig_starts.append(original_start)
        self._lengths.append(length)
        self.length += length

    def append_words(self, words: list[tuple[int, int]]) -> None:
        """The next derived characters are the original ``words`` joined by single spaces,
        each space copied from the character just after the word before it."""
        run_start, run_end = words[0]
        for start, end in words[1:]:
            if start != run_end + 1:  # more than one character between: a new run
                self.append(run_start, run_end + 1 - run_start)
                run_start = start
            run_end = end
        self.append(run_start, run_end - run_start)

    def to_original(self, position: int) -> int:
        """Original offset of derived character ``position`` (or the end, for ``length``)."""
        if not 0 <= position <= self.length:
            raise IndexError(f"position {position} outside 0..{self.length}")
        if position == self.length:
            if not self._lengths:
                return 0
            return self._orig_starts[-1] + self._lengths[-1]
        run = bisect.bisect_right(self._norm_starts, position) - 1
        return self._orig_starts[run] + (position - self._norm_starts[run])

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` covering derived ``[start, end)``."""
        if end <= start:
            point = self.to_original(start)
            return point, point
        return self.to_original(start), self.to_original(end - 1) + 1


@dataclass(frozen=True)
class RemovedLine:
    kind: str  # "boilerplate" | "duplicate" | "date_header"
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class NormalizedText:
    text: str
    offsets: OffsetMap = field(repr=False)
    title: str | None = None
    date: str | None = None
    removed: tuple[RemovedLine, ...] = ()
    whitespace_chars_removed: int = 0

    def removed_counts(self) -> dict[str, int]:
        counts = Counter(line.kind for line in self.removed)
        return {
            "boilerplate_lines": counts["boilerplate"],
            "duplicate_lines": counts["duplicate"],
            "date_header_lines": counts["date_header"],
            "whitespace_chars": self.whitespace_chars_removed,
        }

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        return self.offsets.span_to_original(start, end)


# --- boilerplate ----------------------------------------------------------------------------

_BOILERPLATE_EXACT = {
    "advertisement",
    "comments",
    "continue reading",
    "email",
    "follow us",
    "leave a comment",
    "leave a reply",
    "more news",
    "more stories",
    "most read",
    "print",
    "read more",
    "read next",
    "recommended",
    "related",
    "related articles",
    "related posts",
    "related stories",
    "related topics",
    "share",
    "share this",
    "share this article",
    "share this story",
    "sign up",
    "skip to content",
    "subscribe",
    "trending",
    "you may also like",
    "you might also like",
}
_BOILERPLATE_PREFIX = re.compile(
    r"^(share (this|on|via)\b|subscribe (to|for|now)\b|sign up (for|to)\b|follow us\b"
    r"|click here\b|tags?:|filed under:|related topics:|related:|read more:|also read:"
    r"|posted in\b|categories:|image:|photo:|copyright\b|©|all rights reserved)",
    re.IGNORECASE,
)
_BREADCRUMB = re.compile(r"^(home|homepage|start|main)\s*[»›>|/]\s*\S", re.IGNORECASE)
_BYLINE = re.compile(r"^(by|written by|posted by|author:)\s+[\w.'’\- ]{1,40}$", re.IGNORECASE)
_MAX_BOILERPLATE_CHARS = 120


def is_boilerplate(line: str) -> bool:
    """True for a short line of web furniture rather than article content."""
    if len(line) > _MAX_BOILERPLATE_CHARS:
        return False
    bare = line.strip().rstrip(":.!›»>").strip().casefold()
    if bare in _BOILERPLATE_EXACT:
        return True
    if _BREADCRUMB.match(line) or line.count("»") >= 2:
        return True
    if _BYLINE.match(line) and len(line.split()) <= 5:
        return True
    return bool(_BOILERPLATE_PREFIX.match(line)) and len(line) <= 80


# --- dates and titles ----------------------------------------------------------------------

MONTHS = {
    name: index
    for index, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE_PATTERNS = [
    (re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b"), ("y", "m", "d")),
    (
        re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I),
        ("M", "d", "y"),
    ),
    (
        re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})\.?,?\s+(\d{{4}})\b", re.I),
        ("d", "M", "y"),
    ),
]
_YEAR = re.compile(r"\d{4}")
_DATE_HEADER_WORDS = {"date", "published", "updated", "posted", "on", "last", "modified", "at"}
_HEADER_LINES = 3


def find_date(line: str) -> tuple[str, re.Match[str]] | None:
    """The first valid calendar date stated in ``line``, as ISO ``YYYY-MM-DD``."""
    if not _YEAR.search(line):  # every pattern has a four-digit year
        return None
    for pattern, order in _DATE_PATTERNS:
        for match in pattern.finditer(line):
            parts = dict(zip(order, match.groups(), strict=True))
            try:
                month = MONTHS[parts["M"].lower()] if "M" in parts else int(parts["m"])
                date = dt.date(int(parts["y"]), month, int(parts["d"]))
            except (KeyError, ValueError):
                continue
            return date.isoformat(), match
    return None


def _is_date_header(line: str, match: re.Match[str]) -> bool:
    rest = (line[: match.start()] + " " + line[match.end() :]).replace(":", " ").split()
    rest = [word for word in rest if word.casefold() not in _DATE_HEADER_WORDS]
    return len(rest) <= 2 and len(line) <= 60


_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
_SECTION_SUFFIX = re.compile(r"\s+\|\s+[^|]{1,30}$")


def _looks_like_title(line: str) -> bool:
    words = line.split()
    return 2 <= len(words) <= 25 and not _SENTENCE_END.search(line)


# --- the normaliser ------------------------------------------------------------------------


@dataclass
class _Line:
    first: int  # original offset of the first word's first character
    last: int  # original offset just past the last word
    word_count: int
    text: str  # whitespace-collapsed
    # original spans of the words; empty for a clean line (text == original[first:last])
    words: list[tuple[int, int]]


def _split_lines(text: str) -> list[_Line]:
    """The lines of ``text`` (a blank one has no words). A clean line, single-spaced with
    no other whitespace or zero-width character (most lines of most articles), is taken
    as it is; only the others are split into words."""
    lines: list[_Line] = []
    position = 0
    for end_match in [*_LINE_END.finditer(text), None]:
        end = end_match.start() if end_match else len(text)
        line = text[position:end]
        if line and line[0] != " " != line[-1] and line.isprintable() and "  " not in line:
            lines.append(_Line(position, end, line.count(" ") + 1, line, []))
        else:
            words = [(m.start(), m.end()) for m in _WORD.finditer(text, position, end)]
            first, last = (words[0][0], words[-1][1]) if words else (position, position)
            joined = " ".join(text[s:e] for s, e in words)
            lines.append(_Line(first, last, len(words), joined, words))
        position = end_match.end() if end_match else len(text)
    return lines


def _keep_lines(text: str) -> tuple[list[tuple[int, _Line]], list[RemovedLine], str | None]:
    """The lines to keep (with their block number), the ones removed and why, and the
    date found in the header."""
    removed: list[RemovedLine] = []
    seen: set[str] = set()
    kept: list[tuple[int, _Line]] = []
    date: str | None = None
    block = 0
    content_lines = 0
    for line in _split_lines(text):
        if not line.word_count:
            block += 1
            continue
        span_start, span_end = line.first, line.last
        content_lines += 1
        if date is None and content_lines <= _HEADER_LINES:
            found = find_date(line.text)
            if found:
                date = found[0]
                if _is_date_header(line.text, found[1]):
                    removed.append(RemovedLine("date_header", span_start, span_end, line.text))
                    continue
        if is_boilerplate(line.text):
            removed.append(RemovedLine("boilerplate", span_start, span_end, line.text))
            continue
        if line.text in seen and line.word_count >= 3:
            removed.append(RemovedLine("duplicate", span_start, span_end, line.text))
            continue
        seen.add(line.text)
        kept.append((block, line))
    return kept, removed, date


def _join_lines(text: str, kept: list[tuple[int, _Line]]) -> tuple[str, OffsetMap]:
    """The kept lines single-spaced (a blank line between blocks), with the offset map."""
    offsets = OffsetMap(len(text))
    parts: list[str] = []
    previous_block: int | None = None
    previous_end = 0
    for block_number, line in kept:
        if previous_block is not None:
            separator = "\n" if block_number == previous_block else "\n\n"
            parts.append(separator)
            for _ in separator:
                offsets.append(min(previous_end, len(text) - 1), 1)
        first, last = line.first, line.last
        if last - first == len(line.text):  # already single-spaced: one run for the line
            parts.append(line.text)
            offsets.append(first, last - first)
        else:
            parts.append(line.text)
            offsets.append_words(line.words)
        previous_block = block_number
        previous_end = last
    return "".join(parts), offsets


def normalize_text(text: str) -> NormalizedText:
    """Clean ``text`` as described in the module docstring."""
    kept, removed, date = _keep_lines(text)
    normalized, offsets = _join_lines(text, kept)

    title = None
    for _, line in kept[:_HEADER_LINES]:
        if _looks_like_title(line.text) and len(kept) > 1:
            title = _SECTION_SUFFIX.sub("", line.text)
            break
    removed_chars = sum(line.end - line.start for line in removed)
    return NormalizedText(
        text=normalized,
        offsets=offsets,
        title=title,
        date=date,
        removed=tuple(removed),
        whitespace_chars_removed=max(0, len(text) - len(normalized) - removed_chars),
    )
