"""Story clusters and near-duplicate articles, with MinHash LSH (datasketch).

- Stories: articles whose *name* sets (capitalised word runs, stopwords removed)
  have a Jaccard similarity of at least ``STORY_THRESHOLD`` are linked; a story is a
  connected component. Articles on one event share their people, places and organisations
  even when written independently (the seeds: 0.14 to 0.47).
- Near-duplicates: articles of one story whose *content-word* sets have a Jaccard
  similarity of at least ``DUPLICATE_THRESHOLD`` retell the same source (the seeds'
  rewritten pairs: 0.29 and 0.34; independent articles at most 0.16).

Story links are found by blocking on rare names (see :func:`story_links`), near-duplicates
inside each story (exactly in a small story, with MinHash LSH in a large one); every
candidate is checked with the exact Jaccard similarity, so the thresholds are exact and no
step compares all pairs of the corpus.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from datasketch import MinHash, MinHashLSH

from summarizer._normalize import MONTHS
from summarizer._text import STOPWORDS, bag

T = TypeVar("T")
STORY_THRESHOLD = 0.12
DUPLICATE_THRESHOLD = 0.25
NUM_PERM = 128
MAX_BLOCK = 50
EXACT_STORY_SIZE = 200
_CALENDAR = {
    *(m.lower() for m in MONTHS),
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
}  # fmt: skip
_POSSESSIVE = re.compile(r"[’']s?$")
_ENTITY = re.compile(r"\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*")


def entities(text: str) -> set[str]:
    """Names: capitalised word runs, lower-cased. A single capitalised word that starts a
    sentence or a line is only an ordinary word capitalised ("Observers said ..."), so it
    counts only when the text also capitalises it mid-sentence; stopwords and calendar
    words (Monday, June) never count."""
    runs: list[tuple[str, bool]] = []
    for match in _ENTITY.finditer(text):
        words = []
        for word in match.group().split():
            word = _POSSESSIVE.sub("", word.lower())
            if len(word) > 1 and word not in STOPWORDS and word not in _CALENDAR:
                words.append(word)
        if words:
            before = text[: match.start()].rstrip()
            starts = not before or before[-1] in '.!?\n:"“”'
            runs.append((" ".join(words), starts and len(words) == 1))
    mid_sentence = {run for run, at_start in runs if not at_start}
    return {run for run, at_start in runs if not at_start or run in mid_sentence}


def minhash(tokens: Iterable[str]) -> MinHash:
    signature = MinHash(num_perm=NUM_PERM, seed=7)
    signature.update_batch([token.encode("utf-8") for token in tokens])
    return signature


class UnionFind:
    def __init__(self, items: Iterable[str]):
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[str]]:
        grouped: dict[str, list[str]] = {}
        for item in self.parent:
            grouped.setdefault(self.find(item), []).append(item)
        return sorted((sorted(g) for g in grouped.values()), key=lambda g: g[0])


@dataclass
class Signature:
    doc_id: str
    entities: set[str]
    words: set[str]


def signature(doc_id: str, text: str) -> Signature:
    return Signature(doc_id, entities(text), bag(text))


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def block_pairs(blocks: Iterable[list[T]], key: Callable[[T], str]) -> Iterator[tuple[T, T]]:
    """Every pair of members that share a block, once however many blocks they share."""
    seen: set[tuple[str, str]] = set()
    for members in blocks:
        for index, a in enumerate(members):
            for b in members[index + 1 :]:
                ka, kb = key(a), key(b)
                pair = (ka, kb) if ka < kb else (kb, ka)
                if ka != kb and pair not in seen:
                    seen.add(pair)
                    yield a, b


def story_links(signatures: list[Signature]) -> list[tuple[str, str, float]]:
    """Article pairs whose entity sets have a Jaccard similarity of at least
    ``STORY_THRESHOLD``. Blocked: articles are compared only when they share a name that
    at most ``MAX_BLOCK`` articles mention (a name in more, such as "China" in a large
    corpus, says nothing about two articles telling one story), so an article is compared
    with at most (its names x ``MAX_BLOCK``) others, however large the corpus."""
    frequency = Counter(name for sig in signatures for name in sig.entities)
    blocks: dict[str, list[Signature]] = defaultdict(list)
    for sig in signatures:
        for name in sig.entities:
            if 2 <= frequency[name] <= MAX_BLOCK:
                blocks[name].append(sig)
    links = []
    for a, b in block_pairs(blocks.values(), lambda sig: sig.doc_id):
        similarity = jaccard(a.entities, b.entities)
        if similarity >= STORY_THRESHOLD:
            first, second = sorted((a.doc_id, b.doc_id))
            links.append((first, second, round(similarity, 3)))
    return sorted(links)


def near_duplicates(members: list[Signature]) -> list[tuple[str, str, float]]:
    """Pairs of one story whose content-word Jaccard is at least ``DUPLICATE_THRESHOLD``:
    every pair of a small story; LSH candidates, checked exactly, in a large one."""
    if len(members) <= EXACT_STORY_SIZE:
        candidates = [(a, b) for i, a in enumerate(members) for b in members[i + 1 :]]
    else:
        lsh = MinHashLSH(threshold=DUPLICATE_THRESHOLD, num_perm=NUM_PERM, weights=(0.1, 0.9))
        hashes = {sig.doc_id: minhash(sig.words) for sig in members}
        by_id = {sig.doc_id: sig for sig in members}
        for doc_id, hashed in hashes.items():
            lsh.insert(doc_id, hashed)
        candidates = [
            (by_id[doc_id], by_id[other])
            for doc_id, hashed in hashes.items()
            for other in lsh.query(hashed)
            if other > doc_id
        ]
    pairs = []
    for a, b in candidates:
        similarity = jaccard(a.words, b.words)
        if similarity >= DUPLICATE_THRESHOLD:
            first, second = sorted((a.doc_id, b.doc_id))
            pairs.append((first, second, round(similarity, 3)))
    return sorted(pairs)


def cluster(
    signatures: list[Signature],
) -> tuple[list[list[str]], list[tuple[str, str, float]], list[tuple[str, str, float]]]:
    """Stories (lists of doc ids), the story links and the near-duplicate pairs."""
    links = story_links(signatures)
    stories = UnionFind(sig.doc_id for sig in signatures)
    for a, b, _ in links:
        stories.union(a, b)
    groups = stories.groups()
    by_id = {sig.doc_id: sig for sig in signatures}
    duplicates = [pair for group in groups for pair in near_duplicates([by_id[d] for d in group])]
    return groups, links, sorted(duplicates)
