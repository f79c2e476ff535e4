from __future__ import annotations

import inspect

import pytest

import summarizer
from summarizer import _errors as errors


def test_all_is_sorted_and_every_name_exists() -> None:
    import importlib.util

    assert summarizer.__all__ == sorted(summarizer.__all__)
    has_ray = importlib.util.find_spec("ray") is not None
    for name in summarizer.__all__:
        if name in ("read_articles", "summarize_dataset") and not has_ray:
            with pytest.raises(ImportError, match="ray extra"):
                getattr(summarizer, name)
            continue
        assert hasattr(summarizer, name), name


def test_every_exception_is_exported_and_rooted_in_one_base() -> None:
    classes = [
        obj for _, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, Exception)
    ]
    for cls in classes:
        assert issubclass(cls, summarizer.SummarizerError), cls
        assert cls.__name__ in summarizer.__all__, cls.__name__


def test_the_error_tree_in_the_docstring_names_every_class() -> None:
    doc = errors.__doc__ or ""
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, Exception):
            assert name in doc, name


EXPECTED = {
    # the facade and its configuration
    "Summarizer", "SummarizerConfig", "LLMConfig", "ResolvedConfig", "StructuredMode",
    # inputs
    "Document", "LoadResult", "load_articles", "NormalizedText", "normalize_text",
    "Chunk", "TokenChunker",
    # results
    "DocumentSummary", "DocumentFailure", "Claim", "ClaimKind", "EvidenceSpan", "Provenance",
    "SummaryWarning", "SuspectReason", "Usage",
    # the model client and the extension points
    "ChatClient", "Engine", "EngineOutput", "PreparedDocument",
    # the corpus digest
    "DigestReport", "adigest", "digest",
    # Ray Data (the ray extra, imported lazily)
    "read_articles", "summarize_dataset",
    # errors
    "SummarizerError", "ConfigError", "ArticleError", "ArticleLoadError", "TokenizerError",
    "PromptError", "FixtureError", "BudgetExceededError", "ModelError", "ModelTransportError",
    "ModelRequestError", "ModelResponseError", "EndpointError", "QuotaExceededError", "InvalidModelOutputError", "OutputTruncatedError", "OutputError",
    "RefusalError", "RepetitiveOutputError", "ContentFilterError", "ContextLengthExceededError",
    "__version__",
}  # fmt: skip


def test_the_public_surface_is_exactly_the_expected_names() -> None:
    assert set(summarizer.__all__) == EXPECTED


def test_implementation_modules_are_private() -> None:
    from pathlib import Path

    package = Path(summarizer.__file__).parent
    public = [
        p.name
        for p in package.iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or p.is_dir())
    ]
    assert public == [], public
