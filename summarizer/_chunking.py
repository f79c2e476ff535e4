"""A token-aware chunker with an exact bound.

Lines are cut where a line break is followed by a character no split pattern joins to it
(:func:`count_from_longer` says why): there the tokens of the whole are the tokens of the
parts, so every line is encoded once and lines are packed greedily with exact counts,
ending a chunk at the last paragraph break that fits, else the last line break.

A line longer than ``max_tokens`` is cut window by window: a little more than
``max_tokens`` tokens is encoded, and the chunk ends at the last sentence end before the
window's ``max_tokens``-th token, else the last space, and only when there is none (one
word longer than the window) between two characters. Its exact count is read off the
window's tokens when the cut is a clean one, and otherwise the chunk is encoded again and
shrunk until it fits, so no chunk ever exceeds ``max_tokens``.

Without overlap the chunks concatenate back to the input exactly. With ``overlap_tokens``
each chunk after the first starts about that many tokens before the previous one ended,
at a word boundary (the window method throughout).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from itertools import accumulate, pairwise

from summarizer._normalize import NormalizedText
from summarizer._tokens import LoadedEncoding

_LINE_START = re.compile(rb"\n(?=[^\s/])")
_WINDOW_MARGIN = 1.15  # encode this much more than the estimated chunk, to find its end
MIN_MAX_TOKENS = 8  # any single character (at most 4 UTF-8 bytes) fits in 4 byte tokens

_SENTENCE_END = re.compile(
    rb"(?:[.!?]|\xe3\x80\x82|\xef\xbc\x81|\xef\xbc\x9f)"  # . ! ? and CJK 。！？
    rb"(?:[\"')\]]|\xe2\x80\x9d|\xe2\x80\x99)*"  # closing quotes and brackets
    rb"[ \t]+"
)


@dataclass(frozen=True)
class Chunk:
    """A piece of a text: ``text == source[start:end]``, ``token_count`` tokens exactly."""

    index: int
    text: str
    start: int
    end: int
    token_count: int
    original_start: int | None = None
    original_end: int | None = None


def _char_start(data: bytes, position: int) -> int:
    """Move ``position`` back to the first byte of the UTF-8 character it falls in."""
    while 0 < position < len(data) and data[position] & 0xC0 == 0x80:
        position -= 1
    return position


def _next_char(data: bytes, position: int) -> int:
    position += 1
    while position < len(data) and data[position] & 0xC0 == 0x80:
        position += 1
    return position


def _boundary(data: bytes, floor: int, limit: int) -> int:
    """The best end in ``(floor, limit]``: paragraph, line, sentence, space, then character."""
    if limit >= len(data):
        return len(data)
    limit = _char_start(data, limit)
    if limit <= floor:
        return _next_char(data, floor)
    index = data.rfind(b"\n\n", floor + 1, limit)
    if index > floor and index + 2 <= limit:
        return index + 2
    index = data.rfind(b"\n", floor + 1, limit)
    if index > floor:
        return index + 1
    last = None
    for last in _SENTENCE_END.finditer(data, floor, limit):  # noqa: B007
        pass
    if last is not None and last.end() > floor + 1:
        return last.end()
    index = data.rfind(b" ", floor + 1, limit)
    if index > floor:
        return index + 1
    return limit


def _plain_char(data: bytes, position: int) -> bool:
    """True when the character at ``position`` is no whitespace, separator, control or "/"."""
    char = data[position : position + 4].decode("utf-8", errors="ignore")[:1]
    return bool(char) and char != "/" and unicodedata.category(char)[0] not in "ZC"


def count_from_longer(data: bytes, start: int, cut: int, ends: list[int]) -> int | None:
    """Exact token count of ``data[start:cut]`` read off the encoding of a longer text.

    ``ends`` are the byte ends (relative to ``start``) of the tokens of a text that starts
    at ``start`` and goes on past ``cut``. Two kinds of cut are pieces of
    the split pattern whatever follows, so their prefix tokenizes exactly as it does inside
    the longer text:

    - after a line break followed by a plain character: the tokens ending at ``cut``;
    - after one space between two plain characters: the tokens ending before the space,
      plus one for the space alone.

    Other cuts return None (count them by encoding). tests/test_chunking.py checks this
    against real encodes for both encodings.
    """
    if cut >= len(data) or cut < start + 2 or not _plain_char(data, cut):
        return None
    if data[cut - 1] == 0x0A:
        boundary, extra = cut - start, 0
    elif data[cut - 1] == 0x20 and _plain_char(data, _char_start(data, cut - 2)):
        boundary, extra = cut - 1 - start, 1
    else:
        return None
    count = bisect.bisect_right(ends, boundary)
    if count == 0 or ends[count - 1] != boundary:
        return None
    return count + extra


class TokenChunker:
    """Splits text into chunks of at most ``max_tokens`` tokens of ``encoding``.

    The text is encoded about once in all (see the module docstring): whole lines are
    packed with exact counts, and only lines longer than the limit cost extra encodes.
    """

    def __init__(self, encoding: LoadedEncoding, *, max_tokens: int, overlap_tokens: int = 0):
        if max_tokens < MIN_MAX_TOKENS:
            raise ValueError(f"max_tokens must be at least {MIN_MAX_TOKENS}, got {max_tokens}")
        if not 0 <= overlap_tokens <= max_tokens // 2:
            raise ValueError(f"overlap_tokens must be between 0 and {max_tokens // 2}")
        self.encoding = encoding
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens

    def split(self, text: str) -> list[Chunk]:
        if not text:
            return []
        data = text.encode("utf-8")
        if self.overlap_tokens:
            spans = self._window_spans(data, 0, len(data))
        else:
            spans = self._line_spans(data)
        return self._to_chunks(data, spans)

    def _line_spans(self, data: bytes) -> list[tuple[int, int, str, int]]:
        """Pack whole lines, cut at clean line ends, where token counts add up exactly.

        A line longer than the limit is cut by :meth:`_window_spans`.
        """
        encode = self.encoding.encoding.encode_ordinary
        cuts = [m.end() for m in _LINE_START.finditer(data) if _plain_char(data, m.end())]
        bounds = [0, *cuts, len(data)]
        lines = [(a, b, len(encode(data[a:b].decode("utf-8")))) for a, b in pairwise(bounds)]
        spans: list[tuple[int, int, str, int]] = []
        index = 0
        while index < len(lines):
            total, stop, paragraph = 0, index, None
            while stop < len(lines) and total + lines[stop][2] <= self.max_tokens:
                total += lines[stop][2]
                stop += 1
                if data.endswith(b"\n\n", 0, lines[stop - 1][1]):
                    paragraph = (stop, total)
            if stop == index:  # one line over the limit
                spans.extend(self._window_spans(data, lines[index][0], lines[index][1]))
                index += 1
                continue
            if stop < len(lines) and paragraph is not None:
                stop, total = paragraph
            begin, end = lines[index][0], lines[stop - 1][1]
            spans.append((begin, end, data[begin:end].decode("utf-8"), total))
            index = stop
        return spans

    def _window_spans(self, data: bytes, begin: int, stop: int) -> list[tuple[int, int, str, int]]:
        """Cut ``data[begin:stop]`` window by window (``stop`` must be a clean cut or the end)."""
        encode = self.encoding.encoding.encode_ordinary
        lengths = self.encoding.token_byte_lengths.__getitem__
        limit = self.max_tokens
        spans: list[tuple[int, int, str, int]] = []
        start = floor = begin
        bytes_per_token = 4.0
        while True:
            reach = start + int(limit * bytes_per_token * _WINDOW_MARGIN) + 16
            while True:
                candidate_end = stop if reach >= stop else _char_start(data, reach)
                tokens = encode(data[start:candidate_end].decode("utf-8"))
                if len(tokens) > limit or candidate_end >= stop:
                    break
                reach = start + 2 * (reach - start)  # the window held too few tokens
            if len(tokens) <= limit:  # the rest fits
                spans.append((start, stop, data[start:stop].decode("utf-8"), len(tokens)))
                return spans
            ends = list(accumulate(map(lengths, tokens[:limit])))
            end = _boundary(data, floor, start + ends[-1])
            piece = data[start:end].decode("utf-8")
            known = count_from_longer(data, start, end, ends)
            if known is not None:
                count = known
            else:
                count = len(encode(piece))
                if count > limit:
                    start, end, piece, count = self._refit(data, start, end, floor, count)
            spans.append((start, end, piece, count))
            if end >= stop:
                return spans
            bytes_per_token = max(1.0, (end - start) / max(1, count))
            floor = end
            if self.overlap_tokens:
                start = self._overlap_start(data, start, end, tokens)
            else:
                start = end

    def _refit(
        self, data: bytes, start: int, end: int, floor: int, count: int
    ) -> tuple[int, int, str, int]:
        """Cut ``[start, end)`` shorter until its exact count fits.

        When even one character past ``floor`` does not fit after the overlap, the overlap
        is given up (``start = floor``); a single character always fits.
        """
        encode = self.encoding.encoding.encode_ordinary
        while True:
            shrunk = start + (end - start) * self.max_tokens // count - 1
            shorter = _boundary(data, floor, max(floor, min(shrunk, end - 1)))
            if shorter >= end:
                if start == floor:
                    raise AssertionError("a single character exceeded the token limit")
                start = floor
            end = shorter
            piece = data[start:end].decode("utf-8")
            count = len(encode(piece))
            if count <= self.max_tokens:
                return start, end, piece, count

    def _overlap_start(self, data: bytes, start: int, end: int, tokens: list[int]) -> int:
        """About ``overlap_tokens`` tokens before ``end``, moved forward to a word start."""
        ends = list(accumulate(map(self.encoding.token_byte_lengths.__getitem__, tokens)))
        done = bisect.bisect_right(ends, end - start)
        back = done - self.overlap_tokens
        candidate = _char_start(data, start + ends[back - 1]) if back > 0 else start
        space = data.find(b" ", candidate, end)
        if space != -1:
            candidate = space + 1
        return candidate if start < candidate < end else end

    @staticmethod
    def _to_chunks(data: bytes, spans: list[tuple[int, int, str, int]]) -> list[Chunk]:
        positions = sorted({p for start, end, _, _ in spans for p in (start, end)})
        char_of: dict[int, int] = {}
        chars, previous = 0, 0
        for position in positions:
            chars += len(data[previous:position].decode("utf-8"))
            char_of[position] = chars
            previous = position
        return [
            Chunk(index, piece, char_of[start], char_of[end], count)
            for index, (start, end, piece, count) in enumerate(spans)
        ]


def chunk_normalized(normalized: NormalizedText, chunker: TokenChunker) -> list[Chunk]:
    """Chunks of a normalized article, each with its span in the original text too."""
    chunks = []
    for chunk in chunker.split(normalized.text):
        original_start, original_end = normalized.span_to_original(chunk.start, chunk.end)
        chunks.append(
            Chunk(
                chunk.index,
                chunk.text,
                chunk.start,
                chunk.end,
                chunk.token_count,
                original_start,
                original_end,
            )
        )
    return chunks
