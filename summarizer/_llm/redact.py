"""Secrets never leave the client: the API key, header values and key-like URL parameters
are cut from every message, endpoint, reply and cache entry, including text a server sends
back (a 401 body that quotes the key, a 500 that echoes the Authorization header)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import httpx

REDACTED = "[REDACTED]"
_SECRET_PARAMETER = re.compile(
    r"key|token|secret|sig|signature|password|passwd|auth|credential|code", re.I
)
# What secrets look like when a server echoes them in a form we were not given verbatim.
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}"),
    re.compile(r"(?i)((?:api[-_]?key|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]{8,}"),
    re.compile(r"\b(sk-)[A-Za-z0-9_\-]{16,}"),
]
# Whether any of _PATTERNS can match (most text holds none of them).
_ANY_PATTERN = re.compile(r"(?i)bearer\s|api[-_]?key|authorization|\bsk-")
# The same question as plain substring tests on the case-folded text, some 25x faster than
# the case-insensitive search over a whole reply. Case folding maps every character the
# regex takes for a letter of these words to that letter, but for the dotted and dotless
# I (the regex takes both for "i"): text that holds either is asked the regex.
_PATTERN_WORDS = ("bearer", "apikey", "api-key", "api_key", "authorization", "sk-")
_DOTTED_I = ("\u0131", "\u0307")  # "ı"; the combining dot of "İ" folded ("i\u0307")


def may_hold_pattern(text: str) -> bool:
    """False only when no pattern of :data:`_PATTERNS` can match ``text``."""
    folded = text.casefold()
    if any(i in folded for i in _DOTTED_I):
        return _ANY_PATTERN.search(text) is not None
    return any(word in folded for word in _PATTERN_WORDS)


_MIN_SECRET = 6  # shorter values ("k", "none") would cut ordinary words out of messages


class Redactor:
    """Cuts the given secrets, and anything shaped like a key, out of text."""

    def __init__(self, secrets: Iterable[str]):
        self.secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if not may_hold_pattern(text):
            return text
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text


def redact_url(url: str) -> str:
    """``url`` without user info, and with the values of key-like query parameters cut."""
    parsed = httpx.URL(url).copy_with(username=None, password=None)
    if not parsed.query:
        return str(parsed)
    params = [
        (name, REDACTED if _SECRET_PARAMETER.search(name) else value)
        for name, value in parsed.params.multi_items()
    ]
    return str(parsed.copy_with(params=params))


def url_secrets(url: str | None) -> list[str]:
    """The values of key-like query parameters of ``url`` (to cut from echoed text too)."""
    if not url:
        return []
    parsed = httpx.URL(url)
    found = [v for k, v in parsed.params.multi_items() if _SECRET_PARAMETER.search(k)]
    return found + [p for p in (parsed.password,) if p]
