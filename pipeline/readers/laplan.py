"""Local-authority school-improvement plans become the ``la_*`` tables, with evidence.

Core: `parse_la_plan` reads one plan's normalised text (as ``ingest`` leaves it,
tables flattened to one tab-separated line per row with HTML list fragments in
the cells). It reads, by rules written for the genre:

- ``la_plans``: the authority ("Wiltshire Local Authority", "Kent County
  Council", "London Borough of Ealing"), the title (an early heading naming a
  plan, strategy, policy, …) and the year (one written in the title, else the
  first month-and-year or academic year of the text, else its first year);
- ``la_category_scheme``: the sentence that names the categories ("the school
  categorisation of inadequate, satisfactory with …, good or outstanding"): a
  sentence about categor* naming at least three taxonomy categories. Letter or
  number schemes ("Category A/B/C/D") give a row only where the plan says what
  a letter means ("Category D: inadequate"); otherwise a label has no taxonomy
  id and is not a row;
- ``la_support_offer``: the items under the support headings: "Universal
  provision" / "For all schools" (la_category None), "For schools that are
  Inadequate (…)", "In addition, good and outstanding schools …:" (one row per
  category named: an item offered to good and to outstanding schools is two
  rows with the same offsets), "Portfolio of support" (None). Items are
  bullets, "Label: description" paragraphs, and the cells of a flattened table
  (split at their list glyphs), including tables whose first column names the
  category. ``support_type`` is the type `find_support` finds first *in text
  order* in the item's label (for "Label: …" paragraphs), else in its text;
- ``la_rag_areas``: the list introduced by a sentence naming a RAG (or
  Red/Amber/Green) rating;
- ``la_floor_risk``: each of high/medium/low named in a sentence about risk
  (first one listing two or more levels; failing that, "high risk" in a
  sentence about the floor);
- ``la_success_criteria``: the list under "Success criteria" (or "How will we
  know …", "Targets", "Measures of success"), with its numbers: "from 4 to 2"
  (4.0, 2.0, count), "from 4% to 2.5%" (percent), "to 90%", "over 33%" (to
  only); ``deadline`` is ``YYYY-MM`` when the deadline names a month ("by December
  2010"). A deadline that gives a year only ("by 2013") has no month: ``deadline`` is
  None rather than an invented month, and the criterion's text keeps the year.

A value the plan does not give is None. A text with none of these is no plan:
every table is empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.readers.support import find_support
from pipeline.text.common import MONTH_RE, Span, fold, month_number, sentences

TABLE_NAMES = (
    "la_plans",
    "field_evidence",
    "la_category_scheme",
    "la_support_offer",
    "la_rag_areas",
    "la_floor_risk",
    "la_success_criteria",
)

_Q = "['\u2019\u2018\u201c\u201d]?"
_AFTER_LABEL = r"(?=\s*(?:$|[,;:.)('\u2019\u201d*/\u2013-]|(?:and|or|schools?|category|categories)\b))"
_CATEGORY = re.compile(
    rf"(?P<satisfactory_satisfactory_capacity>satisfactory{_Q}\s+\(?(?:with\s+)?satisfactory\s+capacity"
    rf"(?:\s+to\s+improve)?\)?)"
    rf"|(?P<satisfactory_good_capacity>satisfactory{_Q}\s+\(?(?:with\s+)?good\s+capacity(?:\s+to\s+improve)?\)?)"
    rf"|(?P<inadequate>\binadequate\b{_AFTER_LABEL})"
    rf"|(?P<good>\bgood\b(?!\s+capacity){_AFTER_LABEL})"
    rf"|(?P<outstanding>\boutstanding\b{_AFTER_LABEL})",
    re.I,
)
"""The taxonomy categories as plans write them; the longer labels come first so "good capacity" is not "good"."""
_LETTER_CATEGORY = re.compile(
    r"\bcategory\s+(?P<code>[A-E1-5])\b\s*(?:[(:=\u2013\u2014-]|\b(?:is|are|means|for)\b)\s*"
    r"(?:(?:schools?|those)\s+(?:that\s+are|which\s+are|judged(?:\s+to\s+be)?|(?:that\s+)?(?:are\s+)?rated)\s+)?",
    re.I,
)
_UNIVERSAL = re.compile(
    r"^(?:universal\b|core\s+(?:offer|provision|entitlement)|(?:for\s+|to\s+)?all\s+(?:our\s+)?schools\b"
    r"|every\s+school\b)|\b(?:portfolio|menu|range)\s+of\s+support\b|\bsupport\s+(?:offer|available|portfolio)\b",
    re.I,
)
_KEEPS_OFFER = re.compile(r"^\W*(?:\w+\W+){0,3}\w*\W*$|\bsupport\b|\bprovision\b|\boffer\b|\bin\s+addition\b", re.I)
"""A list intro that goes on with the offer above it: short ("In addition:") or about support."""
_SCHOOL = re.compile(r"\bschools?\b", re.I)
_LABEL_PARA = re.compile(r"^(?P<label>[A-Z][^:\n]{2,160}?)\s*:\s*-?\s*(?=\S)")
_CELL_SEP = re.compile(r"</?(?:ul|ol|li|p|br|div|table|tr|td|th)\b[^>]*>|[\u25aa\u2022\u25cf\u25e6\u25a0\u2023]")
_INLINE_TAG = re.compile(r"</?[a-z][^>]*>", re.I)
_RAG = re.compile(r"\bRAG\b|\bred\s*[/,]\s*amber\s*(?:[/,]|,?\s+and)\s*green\b", re.I)
_RISK_LEVEL = re.compile(r"\b(high|medium|low)\b", re.I)
_CRITERIA_HEADING = re.compile(
    r"^(?:our\s+|the\s+|key\s+)?(?:success\s+criteria|targets|measures\s+of\s+success)\b|\bhow\s+will\s+we\s+know\b",
    re.I,
)
_PLAN_WORD = re.compile(r"\b(?:plan|strategy|policy|framework|programme|protocol|offer|statement)\b", re.I)
_AUTHORITY = re.compile(
    r"\b(?:London|Royal)\s+Borough\s+of\s+(?P<after>[A-Z][a-z]+(?:[ -](?:upon[ -])?[A-Z][a-z]+)*)"
    r"|\b(?P<before>[A-Z][a-z]+(?:[ -](?:(?:and|upon|on|under|of)[ -])?"
    r"(?!(?:County|City|Borough|Metropolitan|District)\b)[A-Z][a-z]+){0,6})"  # bounded: a run of capitals was quadratic
    r"\s+(?:Local\s+Authority|(?:County|City|Borough|Metropolitan\s+Borough|District)\s+Council|Council|LA)\b"
)
_NOT_A_PLACE = frozenset(
    {"The", "This", "That", "Our", "Each", "A", "An", "Every", "Their", "Its", "Your", "One", "Any", "Local"}
)
_YEAR = r"(?:19[89]\d|20\d\d)"
_DATED_YEAR = re.compile(rf"\b{MONTH_RE}\s+(?P<y>{_YEAR})\b|\b(?P<a>{_YEAR})\s*[-/\u2013]\s*(?:\d\d|{_YEAR})\b", re.I)
_BARE_YEAR = re.compile(rf"\b{_YEAR}\b")
_NUM = r"(\d+(?:\.\d+)?)\s*(%|per\s*cent\b|percent\b)?"
_FROM_TO = re.compile(rf"\bfrom\s+{_NUM}\s+to\s+{_NUM}", re.I)
_TO_ONLY = re.compile(
    rf"\b(?:to|reach(?:es)?|at\s+least|over|above|below|under|more\s+than|fewer\s+than|less\s+than)\s+{_NUM}", re.I
)
_BY = re.compile(
    rf"\b(?:by|before|no\s+later\s+than)\s+(?:the\s+end\s+of\s+)?(?:(?P<month>{MONTH_RE})\s+)?(?P<year>{_YEAR})\b",
    re.I,
)
_CHANGE = re.compile(
    r"\s+(?:(?:will|shall|should|must|is|are|to)\s+(?:be\s+)?)?"
    r"(?:reduc|increas|decreas|fall|fell|rise|rising|improv|drop|grow|go(?:es)?\s+(?:up|down))\w*",
    re.I,
)
_IMPERATIVE = re.compile(r"^(?:reduce|increase|decrease|raise|improve|lower)\s+(?P<what>.+?)\s+(?:from|to|by)\b", re.I)
_COUNTED = re.compile(r"\bnumber\b|\bproportion\b|\bpercentage\b|%|\brate\b|\bshare\b", re.I)
_LEAD_DATE = re.compile(rf"^by\s+(?:{MONTH_RE}\s+)?{_YEAR}\s*,\s*", re.I)
_TERMINAL = re.compile(r"[.!?][\"'\u2019\u201d)]*$")
_NUMBERED = re.compile(r"(\d{1,2}|[a-z])[.)]\s+(?=\S)")


@dataclass(frozen=True)
class _Unit:
    """A paragraph, a list item (with its wrapped lines) or a table row of the text."""

    kind: str  # "para", "bullet", "sub" or "table"
    start: int
    end: int


def parse_la_plan(doc_id: str, text: str) -> dict[str, list[dict[str, Any]]]:
    """Read an LA plan into the rows of its tables.

    Args:
        doc_id: the document's id.
        text: the normalised document text; every offset points into it.

    Returns:
        Table name (see `TABLE_NAMES`) → rows. ``la_plans`` has one row when
        the text shows any sign of being a plan (a title, or a row of any other
        table); otherwise every table is empty.
    """
    units = _units(text)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLE_NAMES}
    out["la_category_scheme"] = [{"doc_id": doc_id, **row} for row in _category_scheme(text)]
    out["la_support_offer"] = [
        {"doc_id": doc_id, "n": i, **row} for i, row in enumerate(_support_offer(text, units), start=1)
    ]
    out["la_rag_areas"] = [
        {"doc_id": doc_id, "n": i, "area": s.text, "start": s.start, "end": s.end}
        for i, s in enumerate(_rag_areas(text, units), start=1)
    ]
    out["la_floor_risk"] = [
        {"doc_id": doc_id, "level": level, "text": fold(s.text), "start": s.start, "end": s.end}
        for level, s in _floor_risk(text)
    ]
    out["la_success_criteria"] = [
        {"doc_id": doc_id, "n": i, **criterion(text[s:e]), "start": s, "end": e}
        for i, (s, e) in enumerate(_criteria_spans(text, units), start=1)
    ]
    fields = {"local_authority": _authority(text), "title": _title(text)}
    fields["year"] = _year(text, fields["title"])
    if fields["title"] is None and not any(out[name] for name in TABLE_NAMES[2:]):
        return out
    out["la_plans"] = [
        {
            "doc_id": doc_id,
            "local_authority": fields["local_authority"].text if fields["local_authority"] else None,
            "title": fields["title"].text if fields["title"] else None,
            "year": int(fields["year"].text) if fields["year"] else None,
        }
    ]
    out["field_evidence"] = [
        {"doc_id": doc_id, "field": name, "value": span.text, "start": span.start, "end": span.end}
        for name, span in fields.items()
        if span is not None
    ]
    return out


def criterion(text: str) -> dict[str, Any]:
    """The parts of one success criterion.

    Args:
        text: the criterion as written ("The number of schools in an Ofsted
            category will reduce from 4 to 2 by December 2010").

    Returns:
        ``text`` (folded), ``measure`` (the subject counted, when the criterion
        names a number, proportion, percentage or rate), ``from_value``,
        ``to_value``, ``unit`` (``count`` or ``percent``) and ``by``
        (``YYYY-MM``, only when a month is written); None for what it does not give.
    """
    line = fold(text)
    from_value = to_value = None
    units: list[str] = []
    m = _FROM_TO.search(line)
    if m:
        from_value, to_value = float(m.group(1)), float(m.group(3))
        units = [u for u in (m.group(2), m.group(4)) if u]
    else:
        for m in _TO_ONLY.finditer(line):
            if m.group(2) or not re.fullmatch(_YEAR, m.group(1)):
                to_value, units = float(m.group(1)), [m.group(2)] if m.group(2) else []
                break
    unit = None if to_value is None else ("percent" if units else "count")
    by = None
    d = _BY.search(line)
    if d and d.group("month"):
        by = f"{d.group('year')}-{month_number(d.group('month')):02d}"
    return {
        "text": line,
        "measure": _measure(line),
        "from_value": from_value,
        "to_value": to_value,
        "unit": unit,
        "deadline": by,
    }


def _measure(line: str) -> str | None:
    subject = None
    imperative = _IMPERATIVE.match(line)
    if imperative:
        subject = imperative.group("what")
    else:
        change = _CHANGE.search(line)
        if change:
            subject = _LEAD_DATE.sub("", line[: change.start()]).strip(" ,")
    return subject if subject and _COUNTED.search(subject) else None


# -- the text's units ----------------------------------------------------------------------------


def _units(text: str) -> list[_Unit]:
    """Paragraphs, list items (glyph or number excluded) and table rows, with offsets."""
    units: list[_Unit] = []
    cur: list[Any] | None = None  # [kind, start, end]
    for m in re.finditer(r"^.*$", text, re.M):
        line = m.group(0)
        stripped = line.lstrip()
        if not stripped:
            if cur:
                units.append(_Unit(*cur))
                cur = None
            continue
        lead = len(line) - len(stripped)
        end = m.start() + len(line.rstrip())
        marker = 2 if stripped.startswith("- ") else 0
        num = _NUMBERED.match(stripped)
        if not marker and num:
            marker = num.end()
        if "\t" in line:
            if cur:
                units.append(_Unit(*cur))
                cur = None
            units.append(_Unit("table", m.start() + lead, end))
        elif marker:
            if cur:
                units.append(_Unit(*cur))
            body = stripped[marker:]
            cur = ["sub" if lead else "bullet", m.start() + lead + marker + len(body) - len(body.lstrip()), end]
        elif cur:
            cur[2] = end  # a paragraph's next line, or a wrapped item
        else:
            cur = ["para", m.start() + lead, end]
    if cur:
        units.append(_Unit(*cur))
    return units


def _is_heading_like(raw: str, max_words: int = 15) -> bool:
    line = fold(raw)
    return "\n" not in raw.strip() and 0 < len(line.split()) <= max_words and not _TERMINAL.search(line)


def _clean(raw: str) -> str:
    return fold(re.sub(r"^[#*\s]+|[*\s]+$", "", raw))


def _trimmed(text: str, start: int, end: int) -> Span:
    """The span without surrounding spaces and trailing list punctuation."""
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;"):
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return Span(fold(text[start:end]), start, end)


# -- la_plans ------------------------------------------------------------------------------------


def _authority(text: str) -> Span | None:
    for m in _AUTHORITY.finditer(text):
        group = "after" if m.group("after") else "before"
        name = m.group(group)
        if name.split()[0] in _NOT_A_PLACE:
            continue
        return Span(name, m.start(group), m.end(group))
    return None


def _title(text: str) -> Span | None:
    """The first of the opening lines that is a heading naming a plan (strategy, policy, …)."""
    lines = [m for m in re.finditer(r"^.*\S.*$", text, re.M)][:6]
    for m in lines:
        if _is_heading_like(m.group(0)) and _PLAN_WORD.search(m.group(0)):
            # the evidence is the line without its markup; the value is folded ("Primary  Plan"
            # is "Primary Plan", which is not in the text: looking it up there raised ValueError)
            body = re.sub(r"^[#*\s]+", "", m.group(0))
            start = m.end() - len(body)
            return Span(_clean(m.group(0)), start, start + len(re.sub(r"[*\s]+$", "", body)))
    return None


def _year(text: str, title: Span | None) -> Span | None:
    if title:
        m = _BARE_YEAR.search(text, title.start, title.end)
        if m:
            return Span(m.group(0), m.start(), m.end())
    d = _DATED_YEAR.search(text)
    if d:
        g = "y" if d.group("y") else "a"
        return Span(d.group(g), d.start(g), d.end(g))
    m = _BARE_YEAR.search(text)
    return Span(m.group(0), m.start(), m.end()) if m else None


# -- categories ----------------------------------------------------------------------------------


def _categories(text: str, start: int = 0, end: int | None = None) -> list[tuple[str, int, int]]:
    """``(la_category, start, end)`` of every category label in ``text[start:end]``."""
    end = len(text) if end is None else end
    return [
        (next(k for k, v in m.groupdict().items() if v), start + m.start(), start + m.end())
        for m in _CATEGORY.finditer(text[start:end])
    ]


def _category_scheme(text: str) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for sent in sentences(text):
        if not re.search(r"categor", sent.text, re.I):
            continue
        found = _categories(text, sent.start, sent.end)
        if len({c for c, _, _ in found}) >= 3:
            for cat, s, e in found:
                rows.setdefault(cat, {"la_category": cat, "label": text[s:e], "start": s, "end": e})
            break
    for m in _LETTER_CATEGORY.finditer(text):
        label = _CATEGORY.match(text, m.end())
        if label:
            cat = next(k for k, v in label.groupdict().items() if v)
            rows.setdefault(
                cat,
                {"la_category": cat, "label": text[m.start() : label.end()], "start": m.start(), "end": label.end()},
            )
    return sorted(rows.values(), key=lambda r: r["start"])


# -- support offer -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Offer:
    heading: str
    categories: tuple[str | None, ...]


def _offer_heading(raw: str) -> _Offer | None:
    """The categories a support heading offers to; ``(None,)`` for every school; None if no offer."""
    line = _clean(raw)
    cats = tuple(dict.fromkeys(c for c, _, _ in _categories(line)))
    if cats and _SCHOOL.search(line):
        return _Offer(line, cats)
    if _UNIVERSAL.search(line):
        return _Offer(line, (None,))
    return None


def _support_offer(text: str, units: list[_Unit]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    current: _Offer | None = None

    def add(offer: _Offer, span: Span, label: str | None = None) -> None:
        support_type = (_first_support(label) if label else None) or _first_support(span.text)
        for cat in offer.categories:
            rows.append(
                {
                    "la_category": cat,
                    "heading": offer.heading,
                    "text": span.text,
                    "support_type": support_type,
                    "start": span.start,
                    "end": span.end,
                }
            )

    for unit in units:
        raw = text[unit.start : unit.end]
        if unit.kind == "para":
            if len(raw) <= 200 and (_is_heading_like(raw, 30) or raw.rstrip().endswith((":", ":-"))):
                offer = _offer_heading(raw)
                if offer:
                    current = offer
                elif not _KEEPS_OFFER.search(_clean(raw)) or not raw.rstrip().endswith((":", ":-")):
                    current = None  # a new heading or list that offers nothing ends the offer
                continue
            label = _LABEL_PARA.match(raw)
            if current and label and not _TERMINAL.search(label.group("label")):
                add(current, _trimmed(text, unit.start, unit.end), label.group("label"))
        elif unit.kind == "table":
            cells = _cells(text, unit.start, unit.end)
            first = _offer_heading(text[cells[0][0] : cells[0][1]]) if cells else None
            if first is None and cells and _categories(text, *cells[0]):
                first = _offer_heading(text[cells[0][0] : cells[0][1]] + " schools")
                first = _Offer(_clean(text[cells[0][0] : cells[0][1]]), first.categories) if first else None
            # under a heading, only cells that hold a list are items: a header row ("Category | Support") is not
            listed = [c for c in cells if _CELL_SEP.search(text[c[0] : c[1]])]
            offer, item_cells = (first, cells[1:]) if first else (current, listed)
            if offer:
                for s, e in item_cells:
                    for span in _cell_items(text, s, e):
                        add(offer, span)
        elif current:
            add(current, _trimmed(text, unit.start, unit.end))
    return rows


def _first_support(text: str) -> str | None:
    """The support type named first in the text (rule order breaks a tie).

    Text order, not rule order: an item is about the support it names first;
    what it names later is usually who arranges or reviews it.
    """
    found = find_support(text)
    folded = fold(text).lower()
    positions = [(folded.find(words.lower()), i, t) for i, (t, words) in enumerate(found)]
    return min(positions)[2] if positions else None


def _cells(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out, pos = [], start
    for piece in text[start:end].split("\t"):
        out.append((pos, pos + len(piece)))
        pos += len(piece) + 1
    return out


def _cell_items(text: str, start: int, end: int) -> list[Span]:
    """The items of a flattened table cell: its pieces between list tags and glyphs."""
    items, pos = [], start
    for sep in [*_CELL_SEP.finditer(text, start, end), None]:
        stop = sep.start() if sep else end
        span = _trimmed(text, pos, stop)
        clean = fold(_INLINE_TAG.sub("", span.text))
        if clean:
            items.append(Span(clean, span.start, span.end))
        pos = sep.end() if sep else end
    return items


# -- RAG areas, floor risk, success criteria ----------------------------------------------------


def _list_after(units: list[_Unit], i: int) -> list[_Unit]:
    """The list items right after unit ``i``; a nested item widens its parent."""
    items: list[_Unit] = []
    for unit in units[i + 1 :]:
        if unit.kind == "bullet":
            items.append(unit)
        elif unit.kind == "sub" and items:
            items[-1] = _Unit("bullet", items[-1].start, unit.end)
        else:
            break
    return items


def _rag_areas(text: str, units: list[_Unit]) -> list[Span]:
    for i, unit in enumerate(units):
        if unit.kind != "para":
            continue
        raw = text[unit.start : unit.end].rstrip()
        last = sentences(text, unit.start, unit.end)
        intro = last[-1].text if last else raw
        if _RAG.search(intro) and (raw.endswith((":", ":-")) or _is_heading_like(raw)):
            items = _list_after(units, i)
            if items:
                return [_trimmed(text, u.start, u.end) for u in items]
    return []


def _floor_risk(text: str) -> list[tuple[str, Span]]:
    found: dict[str, Span] = {}
    units = [s for s in sentences(text) if re.search(r"\brisk", s.text, re.I)]
    for sent in units:
        levels = {m.group(1).lower() for m in _RISK_LEVEL.finditer(sent.text)}
        if len(levels) >= 2:
            for level in sorted(levels):
                found.setdefault(level, sent)
    for sent in units:
        if re.search(r"\bfloor", sent.text, re.I):
            for m in re.finditer(r"\b(high|medium|low)\s+risk", sent.text, re.I):
                found.setdefault(m.group(1).lower(), sent)
    order = ("high", "medium", "low")
    return [(level, found[level]) for level in order if level in found]


def _criteria_spans(text: str, units: list[_Unit]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for i, unit in enumerate(units):
        raw = text[unit.start : unit.end]
        if unit.kind != "para" or not _is_heading_like(raw) or not _CRITERIA_HEADING.search(_clean(raw)):
            continue
        j = i
        while j + 1 < len(units) and units[j + 1].kind == "para" and j - i < 2:
            nxt = text[units[j + 1].start : units[j + 1].end]
            if not (_is_heading_like(nxt) or nxt.rstrip().endswith((":", ":-"))):
                break
            j += 1  # "How will we know …?" then "Success Criteria", or an intro line
        for item in _list_after(units, j):
            span = _trimmed(text, item.start, item.end)
            if all(span.start != s for s, _ in spans):
                spans.append((span.start, span.end))
    return sorted(spans)


def read(doc_id: str, text: str) -> dict[str, list[dict[str, Any]]]:
    """The reader's entry point for the ``parse`` stage: rows of the parse tables for one document."""
    return parse_la_plan(doc_id, text)
