"""summarizer: grounded, schema-validated news summaries from any OpenAI-compatible model.

The public API::

    from summarizer import Summarizer, SummarizerConfig, LLMConfig

    summarizer = Summarizer(SummarizerConfig(llm=LLMConfig(model="gpt-4o-mini")))
    result = summarizer.summarize(open("article.txt").read())
    results = summarizer.summarize_many(load_articles(["articles/"]).documents)
"""

from summarizer._chunking import Chunk, TokenChunker
from summarizer._client import ChatClient
from summarizer._config import LLMConfig, StructuredMode, SummarizerConfig
from summarizer._documents import Document, LoadResult, load_articles
from summarizer._errors import (
    ArticleError,
    ArticleLoadError,
    BudgetExceededError,
    ConfigError,
    ContentFilterError,
    FixtureError,
    InvalidModelOutputError,
    ModelError,
    ModelRequestError,
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
    "Document",
    "DocumentFailure",
    "DocumentSummary",
    "EvidenceSpan",
    "FixtureError",
    "InvalidModelOutputError",
    "LLMConfig",
    "LoadResult",
    "ModelError",
    "ModelRequestError",
    "ModelTransportError",
    "NormalizedText",
    "OutputTruncatedError",
    "PromptError",
    "Provenance",
    "QuotaExceededError",
    "RefusalError",
    "StructuredMode",
    "Summarizer",
    "SummarizerConfig",
    "SummarizerError",
    "SummaryWarning",
    "TokenChunker",
    "TokenizerError",
    "Usage",
    "__version__",
    "load_articles",
    "normalize_text",
]
