"""Tests never see the real machine: no API keys, no user cache, no network."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import respx.mocks

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
# `SUMMARIZER_HTTP_TRANSPORT=fast pytest ...` re-runs tests on the fast HTTP transport (as
# .ci/run does): the one variable kept from the machine. respx then intercepts in httpx's
# client (its "httpx" mocker), since the fast transport has no httpcore pool to patch.
RERUN_TRANSPORT = os.environ.get("SUMMARIZER_HTTP_TRANSPORT")


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "SUMMARIZER_", "AZURE_OPENAI")):
            monkeypatch.delenv(name)
    if RERUN_TRANSPORT:
        monkeypatch.setenv("SUMMARIZER_HTTP_TRANSPORT", RERUN_TRANSPORT)
        if RERUN_TRANSPORT.strip().lower() == "fast":
            monkeypatch.setattr(respx.mocks, "DEFAULT_MOCKER", "httpx")
    monkeypatch.setenv("SUMMARIZER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken-cache"))
    yield


@pytest.fixture(autouse=True)
def no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a non-loopback address fails the test."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "::1", "localhost")
            and "/" not in host
        ):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS
