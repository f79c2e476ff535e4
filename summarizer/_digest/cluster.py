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
   the measure is over the word set.
   Candidates are exact, not sampled: :class:`PrefixIndex` finds every group *leader*
   whose rarity-weighted name similarity with the article can reach
   ``DUPLICATE_NAMES_THRESHOLD`` (prefix filtering, as in the all-pairs similarity joins
   AllPairs and PPJoin), and each is then checked exactly on both measures. Only leaders
   are indexed (an article that joins a group is not), so a story of 10,000 copies costs
   10,000 queries against a few leaders, not 50 million pairs. The filter is on names,
   not words, because it is the selective one: a prefix keeps an article's rarest names
   until what is left weighs less than the threshold's share of the whole, and rare names
   are heavy (log(1 + N/1) = 11.5 at N = 100,000 against 2.4 for a name in a tenth of the
   corpus), so a prefix is a few rare names with short posting lists. A word prefix at
   0.25 would be three quarters of the article's words, everyday ones included. Articles
   without names can only join articles without names (their name similarity with a named
   article is 0); they are joined the same way on their words.
   MinHash LSH, used before, cannot be exact at this threshold: a pair of similarity s is
   a candidate with probability 1 - (1 - s^r)^b, and recall 0.99 at 0.25 with 64
   permutations is out of reach (b=32, r=2 gives 0.873, with pairs at 0.10 still
   candidates with probability 0.275; recall 0.99 needs r=2, b>=72, and then 0.52 at
   0.10), so unrelated articles that share everyday words stayed candidates and the
   candidates per article grew with the number of leaders.
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
from typing import Any, Generic, TypeVar

import numpy as np

from summarizer._normalize import MONTHS
from summarizer._text import STOPWORDS, content_word_set

T = TypeVar("T")
K = TypeVar("K", str, int)  # a token: a name, or a word's hash
STORY_THRESHOLD = 0.1
MIN_SHARED_NAMES = 3
DUPLICATE_THRESHOLD = 0.25
DUPLICATE_NAMES_THRESHOLD = 0.25
KEYS_PER_DOC = 6
WINDOW = 64
_CALENDAR = {
    *(m.lower() for m in MONTHS),
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
}  # fmt: skip
# A capitalised run. "[A-Z](?<!\w[A-Z])" is "\b[A-Z]" (no word character before the capital)
# written so that the regex engine can skip ahead to the next capital letter: twice as fast.
_ENTITY = re.compile(r"[A-Z](?<!\w[A-Z])[\w’'-]*(?:\s+[A-Z][\w’'-]*)*")


def _sentence_start(text: str, at: int) -> bool:
    """Whether ``at`` starts the text or follows a sentence's end (whitespace skipped)."""
    before = at - 1
    while before >= 0 and text[before].isspace():
        before -= 1
    return before < 0 or text[before] in '.!?\n:"“”'


@lru_cache(maxsize=1 << 16)  # a corpus names the same people and places again and again
def _name(run: str) -> tuple[str, int]:
    """A capitalised run as a name (lower-cased, possessives, stopwords and calendar words
    dropped) and its number of words."""
    words = []
    for word in run.split():
        word = word.lower()
        if word.endswith(("'s", "’s")):  # a possessive's ending dropped
            word = word[:-2]
        elif word.endswith(("'", "’")):
            word = word[:-1]
        if len(word) > 1 and word not in STOPWORDS and word not in _CALENDAR:
            words.append(word)
    return " ".join(words), len(words)


def forget_names() -> None:
    """Clear the memo of parsed names (names are read from the texts only; 16 MB full)."""
    _name.cache_clear()


def entities(text: str) -> set[str]:
    """Names: capitalised word runs, lower-cased. A single capitalised word that starts a
    sentence or a line is only an ordinary word capitalised ("Observers said ..."), so it
    counts only when the text also capitalises it mid-sentence; stopwords and calendar
    words (Monday, June) never count."""
    runs: list[tuple[str, bool]] = []
    for match in _ENTITY.finditer(text):
        run, length = _name(match.group())
        if length:
            runs.append((run, length == 1 and _sentence_start(text, match.start())))
    mid_sentence = {run for run, at_start in runs if not at_start}
    return {run for run, at_start in runs if not at_start or run in mid_sentence}


