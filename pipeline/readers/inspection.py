"""Section 5 inspection reports become records (the ``inspections`` tables), with evidence.

Core: `parse_inspection` reads one report's normalised text (as ``ingest`` leaves
it) into rows of ``inspections``, ``field_evidence``, ``judgements`` and
``recommendations``. Every value carries the offsets of the words it was read
from; a value the report does not give is None, never a guess.

The rules follow the genre, not one report: the header (before "Inspection
dates") names the school and its address; the summary table gives one line per
judgement area ("Outcomes for pupils Inadequate"); "School details" gives the
URN and the local authority; the formal section 44 sentence gives the category
of concern; "What does the school need to do to improve (further)?" gives the
recommendations as "- " bullets with "  - " sub-bullets (``normalise_layout``'s
marks).

Caveats: the 2005–2012 reports' long grid of numbered judgements is read only
where a row is one of the summary areas. A paragraph after the recommendation
bullets (e.g. "An external review of … should be undertaken") ends the list: it
is a statement to the appropriate authority, not an item of the list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.text.common import BULLET, Span, fold, parse_date_list

CORE_FIELDS = ("school_name", "inspection_start", "overall_effectiveness")
"""A report missing any of these is ``partial``."""

FIELDS = (
    "school_name",
    "urn",
    "address",
    "postcode",
    "local_authority",
    "inspection_start",
    "inspection_end",
    "overall_effectiveness",
    "previous_overall_effectiveness",
    "category_of_concern",
)
"""The scalar columns of ``inspections`` a report is read for, in column order."""

GRADES = {"outstanding": 1, "good": 2, "requires improvement": 3, "satisfactory": 3, "inadequate": 4}
"""Grade words of every scale since 2005 (``satisfactory`` was grade 3 until 2012)."""

_GRADE = (
    r"(?P<word>outstanding|good|requires\s+improvement|satisfactory|inadequate)(?:[ \t]+\(?(?P<num>[1-4])\)?)?"
    r"|(?P<only>[1-4])"
)
_GRADE_LINE = re.compile(rf"[ \t]*(?:{_GRADE})[ \t]*\.?[ \t]*", re.I)
_JUDGEMENT_LINE = re.compile(
    rf"[ \t]*(?P<label>[A-Za-z0-9(][^\n]*?)[ \t]*:?[ \t]+(?:this\s+inspection\s*:?[ \t]*)?(?:{_GRADE})[ \t]*\.?[ \t]*",
    re.I,
)

_AREAS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (area, re.compile(pattern, re.I))
    for area, pattern in (
        ("quality_of_education", r"(?:the\s+)?quality\s+of\s+education"),
        ("behaviour_attitudes", r"behaviour\s+and\s+attitudes"),
        ("personal_development", r"personal\s+development"),
        ("overall_effectiveness", r"(?:the\s+)?overall\s+effectiveness(?:\s*:?\s*how\s+good\s+is\s+the\s+school\??)?"),
        ("leadership_management", r"(?:(?:the\s+)?effectiveness\s+of\s+)?(?:the\s+)?leadership\s+and\s+management"),
        ("teaching_learning_assessment", r"(?:the\s+)?quality\s+of\s+teaching(?:,?\s+learning\s+and\s+assessment)?"),
        (
            "personal_development_behaviour_welfare",
            r"personal\s+development,?\s+behaviour\s+and\s+welfare|behaviour\s+and\s+safety(?:\s+of\s+pupils)?",
        ),
        (
            "outcomes",
            r"outcomes\s+for\s+(?:pupils|learners|children(?:\s+and\s+(?:other\s+)?learners)?)"
            r"|achievement\s+of\s+pupils",
        ),
        (
            "early_years",
            r"(?:(?:the\s+)?effectiveness\s+of\s+)?(?:the\s+)?early\s+years(?:\s+foundation\s+stage)?(?:\s+provision)?",
        ),
        (
            "sixth_form",
            r"(?:(?:the\s+)?effectiveness\s+of\s+)?(?:the\s+)?(?:sixth[\s-]form(?:\s+provision)?|16\s+to\s+19\s+study\s+programmes)",
        ),
    )
)

_DATES_LABEL = re.compile(
    r"^[ \t]*(?:Inspection\s+dates?|Dates?\s+of\s+(?:the\s+)?inspection)[ \t]*:?[ \t]*(?=\d)", re.I | re.M
)
_TITLE_LINE = re.compile(r"(?:School|Inspection)\s+report", re.I)
_INSPECTION_OF = re.compile(
    r"(?:Inspection\s+(?:report\s+)?(?:of|for)|(?:School|Inspection)\s+report\s*:)\s*(?P<name>\S.*)", re.I
)
_SCHOOL_WORD = re.compile(
    r"\b(?:School|Academy|College|Infants?|Junior|Primary|Nursery|Federation|Centre|Grammar|High|Unit)\b", re.I
)
_LABEL_LINE = re.compile(
    r"(?:Unique\s+reference\s+number|URN|Local\s+authority|Inspection\s+(?:number|dates?)|Dates?\s+of)\b", re.I
)
_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)[ \t]*(\d[A-Z]{2})\b")
_URN = re.compile(r"\b(?:Unique\s+reference\s+number|URN)[ \t]*:?[ \t]*(?P<urn>\d{5,7})\b", re.I)
# Capital L only: "local authority" opens many a wrapped line of prose.
_LA = re.compile(r"^[ \t]*Local\s+[Aa]uthority[ \t]*:?[ \t]+(?P<la>[A-Z][^\n]{0,59}?)[ \t]*$", re.M)
_SCHOOL_DETAILS = re.compile(r"^[ \t]*(?:School\s+details|Information\s+about\s+the\s+school)[ \t]*$", re.I | re.M)
_PREVIOUS = re.compile(
    r"^[ \t]*(?:Overall\s+effectiveness\s+at\s+(?:the\s+)?previous\s+inspection|Previous\s+inspection(?:\s+grade)?)"
    rf"[ \t]*:?[ \t]+(?:(?P<none>not\s+previously\s+inspected)|{_GRADE})[ \t]*\.?[ \t]*$",
    re.I | re.M,
)
# The formal section 44 opinion. Only these present-tense verbs put the school in
# a category: anything else between "school" and the category ("no longer
# requires", "was placed in", "does not have") does not.
_CONCERN = re.compile(
    r"\b(?:school|academy)\s+(?P<verb>(?:[a-z']+\s+){0,4}?)"
    r"(?P<category>special\s+measures|serious\s+weaknesses)\b",
    re.I,
)
_IN_CATEGORY = {
    "special_measures": re.compile(
        r"(?:(?:now|therefore|still)\s+)?(?:requires?|needs?|(?:is|remains)\s+(?:(?:now|being|to\s+be)\s+)?(?:placed\s+)?in)",
        re.I,
    ),
    "serious_weaknesses": re.compile(
        r"(?:(?:now|therefore|still)\s+)?(?:has|is\s+judged\s+to\s+have|continues\s+to\s+have"
        r"|(?:is|remains)\s+(?:(?:now|being|to\s+be)\s+)?(?:placed\s+)?in(?:\s+the\s+category\s+of)?)",
        re.I,
    ),
}
_REC_HEADING = re.compile(
    r"^[ \t]*(?P<heading>(?:What\s+does\s+the\s+(?:school|academy|college)\s+need\s+to\s+do\s+to\s+improve"
    r"|What\s+the\s+(?:school|academy|college)\s+should\s+do\s+to\s+improve)(?:\s+further)?\s*\??)[ \t]*$",
    re.I | re.M,
)
_PREAMBLE = re.compile(r"\(.{0,200}\)|.{0,200}:")
_MAX_PREAMBLE = 3  # short paragraphs allowed between the heading and the first bullet


@dataclass(frozen=True)
class Judgement:
    """One graded line of the summary table."""

    area: str
    heading: str
    grade: int
    grade_text: str
    start: int
    end: int


@dataclass(frozen=True)
class Item:
    """One recommendation bullet; ``parent`` is the n of the bullet it is nested under."""

    n: int
    parent: int | None
    text: str
    start: int
    end: int


def parse_inspection(doc_id: str, text: str) -> dict[str, list[dict[str, Any]]]:
    """Read a section 5 report's normalised text into the rows of its tables.

    Args:
        doc_id: the document's id.
        text: ``documents.text``: the normalised text all offsets point into.

    Returns:
        Table name (inspections, field_evidence, judgements, recommendations) →
        rows; ``inspections`` always has exactly one row, ``partial`` (with the
        missing core fields in ``error``) when a core field could not be read.
    """
    values: dict[str, Any] = dict.fromkeys(FIELDS)
    evidence: dict[str, Span] = {}

    def put(name: str, value: Any, span: Span) -> None:
        values[name] = value
        evidence[name] = span

    dates = _DATES_LABEL.search(text)
    header_end = dates.start() if dates else min(len(text), 2000)
    if dates:
        read = parse_date_list(text[dates.end() :])
        if read:
            days, length = read
            span = Span(text[dates.end() : dates.end() + length], dates.end(), dates.end() + length)
            put("inspection_start", days[0], span)
            put("inspection_end", days[-1], span)
    for name, span in _header(text, header_end).items():
        put(name, span.text, span)
    if "postcode" in evidence:
        values["postcode"] = _postcode(values["postcode"])

    details = _SCHOOL_DETAILS.search(text)
    for m in (_URN.search(text, details.start()) if details else None, _URN.search(text)):
        if m:
            put("urn", int(m.group("urn")), Span(m.group("urn"), m.start("urn"), m.end("urn")))
            break
    for m in (_LA.search(text, details.start()) if details else None, _LA.search(text)):
        if m:
            put("local_authority", m.group("la"), Span(m.group("la"), m.start("la"), m.end("la")))
            break

    judgements = read_judgements(text)
    overall = next((j for j in judgements if j.area == "overall_effectiveness"), None)
    if overall:
        put("overall_effectiveness", overall.grade, Span(text[overall.start : overall.end], overall.start, overall.end))
    prev = _PREVIOUS.search(text)
    if prev and not prev.group("none"):
        grade = _grade_of(prev)
        put("previous_overall_effectiveness", grade, Span(prev.group(0).strip(), *_strip_span(prev)))
    concern = read_category_of_concern(text)
    if concern:
        put("category_of_concern", concern.text, concern)

    heading, items = read_recommendations(text)
    missing = [f for f in CORE_FIELDS if values[f] is None]
    return {
        "inspections": [
            {
                "doc_id": doc_id,
                "status": "partial" if missing else "ok",
                "error": f"could not read: {', '.join(missing)}" if missing else None,
                **values,
            }
        ],
        "field_evidence": [
            {"doc_id": doc_id, "field": f, "value": _as_text(values[f]), "start": sp.start, "end": sp.end}
            for f, sp in evidence.items()
        ],
        "judgements": [
            {
                "doc_id": doc_id,
                "area": j.area,
                "heading": j.heading,
                "grade": j.grade,
                "grade_text": j.grade_text,
                "start": j.start,
                "end": j.end,
            }
            for j in judgements
        ],
        "recommendations": [
            {
                "doc_id": doc_id,
                "n": it.n,
                "parent": it.parent,
                "text": it.text,
                "intro": heading,
                "start": it.start,
                "end": it.end,
            }
            for it in items
        ],
    }


def grade_number(grade_text: str) -> int | None:
    """1–4 for a grade as printed ("Requires Improvement", "Satisfactory 3", "2"), else None."""
    m = _GRADE_LINE.fullmatch(grade_text)
    return _grade_of(m) if m else None


def read_judgements(text: str) -> list[Judgement]:
    """The graded judgement of each area, from the first line that grades it.

    A line grades an area when its label is the whole of an area's heading and
    the grade closes the line ("Outcomes for pupils Inadequate", "Quality of
    teaching 3", "Overall effectiveness This inspection: Good 2"); the grade may
    sit alone on the next line. The summary table comes first, so it wins over
    the section headings that repeat it.
    """
    out: dict[str, Judgement] = {}
    lines = _lines(text, 0, len(text))
    for i, (s, line) in enumerate(lines):
        m = _JUDGEMENT_LINE.fullmatch(line)
        grade_m: re.Match[str] | None = None
        if m and (area := _area(m.group("label"))):
            label, grade_m, grade_base = m.group("label"), m, s
        elif (area := _area(line)) and i + 1 < len(lines):
            label, grade_base = line, lines[i + 1][0]
            grade_m = _GRADE_LINE.fullmatch(lines[i + 1][1])
        if area is None or grade_m is None:
            continue
        if area in out:
            continue
        g_start = grade_base + (grade_m.start("word") if grade_m.group("word") else grade_m.start("only"))
        g_end = grade_base + grade_m.end("num" if grade_m.group("num") else "word" if grade_m.group("word") else "only")
        start = s + len(line) - len(line.lstrip())
        out[area] = Judgement(
            area=area,
            heading=label.strip().rstrip(":").strip(),
            grade=_grade_of(grade_m),
            grade_text=text[g_start:g_end],
            start=start,
            end=g_end,
        )
    return sorted(out.values(), key=lambda j: j.start)


def read_category_of_concern(text: str) -> Span | None:
    """``special_measures`` or ``serious_weaknesses`` when the report puts the school in it.

    Returns:
        The category id, with the span from "school" to the category's name;
        None when the report names no category, or names one only to say the
        school is no longer (or not, or was once) in it.
    """
    for m in _CONCERN.finditer(text):
        category = "special_measures" if m.group("category").lower().startswith("special") else "serious_weaknesses"
        if _IN_CATEGORY[category].fullmatch(fold(m.group("verb"))):
            return Span(category, m.start(), m.end())
    return None


def read_recommendations(text: str) -> tuple[str | None, list[Item]]:
    """The bullets under "What does the school need to do to improve (further)?".

    A "- " line opens a top-level item, an indented "  - " line a sub-item of
    the item above it; a line right under an item (no blank line between) goes
    on with it. A top-level item spans its sub-items too (its text is the whole
    bullet), and each sub-item is also a row of its own. The list ends at the
    first paragraph after it that is not a bullet.

    Returns:
        The heading as written (None when the report has none) and the items in
        document order, numbered from 1.
    """
    head = _REC_HEADING.search(text)
    if not head:
        return None, []
    heading = fold(head.group("heading"))
    spans: list[list[int]] = []  # [start, end, parent index or -1]
    top = -1  # index in spans of the current top-level item
    cur = -1  # index of the item the last line belongs to
    blank_before = True
    preamble = 0
    for s, line in _lines(text, head.end(), len(text)):
        if not line.strip():
            blank_before = True
            continue
        nested = re.match(rf"[ \t]+{re.escape(BULLET)}", line)
        if line.startswith(BULLET) or (nested and top < 0):
            spans.append([s + len(line) - len(line.lstrip()) + len(BULLET), s + len(line.rstrip()), -1])
            top = cur = len(spans) - 1
        elif nested:
            spans.append([s + nested.end(), s + len(line.rstrip()), top])
            cur = len(spans) - 1
        elif cur >= 0 and not blank_before:
            spans[cur][1] = s + len(line.rstrip())
        elif cur < 0 and preamble < _MAX_PREAMBLE and _PREAMBLE.fullmatch(line.strip()):
            preamble += 1  # "(Information for the school and appropriate authority)"
        else:
            break
        if cur >= 0 and spans[cur][2] >= 0:
            spans[spans[cur][2]][1] = spans[cur][1]  # a parent spans its sub-items
        blank_before = False
    items = [
        Item(
            n=i + 1,
            parent=p + 1 if p >= 0 else None,
            text=fold(re.sub(rf"(?m)^[ \t]*{re.escape(BULLET)}", " ", text[a:b])),
            start=a,
            end=b,
        )
        for i, (a, b, p) in enumerate(spans)
    ]
    return heading, items


# -- helpers ------------------------------------------------------------------------------------


def _header(text: str, header_end: int) -> dict[str, Span]:
    """The school's name, address and postcode from the lines above the inspection dates."""
    found: dict[str, Span] = {}
    lines = _lines(text, 0, header_end)
    after_title = False
    for i, (s, line) in enumerate(lines):
        body = line.strip()
        if not body:
            continue
        lead = s + len(line) - len(line.lstrip())
        if _TITLE_LINE.fullmatch(body):
            after_title = True
            continue
        of = _INSPECTION_OF.fullmatch(body)
        if of:
            name = of.group("name").strip()
            lead += of.start("name")
        elif (after_title or _SCHOOL_WORD.search(body)) and not _LABEL_LINE.match(body) and len(body) <= 120:
            name = re.sub(r"\s+(?:School|Inspection)\s+report$", "", body, flags=re.I)
        else:
            after_title = False
            continue
        found["school_name"] = Span(name, lead, lead + len(name))
        address = _address(lines[i + 1 :])
        if address:
            found["address"] = address
        break
    lo = found["address"].start if "address" in found else 0
    hi = found["address"].end if "address" in found else header_end
    codes = list(_POSTCODE.finditer(text, lo, hi))
    if codes:
        found["postcode"] = Span(codes[-1].group(0), codes[-1].start(), codes[-1].end())
    return found


def _lines(text: str, start: int, end: int) -> list[tuple[int, str]]:
    """The lines of ``text[start:end]`` with their offsets in ``text``."""
    out = []
    pos = start
    for line in text[start:end].split("\n"):
        out.append((pos, line))
        pos += len(line) + 1
    return out


def _address(lines: list[tuple[int, str]]) -> Span | None:
    """The lines right under the school's name, up to a blank line or a label, joined with commas."""
    parts: list[tuple[int, str]] = []
    for s, line in lines:
        body = line.strip()
        if not body or _LABEL_LINE.match(body) or _TITLE_LINE.fullmatch(body):
            break
        parts.append((s + len(line) - len(line.lstrip()), body))
    if not parts:
        return None
    value = ", ".join(p.rstrip(",") for _, p in parts)
    return Span(value, parts[0][0], parts[-1][0] + len(parts[-1][1]))


def _postcode(raw: str) -> str:
    m = _POSTCODE.fullmatch(raw)
    return f"{m.group(1)} {m.group(2)}" if m else raw


def _area(label: str) -> str | None:
    label = fold(label).rstrip(":").strip()
    return next((area for area, pattern in _AREAS if pattern.fullmatch(label)), None)


def _grade_of(m: re.Match[str]) -> int:
    word = m.group("word")
    return GRADES[fold(word).lower()] if word else int(m.group("only"))


def _strip_span(m: re.Match[str]) -> tuple[int, int]:
    raw = m.group(0)
    start = m.start() + len(raw) - len(raw.lstrip())
    return start, start + len(raw.strip())


def _as_text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def read(doc_id: str, text: str) -> dict[str, list[dict[str, Any]]]:
    """The reader's entry point for the ``parse`` stage: rows of the parse tables for one document."""
    return parse_inspection(doc_id, text)
