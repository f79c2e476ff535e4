"""Source groups (near-duplicate articles) and story clusters, without comparing all pairs.

1. **Copies**: articles with the same text (whitespace-normalised) are one article for
   everything that follows; the others are listed as its copies.
2. **Source groups**: articles whose *content-word* sets have a Jaccard similarity of at
   least ``DUPLICATE_THRESHOLD`` retell the same source (a syndicated copy with small edits,
   a rewrite of one wire story; the seeds' rewritten pairs: 0.29 and 0.34, independent
   articles at most 0.16) *and* whose name sets have a Jaccard similarity of at least
   ``DUPLICATE_NAMES_THRESHOLD``, rarity-weighted (:func:`name_weights`): a retelling
   names the same people and places (the seeds' pairs 0.30 and 0.49, their independent
   articles at most 0.16); two short articles on different floods share everyday words
   and widely cited names ("Reuters"), not their own names. Word *shingles* would miss
   rewrites (the seeds' rewritten pairs share 4-10 % of their 2- and 3-word shingles), so
   the MinHash is over the word set.
   Candidates come from MinHash LSH over the group *leaders* only (an article that joins a
   group is not indexed), so a story of 10,000 copies costs 10,000 queries against a few
   leaders, not 50 million pairs. A candidate must come up in both the word LSH and a
   name LSH (articles of one template, such as weather reports, share words but not
   names), and is then checked exactly, unless its MinHash estimate is far below the
   threshold (:func:`_plausible`). The banding is datasketch's (its bands and rows for
   the threshold), kept in plain dicts (:class:`BandIndex`); the signatures of all
   articles are computed in numpy batches (:func:`minhashes`, datasketch's values).
   No other banding does better at this threshold: a pair of similarity s is a
   candidate with probability 1 - (1 - s^r)^b. With 64 permutations, b=32, r=2 gives
   recall 0.873 at 0.25 and candidates at 0.10 with probability 0.275; r=3 (b=21) keeps
   0.021 at 0.10 but recall falls to 0.282. Recall 0.99 at 0.25 needs r=2, b>=72
   (>= 144 permutations; then 0.52 at 0.10) or r=3, b>=293 (879 permutations; 0.25 at
   0.10). At a threshold this low, unrelated articles that share everyday words stay
   candidates, so the candidates per article grow with the number of leaders.
3. **Stories**: group leaders whose *name* sets (capitalised word runs, see
   :func:`entities`) have a rarity-weighted Jaccard similarity of at least
   ``STORY_THRESHOLD`` and share at least ``MIN_SHARED_NAMES`` names are linked; a story
   is a connected component of links and source groups. Candidates are blocked on each
   leader's ``KEYS_PER_DOC`` rarest names; a frequent name is never dropped: a leader is
   compared with the last ``WINDOW`` leaders of each of its blocks, so the work is
   bounded however large a block grows.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

import numpy as np
from datasketch import MinHash, MinHashLSH
from datasketch.hashfunc import sha1_hash32
from datasketch.minhash import _fmix

from summarizer._normalize import MONTHS
from summarizer._text import STOPWORDS, content_words, jaccard

T = TypeVar("T")
STORY_THRESHOLD = 0.1
MIN_SHARED_NAMES = 3
DUPLICATE_THRESHOLD = 0.25
DUPLICATE_NAMES_THRESHOLD = 0.25
NAMES_LSH_THRESHOLD = 0.2  # candidates' unweighted name Jaccard (the seeds' pairs: 0.48, 0.60)
NUM_PERM = 64
KEYS_PER_DOC = 6
WINDOW = 64
_CALENDAR = {
    *(m.lower() for m in MONTHS),
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
}  # fmt: skip
_POSSESSIVE = re.compile(r"[’']s?$")
_ENTITY = re.compile(r"\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*")
PLAUSIBLE_SIGMAS = 3.0
_MIN_AGREEING = math.ceil(
    NUM_PERM
    * (
        DUPLICATE_THRESHOLD
        - PLAUSIBLE_SIGMAS * math.sqrt(DUPLICATE_THRESHOLD * (1 - DUPLICATE_THRESHOLD) / NUM_PERM)
    )
)  # 6 of 64
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=7)  # its permutations are reused (130 µs each)


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


@lru_cache(maxsize=1 << 18)
def _token_hash(token: str) -> int:
    """datasketch's default token hash, once per distinct word (a corpus repeats its words)."""
    return int(sha1_hash32(token.encode("utf-8")))


