"""Case studies become ``case_study_items``: context, priorities, actions and impact, item by item.

Core: `parse_case_study` reads one case study's normalised text (as ``ingest``
leaves it). A case study is a run of headed parts; each heading is mapped to a
part (``context``, ``priorities``, ``actions``, ``impact``) by a tolerant
vocabulary ("School context", "Background", "Key issues", "What was done?",
"Strategies", "What has been the overall impact?", "Outcomes", …). Under a
recognised heading every bullet is an item (a nested bullet names its parent)
and every prose paragraph is an item.

Decisions:
- Text before the first recognised heading is kept, as ``context``, only when it
  is prose about the school: a full sentence (8 words or more, ending in a full
  stop) that names the school, its pupils or its leaders. Titles and series
  names ("Schools needing to maximise progress", "Case study school 6") are not.
  A document with no recognised heading gives no rows at all: it is not laid
  out as a case study, and guessing its parts would be a guess.
- A paragraph that introduces the list right after it ("The school identified
  the following priorities", anything ending in ":") is not an item.
- A pointer elsewhere ("The full case study is available on … www…") is not
  an item.
- A heading-like line outside the vocabulary is a sub-heading and is skipped;
  one of "Next steps", "Further information", "Contact", "Appendix", … ends the
  current part (what follows belongs to no part until the next known heading).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.text.common import BULLET, fold

PART_HEADINGS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (part, re.compile(p, re.I))
    for part, p in (
        (
            "context",
            r"\bcontext\b|\bbackground\b|^the school$|\babout (?:the|our) school\b|\bschool profile\b"
            r"|\bsetting\b|\bstarting point\b|\bsituation\b|\bschool information\b|\boverview\b"
            r"|\bwhere (?:the school|we) (?:was|were|started)\b",
        ),
        (
            "priorities",
            r"\bpriorit\w*|\bkey issues?\b|\b(?:areas?|issues?) (?:for|of) (?:improvement|development|concern)\b"
            r"|\bchallenges?\b|\bproblems?\b|\baims?\b|\bobjectives?\b|\btargets\b"
            r"|\bwhat needed to (?:change|improve|happen)\b|\bwhat (?:did|does) the school need\b",
        ),
        (
            "actions",
            r"\bwhat (?:was|were|has been|have been|had been) done\b|\bwhat (?:the school|we|they|leaders) did\b"
            r"|\bwhat did (?:the school|we|they|leaders) do\b|\bactions?\b|\bstrateg\w*|\bapproach(?:es)?\b"
            r"|\bwhat happened\b|\bhow (?:it|this) was done\b|\bimplementation\b|\bsteps taken\b"
            r"|\binterventions?\b|\bthe work\b",
        ),
        (
            "impact",
            r"\bimpact\b|\boutcomes?\b|\bwhat (?:has )?changed\b|\bwhat difference\b|\bresults?\b"
            r"|\bevidence of (?:success|impact)\b|\bthe difference\b|\bsuccess(?:es)?\b",
        ),
    )
)
"""Each part and the words of a heading that name it; the match nearest the heading's start wins."""

_STOP_HEADING = re.compile(
    r"^(?:next steps?|further (?:information|reading)|contacts?(?: details)?|references?|resources"
    r"|acknowledge?ments?|appendi(?:x|ces)|useful links|links)\b",
    re.I,
)
_FOOTER = re.compile(
    r"https?://|\bwww\.|\bfull case study\b|\bfor (?:more|further) information\b|\bis available (?:on|at|from)\b",
    re.I,
)
_ABOUT_SCHOOL = re.compile(
    r"\b(?:school|academy|pupils?|children|students?|head\s?teacher|principal|leaders?|staff|governors?)\b", re.I
)
_MARKUP = re.compile(r"^[#*\s]+|[*\s]+$")
_NUMBERING = re.compile(r"^(?:\d+[.)]|[a-z][.)]|part\s+\d+[.:]?)\s+", re.I)
_TERMINAL = re.compile(r"[.!?][\"'\u2019\u201d)]*$")
_MAX_HEADING_WORDS = 8
_MAX_WORDS_BEFORE_KEYWORD = 5


@dataclass(frozen=True)
class _Unit:
    """A paragraph or a bullet (with its wrapped lines) of the text."""

    kind: str  # "para", "bullet" or "sub"
    start: int
    end: int


