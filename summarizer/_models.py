"""The contract: what the model is asked to fill, and what users receive.

*Drafts* (``ClaimDraft``, ``ExtractionDraft``, ``ReduceDraft``) are what a model fills;
their JSON Schemas are strict-mode compatible (see :mod:`summarizer._schemas`) and their
field descriptions are part of the prompt. Everything computed afterwards (grounding
spans, ids, warnings, provenance) lives only on the user-facing models and never goes to
the model.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SCHEMA_VERSION = "1.0"
MAX_KEY_POINTS = 6  # "three to six", as the field descriptions say


class ClaimKind(str, Enum):
    FACT = "fact"
    OPINION = "opinion"
    PREDICTION = "prediction"


class _Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimDraft(_Draft):
    claim: str = Field(
        description=(
            "One atomic, self-contained statement made in the article: a single fact, "
            "opinion or prediction, understandable without the article (use names, not "
            "pronouns). Do not merge two statements into one claim."
        )
    )
    evidence: str = Field(
        description=(
            "A quote copied character for character from the article that supports the "
            "claim: one sentence or a part of one, never paraphrased, never translated, "
            "never stitched together from two places."
        )
    )
    speaker: str | None = Field(
        description=(
            "The person or organisation the article attributes the statement to, named as "
            "in the article (e.g. 'Shen Dingli', 'Foreign Policy'); null when the article "
            "states it in its own voice."
        )
    )
    kind: ClaimKind = Field(
        description=(
            "fact: something that happened or is the case; opinion: analysis, judgement, "
            "interpretation or a stated belief; prediction: a statement about the future."
        )
    )


class ExtractionDraft(_Draft):
    summary: str = Field(
        description=(
            "A neutral summary of the text in the stated word budget: who, what, when, "
            "where, and why it matters. Only what the text says."
        )
    )
    key_points: list[str] = Field(
        description="Three to six short key points, most important first, each one sentence.",
        json_schema_extra={"maxItems": MAX_KEY_POINTS},  # for grammars; see _schemas
    )
    claims: list[ClaimDraft] = Field(
        description=(
            "Every checkable claim in the text, in the order they appear: facts with "
            "numbers, dates, names and events; attributed statements; predictions."
        )
    )


class ReduceDraft(_Draft):
    summary: str = Field(
        description=(
            "A neutral summary of the whole article, in the stated word budget, built only "
            "from the section notes given."
        )
    )
    key_points: list[str] = Field(
        description="Three to six short key points for the whole article, most important first.",
        json_schema_extra={"maxItems": MAX_KEY_POINTS},
    )


# --- user-facing --------------------------------------------------------------------------


class EvidenceSpan(BaseModel):
    """Where an evidence quote was found in the original article text."""

    quote: str = Field(description="The quote as the engine gave it.")
    start: int | None = Field(description="Start offset in the original text, or null.")
    end: int | None = Field(description="End offset (exclusive) in the original text, or null.")
    match: Literal["exact", "normalized", "fuzzy", "none"] = Field(
        description="How the quote was located: verbatim, after normalising quotes, dashes, "
        "whitespace and case, by bounded fuzzy matching, or not at all."
    )
    score: float = Field(description="Similarity of the located text to the quote, 0-100.")


class Claim(BaseModel):
    id: str = Field(description="Stable id within the document: c1, c2, ...")
    text: str = Field(description="The atomic claim.")
    evidence: str = Field(description="The first verbatim quote supporting the claim.")
    speaker: str | None = Field(description="Who the claim is attributed to, or null.")
    kind: ClaimKind
    grounded: bool = Field(description="True when at least one evidence quote was located.")
    spans: list[EvidenceSpan] = Field(description="Every evidence quote with its location.")
    chunks: list[int] = Field(default_factory=list, description="Chunks the claim came from.")


class SummaryWarning(BaseModel):
    code: Literal[
        "ungrounded_claim",
        "speaker_not_in_article",
        "summary_over_budget",
        "chunk_split",
        "engine_note",
    ]
    message: str
    claim_id: str | None = None


class SuspectReason(BaseModel):
    """Why a schema-valid result is not believable as a summary of its article."""

    code: Literal[
        "no_grounded_claims", "echoes_instructions", "field_name", "unrelated_summary"
    ] = Field(
        description="no_grounded_claims: no claim's quote is in the article; "
        "echoes_instructions: the summary or a key point only repeats the prompt, the "
        "schema or the id; field_name: a key point is a schema field name; "
        "unrelated_summary: the summary is empty or most of its words are not the article's."
    )
    message: str


class Usage(BaseModel):
    """Token and call accounting, summed over every attempt (failed ones included)."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    requests: int = Field(default=0, description="HTTP requests sent.")
    retries: int = Field(default=0, description="Transport retries among them.")
    reasks: int = Field(default=0, description="Re-asks after invalid output.")
    cache_hits: int = Field(default=0, description="Calls answered from the local cache.")
    cost_usd: float | None = Field(default=0.0, description="Null when the price is unknown.")

    def __add__(self, other: Usage) -> Usage:
        cost = (
            None
            if self.cost_usd is None or other.cost_usd is None
            else self.cost_usd + other.cost_usd
        )
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            requests=self.requests + other.requests,
            retries=self.retries + other.retries,
            reasks=self.reasks + other.reasks,
            cache_hits=self.cache_hits + other.cache_hits,
            cost_usd=cost,
        )


class Provenance(BaseModel):
    engine: Literal["llm", "extractive", "replay"]
    model: str | None = None
    endpoint: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_hash: str | None = None
    schema_version: str = SCHEMA_VERSION
    usage: Usage = Field(default_factory=Usage)
    seconds: float = Field(default=0.0, description="Wall time for the document.")


class ChunkResult(BaseModel):
    """What one chunk produced, before merging."""

    index: int
    start: int
    end: int
    original_start: int | None
    original_end: int | None
    token_count: int
    summary: str
    key_points: list[str]
    claims: list[ClaimDraft]


class DocumentSummary(BaseModel):
    status: Literal["ok"] = "ok"
    doc_id: str
    source: str
    content_hash: str
    title: str | None
    date: str | None
    summary: str
    key_points: list[str]
    claims: list[Claim]
    warnings: list[SummaryWarning] = Field(default_factory=list)
    suspect: list[SuspectReason] = Field(
        default_factory=list,
        description="Why the result is not believable as a summary of the article; empty "
        "when it is. A suspect result is schema-valid but should not be trusted as is.",
    )
    provenance: Provenance
    normalization: dict[str, int] = Field(default_factory=dict)
    chunks: int = 1

    @property
    def grounded_ratio(self) -> float:
        return sum(c.grounded for c in self.claims) / len(self.claims) if self.claims else 1.0


class DocumentFailure(BaseModel):
    """A document that could not be summarised; stands in its place in the results."""

    status: Literal["error"] = "error"
    doc_id: str
    source: str
    error_type: str
    message: str
    usage: Usage = Field(default_factory=Usage)


DocumentResult = Annotated[DocumentSummary | DocumentFailure, Field(discriminator="status")]
document_result_adapter: TypeAdapter[DocumentSummary | DocumentFailure] = TypeAdapter(
    DocumentResult
)
