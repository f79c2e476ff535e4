"""Is a result believable? The checks that mark a schema-valid result as *suspect*.

A model can fill the schema with text that is not a summary of the article: a small or
confused model copies its instructions, the schema's field descriptions, the document id
or the field names; it invents every quote; it writes about something else. Such a result
validates, so without these checks it would pass as a plain success. Each check below is
defined by what a summary of *this* article must be, not by numbers fitted to a corpus:

``no_grounded_claims``
    The claims exist and not one of their evidence quotes was found in the article
    (grounding, :mod:`summarizer._grounding`). A reader has nothing in the article to check
    any claim against.
``echoes_instructions``
    The summary or a key point says nothing the instructions did not already say: every
    word of it occurs in the instructions the model was given (the prompt templates, the
    schema's field names and descriptions, the document id), and its word sequence is not
    a passage of the article. Text that could have been written without reading the
    article carries no information about it.
``field_name``
    A key point is the name of a schema field or of one of its values (``claim``,
    ``evidence``, ``speaker``, ``fact``, ...): the model confused the schema with the
    content.
``unrelated_summary``
    The summary is empty, or most of its content words (stemmed, stopwords left out) do
    not occur in the article. A summary restates the article: it names its people, places,
    numbers and events, so even a paraphrase shares most of its content words with it;
    one whose words are mostly foreign to the article is about something else. "Most" is
    the majority, the one boundary that needs no tuning.

A suspect result keeps ``status: "ok"`` (it is schema-valid and its text is kept for a
person to look at) and lists its :class:`SuspectReason`\\ s; ``summarizer run
--fail-suspect`` counts it as a failure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from functools import cached_property, lru_cache

from pydantic import BaseModel

from summarizer._models import (
    Claim,
    ClaimDraft,
    ClaimKind,
    ExtractionDraft,
    ReduceDraft,
    SuspectReason,
)
from summarizer._schemas import strict_schema
from summarizer._text import content_word_set

_TOKEN = re.compile(r"\w+")
_DRAFTS: tuple[type[BaseModel], ...] = (ExtractionDraft, ReduceDraft, ClaimDraft)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (letters, digits; ``_`` and ``-`` split words)."""
    return [t for t in _TOKEN.findall(text.casefold().replace("_", " "))]


@lru_cache(maxsize=1)
def _schema_text() -> str:
    """The wire schemas a model is given (field names, titles, descriptions, the claim
    kinds and JSON Schema's own words: ``type``, ``string``, ``array``...)."""
    return "\n".join(json.dumps(strict_schema(draft)) for draft in (ExtractionDraft, ReduceDraft))


@lru_cache(maxsize=1)
def field_names() -> frozenset[str]:
    """Schema field names and values, as a model might write them: ``key points``, ``fact``."""
    names = {kind.value for kind in ClaimKind}
    for draft in _DRAFTS:
        names |= set(draft.model_fields)
    return frozenset(" ".join(tokens(name)) for name in names)


class Checker:
    """The suspect checks for results of one engine, whose instructions are ``instructions``
    (the static text of its prompts; empty for an engine that has none)."""

    def __init__(self, instructions: str = ""):
        self.vocabulary = frozenset(tokens(instructions + "\n" + _schema_text()))

    def reasons(
        self,
        *,
        doc_id: str,
        article: str,
        summary: str,
        key_points: Sequence[str],
        claims: Sequence[Claim],
    ) -> list[SuspectReason]:
        """Why a result for ``article`` is suspect; empty when it is believable."""
        article_tokens = _ArticleTokens(article)
        vocabulary = self.vocabulary | set(tokens(doc_id))
        found: list[SuspectReason] = []
        if claims and not any(claim.grounded for claim in claims):
            found.append(
                SuspectReason(
                    code="no_grounded_claims",
                    message=f"none of the {len(claims)} claims' quotes is in the article",
                )
            )
        labelled = [("summary", summary)] + [
            (f"key point {n}", point) for n, point in enumerate(key_points, start=1)
        ]
        for label, text in labelled:
            if label != "summary" and " ".join(tokens(text)) in field_names():
                found.append(
                    SuspectReason(
                        code="field_name",
                        message=f"the {label} is a schema field name: {text[:40]!r}",
                    )
                )
            elif _echoes(text, vocabulary, article_tokens):
                found.append(
                    SuspectReason(
                        code="echoes_instructions",
                        message=f"the {label} repeats the instructions, not the article: "
                        f"{text[:80]!r}",
                    )
                )
        unrelated = _unrelated(summary, article)
        if unrelated:
            found.append(SuspectReason(code="unrelated_summary", message=unrelated))
        return found


class _ArticleTokens:
    """The article's tokens joined by spaces, space-padded, tokenised only when asked:
    only a text whose every word is in the instructions needs them, and most have none."""

    def __init__(self, article: str):
        self.article = article

    @cached_property
    def joined(self) -> str:
        return " " + " ".join(tokens(self.article)) + " "


def _echoes(text: str, vocabulary: Iterable[str], article_tokens: _ArticleTokens) -> bool:
    """Every word of ``text`` is in ``vocabulary``, and ``text`` is not a passage of the
    article."""
    words = tokens(text)
    if not words or not set(words).issubset(vocabulary):
        return False
    return f" {' '.join(words)} " not in article_tokens.joined


def _unrelated(summary: str, article: str) -> str | None:
    """Why the summary is not about the article, or None: it is empty, or fewer than half
    of its distinct content words occur in the article."""
    if not summary.strip():
        return "the summary is empty"
    words = content_word_set(summary)
    if not words:
        return None  # nothing to compare; an echo, if it is one, is reported as such
    shared = words & content_word_set(article)
    if 2 * len(shared) < len(words):
        return (
            f"the summary shares {len(shared)} of its {len(words)} content words with the article"
        )
    return None
