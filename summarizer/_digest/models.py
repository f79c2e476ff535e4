"""What a corpus digest contains (exported to schemas/digest.schema.json)."""

from __future__ import annotations

import time
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from summarizer._models import DocumentFailure


class Support(BaseModel):
    """One article's backing for a digest claim, with its own quote and span."""

    doc_id: str
    claim_id: str
    claim: str = Field(description="The claim as this article's summary states it.")
    evidence: str = Field(
        description="The article's own text at [start, end) when grounded; otherwise the "
        "engine's quote, which was not found in the article."
    )
    start: int | None = Field(description="Start of the quote in the article's original text.")
    end: int | None
    grounded: bool = Field(description="Ungrounded support is shown but never counted.")
    source: str = Field(default="", description="The article's source group (its leader).")
    copies: list[str] = Field(
        default_factory=list, description="Articles with exactly the same text as doc_id."
    )
    restated_by: list[str] = Field(
        default_factory=list,
        description="Other articles of the same source group that state this claim with the "
        "same quote, each at its own offset in its own text (near-duplicates with small "
        "edits), and their copies: one entry for all of them, not one each.",
    )

    @property
    def articles(self) -> list[str]:
        """Every article this entry stands for: doc_id, its copies, the restatements."""
        return [self.doc_id, *self.copies, *self.restated_by]


class DigestClaim(BaseModel):
    id: str
    text: str
    support: list[Support]
    articles: int = Field(description="Articles that state the claim with a grounded quote.")
    sources: int = Field(
        description="Independent sources with a grounded quote: a source group counts once."
    )
    support_note: str = Field(description="For example '3 of 4 sources (5 articles)'.")
    disputed_by: list[str] = Field(
        default_factory=list, description="Contradictions one of its quotes is a side of."
    )


class NearDuplicate(BaseModel):
    articles: list[str] = Field(min_length=2, max_length=2)
    similarity: float = Field(description="Estimated Jaccard similarity of their content words.")


class ContradictionSide(BaseModel):
    """One source group's statement of a value (its first article quoted)."""

    doc_id: str
    claim_id: str
    quote: str = Field(description="A span of doc_id's text: [start, end).")
    start: int | None = None
    end: int | None = None
    value: str = Field(description="The disagreeing value as this side states it.")
    source: str = Field(default="", description="The source group (its leader).")
    articles: list[str] = Field(
        default_factory=list, description="Every article of the group stating this value."
    )


class Contradiction(BaseModel):
    id: str
    slot: Literal["number", "date", "name", "title", "polarity"]
    description: str
    sides: list[ContradictionSide] = Field(min_length=2)
    confirmed: bool | None = Field(
        default=None,
        description="A model's verdict when one was asked; null when none was asked or the "
        "confirmation failed (see confirmation_error).",
    )
    confirmation_error: str | None = None

    @property
    def values(self) -> list[str]:
        return sorted({side.value for side in self.sides})


class Story(BaseModel):
    id: str
    articles: list[str]
    similarity: list[NearDuplicate] = Field(
        default_factory=list, description="Entity-set similarity of linked article pairs."
    )
    near_duplicates: list[NearDuplicate] = Field(
        description="Verified near-duplicate pairs (each article with its group's leader)."
    )
    source_groups: list[list[str]] = Field(
        default_factory=list,
        description="Independent sources: near-duplicate articles and copies, one list each.",
    )
    sources: int = Field(description="Independent sources among the articles.")
    summary: str
    consensus: list[DigestClaim] = Field(
        description="Claims two or more sources state with grounded quotes and no source "
        "contradicts."
    )
    disputed: list[DigestClaim] = Field(
        default_factory=list, description="Claims a contradiction has a side in."
    )
    unique: list[DigestClaim] = Field(description="Claims only one source states.")
    contradictions: list[Contradiction]


class DigestReport(BaseModel):
    created: float = Field(default_factory=time.time)
    engine: str
    articles: list[str] = Field(description="Every article given, summarised or not.")
    summarised: list[str] = Field(
        default_factory=list, description="Articles summarised (the digest covers these)."
    )
    stories: list[Story]
    failures: list[DocumentFailure] = Field(default_factory=list)

    def __repr__(self) -> str:
        """Counts only. The full field dump of a large corpus's digest runs to hundreds of
        megabytes, and Python 3.11's ``asyncio.run`` builds the repr of the task's result
        when it restores its SIGINT handler (``signal.getsignal`` reprs the handler, a
        partial holding the task), so every ``asyncio.run`` returning a digest paid for
        it: 120 MB and seconds at 10,000 articles."""
        return (
            f"DigestReport(engine={self.engine!r}, articles={len(self.articles)}, "
            f"summarised={len(self.summarised)}, stories={len(self.stories)}, "
            f"failures={len(self.failures)})"
        )


M = TypeVar("M", bound=BaseModel)
_ALL_FIELDS: dict[type[BaseModel], tuple[set[str], list[str], bool]] = {}
_set_attribute = object.__setattr__


def _plain(model: type[BaseModel]) -> bool:
    """Whether ``model_construct`` only sets the instance's dict and bookkeeping for it: no
    aliases, no extra fields kept, no private attributes, no post-init hook."""
    return (
        all(f.alias is None and f.validation_alias is None for f in model.model_fields.values())
        and model.model_config.get("extra") != "allow"
        and not model.__private_attributes__
        and not model.__pydantic_post_init__
        and not model.__pydantic_root_model__
    )


def construct(model: type[M], **values: Any) -> M:
    """``model.model_construct`` for values the digest built itself, already of the field
    types (validation would only check and copy them), with every field given: the
    instances of a model share one fields-set (its own set is about 0.7 KB, as much as
    the rest of a support entry; setting a field adds a name it already has). For a plain
    model (:func:`_plain`, every digest model) the instance is set up directly, as
    ``model_construct`` would: a tenth of its cost, and the digest makes a million. Values
    given in the fields' order become the instance's dict as they are."""
    if model not in _ALL_FIELDS:
        _ALL_FIELDS[model] = (set(model.model_fields), list(model.model_fields), _plain(model))
    fields, order, plain = _ALL_FIELDS[model]
    if list(values) != order:
        assert values.keys() == fields, f"{model.__name__}: every field, no other"
        values = {name: values[name] for name in order}
    if not plain:
        return model.model_construct(fields, **values)
    made = model.__new__(model)
    _set_attribute(made, "__dict__", values)
    _set_attribute(made, "__pydantic_fields_set__", fields)
    _set_attribute(made, "__pydantic_extra__", None)
    _set_attribute(made, "__pydantic_private__", None)
    return made
