"""Prompt templates: versioned TOML files in ``prompts/``, validated on load.

Untrusted text (an article, notes, quotes) sits between tags that carry a ``$boundary``
code: when a template takes ``boundary`` and the caller gives none, it is derived from the
other values (a hash of them), so the text inside cannot know it, and a ``</article>`` or
``SYSTEM:`` in an article stays visibly inside its fence. A ``doc_id`` value is
HTML-escaped, so an id with a quote cannot break its attribute.

Each template has a ``name``, a ``version``, the ``inputs`` its user text is filled with,
and text fields with ``$placeholders`` (:class:`string.Template`). The user text must use
exactly its declared ``inputs``; the other fields their fixed ones (``FIELDS``). Filling a
field with a value missing, or one it does not take, raises :class:`PromptError` naming the
template, the field and the names. The sha256 of the file travels, with the version, into
every result's provenance and into cache keys.
"""

from __future__ import annotations

import hashlib
import html
import string
import sys
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from summarizer._errors import PromptError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STEP_HEADER = "X-Summarizer-Step"
"""The request header naming the step a call serves: a template's name (``extract``,
``reduce``), or ``name.field`` for a follow-up (``extract.ground_reask``, ``extract.reask``).
Fakes and the replay engine route on it, never on prompt wording; servers ignore it."""

_PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
_REPOSITORY = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """``prompts`` or ``schemas``: inside an installed wheel, else the repository's folder."""
    packaged = _PACKAGE_DATA / name
    return packaged if packaged.is_dir() else _REPOSITORY / name


def fence(*texts: str) -> str:
    """A code for the tags around untrusted text, derived from the text itself, so that the
    text cannot contain it (and a cached request is the same request)."""
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()
    return digest[:16]


def placeholders(text: str) -> set[str]:
    names = set()
    for match in string.Template.pattern.finditer(text):
        name = match.group("named") or match.group("braced")
        if name:
            names.add(name)
        elif match.group("invalid") is not None:
            raise ValueError(
                f"invalid placeholder near {text[match.start() : match.start() + 20]!r}"
            )
    return names


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # field -> its placeholders, for every field but ``user`` (which declares ``inputs``)
    FIELDS: ClassVar[dict[str, frozenset[str]]] = {
        "system": frozenset(),
        "json_instruction": frozenset({"schema"}),
        "reask": frozenset({"errors"}),
        "ground_reask": frozenset({"quotes"}),
    }

    name: str
    version: str
    description: str
    inputs: tuple[str, ...]
    system: str
    json_instruction: str
    user: str
    reask: str
    ground_reask: str | None = None
    sha256: str = ""

    @model_validator(mode="after")
    def _check_placeholders(self) -> PromptTemplate:
        for field in ("user", *self.FIELDS):
            text = getattr(self, field)
            if text is None:
                continue
            used, wanted = placeholders(text), self._wanted(field)
            if used != wanted:
                raise ValueError(
                    f"{field} must use exactly {sorted(wanted)}; it uses {sorted(used)}"
                )
        return self

    def _wanted(self, field: str) -> frozenset[str]:
        return frozenset(self.inputs) if field == "user" else self.FIELDS[field]

    def messages(self, **values: object) -> list[dict[str, str]]:
        """The chat messages for one call: the static system text, then the filled user
        text, its untrusted values fenced (see the module docstring)."""
        if "boundary" in self.inputs and "boundary" not in values:
            values["boundary"] = fence(*(str(v) for _, v in sorted(values.items())))
        if "doc_id" in values:
            values["doc_id"] = html.escape(str(values["doc_id"]), quote=True)
        return [
            {"role": "system", "content": self.system.strip()},
            {"role": "user", "content": self.fill("user", **values)},
        ]

    def instruction_text(self) -> str:
        """Every fixed word the template sends, its placeholders' names included: what a
        reply that merely repeats its instructions would be made of."""
        fields = ("system", "json_instruction", "user", "reask", "ground_reask")
        return "\n".join(text for text in (getattr(self, f) for f in fields) if text)

    def fill(self, field: str, **values: object) -> str:
        text = getattr(self, field)
        if text is None:
            raise PromptError(f"template {self.name} has no {field}")
        wanted = self._wanted(field)
        missing, unknown = wanted - values.keys(), values.keys() - wanted
        if missing or unknown:
            raise PromptError(
                f"template {self.name}, {field}: "
                + "; ".join(
                    f"{label} {sorted(names)}"
                    for label, names in (("missing", missing), ("not taken", unknown))
                    if names
                )
            )
        return string.Template(text).substitute({k: str(v) for k, v in values.items()}).strip()


def load_template(path: Path) -> PromptTemplate:
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PromptError(f"cannot read template: {exc}", path=str(path)) from None
    try:
        return PromptTemplate(**data, sha256=hashlib.sha256(raw).hexdigest())
    except (ValidationError, ValueError) as exc:
        raise PromptError(f"invalid template: {exc}", path=str(path)) from None


def load_prompt(name: str, folder: Path | None = None) -> PromptTemplate:
    folder = folder or data_dir("prompts")
    path = folder / f"{name}.toml"
    if not path.is_file():
        raise PromptError(f"no prompt template named {name!r}", path=str(path))
    template = load_template(path)
    if template.name != name:
        raise PromptError(f"template declares name {template.name!r}", path=str(path))
    return template
