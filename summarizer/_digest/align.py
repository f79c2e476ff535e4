"""Aligning claims across the articles of a story, without comparing all pairs.

Blocking: each claim is indexed under its ``KEYS_PER_CLAIM`` rarest content words (rarest
in the story). Only claims that share a block are compared, each with at most the
``MAX_BLOCK`` claims before it in the block (a common word is never dropped, its block is
only windowed), with the Dice overlap of their content words, so the work grows with the
number of claims times a constant. Pairs at ``ALIGN_THRESHOLD`` or above state the same
claim and are grouped; pairs at ``RELATED_THRESHOLD`` or above are "related" and are
checked for contradictions.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache

from summarizer._digest.cluster import UnionFind, block_pairs
from summarizer._digest.records import Statement, statements
from summarizer._models import Claim
from summarizer._text import content_word_set, dice, numbers

ALIGN_THRESHOLD = 0.45
RELATED_THRESHOLD = 0.3
KEYS_PER_CLAIM = 4
MAX_BLOCK = 64


_NEGATION = re.compile(r"n't\b|\b(?:not|no|never|neither|nor|denied|denies)\b", re.IGNORECASE)


@lru_cache(maxsize=1 << 16)  # the claims of near-duplicates are compared again and again
def negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


@lru_cache(maxsize=1 << 16)
def claim_numbers(text: str) -> frozenset[str]:
    return frozenset(numbers(text))


@dataclass(slots=True)
class Item:
    key: str  # "doc_id#claim_id"
    doc_id: str
    claim: Statement
    words: set[str]

    @property
    def quote(self) -> str | None:
        """The located evidence, a span of the article's text (None: ungrounded)."""
        return self.claim.quote

    @property
    def start(self) -> int | None:
        return self.claim.start

    @property
    def end(self) -> int | None:
        return self.claim.end


def items_of(
    doc_id: str,
    claims: list[Claim] | list[Statement],
    text: str | None = None,
    words: dict[str, set[str]] | None = None,
    *,
    compared: bool = True,
) -> list[Item]:
    """One item per claim; with the article's ``text``, a grounded claim's quote is the
    article's own text at the first located span (never the engine's paraphrase), see
    :func:`~summarizer._digest.records.statements` (``claims`` may be those already).
    ``words`` caches content words by claim text (near-duplicates repeat claims). Claims
    that will not be ``compared`` with others' (a story of one article: there are no
    pairs) get no content words, only an empty set: a third of a large corpus's claims."""
    cache = {} if words is None else words
    stated = [c for c in claims if isinstance(c, Statement)]
    if len(stated) != len(claims):
        stated = statements([c for c in claims if isinstance(c, Claim)], text)
    if not compared:
        return [Item(f"{doc_id}#{s.id}", doc_id, s, set()) for s in stated]
    items = []
    for statement in stated:
        if statement.text not in cache:
            cache[statement.text] = content_word_set(statement.text)
        items.append(Item(f"{doc_id}#{statement.id}", doc_id, statement, cache[statement.text]))
    return items


def candidate_pairs(items: list[Item]) -> list[tuple[Item, Item, float]]:
    """Pairs of claims from different articles sharing a rare word, with their similarity."""
    frequency = Counter(word for item in items for word in item.words)
    blocks: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        usable = [w for w in item.words if frequency[w] >= 2]
        for word in sorted(usable, key=lambda w: (frequency[w], w))[:KEYS_PER_CLAIM]:
            blocks[word].append(item)
    pairs = []
    for a, b in block_pairs(blocks.values(), lambda item: item.key, MAX_BLOCK):
        if a.doc_id != b.doc_id:
            similarity = dice(a.words, b.words)
            if similarity >= RELATED_THRESHOLD:
                pairs.append((a, b, similarity))
    return pairs


def align(items: list[Item], pairs: list[tuple[Item, Item, float]]) -> list[list[Item]]:
    """Groups of claims that state the same thing, in document order within a group.

    Pairs are merged strongest first, and two groups merge only when no article is in
    both (an article states a claim once), so chains of loosely similar claims cannot
    swallow different facts. Claims with other numbers, or one negated and the other not,
    never merge: they are contradiction candidates, not one fact.
    """
    if not pairs:  # a story of one article, or nothing related: every claim on its own
        return [[item] for item in items]
    groups = UnionFind(item.key for item in items)
    articles = {item.key: {item.doc_id} for item in items}
    strong = [pair for pair in pairs if pair[2] >= ALIGN_THRESHOLD]  # the rest never merge
    for a, b, _ in sorted(strong, key=lambda p: -p[2]):
        if claim_numbers(a.claim.text) != claim_numbers(b.claim.text):
            continue
        if negated(a.claim.text) != negated(b.claim.text):
            continue
        root_a, root_b = groups.find(a.key), groups.find(b.key)
        if root_a == root_b or articles[root_a] & articles[root_b]:
            continue
        groups.union(root_a, root_b)
        articles[groups.find(root_a)] = articles[root_a] | articles[root_b]
    by_key = {item.key: item for item in items}
    order = {item.key: index for index, item in enumerate(items)}
    return [
        sorted((by_key[k] for k in group), key=lambda i: order[i.key]) for group in groups.groups()
    ]