class PrefixIndex(Generic[K]):
    """Exact candidates for a weighted Jaccard threshold ``t``, by prefix filtering.

    Tokens are taken in one global order, rarest first (``frequency``, then the token), and
    each token has a positive ``weight``. The *prefix* of a set x is its shortest first part
    such that the rest weighs less than ``t * W(x)``. If W(x & y) >= t * W(x | y), the
    first token of x & y in the global order is in both prefixes: everything of x & y lies
    at or after it, so were it outside x's prefix, W(x & y) would be at most the weight of
    x's rest, less than t * W(x) <= t * W(x | y). So indexing each set under its prefix and
    looking a set up under its prefix finds every pair at or above ``t``. The weights are
    compared with a relative slack of ``1e-9`` (a longer prefix), so floating-point sums
    never lose a pair at the threshold.
    """

    def __init__(self, threshold: float, frequency: Counter[K], weight: dict[K, float]):
        self.threshold = threshold
        self.weight: dict[K, float] = weight
        ranked = sorted(frequency, key=lambda token: (frequency[token], token))
        self.rank: dict[K, int] = {token: n for n, token in enumerate(ranked)}
        self.postings: defaultdict[K, list[int]] = defaultdict(list)

    def prefix(self, tokens: Iterable[K]) -> list[K]:
        ordered = sorted(tokens, key=self.rank.__getitem__)
        rest = sum(self.weight[token] for token in ordered)
        needed = self.threshold * rest * (1 - 1e-9)
        for length, token in enumerate(ordered):
            if rest < needed:
                return ordered[:length]
            rest -= self.weight[token]
        return ordered

    def query(self, prefix: list[K]) -> set[int]:
        found: set[int] = set()
        for token in prefix:
            found.update(self.postings.get(token, ()))
        return found

    def insert(self, item: int, prefix: list[K]) -> None:
        for token in prefix:
            self.postings[token].append(item)


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


def word_hashes(words: Iterable[str]) -> np.ndarray:
    """A word set as the sorted array of its words' 64-bit hashes: 8 bytes a word where a
    Python set of 150 words takes 8 KB (100,000 articles' sets were most of the digest's
    memory). Two distinct words share a hash with probability 2^-64, so the similarity of
    two arrays is their sets' similarity for any corpus."""
    hashed = np.fromiter(map(hash, words), dtype=np.int64)
    hashed.sort()
    return hashed


def word_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`summarizer._text.jaccard` of two :func:`word_hashes` arrays."""
    if not a.size or not b.size:
        return 0.0
    at = np.minimum(np.searchsorted(b, a), b.size - 1)  # both sorted and unique
    shared = int(np.count_nonzero(b[at] == a))
    return shared / (a.size + b.size - shared)


@dataclass
class Signature:
    doc_id: str
    entities: set[str]
    words: np.ndarray  # word_hashes of the content words
    fingerprint: str = ""


def fingerprint(text: str) -> str:
    """The text's fingerprint: texts that differ only in whitespace share it."""
    return hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()


def names_and_words(text: str) -> tuple[set[str], np.ndarray]:
    """The text's names (:func:`entities`) and content words (:func:`word_hashes`)."""
    return entities(text), word_hashes(content_word_set(text))


