"""summarizer: grounded, schema-validated news summaries from any OpenAI-compatible model.

The public API::

    from summarizer import Summarizer, SummarizerConfig, LLMConfig

    summarizer = Summarizer(SummarizerConfig(llm=LLMConfig(model="gpt-4o-mini")))
    result = summarizer.summarize(open("article.txt").read())
    results = summarizer.summarize_many(load_articles(["articles/"]).documents)
    report = digest(summarizer, load_articles(["articles/"]).documents)

Extension points: :class:`Engine` (with :class:`PreparedDocument` in and
:class:`EngineOutput` out) for a strategy of your own, passed as ``Summarizer(engine=...)``.
"""

from summarizer._chunking import Chunk, TokenChunker
from summarizer._client import ChatClient
from summarizer._config import LLMConfig, ResolvedConfig, StructuredMode, SummarizerConfig
from summarizer._digest.corpus import adigest, digest
from summarizer._digest.models import DigestReport
from summarizer._documents import Document, LoadResult, load_articles
from summarizer._engines import Engine, EngineOutput, PreparedDocument
from summarizer._errors import (
    ArticleError,
    ArticleLoadError,
    BudgetExceededError,
    ConfigError,
    ContentFilterError,
    EndpointError,
    FixtureError,
    InvalidModelOutputError,
    ModelError,
    ModelRequestError,
    ModelResponseError,
    ModelTransportError,
    OutputTruncatedError,
    PromptError,
    QuotaExceededError,
    RefusalError,
    SummarizerError,
    TokenizerError,
)
from summarizer._models import (
    Claim,
    ClaimKind,
    DocumentFailure,
    DocumentSummary,
    EvidenceSpan,
    Provenance,
    SummaryWarning,
    Usage,
)
from summarizer._normalize import NormalizedText, normalize_text
from summarizer._pipeline import Summarizer

__version__ = "0.1.0"

__all__ = [
    "ArticleError",
    "ArticleLoadError",
    "BudgetExceededError",
    "ChatClient",
    "Chunk",
    "Claim",
    "ClaimKind",
    "ConfigError",
    "ContentFilterError",
    "DigestReport",
    "Document",
    "DocumentFailure",
    "DocumentSummary",
    "EndpointError",
    "Engine",
    "EngineOutput",
    "EvidenceSpan",
    "FixtureError",
    "InvalidModelOutputError",
    "LLMConfig",
    "LoadResult",
    "ModelError",
    "ModelRequestError",
    "ModelResponseError",
    "ModelTransportError",
    "NormalizedText",
    "OutputTruncatedError",
    "PreparedDocument",
    "PromptError",
    "Provenance",
    "QuotaExceededError",
    "RefusalError",
    "ResolvedConfig",
    "StructuredMode",
    "Summarizer",
    "SummarizerConfig",
    "SummarizerError",
    "SummaryWarning",
    "TokenChunker",
    "TokenizerError",
    "Usage",
    "__version__",
    "adigest",
    "digest",
    "load_articles",
    "normalize_text",
]
