"""The format of the hand-labelled eval fixtures in ``evals/fixtures/``.

One JSON file per article (``ArticleFixture``); ``evals/digest.json`` labels the corpus as
a whole (``DigestFixture``, used by the digest eval). ``support`` sentences are copied
verbatim from the article; a test checks that each one is really there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from summarizer._errors import FixtureError


class _Fixture(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GoldClaim(_Fixture):
    id: str = Field(description="Unique within the fixture: g1, g2, ...")
    claim: str = Field(description="The claim in a labeller's own words.")
    importance: Literal["core", "supporting"] = Field(
        description="core: a summary that misses it misses the story; supporting: detail."
    )
    support: list[str] = Field(
        min_length=1, description="Sentence(s) or parts of the article that state it, verbatim."
    )
    speaker: str | None = Field(
        default=None, description="Who the article attributes it to; null for its own voice."
    )


class MustNot(_Fixture):
    statement: str = Field(description="Something the article does NOT say.")
    why: str = Field(description="Why a summary might say it anyway (wrong date, number ...).")
    match: list[str] = Field(
        min_length=1,
        description="Lower-case phrases that must all appear in one claim or summary sentence "
        "for it to count as stating this.",
    )


class ArticleFixture(_Fixture):
    article_id: str = Field(description="File name of the article in seeds/.")
    tricky: list[str] = Field(description="What is hard about this article.")
    reference_summary: str
    people_quoted: list[str] = Field(
        description="People and organisations whose words are reported."
    )
    claims: list[GoldClaim]
    must_not: list[MustNot]

    @model_validator(mode="after")
    def _unique_ids(self) -> ArticleFixture:
        ids = [claim.id for claim in self.claims]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate claim ids in {self.article_id}")
        return self


class DigestCluster(_Fixture):
    articles: list[str]
    near_duplicates: list[list[str]] = Field(
        description="Pairs (or groups) of articles that retell the same source."
    )


class DigestFact(_Fixture):
    id: str
    claim: str
    supported_by: list[str] = Field(description="Articles that state this claim.")


class DigestContradiction(_Fixture):
    id: str
    slot: Literal["number", "date", "name", "title", "polarity"]
    description: str
    sides: dict[str, str] = Field(description="Article id -> its verbatim quote.")


class DigestFixture(_Fixture):
    clusters: list[DigestCluster]
    facts: list[DigestFact]
    contradictions: list[DigestContradiction]


def _load(path: Path, model: type[_Fixture]) -> _Fixture:
    try:
        return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise FixtureError(f"invalid fixture: {exc}", path=str(path)) from None


def load_fixtures(folder: Path) -> list[ArticleFixture]:
    """Every ``*.json`` in ``folder/fixtures``, validated; sorted by article id."""
    directory = folder / "fixtures"
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise FixtureError("no fixtures found", path=str(directory))
    fixtures = [_load(path, ArticleFixture) for path in paths]
    return sorted(
        (f for f in fixtures if isinstance(f, ArticleFixture)), key=lambda f: f.article_id
    )


def load_digest_fixture(folder: Path) -> DigestFixture:
    fixture = _load(folder / "digest.json", DigestFixture)
    assert isinstance(fixture, DigestFixture)
    return fixture
