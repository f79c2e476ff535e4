"""Configuration objects. Explicit values win; the environment fills what is left.

Environment variables: the standard ``OPENAI_API_KEY``, ``OPENAI_BASE_URL`` and
``OPENAI_ORG_ID``, and ``SUMMARIZER_MODEL``, ``SUMMARIZER_CACHE_DIR`` of our own.

The API key is resolved in one order: the ``api_key`` argument (``--api-key``), then
``OPENAI_API_KEY``. A custom ``base_url`` (a local vLLM, Ollama or llama.cpp server)
needs no key. With neither, :class:`~summarizer._errors.ConfigError` names both places.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from summarizer._errors import ConfigError
from summarizer._pricing import Price

DEFAULT_MODEL = "gpt-4o-mini"
NO_KEY_NEEDED = "no-key-needed"  # what local OpenAI-compatible servers accept


class StructuredMode(str, Enum):
    """How structured output is requested, most preferred first."""

    JSON_SCHEMA = "json_schema"  # response_format json_schema, strict
    JSON_OBJECT = "json_object"  # response_format json_object + schema (llama.cpp style)
    PROMPT = "prompt"  # the schema in the prompt, JSON parsed from plain text


class LLMConfig(BaseModel):
    """One OpenAI-compatible chat endpoint and how to talk to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: SecretStr | None = Field(default=None, repr=False)
    organization: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    azure_api_version: str | None = Field(
        default=None, description="Set for Azure OpenAI; base_url is then the Azure endpoint."
    )
    timeout_seconds: float = 60.0
    max_attempts: int = Field(default=4, ge=1, description="Transport attempts per request.")
    max_reasks: int = Field(default=2, ge=0, description="Re-asks after invalid output.")
    backoff_seconds: float = Field(default=1.0, gt=0, description="First backoff, doubling.")
    max_backoff_seconds: float = 30.0
    max_retry_after_seconds: float = Field(
        default=60.0, description="A Retry-After longer than this fails fast."
    )
    max_output_tokens: int = 2048
    max_output_tokens_ceiling: int = Field(
        default=8192, description="Largest output limit tried once after a truncated reply."
    )
    max_tokens_parameter: Literal["max_tokens", "max_completion_tokens"] | None = Field(
        default=None,
        description="Name of the output-limit parameter; default: max_completion_tokens for "
        "OpenAI itself, max_tokens for other servers.",
    )
    temperature: float | None = None
    context_window: int = Field(default=128_000, description="The model's context, in tokens.")
    structured_modes: tuple[StructuredMode, ...] = tuple(StructuredMode)
    concurrency: int = Field(default=8, ge=1)
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    max_cost_usd: float | None = None
    prices: dict[str, Price] = Field(default_factory=dict)
    encoding: str | None = Field(default=None, description="Override the tiktoken encoding.")

    @classmethod
    def from_env(cls, **values: object) -> LLMConfig:
        """Explicit ``values`` (None means unset) over the environment."""
        given = {key: value for key, value in values.items() if value is not None}
        given.setdefault("model", os.environ.get("SUMMARIZER_MODEL") or DEFAULT_MODEL)
        if os.environ.get("OPENAI_BASE_URL"):
            given.setdefault("base_url", os.environ["OPENAI_BASE_URL"])
        if os.environ.get("OPENAI_ORG_ID"):
            given.setdefault("organization", os.environ["OPENAI_ORG_ID"])
        return cls.model_validate(given)

    def resolved_api_key(self) -> str:
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key.get_secret_value()
        if os.environ.get("OPENAI_API_KEY"):
            return os.environ["OPENAI_API_KEY"]
        if self.base_url:
            return NO_KEY_NEEDED
        raise ConfigError(
            "no API key: pass api_key (--api-key) or set OPENAI_API_KEY, "
            "or point base_url (--base-url, OPENAI_BASE_URL) at a server that needs none"
        )

    @property
    def output_limit_parameter(self) -> str:
        if self.max_tokens_parameter:
            return self.max_tokens_parameter
        return "max_completion_tokens" if self.base_url is None else "max_tokens"


def endpoint_configured() -> bool:
    """True when the environment points at a model (what ``--engine auto`` checks)."""
    return bool(os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"))


def default_cache_path() -> Path:
    folder = os.environ.get("SUMMARIZER_CACHE_DIR")
    base = Path(folder) if folder else Path.home() / ".cache" / "summarizer"
    return base / "cache.sqlite3"


class SummarizerConfig(BaseModel):
    """Everything a :class:`~summarizer.Summarizer` needs, in one object."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: Literal["auto", "llm", "extractive"] = "auto"
    llm: LLMConfig | None = None
    summary_words: int = Field(default=120, ge=10)
    chunk_tokens: int = Field(
        default=3000, ge=64, description="Largest part of a long article sent in one call."
    )
    single_call_tokens: int = Field(
        default=6000, ge=64, description="Articles up to this many tokens go in one call."
    )
    max_reduce_depth: int = Field(default=3, ge=1)
    max_split_depth: int = Field(default=3, ge=0, description="Splits after truncated replies.")
    reask_ungrounded: bool = True
    fuzzy_threshold: float = Field(default=90.0, ge=50, le=100)
    cache: bool = True
    cache_path: Path | None = None
    max_bytes: int = 5 * 1024 * 1024

    def uses_llm(self) -> bool:
        if self.engine == "llm":
            return True
        if self.engine == "extractive":
            return False
        return self.llm is not None or endpoint_configured()

    def llm_config(self) -> LLMConfig:
        return self.llm if self.llm is not None else LLMConfig.from_env()