_A, _B = (np.asarray(p, dtype=np.uint32) for p in _TEMPLATE.permutations)
_EMPTY = _TEMPLATE.hashvalues.astype(np.uint64)
CHUNK_TOKENS = 1 << 18  # tokens per numpy batch: 64 MiB of permuted values at a time


def minhashes(token_sets: Sequence[Iterable[str]]) -> np.ndarray:
    """The MinHash values datasketch gives each set's UTF-8 tokens (``scheme="affine32"``,
    ``seed=7``: same hash, same permutations; see :func:`minhash`), for all sets at once:
    each distinct token is hashed and mixed once, and the permutation and minimum run over
    one numpy array per batch of ``CHUNK_TOKENS`` tokens instead of one MinHash object per
    set. One row per set (``uint64``); an empty set keeps datasketch's initial values."""
    assert _TEMPLATE.scheme == "affine32", "datasketch's default MinHash scheme changed"
    out = np.tile(_EMPTY, (len(token_sets), 1))
    lengths = np.zeros(len(token_sets), dtype=np.int64)
    flat: list[int] = []
    first = 0

    def flush(stop: int) -> None:
        nonlocal flat, first
        if flat:
            mixed = _fmix(np.asarray(flat, dtype=np.uint32), 32)
            hashed = mixed[:, None] * _A + _B  # wraps mod 2^32, as datasketch's
            sizes = lengths[first:stop]
            rows = np.flatnonzero(sizes)
            offsets = np.concatenate(([0], np.cumsum(sizes[rows])[:-1]))
            out[first + rows] = np.minimum.reduceat(hashed, offsets, axis=0)
        flat, first = [], stop

    for index, tokens in enumerate(token_sets):
        before = len(flat)
        flat.extend(_token_hash(token) for token in tokens)
        lengths[index] = len(flat) - before
        if len(flat) >= CHUNK_TOKENS:
            flush(index + 1)
    flush(len(token_sets))
    return out


def minhash(tokens: Iterable[str]) -> MinHash:
    """The MinHash datasketch gives the tokens' UTF-8 bytes (same hash, same permutations)."""
    signature = MinHash(
        num_perm=NUM_PERM,
        seed=7,
        permutations=_TEMPLATE.permutations,
        scheme=_TEMPLATE.scheme,
        hashfunc=_token_hash,
    )
    signature.update_batch(list(tokens))
    return signature


class BandIndex:
    """MinHash LSH banding as :class:`datasketch.MinHashLSH` does it, with its (bands, rows)
    for the threshold and error weights, but a band's key is the bytes of its slice and a
    query is one dict lookup per band (datasketch byte-swaps each band and builds a set per
    query: 0.5 ms a query, most of the clustering time at 100k articles)."""

    def __init__(self, threshold: float, weights: tuple[float, float]):
        params = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=weights)
        self.bands, self.rows = params.b, params.r
        self.tables: list[defaultdict[bytes, list[int]]] = [
            defaultdict(list) for _ in range(self.bands)
        ]

    def keys(self, hashvalues: np.ndarray) -> list[bytes]:
        values = np.ascontiguousarray(hashvalues[: self.bands * self.rows])
        return [band.tobytes() for band in values.reshape(self.bands, self.rows)]

    def insert(self, item: int, keys: list[bytes]) -> None:
        for table, key in zip(self.tables, keys, strict=True):
            table[key].append(item)

    def query(self, keys: list[bytes]) -> set[int]:
        found: set[int] = set()
        for table, key in zip(self.tables, keys, strict=True):
            found.update(table.get(key, ()))
        return found


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
    fingerprint: str = ""


