from __future__ import annotations

from itertools import accumulate
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from summarizer._chunking import TokenChunker, chunk_normalized, count_from_longer
from summarizer._normalize import normalize_text
from summarizer._tokens import load_encoding

O200K = load_encoding("o200k_base")
CL100K = load_encoding("cl100k_base")

# Arbitrary Unicode, with extra weight on the characters chunk boundaries care about.
unicode_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.sampled_from(list(" \n\n\t.!?/\u00a0\u3000。é世🙂ab")),
    ),
    max_size=600,
)


def check_chunks(text: str, chunks, limit: int, encoding=O200K) -> None:
    assert "".join(c.text for c in chunks) == text
    position = 0
    for index, chunk in enumerate(chunks):
        assert chunk.index == index
        assert chunk.text
        assert chunk.start == position and text[chunk.start : chunk.end] == chunk.text
        assert chunk.token_count == encoding.count(chunk.text) <= limit
        position = chunk.end


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=unicode_text, limit=st.integers(min_value=8, max_value=64))
def test_chunks_never_exceed_the_limit_and_concatenate_back(text: str, limit: int) -> None:
    check_chunks(text, TokenChunker(O200K, max_tokens=limit).split(text), limit)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=unicode_text, limit=st.integers(min_value=8, max_value=64))
def test_the_bound_holds_for_cl100k_too(text: str, limit: int) -> None:
    check_chunks(text, TokenChunker(CL100K, max_tokens=limit).split(text), limit, CL100K)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    text=unicode_text,
    limit=st.integers(min_value=8, max_value=64),
    overlap=st.integers(min_value=1, max_value=32),
)
def test_overlapping_chunks_stay_bounded_and_cover_the_text(
    text: str, limit: int, overlap: int
) -> None:
    overlap = min(overlap, limit // 2)
    chunks = TokenChunker(O200K, max_tokens=limit, overlap_tokens=overlap).split(text)
    covered = 0
    for previous, chunk in zip([None, *chunks], chunks, strict=False):
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.token_count == O200K.count(chunk.text) <= limit
        assert chunk.start <= covered  # no gap
        if previous is not None:
            assert chunk.start > previous.start and chunk.end > previous.end
        covered = chunk.end
    assert covered == len(text)


@settings(max_examples=400, deadline=None)
@given(text=unicode_text, data=st.data())
@pytest.mark.parametrize("encoding", [O200K, CL100K], ids=["o200k", "cl100k"])
def test_counts_read_off_a_longer_text_equal_real_counts(encoding, text: str, data) -> None:
    raw = text.encode()
    if len(raw) < 3:
        return
    cut = data.draw(st.integers(min_value=1, max_value=len(raw) - 1))
    try:
        raw[:cut].decode()
    except UnicodeDecodeError:
        return
    tokens = encoding.encoding.encode_ordinary(text)
    ends = list(accumulate(encoding.token_byte_lengths[t] for t in tokens))
    known = count_from_longer(raw, 0, cut, ends)
    if known is not None:
        assert known == encoding.count(raw[:cut].decode())


def test_a_short_document_is_one_chunk() -> None:
    chunks = TokenChunker(O200K, max_tokens=100).split("One short paragraph.\n\nAnother.")
    assert len(chunks) == 1 and chunks[0].token_count == O200K.count(
        "One short paragraph.\n\nAnother."
    )


def test_splits_prefer_paragraphs_then_sentences_then_words() -> None:
    paragraph = "The first sentence is here. The second sentence follows it. " * 3
    text = paragraph.strip() + "\n\n" + paragraph.strip()
    chunks = TokenChunker(O200K, max_tokens=45).split(text)
    assert chunks[0].text.endswith("\n\n")
    long_sentence_text = "word " * 200
    chunks = TokenChunker(O200K, max_tokens=20).split(long_sentence_text)
    assert all(c.text.endswith(" ") or c is chunks[-1] for c in chunks)
    sentences = "Alpha beta gamma. " * 30
    chunks = TokenChunker(O200K, max_tokens=20).split(sentences)
    assert all(c.text.endswith(". ") for c in chunks[:-1])


def test_a_word_longer_than_the_limit_is_split_inside() -> None:
    text = "x" * 500 + " tail"
    chunks = TokenChunker(O200K, max_tokens=10).split(text)
    check_chunks(text, chunks, 10)
    assert len(chunks) > 5


def test_special_token_strings_chunk_as_text() -> None:
    text = "<|endoftext|> " * 50
    check_chunks(text, TokenChunker(O200K, max_tokens=16).split(text), 16)


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        TokenChunker(O200K, max_tokens=4)
    with pytest.raises(ValueError):
        TokenChunker(O200K, max_tokens=100, overlap_tokens=60)


def test_seed_chunks_map_to_the_original_file(seeds_dir: Path) -> None:
    for path in sorted(seeds_dir.glob("*.txt")):
        original = path.read_text(encoding="utf-8")
        normalized = normalize_text(original)
        chunks = chunk_normalized(normalized, TokenChunker(O200K, max_tokens=128))
        check_chunks(normalized.text, chunks, 128)
        for chunk in chunks:
            assert chunk.original_start is not None and chunk.original_end is not None
            span = original[chunk.original_start : chunk.original_end]
            first, last = chunk.text.split()[0], chunk.text.split()[-1]
            assert span.startswith(first) and span.rstrip().endswith(last)