def parse_case_study(doc_id: str, text: str) -> dict[str, list[dict[str, Any]]]:
    """Read a case study into the rows of ``case_study_items``.

    Args:
        doc_id: the document's id.
        text: the normalised document text; every offset points into it.

    Returns:
        ``{"case_study_items": rows}`` with rows in document order; no rows when
        the text has none of the part headings.
    """
    units = _units(text)
    rows: list[dict[str, Any]] = []
    part: str | None = None
    heading = ""
    title = ""  # the last heading-like line before the first recognised heading
    seen_heading = False
    pre: list[tuple[str, _Unit]] = []  # (heading, unit) candidates before the first heading
    last_top: int | None = None

    def add(p: str, head: str, unit: _Unit, start: int | None = None) -> None:
        nonlocal last_top
        s = unit.start if start is None else start
        parent = last_top if unit.kind == "sub" else None
        n = len(rows) + 1
        rows.append(
            {
                "doc_id": doc_id,
                "n": n,
                "part": p,
                "heading": head,
                "parent": parent,
                "text": fold(text[s : unit.end]),
                "start": s,
                "end": unit.end,
            }
        )
        if unit.kind != "sub":
            last_top = n if unit.kind == "bullet" else None

    for i, unit in enumerate(units):
        raw = text[unit.start : unit.end]
        if unit.kind == "para":
            found = _heading_part(raw)
            if found:
                part, heading, seen_heading, last_top = found, _clean_heading(raw), True, None
                if not rows and pre:
                    for head, u in pre:
                        add("context", head, u)
                    pre = []
                continue
            inline = _inline_heading(raw)
            if inline:
                label_end, found = inline
                part, heading, seen_heading, last_top = found, _clean_heading(raw[:label_end]), True, None
                body = unit.start + label_end + 1
                body += len(text[body : unit.end]) - len(text[body : unit.end].lstrip())
                if body < unit.end:
                    add(found, heading, unit, body)
                continue
            if _is_heading_like(raw):
                if _STOP_HEADING.match(_clean_heading(raw)):
                    part = None
                elif not seen_heading:
                    title = _clean_heading(raw)
                continue
            nxt = units[i + 1] if i + 1 < len(units) else None
            if _is_intro(raw, nxt) or _FOOTER.search(raw):
                continue
        if part is not None:
            add(part, heading, unit)
        elif not seen_heading and _about_school(raw):
            pre.append((title, unit))
    return {"case_study_items": rows}


def _units(text: str) -> list[_Unit]:
    """Paragraphs and bullets, each with the offsets of its text (bullet glyph excluded)."""
    units: list[_Unit] = []
    cur: list[Any] | None = None  # [kind, start, end]
    for m in re.finditer(r"^.*$", text, re.M):
        line = m.group(0)
        if not line.strip():
            if cur:
                units.append(_Unit(*cur))
                cur = None
            continue
        stripped = line.lstrip()
        lead = len(line) - len(stripped)
        end = m.start() + len(line.rstrip())
        if stripped.startswith(BULLET):
            if cur:
                units.append(_Unit(*cur))
            body = stripped[len(BULLET) :]
            start = m.start() + lead + len(BULLET) + (len(body) - len(body.lstrip()))
            cur = ["sub" if lead else "bullet", start, end]
        elif cur and (
            # only the unit's last line is looked at (a heading is one line): reading the
            # whole growing unit for each line was quadratic
            (cur[0] == "para" and (text.find("\n", cur[1], cur[2]) >= 0 or not _heading_part(text[cur[1] : cur[2]])))
            or (cur[0] != "para" and (not _ends_sentence(text, cur[1], cur[2]) or stripped[:1].islower()))
        ):
            cur[2] = end  # the next line of a paragraph, or a wrapped line of a bullet
        else:
            if cur:
                units.append(_Unit(*cur))
            cur = ["para", m.start() + lead, end]
    if cur:
        units.append(_Unit(*cur))
    return units


def _ends_sentence(text: str, start: int, end: int) -> bool:
    """Whether `_TERMINAL` finds ``text[start:end]`` ends a sentence, read from its end."""
    i = end
    while i > start and text[i - 1] in "\"'\u2019\u201d)":
        i -= 1
    return i > start and text[i - 1] in ".!?"


def _clean_heading(raw: str) -> str:
    return fold(_MARKUP.sub("", raw))


def _is_heading_like(raw: str) -> bool:
    """A short single line with no sentence end: a title or heading, not prose."""
    head = _clean_heading(raw)
    return (
        "\n" not in raw.strip()
        and 0 < len(head.split()) <= _MAX_HEADING_WORDS
        and not re.search(r"[.,;]$", head)
        and not re.search(r"\bfollowing\b", head, re.I)
        and not (head.endswith(":") and len(head.split()) > 4)
    )


def _heading_part(raw: str) -> str | None:
    """The part a heading line names, or None when the line is not such a heading."""
    if not _is_heading_like(raw):
        return None
    head = _NUMBERING.sub("", _clean_heading(raw)).rstrip("?:").strip()
    best: tuple[int, str] | None = None
    for part, pattern in PART_HEADINGS:
        m = pattern.search(head)
        if m and len(head[: m.start()].split()) <= _MAX_WORDS_BEFORE_KEYWORD and (best is None or m.start() < best[0]):
            best = (m.start(), part)
    return best[1] if best else None


def _inline_heading(raw: str) -> tuple[int, str] | None:
    """``(offset of the colon, part)`` for a paragraph that opens with its heading: "Impact: …"."""
    m = re.match(r"[#*\s]*([^:\n]{2,60}?)\*{0,2}:", raw)
    if not m or len(m.group(1).split()) > 5:
        return None
    part = _heading_part(m.group(0)[:-1])
    return (m.end() - 1, part) if part else None


def _is_intro(raw: str, nxt: _Unit | None) -> bool:
    """Whether a paragraph only introduces the list that follows it."""
    if nxt is None or nxt.kind == "para":
        return False
    line = raw.rstrip()
    return line.endswith((":", ":-")) or not _TERMINAL.search(line)


def _about_school(raw: str) -> bool:
    line = fold(raw)
    return len(line.split()) >= 8 and bool(_TERMINAL.search(line)) and bool(_ABOUT_SCHOOL.search(line))


def read(doc_id: str, text: str) -> dict[str, list[dict[str, Any]]]:
    """The reader's entry point for the ``parse`` stage: rows of the parse tables for one document."""
    return parse_case_study(doc_id, text)