def signature(doc_id: str, text: str, seen: dict[str, Signature] | None = None) -> Signature:
    """Names, content words and a fingerprint of the text; with ``seen`` (fingerprint ->
    signature), a copy of a text already seen shares that text's sets."""
    fingerprint = hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()
    if seen is not None and fingerprint in seen:
        first = seen[fingerprint]
        return Signature(doc_id, first.entities, first.words, fingerprint)
    made = Signature(doc_id, entities(text), set(content_words(text)), fingerprint)
    if seen is not None:
        seen[fingerprint] = made
    return made


def name_weights(signatures: list[Signature]) -> dict[str, float]:
    """A name weighs log(1 + articles / articles naming it): two unrelated articles that
    both cite "Reuters" and "the United States" share names much of the corpus shares,
    which says little about them."""
    frequency = Counter(name for sig in signatures for name in sig.entities)
    return {name: math.log1p(len(signatures) / count) for name, count in frequency.items()}


def weighted_jaccard(a: set[str], b: set[str], weight: dict[str, float]) -> float:
    union = sum(weight[n] for n in a | b)
    return sum(weight[n] for n in a & b) / union if union else 0.0


def block_pairs(
    blocks: Iterable[Sequence[T]], key: Callable[[T], str], window: int | None = None
) -> Iterator[tuple[T, T]]:
    """Pairs of members that share a block, once however many blocks they share. With a
    ``window``, each member is paired only with the ``window`` members before it in the
    block (the work is then linear in the block's size; nothing is dropped)."""
    seen: set[tuple[str, str]] = set()
    for members in blocks:
        for index, b in enumerate(members):
            start = 0 if window is None else max(0, index - window)
            for a in members[start:index]:
                ka, kb = key(a), key(b)
                pair = (ka, kb) if ka < kb else (kb, ka)
                if ka != kb and pair not in seen:
                    seen.add(pair)
                    yield a, b


@dataclass
class Clusters:
    """The result of :func:`cluster`."""

    stories: list[list[str]]  # doc ids, largest story first
    source_groups: list[list[str]]  # near-duplicate groups (copies included)
    copies: dict[str, list[str]]  # primary doc id -> ids of articles with the same text
    links: list[tuple[str, str, float]] = field(default_factory=list)  # story links
    duplicates: list[tuple[str, str, float]] = field(default_factory=list)  # to group leader


def _primaries(signatures: list[Signature]) -> tuple[list[Signature], dict[str, list[str]]]:
    primary: dict[str, Signature] = {}
    copies: dict[str, list[str]] = {}
    for sig in signatures:
        first = primary.setdefault(sig.fingerprint or sig.doc_id, sig)
        copies.setdefault(first.doc_id, [])
        if first is not sig:
            copies[first.doc_id].append(sig.doc_id)
    return list(primary.values()), copies


def _plausible(candidates: set[int], values: np.ndarray, index: int) -> list[int]:
    """The candidates whose MinHash estimate of the word Jaccard similarity is within
    ``PLAUSIBLE_SIGMAS`` standard errors of ``DUPLICATE_THRESHOLD`` or above it, to be
    checked exactly. At the threshold the estimate's standard error is
    sqrt(t(1 - t) / NUM_PERM) (0.054), so a pair at the threshold is dropped with
    probability < 0.3 % and a pair above it less often; at 100k articles each article has
    hundreds of LSH candidates that share everyday words (similarity 0.05-0.15), and
    most of their exact checks are saved."""
    if not candidates:
        return []
    rows = np.fromiter(candidates, dtype=np.int64, count=len(candidates))
    agreeing = (values[rows] == values[index]).sum(axis=1)
    return [int(k) for k in rows[agreeing >= _MIN_AGREEING]]


