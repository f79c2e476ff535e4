"""What was learned about each endpoint, kept between runs: the structured-output mode it
accepts and its context window (from ``summarizer doctor`` or from a run that found out),
and how many requests in flight it took (a run whose adaptive level reached its maximum
without a cut).

A small JSON file next to the reply cache (``endpoints.json``), keyed by the endpoint (its
redacted URL) and the model. Writes replace the file atomically; when two processes write
at once the last one wins, which loses at most one lesson that the next run learns again.
A file that cannot be read or parsed counts as empty: this is a hint, never a requirement.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

logger = logging.getLogger("summarizer.client")

STATE_FILE = "endpoints.json"


class EndpointFacts(BaseModel):
    """What one endpoint and model were found to do."""

    mode: str | None = None  # a StructuredMode value the server accepted
    context_window: int | None = None  # tokens of prompt and output together
    concurrency_reached: int | None = Field(default=None, ge=1)  # in flight, with no cut
    updated: float = 0.0


class EndpointState:
    """The ``endpoints.json`` of one cache folder."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def beside(cls, cache_path: Path) -> EndpointState:
        return cls(cache_path.parent / STATE_FILE)

    @staticmethod
    def key(endpoint: str, model: str) -> str:
        return f"{endpoint}#{model}"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, endpoint: str, model: str) -> EndpointFacts:
        return _facts(self._read().get(self.key(endpoint, model)))

    def update(self, endpoint: str, model: str, **facts: Any) -> None:
        """Merge ``facts`` into what is known of ``endpoint`` and ``model``; a failed write
        is logged and otherwise ignored."""
        with self._lock:
            data = self._read()
            key = self.key(endpoint, model)
            known = {**_facts(data.get(key)).model_dump(), **facts, "updated": time.time()}
            data[key] = EndpointFacts.model_validate(known).model_dump()
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(data, out, indent=1, sort_keys=True)
                os.replace(temporary, self.path)
            except OSError as error:
                logger.warning("cannot record what %s does in %s: %s", endpoint, self.path, error)


def _facts(found: Any) -> EndpointFacts:
    """The facts stored for one endpoint; a value that does not validate (a hand edit, an
    older or newer version) is dropped on its own, keeping the others."""
    if not isinstance(found, dict):
        return EndpointFacts()
    try:
        return EndpointFacts.model_validate(found)
    except ValidationError:
        kept = {}
        for name, value in found.items():
            if name in EndpointFacts.model_fields:
                try:
                    EndpointFacts.model_validate({name: value})
                except ValidationError:
                    continue
                kept[name] = value
        return EndpointFacts.model_validate(kept)
