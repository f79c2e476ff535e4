"""Prompt templates: versioned TOML files in ``prompts/``, validated on load.

Each template has a ``name``, a ``version`` and text fields with ``$placeholders``
(:class:`string.Template`); every field may use only the placeholders listed for it in
``FIELDS``, and must use the required ones. The sha256 of the file travels, with the
version, into every result's provenance and into cache keys.
"""

from __future__ import annotations

import hashlib
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

_PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
_REPOSITORY = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """``prompts`` or ``schemas``: inside an installed wheel, else the repository's folder."""
    packaged = _PACKAGE_DATA / name
    return packaged if packaged.is_dir() else _REPOSITORY / name


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

    # field -> (allowed placeholders, required placeholders)
    FIELDS: ClassVar[dict[str, tuple[set[str], set[str]]]] = {
        "system": (set(), set()),
        "json_instruction": ({"schema"}, {"schema"}),
        "user": (
            {"summary_words", "part_note", "doc_id", "article", "notes", "a", "b", "candidate"},
            set(),
        ),
        "reask": ({"errors"}, {"errors"}),
        "ground_reask": ({"quotes"}, {"quotes"}),
    }

    name: str
    version: str
    description: str
    system: str
    json_instruction: str
    user: str
    reask: str
    ground_reask: str | None = None
    sha256: str = ""

    @model_validator(mode="after")
    def _check_placeholders(self) -> PromptTemplate:
        for field, (allowed, required) in self.FIELDS.items():
            text = getattr(self, field)
            if text is None:
                continue
            used = placeholders(text)
            if used - allowed:
                raise ValueError(f"{field} uses unknown placeholders {sorted(used - allowed)}")
            if required - used:
                raise ValueError(f"{field} must use {sorted(required - used)}")
        if not ({"article", "notes", "a"} & placeholders(self.user)):
            raise ValueError("user must contain the content: $article, $notes or $a")
        return self

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    def messages(self, **values: object) -> list[dict[str, str]]:
        """The chat messages for one call: the static system text, then the filled user text."""
        return [
            {"role": "system", "content": self.system.strip()},
            {"role": "user", "content": self.fill("user", **values)},
        ]

    def fill(self, field: str, **values: object) -> str:
        text = getattr(self, field)
        if text is None:
            raise PromptError(f"template {self.name} has no {field}")
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
