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

# Names load on first use (PEP 562), so ``summarizer --help`` does not import the model
# client or the digest's numeric stack. ``from summarizer import X`` works as usual.
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from summarizer._chunking import Chunk, TokenChunker
    from summarizer._client import ChatClient
    from summarizer._config import (
        LLMConfig,
        ResolvedConfig,
        StructuredMode,
        SummarizerConfig,
    )
    from summarizer._digest.corpus import adigest, digest
    from summarizer._digest.models import DigestReport
    from summarizer._documents import (
        Document,
        LoadResult,
        load_articles,
    )
    from summarizer._engines import (
        Engine,
        EngineOutput,
        PreparedDocument,
    )
    from summarizer._errors import (
        ArticleError,
        ArticleLoadError,
        BudgetExceededError,
        ConfigError,
        ContentFilterError,
        ContextLengthExceededError,
        EndpointError,
        FixtureError,
        InvalidModelOutputError,
        ModelError,
        ModelRequestError,
        ModelResponseError,
        ModelTransportError,
        OutputError,
        OutputTruncatedError,
        PromptError,
        QuotaExceededError,
        RefusalError,
        RepetitiveOutputError,
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
        SuspectReason,
        Usage,
    )
    from summarizer._normalize import NormalizedText, normalize_text
    from summarizer._pipeline import Summarizer
    from summarizer._ray import read_articles, summarize_dataset

__version__ = "0.1.0"

_LAZY = {
    "Chunk": "summarizer._chunking",
    "TokenChunker": "summarizer._chunking",
    "ChatClient": "summarizer._client",
    "LLMConfig": "summarizer._config",
    "ResolvedConfig": "summarizer._config",
    "StructuredMode": "summarizer._config",
    "SummarizerConfig": "summarizer._config",
    "adigest": "summarizer._digest.corpus",
    "digest": "summarizer._digest.corpus",
    "DigestReport": "summarizer._digest.models",
    "Document": "summarizer._documents",
    "LoadResult": "summarizer._documents",
    "load_articles": "summarizer._documents",
    "Engine": "summarizer._engines",
    "EngineOutput": "summarizer._engines",
    "PreparedDocument": "summarizer._engines",
    "ArticleError": "summarizer._errors",
    "ArticleLoadError": "summarizer._errors",
    "BudgetExceededError": "summarizer._errors",
    "ConfigError": "summarizer._errors",
    "ContentFilterError": "summarizer._errors",
    "ContextLengthExceededError": "summarizer._errors",
    "EndpointError": "summarizer._errors",
    "FixtureError": "summarizer._errors",
    "InvalidModelOutputError": "summarizer._errors",
    "ModelError": "summarizer._errors",
    "ModelRequestError": "summarizer._errors",
    "ModelResponseError": "summarizer._errors",
    "ModelTransportError": "summarizer._errors",
    "OutputError": "summarizer._errors",
    "OutputTruncatedError": "summarizer._errors",
    "RepetitiveOutputError": "summarizer._errors",
    "PromptError": "summarizer._errors",
    "QuotaExceededError": "summarizer._errors",
    "RefusalError": "summarizer._errors",
    "SummarizerError": "summarizer._errors",
    "TokenizerError": "summarizer._errors",
    "Claim": "summarizer._models",
    "ClaimKind": "summarizer._models",
    "DocumentFailure": "summarizer._models",
    "DocumentSummary": "summarizer._models",
    "EvidenceSpan": "summarizer._models",
    "Provenance": "summarizer._models",
    "SummaryWarning": "summarizer._models",
    "SuspectReason": "summarizer._models",
    "Usage": "summarizer._models",
    "NormalizedText": "summarizer._normalize",
    "normalize_text": "summarizer._normalize",
    "Summarizer": "summarizer._pipeline",
    # Ray Data (the ray extra): loaded, with ray, only when asked for.
    "read_articles": "summarizer._ray",
    "summarize_dataset": "summarizer._ray",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'summarizer' has no attribute {name!r}")
    try:
        value = getattr(import_module(module), name)
    except ImportError as missing:
        if module != "summarizer._ray":
            raise
        raise ImportError(
            f"summarizer.{name} needs the ray extra: pip install 'summarizer[ray]' ({missing})"
        ) from missing
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "ContextLengthExceededError",
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
    "OutputError",
    "OutputTruncatedError",
    "PreparedDocument",
    "PromptError",
    "Provenance",
    "QuotaExceededError",
    "RefusalError",
    "RepetitiveOutputError",
    "ResolvedConfig",
    "StructuredMode",
    "Summarizer",
    "SummarizerConfig",
    "SummarizerError",
    "SummaryWarning",
    "SuspectReason",
    "TokenChunker",
    "TokenizerError",
    "Usage",
    "__version__",
    "adigest",
    "digest",
    "load_articles",
    "normalize_text",
    "read_articles",
    "summarize_dataset",
]
