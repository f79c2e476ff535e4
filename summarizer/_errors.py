"""Every exception summarizer raises, rooted in one class.

::

    SummarizerError
    ├── ConfigError                  bad or missing configuration (API key, options)
    ├── ArticleError                 one article cannot be used            .path .document_id
    │   └── ArticleLoadError         unreadable, binary, empty, too large   .reason
    ├── TokenizerError               BPE file missing or its sha256 differs
    ├── PromptError                  a template in prompts/ is invalid      .path
    ├── FixtureError                 an eval fixture is invalid             .path
    ├── OutputError                  an output folder or file cannot be written .path
    ├── BudgetExceededError          the cost budget is spent               .spent_usd .budget_usd
    │                                                                       .usage
    └── ModelError                   a model call failed                    .endpoint .document_id
        │                                                                   .chunk_index .attempts
        │                                                                   .usage
        ├── ModelTransportError      connection, timeout, 408/409/429/5xx after all retries
        ├── ModelResponseError       a 2xx reply that is no chat completion (empty, HTML, no
        │                            choices), after all retries
        ├── ModelRequestError        400/401/403/404/422: the request itself is wrong
        │   │                                                               .status_code
        │   ├── ContextLengthExceededError  the prompt does not fit the model's context;
        │   │                        the engine splits the input            .context_window
        │   └── EndpointError        no request can succeed: connection refused, 401/403,
        │                            unknown model; stops the run            .hint
        ├── QuotaExceededError       insufficient_quota, or a Retry-After beyond the cap
        ├── InvalidModelOutputError  not valid JSON / not the schema after every re-ask
        ├── OutputTruncatedError     finish_reason == "length" even at the largest output limit
        │   └── RepetitiveOutputError    the reply repeated one passage up to the limit (a
        │                            loop): neither a larger limit nor a split is tried
        ├── RefusalError             the model refused                      .refusal
        └── ContentFilterError       the provider's content filter stopped the reply

Messages never contain API keys; endpoints are reported as URLs without credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from summarizer._models import Usage


class SummarizerError(Exception):
    """Base class of every error raised by summarizer."""


class ConfigError(SummarizerError):
    """The configuration is incomplete or contradictory."""


class ArticleError(SummarizerError):
    """An article cannot be loaded or processed."""

    def __init__(self, message: str, *, path: str | None = None, document_id: str | None = None):
        self.path = path
        self.document_id = document_id
        where = path or document_id
        super().__init__(f"{where}: {message}" if where else message)


class ArticleLoadError(ArticleError):
    """A file could not be read as an article; ``reason`` says why."""

    def __init__(self, path: str, reason: str, *, document_id: str | None = None):
        self.reason = reason
        super().__init__(reason, path=path, document_id=document_id)


class TokenizerError(SummarizerError):
    """A tokenizer vocabulary is missing or does not match its official hash."""


class PromptError(SummarizerError):
    """A prompt template is missing or invalid."""

    def __init__(self, message: str, *, path: str | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class FixtureError(SummarizerError):
    """An eval fixture file is missing or invalid."""

    def __init__(self, message: str, *, path: str | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class OutputError(SummarizerError):
    """An output folder or file cannot be written; ``path`` names it."""

    def __init__(self, message: str, *, path: str):
        self.path = path
        super().__init__(f"{path}: {message}")


class BudgetExceededError(SummarizerError):
    """The configured cost budget is spent; no new model call is made."""

    def __init__(self, spent_usd: float, budget_usd: float, *, usage: Usage | None = None):
        self.spent_usd = spent_usd
        self.budget_usd = budget_usd
        self.usage = usage  # what the stopped document had used before the stop
        super().__init__(f"cost budget spent: ${spent_usd:.4f} of ${budget_usd:.4f}")


class ModelError(SummarizerError):
    """A model call failed. Says which document, chunk and endpoint."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        document_id: str | None = None,
        chunk_index: int | None = None,
        attempts: int = 0,
        usage: Usage | None = None,
    ):
        self.endpoint = endpoint
        self.document_id = document_id
        self.chunk_index = chunk_index
        self.attempts = attempts
        self.usage = usage
        self.detail = message
        super().__init__(message)

    def __str__(self) -> str:
        where = []
        if self.document_id is not None:
            where.append(f"document {self.document_id}")
        if self.chunk_index is not None:
            where.append(f"chunk {self.chunk_index}")
        if self.endpoint:
            where.append(f"endpoint {self.endpoint}")
        if self.attempts:
            where.append(f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}")
        return f"{self.detail} ({', '.join(where)})" if where else self.detail


class ModelTransportError(ModelError):
    """Connection failures, timeouts or retryable HTTP statuses outlasted every retry."""


class ModelRequestError(ModelError):
    """The server rejected the request (400, 401, 403, 404, 422); retrying cannot help."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        endpoint: str | None = None,
        document_id: str | None = None,
        chunk_index: int | None = None,
        attempts: int = 0,
        usage: Usage | None = None,
    ):
        self.status_code = status_code
        super().__init__(
            message,
            endpoint=endpoint,
            document_id=document_id,
            chunk_index=chunk_index,
            attempts=attempts,
            usage=usage,
        )


class ContextLengthExceededError(ModelRequestError):
    """The server said the request is larger than the model's context (``context_window``
    tokens when it said how many); a smaller part of the input may fit."""

    context_window: int | None = None


class EndpointError(ModelRequestError):
    """The endpoint cannot serve any request of this run (the server is not there, the key
    is refused, the model is unknown): retrying or going on with other articles cannot help.
    ``hint`` names what to check."""

    def __init__(
        self,
        message: str,
        *,
        hint: str,
        status_code: int | None = None,
        endpoint: str | None = None,
        document_id: str | None = None,
        chunk_index: int | None = None,
        attempts: int = 0,
        usage: Usage | None = None,
    ):
        self.hint = hint
        super().__init__(
            f"{message}; {hint}",
            status_code=status_code,
            endpoint=endpoint,
            document_id=document_id,
            chunk_index=chunk_index,
            attempts=attempts,
            usage=usage,
        )


class ModelResponseError(ModelError):
    """The server answered 2xx with something that is not a chat completion."""


class QuotaExceededError(ModelError):
    """The account is out of quota, or the server asked to wait longer than allowed."""


class InvalidModelOutputError(ModelError):
    """The reply was not valid JSON for the schema after every re-ask."""


class OutputTruncatedError(ModelError):
    """The reply hit the output limit; the caller should split the input."""


class RepetitiveOutputError(OutputTruncatedError):
    """The reply hit the output limit repeating one passage over and over: the model is in
    a loop, so a larger limit would only buy more copies and a split is not tried."""


class RefusalError(ModelError):
    """The model refused to answer."""

    def __init__(
        self,
        message: str,
        *,
        refusal: str = "",
        endpoint: str | None = None,
        document_id: str | None = None,
        chunk_index: int | None = None,
        attempts: int = 0,
        usage: Usage | None = None,
    ):
        self.refusal = refusal
        super().__init__(
            message,
            endpoint=endpoint,
            document_id=document_id,
            chunk_index=chunk_index,
            attempts=attempts,
            usage=usage,
        )


class ContentFilterError(ModelError):
    """The provider's content filter stopped the reply."""
