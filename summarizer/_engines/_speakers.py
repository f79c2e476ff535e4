"""Speakers across an article: named attributions, and "he says" resolved to the last name.

:func:`summarizer._text.attribution` finds a name in one sentence ("X said", "said X",
"according to X", "X, a professor, remarked"); organisations and publications count as
sources ("Foreign Policy writes") but the article itself does not. A sentence whose only
attribution is a personal pronoun ("he says", "she told reporters") is given the last
person named as a speaker earlier in the article, the usual most-recent-antecedent rule;
one that credits "the article", "the publication" or "the authors" is given the last named
source of any kind (in a write-up of a magazine piece, that magazine), and none when the
article has named no source, so the article itself is never a speaker. A sentence that
is all quotation with no attribution of its own continues the last attributed quote, as
news style runs one speaker's quote over several paragraphs.
"""

from __future__ import annotations

import re

from summarizer._text import attribution

_PRONOUN_VERB = (
    r"said|says|told|tells|added|adds|argued|argues|believes|believed|warned|warns|noted|"
    r"notes|explained|explains|remarked|remarks|thinks|thought|insisted|insists|wrote|writes"
)
_PRONOUN_ATTRIBUTION = re.compile(
    rf"\b(?:[Hh]e|[Ss]he)\s+(?:also\s+|[a-z]+ly\s+)?(?:{_PRONOUN_VERB})\b"
    rf"|(?:[,?!]['’”\"]?|[”\"])\s*(?:{_PRONOUN_VERB})\s+(?:he|she)\b"
)
_DOCUMENT = r"the (?:article|publication|authors?|magazine|newspaper|paper|report|outlet|piece)"
_DOCUMENT_ATTRIBUTION = re.compile(
    rf"\b{_DOCUMENT}\s+(?:also\s+|[a-z]+ly\s+)?(?:{_PRONOUN_VERB}|summarizes|summarises|"
    rf"points? out|observes?|suggests?|say|write|note|argue|explain)\b|\baccording to {_DOCUMENT}\b"
    rf"|(?:[,?!]['’”\"]?|[”\"])\s*(?:{_PRONOUN_VERB}) {_DOCUMENT}\b",
    re.I,
)
_INSTITUTION = re.compile(r"^(?:The|A|An)\b")
_QUOTE_START = re.compile(r"^[“\"‘']")


def is_person(name: str) -> bool:
    """A heuristic: a capitalised name not led by an article ("The police" is not)."""
    return not _INSTITUTION.match(name) and name[:1].isupper()


class SpeakerTracker:
    """Reads an article's sentences in order and names each one's speaker."""

    def __init__(self) -> None:
        self.last_person: str | None = None
        self.last_source: str | None = None
        self.last_speaker: str | None = None

    def speaker(self, text: str) -> str | None:
        found = self._speaker(text)
        if found is None and _QUOTE_START.match(text):
            return self.last_speaker
        self.last_speaker = found
        return found

    def _speaker(self, text: str) -> str | None:
        name = attribution(text)
        if name:
            if is_person(name):
                self.last_person = name
            if not _INSTITUTION.match(name):
                self.last_source = name
            return name
        if _PRONOUN_ATTRIBUTION.search(text):
            return self.last_person
        if _DOCUMENT_ATTRIBUTION.search(text):
            return self.last_source
        return None
