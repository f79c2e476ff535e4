"""Chunker throughput against other token-aware splitters, same encoding, 512 tokens.

    pip install -e . langchain-text-splitters semantic-text-splitter chonkie
    python benchmarks/chunker_speed.py [--mb 4.2] [--repeat 3]

Every splitter gets the same documents (benchmarks/corpus.py) and the o200k_base encoding.
Throughput is input MB over the best of ``--repeat`` wall times; every chunk of every
splitter is then counted exactly with tiktoken to check the 512-token bound.
Splitters that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import build_corpus  # type: ignore[import-not-found]  # noqa: E402

from summarizer._chunking import TokenChunker  # noqa: E402
from summarizer._tokens import load_encoding  # noqa: E402

CHUNK_TOKENS = 512


def make_splitters() -> dict[str, Callable[[str], list[str]]]:
    loaded = load_encoding("o200k_base")
    # Other libraries call tiktoken.get_encoding("o200k_base"), which would download the
    # BPE file: hand them the same offline, hash-checked encoding through tiktoken's registry.
    import tiktoken.registry

    tiktoken.registry.ENCODINGS["o200k_base"] = loaded.encoding

    ours = TokenChunker(loaded, max_tokens=CHUNK_TOKENS)
    splitters: dict[str, Callable[[str], list[str]]] = {
        "summarizer TokenChunker": lambda text: [c.text for c in ours.split(text)]
    }
    try:
        from semantic_text_splitter import TextSplitter

        semantic = TextSplitter.from_tiktoken_model("gpt-4o", CHUNK_TOKENS)
        splitters["semantic-text-splitter"] = semantic.chunks
    except ImportError:
        pass
    try:
        from chonkie import RecursiveChunker

        chonkie = RecursiveChunker(tokenizer=loaded.encoding, chunk_size=CHUNK_TOKENS)
        splitters["chonkie RecursiveChunker"] = lambda text: [c.text for c in chonkie.chunk(text)]
    except ImportError:
        pass
    try:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        langchain = RecursiveCharacterTextSplitter.from_tiktoken_encoder(
            encoding_name="o200k_base", chunk_size=CHUNK_TOKENS, chunk_overlap=0
        )
        splitters["langchain RecursiveCharacter"] = langchain.split_text
    except ImportError:
        pass
    return splitters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=4.2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    documents = build_corpus(int(args.mb * 1_000_000))
    megabytes = sum(len(d.encode()) for d in documents) / 1e6
    encoding = load_encoding("o200k_base").encoding
    print(
        f"corpus: {len(documents)} documents, {megabytes:.2f} MB, "
        f"{sum(len(encoding.encode_ordinary(d)) for d in documents):,} tokens"
    )
    print(f"| splitter | MB/s | chunks | max tokens | chunks > {CHUNK_TOKENS} |")
    print("|---|---:|---:|---:|---:|")
    for name, split in make_splitters().items():
        split(documents[0])  # warm-up
        best = float("inf")
        chunks: list[str] = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            chunks = [c for d in documents for c in split(d)]
            best = min(best, time.perf_counter() - started)
        counts = [len(encoding.encode_ordinary(c)) for c in chunks]
        over = sum(count > CHUNK_TOKENS for count in counts)
        print(f"| {name} | {megabytes / best:.2f} | {len(chunks):,} | {max(counts)} | {over} |")


if __name__ == "__main__":
    main()
