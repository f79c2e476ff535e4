"""What a corpus digest contains (exported to schemas/digest.schema.json)."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field

from summarizer._models import DocumentFailure


class Support(BaseModel):
    """One article's backing for a digest claim, with its own quote and span."""

    doc_id: str
    claim_id: str
    claim: str = Field(description="The claim as this article's summary states it.")
    evidence: str
    start: int | None = Field(description="Start of the quote in the article's original text.")
    end: int | None
    grounded: bool


class DigestClaim(BaseModel):
    id: str
    text: str
    support: list[Support]
    articles: int = Field(description="Articles that state the claim.")
    sources: int = Field(description="Independent sources: near-duplicate articles count once.")
    support_note: str = Field(description="For example '3 of 4 sources (5 articles)'.")


class NearDuplicate(BaseModel):
    articles: list[str] = Field(min_length=2, max_length=2)
    similarity: float = Field(description="Estimated Jaccard similarity of their content words.")


class ContradictionSide(BaseModel):
    doc_id: str
    claim_id: str
    quote: str
    value: str = Field(description="The disagreeing value as this side states it.")


class Contradiction(BaseModel):
    id: str
    slot: Literal["number", "date", "name", "title", "polarity"]
    description: str
    sides: list[ContradictionSide] = Field(min_length=2)
    confirmed: bool | None = Field(
        default=None, description="A model's verdict when one was asked; null otherwise."
    )


class Story(BaseModel):
    id: str
    articles: list[str]
    similarity: list[NearDuplicate] = Field(
        default_factory=list, description="Entity-set similarity of linked article pairs."
    )
    near_duplicates: list[NearDuplicate]
    sources: int = Field(description="Independent sources among the articles.")
    summary: str
    consensus: list[DigestClaim] = Field(description="Claims stated by two or more sources.")
    unique: list[DigestClaim] = Field(description="Claims only one source states.")
    contradictions: list[Contradiction]


class DigestReport(BaseModel):
    created: float = Field(default_factory=time.time)
    engine: str
    articles: list[str]
    stories: list[Story]
    failures: list[DocumentFailure] = Field(default_factory=list)
