"""Units: the sentences and bullet items the classifier tags, each with offsets.

A document's normalised text (see `pipeline.text.common.normalise_layout`) is cut into
blocks at blank lines. A bullet line (``- `` or nested ``  - ``) with its
wrapped lines is one unit; other blocks are split into sentences by a spaCy
pipeline (``spacy.blank("en")`` plus the rule component registered here), whose
tokenizer keeps "Mrs.", "e.g." and "i.e." whole. Headings, address lines and
other fragments too short to say anything are not units.

The spaCy pipeline is an argument (`make_nlp` builds the default one), so this
module imports spaCy only when a pipeline is made.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.text.common import BULLET

if TYPE_CHECKING:
    from spacy.language import Language

MIN_WORDS = 3
"""A fragment with fewer words is a heading or label, not a unit."""

_SENT_END = frozenset({".", "!", "?"})
_CLOSERS = frozenset({'"', "'", "\u2019", "\u201d", ")", "]"})


@dataclass(frozen=True)
class Unit:
    """One classifiable unit of a document's text."""

    unit_id: str
    start: int
    end: int
    text: str
    kind: str  # sentence | bullet | sub_bullet


def unit_id_of(doc_id: str, start: int, end: int) -> str:
    """A stable id for the span ``start:end`` of document ``doc_id``."""
    return hashlib.sha256(f"{doc_id}:{start}:{end}".encode()).hexdigest()[:16]


def make_nlp() -> Language:
    """The default sentence splitter: a blank English pipeline with our rule component."""
    import spacy

    _register()
    nlp = spacy.blank("en")
    nlp.add_pipe("ofsted_sentences")
    return nlp


_REGISTERED = False


def _register() -> None:
    global _REGISTERED
    if _REGISTERED:
        return
    from spacy.language import Language

    @Language.component("ofsted_sentences", assigns=["token.is_sent_start"])
    def ofsted_sentences(doc: Any) -> Any:
        """Sentence starts after . ! ? (and any closing quote or bracket) before a capital or digit.

        "Years 4 and 5." never ends early because numbers do not end sentences;
        "Mrs." and "e.g." are single tokens in spaCy's English tokenizer, so
        their full stops are not sentence ends.
        """
        for i, tok in enumerate(doc):
            if i == 0:
                tok.is_sent_start = True
                continue
            tok.is_sent_start = False
        i = 0
        n = len(doc)
        while i < n:
            tok = doc[i]
            if tok.text in _SENT_END:
                j = i + 1
                while j < n and (doc[j].text in _CLOSERS or doc[j].is_space):
                    j += 1
                if j < n and (doc[j].text[:1].isupper() or doc[j].text[:1].isdigit() or doc[j].text[:1] in "\"'\u201c"):
                    doc[j].is_sent_start = True
                i = j
            else:
                i += 1
        return doc

    _REGISTERED = True


def units(doc_id: str, text: str, nlp: Language) -> list[Unit]:
    """Every unit of a document, in text order.

    Args:
        doc_id: the document's id (units' ids derive from it and their offsets).
        text: the document's normalised text.
        nlp: a spaCy pipeline that sets sentence starts (`make_nlp`).
    """
    out: list[Unit] = []
    for start, end, kind in _blocks(text):
        if kind != "prose":
            _add(out, doc_id, text, start, end, kind)
            continue
        doc = nlp(text[start:end])
        for sent in doc.sents:
            _add(out, doc_id, text, start + sent.start_char, start + sent.end_char, "sentence")
    return out


def _add(out: list[Unit], doc_id: str, text: str, start: int, end: int, kind: str) -> None:
    raw = text[start:end]
    lead = len(raw) - len(raw.lstrip())
    start, end = start + lead, start + len(raw.rstrip())
    if kind != "sentence" and text.startswith(BULLET, start):
        start += len(BULLET)
    body = " ".join(text[start:end].split())
    if len(re.findall(r"[A-Za-z]+", body)) < MIN_WORDS:
        return
    out.append(Unit(unit_id_of(doc_id, start, end), start, end, body, kind))


def _blocks(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, kind)`` of each bullet item and each run of prose lines."""
    pos = 0
    cur: list[Any] | None = None  # [start, end, kind]
    for line in text.split("\n"):
        s, e = pos, pos + len(line)
        pos = e + 1
        if not line.strip():
            if cur:
                yield cur[0], cur[1], cur[2]
            cur = None
            continue
        if line.startswith(BULLET) or line.startswith("  " + BULLET):
            if cur:
                yield cur[0], cur[1], cur[2]
            cur = [s, e, "bullet" if line.startswith(BULLET) else "sub_bullet"]
        elif cur:
            cur[1] = e  # a wrapped line of an item, or the next line of a paragraph
        else:
            cur = [s, e, "prose"]
    if cur:
        yield cur[0], cur[1], cur[2]