def source_groups(
    primaries: list[Signature],
) -> tuple[dict[str, str], list[tuple[str, str, float]]]:
    """doc id -> its group leader, and the verified (member, leader, similarity) pairs."""
    words_lsh = BandIndex(DUPLICATE_THRESHOLD, (0.2, 0.8))
    names_lsh = BandIndex(NAMES_LSH_THRESHOLD, (0.4, 0.6))
    by_id = {sig.doc_id: sig for sig in primaries}
    weight = name_weights(primaries)
    groups = UnionFind(by_id)
    pairs = []
    values = minhashes([sig.words for sig in primaries])
    names = minhashes([sig.entities for sig in primaries])
    for index, sig in enumerate(primaries):
        hashed = words_lsh.keys(values[index])
        named = names_lsh.keys(names[index])
        candidates = words_lsh.query(hashed)
        if candidates and sig.entities:  # a retelling shares words *and* names
            candidates &= names_lsh.query(named)
        joined = False
        for leader in sorted(primaries[k].doc_id for k in _plausible(candidates, values, index)):
            other = by_id[leader]
            similarity = jaccard(sig.words, other.words)
            if similarity >= DUPLICATE_THRESHOLD and (
                not sig.entities | other.entities
                or weighted_jaccard(sig.entities, other.entities, weight)
                >= DUPLICATE_NAMES_THRESHOLD
            ):
                groups.union(leader, sig.doc_id)
                first, second = sorted((leader, sig.doc_id))
                pairs.append((first, second, round(similarity, 3)))
                joined = True
        if not joined:
            words_lsh.insert(index, hashed)
            names_lsh.insert(index, named)
    return {doc: groups.find(doc) for doc in by_id}, pairs


def story_links(leaders: list[Signature]) -> list[tuple[str, str, float]]:
    """Leader pairs whose name sets have a weighted Jaccard similarity (:func:`name_weights`)
    of at least ``STORY_THRESHOLD`` and share at least ``MIN_SHARED_NAMES`` names (two
    are never enough: the seeds' articles share 9 to 47, distinct RoSE articles at most 5
    with a weighted similarity of at most 0.06)."""
    frequency = Counter(name for sig in leaders for name in sig.entities)
    weight = name_weights(leaders)
    blocks: dict[str, list[Signature]] = defaultdict(list)
    for sig in leaders:
        usable = [name for name in sig.entities if frequency[name] >= 2]
        for name in sorted(usable, key=lambda n: (frequency[n], n))[:KEYS_PER_DOC]:
            blocks[name].append(sig)
    links = []
    for a, b in block_pairs(blocks.values(), lambda sig: sig.doc_id, WINDOW):
        if len(a.entities & b.entities) < MIN_SHARED_NAMES:
            continue
        similarity = weighted_jaccard(a.entities, b.entities, weight)
        if similarity >= STORY_THRESHOLD:
            first, second = sorted((a.doc_id, b.doc_id))
            links.append((first, second, round(similarity, 3)))
    return sorted(links)


def cluster(signatures: list[Signature]) -> Clusters:
    """Copies, source groups and stories of a corpus (see the module docstring)."""
    primaries, copies = _primaries(signatures)
    leader_of, duplicates = source_groups(primaries)
    by_id = {sig.doc_id: sig for sig in primaries}
    leaders = [by_id[doc] for doc in sorted(set(leader_of.values()))]
    links = story_links(leaders)
    stories = UnionFind(sig.doc_id for sig in signatures)
    groups = UnionFind(sig.doc_id for sig in signatures)
    for doc, leader in leader_of.items():
        for member in (doc, *copies[doc]):
            stories.union(member, leader)
            groups.union(member, leader)
    for a, b, _ in links:
        stories.union(a, b)
    ranked = sorted(stories.groups(), key=lambda g: (-len(g), g[0]))
    return Clusters(ranked, groups.groups(), copies, links, sorted(duplicates))