def signature(doc_id: str, text: str) -> Signature:
    """Names, content words and a fingerprint of the text (the corpus reader shares a
    copy's sets with its first text: :func:`~summarizer._digest.records.read_corpus`)."""
    return Signature(doc_id, *names_and_words(text), fingerprint(text))


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
    block (the work is then linear in the block's size; nothing is dropped). Each key is
    numbered once and a pair is remembered as one integer (millions are checked)."""
    numbers: dict[str, int] = {}
    seen: set[int] = set()
    for members in blocks:
        ids = [numbers.setdefault(key(member), len(numbers)) for member in members]
        for index in range(1, len(members)):
            kb = ids[index]
            start = 0 if window is None else max(0, index - window)
            for position in range(start, index):
                ka = ids[position]
                pair = (ka << 32) | kb if ka < kb else (kb << 32) | ka
                if ka != kb and pair not in seen:
                    seen.add(pair)
                    yield members[position], members[index]


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


def word_jaccards(words: np.ndarray, others: list[np.ndarray]) -> list[float]:
    """:func:`word_jaccard` of ``words`` with each of ``others``, in one pass of array
    operations (an article is checked against all its candidate leaders at once)."""
    if not words.size or not others:
        return [0.0] * len(others)
    sizes = np.fromiter(map(len, others), dtype=np.int64, count=len(others))
    joined = np.concatenate(others)
    at = np.minimum(np.searchsorted(words, joined), words.size - 1)
    hits = np.zeros(joined.size + 1, dtype=np.int64)
    np.cumsum(words[at] == joined, out=hits[1:])
    ends = np.cumsum(sizes)
    shared = hits[ends] - hits[ends - sizes]
    union = words.size + sizes - shared
    return [
        s / u if size else 0.0
        for s, u, size in zip(shared.tolist(), union.tolist(), sizes.tolist(), strict=True)
    ]


def _duplicates(
    sig: Signature, candidates: list[Signature], weight: dict[str, float]
) -> list[float | None]:
    """The word similarity of each near-duplicate pair of ``sig`` and a candidate (both
    measures at their thresholds; None otherwise). The names first: they are few."""
    named = [
        not (sig.entities or other.entities)
        or weighted_jaccard(sig.entities, other.entities, weight) >= DUPLICATE_NAMES_THRESHOLD
        for other in candidates
    ]
    similar = iter(
        word_jaccards(sig.words, [o.words for o, ok in zip(candidates, named, strict=True) if ok])
    )
    found: list[float | None] = []
    for ok in named:
        similarity = next(similar) if ok else 0.0
        found.append(similarity if similarity >= DUPLICATE_THRESHOLD else None)
    return found


def _prefix_indexes(
    primaries: list[Signature], weight: dict[str, float]
) -> dict[bool, PrefixIndex[Any]]:
    """The index for named articles (on names) and for unnamed ones (on words, unweighted)."""
    names = Counter(name for sig in primaries for name in sig.entities)
    words: Counter[int] = Counter()
    for sig in primaries:
        if not sig.entities:
            words.update(sig.words.tolist())
    return {
        True: PrefixIndex[str](DUPLICATE_NAMES_THRESHOLD, names, weight),
        False: PrefixIndex[int](DUPLICATE_THRESHOLD, words, dict.fromkeys(words, 1.0)),
    }


def source_groups(
    primaries: list[Signature],
) -> tuple[dict[str, str], list[tuple[str, str, float]]]:
    """doc id -> its group leader, and the verified (member, leader, similarity) pairs: each
    article is checked against every earlier leader it can be a near-duplicate of
    (:class:`PrefixIndex`: no pair at the thresholds is missed) and joins all that pass."""
    weight = name_weights(primaries)
    indexes = _prefix_indexes(primaries, weight)
    groups = UnionFind(sig.doc_id for sig in primaries)
    pairs = []
    for number, sig in enumerate(primaries):
        index = indexes[bool(sig.entities)]
        prefix = index.prefix(sig.entities or sig.words.tolist())
        joined = False
        leaders = sorted(index.query(prefix))
        checked = _duplicates(sig, [primaries[leader] for leader in leaders], weight)
        for leader, similarity in zip(leaders, checked, strict=True):
            if similarity is not None:
                other = primaries[leader].doc_id
                groups.union(other, sig.doc_id)
                first, second = sorted((other, sig.doc_id))
                pairs.append((first, second, round(similarity, 3)))
                joined = True
        if not joined:
            index.insert(number, prefix)
    return {sig.doc_id: groups.find(sig.doc_id) for sig in primaries}, pairs


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
