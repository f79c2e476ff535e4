"""summarizer: grounded, schema-validated news summaries from any OpenAI-compatible model."""

from summarizer.chunking import Chunk, TokenChunker
from summarizer.documents import Document, LoadResult, load_articles
from summarizer.errors import SummarizerError
from summarizer.normalize import NormalizedText, normalize_text

__version__ = "0.1.0"

__all__ = [
    "Chunk",
    "Document",
    "LoadResult",
    "NormalizedText",
    "SummarizerError",
    "TokenChunker",
    "__version__",
    "load_articles",
    "normalize_text",
]
