"""Configuration objects, resolved once. Explicit values win; the environment fills the rest.

Environment variables: the standard ``OPENAI_API_KEY``, ``OPENAI_BASE_URL`` and
``OPENAI_ORG_ID``, and ``SUMMARIZER_MODEL``, ``SUMMARIZER_CACHE_DIR`` of our own. They are
read in one place, :meth:`SummarizerConfig.resolve` (and :meth:`LLMConfig.resolve` for a
client made on its own), at construction; a resolved config never reads them again.
``SUMMARIZER_HTTP_TRANSPORT`` (``default`` or ``fast``) chooses the HTTP transport when the
config does not (:attr:`LLMConfig.http_transport`).

The API key is resolved in one order: the ``api_key`` argument (``--api-key``), then
``OPENAI_API_KEY``. A custom ``base_url`` (a local vLLM, Ollama or llama.cpp server)
needs no key. With neither, :class:`~summarizer._errors.ConfigError` names both places.
``OPENAI_BASE_URL`` is read here too, so the config always knows where requests go (the
openai SDK would otherwise read it behind the config's back).

Which engine runs is decided in one place, :meth:`SummarizerConfig.resolve`, which says why.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from summarizer._errors import ConfigError
from summarizer._pricing import Price

DEFAULT_MODEL = "gpt-4o-mini"
HTTP_TRANSPORT_VARIABLE = "SUMMARIZER_HTTP_TRANSPORT"
HTTP_TRANSPORTS = ("default", "fast")
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
    timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        description="Total deadline of one attempt, whatever the server does (the openai SDK's "
        "own default); a slow local server may need all of it.",
    )
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, description="Transport attempts per request.")
    max_reasks: int = Field(default=2, ge=0, description="Re-asks after invalid output.")
    backoff_seconds: float = Field(default=1.0, gt=0, description="First backoff, doubling.")
    max_backoff_seconds: float = 30.0
    max_retry_after_seconds: float = Field(
        default=60.0, description="A Retry-After longer than this fails fast."
    )
    max_output_tokens: int = Field(default=2048, ge=1, description="Output limit of a reply.")
    stream: bool = Field(
        default=False,
        description="Stream replies: a long generation keeps the connection alive and shows "
        "progress; the reply is assembled and validated as a whole.",
    )
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
    concurrency: int = Field(
        default=8, ge=1, description="Most requests in flight (the adaptive level's ceiling)."
    )
    adaptive_concurrency: bool = Field(
        default=True,
        description="Find the server's capacity (AIMD) under ``concurrency``; off: always "
        "``concurrency`` in flight.",
    )
    requests_per_minute: float | None = Field(default=None, gt=0)
    tokens_per_minute: float | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, ge=0)
    prices: dict[str, Price] = Field(default_factory=dict)
    encoding: str | None = Field(default=None, description="Override the tiktoken encoding.")
    http_transport: Literal["default", "fast"] = Field(
        default="default",
        description="default: httpx's connection pool (httpcore, h11), which respx can fake; "
        "fast: keep-alive connections parsed by httptools (the fast extra), less CPU per call. "
        "Unset: $SUMMARIZER_HTTP_TRANSPORT, else default.",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **values: object) -> LLMConfig:
        """Explicit ``values`` (None means unset) over the environment, resolved."""
        given = {key: value for key, value in values.items() if value is not None}
        return cls.model_validate(given).resolve(env)

    def resolve(self, env: Mapping[str, str] | None = None) -> LLMConfig:
        """This config with every unset value filled from ``env`` (default: the process
        environment) and the API key settled; raises ConfigError when no key can be had.
        Idempotent: a resolved config has nothing left to fill."""
        env = os.environ if env is None else env
        filled: dict[str, object] = {}
        if "model" not in self.model_fields_set:
            filled["model"] = env.get("SUMMARIZER_MODEL") or DEFAULT_MODEL
        if self.base_url is None and env.get("OPENAI_BASE_URL"):
            filled["base_url"] = env["OPENAI_BASE_URL"]
        if self.organization is None and env.get("OPENAI_ORG_ID"):
            filled["organization"] = env["OPENAI_ORG_ID"]
        if "http_transport" not in self.model_fields_set:
            filled["http_transport"] = _http_transport(env)
        if filled.get("http_transport", self.http_transport) == "fast":
            _require_httptools()
        if self.api_key is None or not self.api_key.get_secret_value():
            base_url = filled.get("base_url", self.base_url)
            if env.get("OPENAI_API_KEY"):
                filled["api_key"] = SecretStr(env["OPENAI_API_KEY"])
            elif base_url:
                filled["api_key"] = SecretStr(NO_KEY_NEEDED)
            else:
                raise ConfigError(
                    "no API key: pass api_key (--api-key) or set OPENAI_API_KEY, "
                    "or point base_url (--base-url, OPENAI_BASE_URL) at a server that needs none"
                )
        if not filled:
            return self
        return self.model_validate({**self.model_dump(exclude_unset=True), **filled})

    def resolved_api_key(self) -> str:
        """The API key this config sends, without reading the environment: its own key, or
        the placeholder local servers accept when it names a base URL; else ConfigError."""
        key = self.resolve({}).api_key
        assert key is not None  # resolve() settles the key or raises
        return key.get_secret_value()

    @property
    def output_limit_parameter(self) -> str:
        if self.max_tokens_parameter:
            return self.max_tokens_parameter
        return "max_completion_tokens" if self.base_url is None else "max_tokens"


def _http_transport(env: Mapping[str, str]) -> str:
    asked = (env.get(HTTP_TRANSPORT_VARIABLE) or "default").strip().lower()
    if asked not in HTTP_TRANSPORTS:
        raise ConfigError(
            f"{HTTP_TRANSPORT_VARIABLE}={asked!r}: choose one of {', '.join(HTTP_TRANSPORTS)}"
        )
    return asked


def _require_httptools() -> None:
    if importlib.util.find_spec("httptools") is None:
        raise ConfigError(
            f"the fast HTTP transport (--http-transport fast, {HTTP_TRANSPORT_VARIABLE}=fast) "
            "needs httptools: pip install 'summarizer[fast]'"
        )


def default_cache_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    folder = env.get("SUMMARIZER_CACHE_DIR")
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

    def resolve(self, env: Mapping[str, str] | None = None) -> ResolvedConfig:
        """Decide the engine and fill everything the environment may supply, once.

        ``auto`` uses a model when ``llm`` names one (its model, base URL or API key is
        set) or the environment names an endpoint (``OPENAI_API_KEY`` or
        ``OPENAI_BASE_URL``), else the extractive engine. Other ``llm`` settings (limits,
        timeouts) apply whenever a model is used.
        """
        env = os.environ if env is None else env
        if self.engine == "extractive":
            return ResolvedConfig(self, "extractive", "the extractive engine was asked for")
        if self.engine == "llm":
            reason = "the llm engine was asked for"
        elif self.llm is not None and self.llm.model_fields_set & {"model", "base_url", "api_key"}:
            reason = "a model is configured"
        elif env.get("OPENAI_API_KEY"):
            reason = "OPENAI_API_KEY is set"
        elif env.get("OPENAI_BASE_URL"):
            reason = "OPENAI_BASE_URL is set"
        else:
            return ResolvedConfig(
                self,
                "extractive",
                "no model is configured (set OPENAI_API_KEY or OPENAI_BASE_URL, or pass a "
                "model, to use one)",
            )
        llm = (self.llm or LLMConfig()).resolve(env)
        cache_path = (self.cache_path or default_cache_path(env)) if self.cache else None
        settled = self.model_copy(update={"llm": llm, "engine": "llm", "cache_path": cache_path})
        return ResolvedConfig(settled, "llm", reason)


@dataclass(frozen=True)
class ResolvedConfig:
    """A :class:`SummarizerConfig` with the engine decided and the environment read:
    ``config.llm`` is set, resolved, when ``engine`` is ``"llm"``. ``reason`` says why
    that engine runs (shown by the CLI)."""

    config: SummarizerConfig
    engine: str
    reason: str

    @property
    def llm(self) -> LLMConfig | None:
        return self.config.llm if self.engine == "llm" else None
