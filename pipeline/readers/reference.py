"""Loaders of the reference files: GIAS schools and links, Ofsted outcomes MI, LA categorisations.

Each loader is pure: it takes a file's bytes and its name and returns
``(rows, rejects)``, the rows for a contract table (`pipeline.warehouse.contracts`) and
rows for ``reference_rejects``. A bad *row* is reported and skipped; a file
without a column the loader needs is a `PipelineError`, because it means the
wrong file or a format change, not a bad record.

Headers are matched case-insensitively with runs of spaces folded, so
``LA (Name)`` and ``LA  (name)`` both find ``LA (name)``; any other column is
ignored (a real GIAS extract has some 300).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import PipelineError
from pipeline.warehouse.contracts import FLOOR_RISKS, SUPPORT_TYPES

Row = dict[str, Any]

GIAS_COLUMNS: dict[str, str] = {
    "urn": "URN",
    "name": "EstablishmentName",
    "la_code": "LA (code)",
    "la_name": "LA (name)",
    "postcode": "Postcode",
    "phase": "PhaseOfEducation (name)",
    "status": "EstablishmentStatus (name)",
    "type": "TypeOfEstablishment (name)",
    "opened": "OpenDate",
    "closed": "CloseDate",
}
"""SCHOOLS column → the GIAS ``edubasealldata*.csv`` header it is read from."""

LINK_COLUMNS: dict[str, str] = {
    "urn": "URN",
    "link_urn": "LinkURN",
    "link_name": "LinkName",
    "link_type": "LinkType",
    "link_date": "LinkEstablishedDate",
}
"""SCHOOL_LINKS column (and ``link_name``, read but not kept) → the GIAS links-file header."""

OUTCOME_ALIASES: dict[str, tuple[str, ...]] = {
    "urn": ("URN",),
    # Never the publication date: it is weeks after the inspection.
    "date": ("Inspection start date", "Inspection date"),
    "overall_effectiveness": ("Overall effectiveness", "Overall Effectiveness", "Overall effectiveness grade"),
    "category_of_concern": ("Category of concern", "Category of Concern"),
    "inspection_type": ("Inspection type",),
}
"""Each column the outcomes loader reads → the headers Ofsted's MI files have used
for it over the years, preferred first (matching ignores case). ``category_of_concern``
and ``inspection_type`` are optional; the others are required."""

_OUTCOME_OPTIONAL = frozenset({"category_of_concern", "inspection_type"})

LA_CATEGORY_COLUMNS = ("urn", "la_name", "academic_year", "la_category", "floor_risk", "support_given")
"""The columns of our LA categorisation CSV (corpus/reference/README.md)."""

_NONE = frozenset({"", "null", "none", "n/a", "na", "-", ".", "not applicable"})

GRADE_WORDS: dict[str, int] = {
    "outstanding": 1,
    "good": 2,
    "requires improvement": 3,
    "satisfactory": 3,  # the grade 3 of the frameworks before September 2012
    "inadequate": 4,
}
"""Overall effectiveness written as words, as some MI files do."""

CONCERN_ALIASES: dict[str, str] = {
    "sm": "special_measures",
    "special measures": "special_measures",
    "special_measures": "special_measures",
    "swk": "serious_weaknesses",
    "sw": "serious_weaknesses",
    "serious weaknesses": "serious_weaknesses",
    "serious_weaknesses": "serious_weaknesses",
    # A notice to improve (frameworks before September 2012) is the category that
    # "serious weaknesses" replaced; the contract has no id of its own for it.
    "nti": "serious_weaknesses",
    "notice to improve": "serious_weaknesses",
}
"""Category of concern as the MI files write it → CONCERN_CATEGORIES id."""

LA_CATEGORY_ALIASES: dict[str, str] = {
    "inadequate": "inadequate",
    "satisfactory satisfactory capacity": "satisfactory_satisfactory_capacity",
    "satisfactory with satisfactory capacity to improve": "satisfactory_satisfactory_capacity",
    "satisfactory good capacity": "satisfactory_good_capacity",
    "satisfactory with good capacity to improve": "satisfactory_good_capacity",
    "good": "good",
    "outstanding": "outstanding",
}
"""la_category as written (id, or an LA plan's wording; case, ``_`` and ``-`` ignored) → taxonomy id."""

_POSTCODE = re.compile(r"([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})")
_DATE_FORMATS = (
    (re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})"), ("d", "m", "y")),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), ("y", "m", "d")),
)
_TIME_SUFFIX = re.compile(r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")
_ACADEMIC_YEAR = re.compile(r"(\d{4})\s*[/-]\s*(\d{2}|\d{4})")


def read_csv_text(data: bytes) -> str:
    """Decode a reference CSV file's bytes.

    UTF-8 (a byte-order mark is dropped), UTF-16 when a byte-order mark says so
    (Excel's "Unicode text"), else Windows-1252, the encoding of Ofsted's MI
    files and of many GIAS downloads. Bytes cp1252 leaves undefined are read as
    Latin-1 so that one stray byte cannot stop a whole reference load.

    Args:
        data: the file's bytes.

    Returns:
        The text.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def normalise_postcode(value: str) -> str | None:
    """A UK postcode in ``AA9 9AA`` form, or None when the value is not one.

    Args:
        value: the postcode as written, any case and spacing.
    """
    m = _POSTCODE.fullmatch(re.sub(r"\s+", " ", value.strip().upper()))
    return f"{m.group(1)} {m.group(2)}" if m else None


def parse_date(value: str) -> dt.date | None:
    """A date written dd-mm-yyyy, dd/mm/yyyy or yyyy-mm-dd (a trailing time is ignored).

    Args:
        value: the cell.

    Returns:
        The date, or None for an empty cell (blank, NULL, -).

    Raises:
        ValueError: the cell is not a date in one of those forms, or not a real
            day (31-02-2013).
    """
    text = _TIME_SUFFIX.sub("", value.strip())
    if text.lower() in _NONE:
        return None
    for pattern, order in _DATE_FORMATS:
        m = pattern.fullmatch(text)
        if m:
            parts = dict(zip(order, (int(g) for g in m.groups())))
            try:
                return dt.date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                raise ValueError(f"{value!r} is not a real day") from None
    raise ValueError(f"{value!r} is not a date (dd-mm-yyyy, dd/mm/yyyy or yyyy-mm-dd)")


def parse_urn(value: str) -> int | None:
    """A URN from a cell, or None when the cell is not a positive whole number.

    ``103980.0`` (a spreadsheet's way of writing a number) is read as 103980.
    """
    m = re.fullmatch(r"(\d+)(?:\.0+)?", value.strip())
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def academic_year(value: str) -> tuple[str, dt.date, dt.date] | None:
    """An academic year ``2012/13`` (also ``2012-13``, ``2012/2013``) as label, 1 September, 31 August.

    Returns:
        ``("2012/13", 2012-09-01, 2013-08-31)``, or None when the value is not
        two consecutive years.
    """
    m = _ACADEMIC_YEAR.fullmatch(value.strip())
    if not m:
        return None
    first, second = int(m.group(1)), m.group(2)
    expected = str(first + 1)
    if second != expected and second != expected[-2:]:
        return None
    return f"{first}/{expected[-2:]}", dt.date(first, 9, 1), dt.date(first + 1, 8, 31)


def _key(header: str) -> str:
    return re.sub(r"\s+", " ", header.replace("\ufeff", "").removeprefix("ï»¿")).strip().casefold()


def _is_none(value: str) -> bool:
    return value.strip().casefold() in _NONE


@dataclass
class _Problems:
    """The problems of one row, grouped by reject reason."""

    file: str
    row: int
    found: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, message: str) -> None:
        self.found.setdefault(reason, []).append(message)

    def rejects(self) -> list[Row]:
        return [
            {"file": self.file, "row": self.row, "reason": reason, "message": f"row {self.row}: " + "; ".join(msgs)}
            for reason, msgs in self.found.items()
        ]


def _read(
    data: bytes, file: str, columns: dict[str, tuple[str, ...]], optional: frozenset[str] = frozenset()
) -> Iterator[tuple[int, dict[str, str]]]:
    """The file's data rows as ``(row number, {column: cell})``, for the columns asked for.

    Args:
        data: the file's bytes.
        file: its name, for messages.
        columns: our column name → the headers it may have, preferred first.
        optional: columns that may be absent (their cells are then "").

    Raises:
        PipelineError: a required column is missing; the message names the file,
            the column and the columns found.
    """
    reader = csv.reader(io.StringIO(read_csv_text(data), newline=""))
    header = next(reader, None)
    if header is None:
        raise PipelineError(f"{file}: the file is empty; expected a CSV file with a header row")
    positions = {_key(h): i for i, h in reversed(list(enumerate(header)))}
    index: dict[str, int | None] = {}
    missing: list[str] = []
    for col, names in columns.items():
        found = next((positions[_key(n)] for n in names if _key(n) in positions), None)
        if found is None and col not in optional:
            missing.append(" or ".join(repr(n) for n in names))
        index[col] = found
    if missing:
        raise PipelineError(
            f"{file}: missing column {', '.join(missing)}; the columns found are {header}. "
            "Check that this is the right file and that its header row is its first line."
        )
    for n, record in enumerate(reader, start=1):
        if not any(cell.strip() for cell in record):
            continue
        yield n, {col: (record[i].strip() if i is not None and i < len(record) else "") for col, i in index.items()}


def load_schools(data: bytes, file: str) -> tuple[list[Row], list[Row]]:
    """SCHOOLS rows from a Get Information About Schools extract (``edubasealldata*.csv``).

    Args:
        data: the file's bytes (UTF-8 or Windows-1252).
        file: its name, for rejects and messages.

    Returns:
        ``(schools, rejects)``. A row is rejected for a missing or non-numeric
        URN (``missing_urn``), no LA name (``unknown_la``), an impossible open or
        close date (``bad_date``), a non-numeric LA code, a malformed postcode or
        a URN seen earlier in the file (``bad_value``).

    Raises:
        PipelineError: a column of `GIAS_COLUMNS` is missing.
    """
    rows: list[Row] = []
    rejects: list[Row] = []
    seen: set[int] = set()
    for n, cell in _read(data, file, {k: (v,) for k, v in GIAS_COLUMNS.items()}):
        p = _Problems(file, n)
        urn = parse_urn(cell["urn"])
        if urn is None:
            p.add("missing_urn", f"URN {cell['urn']!r} is not a number")
        elif urn in seen:
            p.add("bad_value", f"URN {urn} appears earlier in the file")
        if _is_none(cell["la_name"]):
            p.add("unknown_la", f"LA (name) is empty ({cell['la_name']!r}) for {cell['name']!r}")
        la_code = None if _is_none(cell["la_code"]) else parse_urn(cell["la_code"])
        if la_code is None and not _is_none(cell["la_code"]):
            p.add("bad_value", f"LA (code) {cell['la_code']!r} is not a number")
        postcode = None if _is_none(cell["postcode"]) else normalise_postcode(cell["postcode"])
        if postcode is None and not _is_none(cell["postcode"]):
            p.add("bad_value", f"Postcode {cell['postcode']!r} is not a UK postcode")
        dates: dict[str, dt.date | None] = {}
        for col in ("opened", "closed"):
            try:
                dates[col] = parse_date(cell[col])
            except ValueError as exc:
                p.add("bad_date", f"{GIAS_COLUMNS[col]} {exc}")
        if p.found:
            rejects.extend(p.rejects())
            continue
        assert urn is not None
        seen.add(urn)
        rows.append(
            {
                "urn": urn,
                "name": cell["name"],
                "la_code": la_code,
                "la_name": cell["la_name"],
                "postcode": postcode,
                "phase": None if _is_none(cell["phase"]) else cell["phase"],
                "status": None if _is_none(cell["status"]) else cell["status"],
                "type": None if _is_none(cell["type"]) else cell["type"],
                "opened": dates["opened"],
                "closed": dates["closed"],
            }
        )
    return rows, rejects


def load_school_links(data: bytes, file: str) -> tuple[list[Row], list[Row]]:
    """SCHOOL_LINKS rows from the GIAS links file (``links_edubasealldata*.csv``).

    Args:
        data: the file's bytes.
        file: its name.

    Returns:
        ``(links, rejects)``. Rejected: a missing URN or LinkURN (``missing_urn``),
        a bad LinkEstablishedDate (``bad_date``), an empty LinkType or a pair
        seen earlier (``bad_value``). ``link_type`` is kept as published.

    Raises:
        PipelineError: a column of `LINK_COLUMNS` is missing.
    """
    rows: list[Row] = []
    rejects: list[Row] = []
    seen: set[tuple[int, int]] = set()
    for n, cell in _read(data, file, {k: (v,) for k, v in LINK_COLUMNS.items()}):
        p = _Problems(file, n)
        urn, link_urn = parse_urn(cell["urn"]), parse_urn(cell["link_urn"])
        if urn is None:
            p.add("missing_urn", f"URN {cell['urn']!r} is not a number")
        if link_urn is None:
            p.add("missing_urn", f"LinkURN {cell['link_urn']!r} is not a number")
        if _is_none(cell["link_type"]):
            p.add("bad_value", f"LinkType is empty ({cell['link_type']!r})")
        if urn is not None and link_urn is not None and (urn, link_urn) in seen:
            p.add("bad_value", f"the link {urn} → {link_urn} appears earlier in the file")
        try:
            link_date = parse_date(cell["link_date"])
        except ValueError as exc:
            p.add("bad_date", f"LinkEstablishedDate {exc}")
        if p.found:
            rejects.extend(p.rejects())
            continue
        assert urn is not None and link_urn is not None
        seen.add((urn, link_urn))
        rows.append({"urn": urn, "link_urn": link_urn, "link_type": cell["link_type"], "link_date": link_date})
    return rows, rejects


def successor_edges(links: Iterable[Row]) -> dict[int, dict[int, dt.date | None]]:
    """Each URN's successors, with the date each link was established (latest known).

    A ``Successor…`` row (urn=A, link_urn=B) says B succeeds A; a
    ``Predecessor…`` row (urn=B, link_urn=A) says the same from B's side. Other
    link types (``Merged - expansion of school capacity``, sixth-form and
    federation links) carry no succession and are ignored.

    Args:
        links: SCHOOL_LINKS rows.
    """
    edges: dict[int, dict[int, dt.date | None]] = {}
    for link in links:
        kind = str(link["link_type"]).strip().casefold()
        if kind.startswith("successor"):
            old, new = int(link["urn"]), int(link["link_urn"])
        elif kind.startswith("predecessor"):
            old, new = int(link["link_urn"]), int(link["urn"])
        else:
            continue
        if old == new:
            continue
        known = edges.setdefault(old, {})
        date = link.get("link_date")
        earlier = known.get(new)
        known[new] = max((d for d in (earlier, date) if d is not None), default=None)
    return edges


def lineage(schools_urns: set[int], links: list[Row]) -> list[Row]:
    """SCHOOL_LINEAGE rows: every URN mapped to the end of its chain of successors.

    Where a school has more than one successor (a split), the chain follows the
    latest-established link (a link without a date counts as the oldest); a tie
    goes to the smallest URN. A cycle in the links (A → B → A, which GIAS data
    can hold after a reversed link) stops at the last URN before one is
    revisited, so every chain ends.

    Args:
        schools_urns: the URNs of the schools table.
        links: SCHOOL_LINKS rows.

    Returns:
        One row per URN (sorted): ``urn``, ``current_urn``, ``steps`` (links followed).
    """
    edges = successor_edges(links)
    best: dict[int, int] = {}
    for old, succ in edges.items():
        best[old] = min(succ, key=lambda u: (-(succ[u] or dt.date.min).toordinal(), u))
    rows: list[Row] = []
    for urn in sorted(schools_urns):
        current, visited = urn, {urn}
        while current in best and best[current] not in visited:
            current = best[current]
            visited.add(current)
        rows.append({"urn": urn, "current_urn": current, "steps": len(visited) - 1})
    return rows


def parse_grade(value: str) -> int | None:
    """Overall effectiveness 1–4 from a cell (a digit or the grade's words).

    Returns:
        The grade, or None for no grade (blank, NULL, ``9`` = not applicable).

    Raises:
        ValueError: any other value.
    """
    text = value.strip().casefold()
    if _is_none(text) or text == "9":
        return None
    m = re.fullmatch(r"([1-4])(?:\.0+)?", text)
    if m:
        return int(m.group(1))
    if text in GRADE_WORDS:
        return GRADE_WORDS[text]
    raise ValueError(f"overall effectiveness {value!r} is not a grade 1–4 (or 9/blank for none)")


def outcome_kind(inspection_type: str) -> str:
    """OUTCOMES.kind from an MI file's inspection type.

    ``monitoring`` when the type says monitoring, section 8 (S8), a short or
    ungraded inspection, or no formal designation; otherwise ``section5``
    (S5, Section 5, full inspection, or no type given).
    """
    text = inspection_type.casefold()
    section8 = re.search(r"\bs(?:ection)?\s*8\b|monitoring|short inspection|ungraded|no formal designation", text)
    return "monitoring" if section8 else "section5"


def load_outcomes(data: bytes, file: str) -> tuple[list[Row], list[Row]]:
    """OUTCOMES rows from an Ofsted state-funded schools inspection outcomes MI file.

    Columns are found through `OUTCOME_ALIASES`, so files of different years
    load alike. A monitoring (section 8) row keeps its category of concern but
    no grade: the grade such a row carries is that of the earlier full
    inspection.

    Args:
        data: the file's bytes (Windows-1252 or UTF-8).
        file: its name; it is the ``source`` of every row.

    Returns:
        ``(outcomes, rejects)``. Rejected: missing URN (``missing_urn``), missing
        or impossible inspection date (``bad_date``), a category of concern not
        in `CONCERN_ALIASES` (``unknown_category``), a grade that is not 1–4/9
        or a row whose (URN, date, kind) appears earlier (``bad_value``).

    Raises:
        PipelineError: no column for the URN, the inspection date or the
            overall effectiveness.
    """
    rows: list[Row] = []
    rejects: list[Row] = []
    seen: set[tuple[int, dt.date, str]] = set()
    for n, cell in _read(data, file, OUTCOME_ALIASES, _OUTCOME_OPTIONAL):
        p = _Problems(file, n)
        urn = parse_urn(cell["urn"])
        if urn is None:
            p.add("missing_urn", f"URN {cell['urn']!r} is not a number")
        date: dt.date | None = None
        try:
            date = parse_date(cell["date"])
            if date is None:
                p.add("bad_date", "the inspection date is empty")
        except ValueError as exc:
            p.add("bad_date", f"inspection date {exc}")
        kind = outcome_kind(cell["inspection_type"])
        grade: int | None = None
        try:
            grade = parse_grade(cell["overall_effectiveness"])
        except ValueError as exc:
            p.add("bad_value", str(exc))
        concern = cell["category_of_concern"]
        category = None if _is_none(concern) else CONCERN_ALIASES.get(re.sub(r"\s+", " ", concern.casefold()))
        if category is None and not _is_none(concern):
            p.add(
                "unknown_category",
                f"category of concern {concern!r} is not one of SM, Special Measures, SWK, Serious Weaknesses, NTI",
            )
        if urn is not None and date is not None and (urn, date, kind) in seen:
            p.add("bad_value", f"URN {urn} has a {kind} outcome on {date} earlier in the file")
        if p.found:
            rejects.extend(p.rejects())
            continue
        assert urn is not None and date is not None
        seen.add((urn, date, kind))
        rows.append(
            {
                "urn": urn,
                "date": date,
                "kind": kind,
                "source": file,
                "overall_effectiveness": grade if kind == "section5" else None,
                "category_of_concern": category,
                "doc_id": None,
            }
        )
    return rows, rejects


def _category_key(value: str) -> str:
    return re.sub(r"[\s_-]+", " ", value.casefold()).strip()


def load_la_categories(
    data: bytes, file: str, known_las: set[str] | None, known_urns: set[int] | None = None
) -> tuple[list[Row], list[Row]]:
    """LA_CATEGORIES rows from our LA categorisation CSV (format: corpus/reference/README.md).

    Args:
        data: the file's bytes.
        file: its name.
        known_las: the LA names of the schools table; when given, a row naming
            another LA is rejected (names compared ignoring case and spacing).
        known_urns: the URNs of the schools table; when given, a row for
            another URN is rejected (``unknown_urn``).

    Returns:
        ``(rows, rejects)``. Rejected: missing URN (``missing_urn``), an LA not
        known (``unknown_la``), an academic year that is not ``YYYY/YY``
        (``bad_date``), a category not in `LA_CATEGORY_ALIASES`
        (``unknown_category``), an unknown floor risk or support type, or a
        (URN, year) seen earlier (``bad_value``).

    Raises:
        PipelineError: a column of `LA_CATEGORY_COLUMNS` is missing.
    """
    known = None if known_las is None else {_key(la): la for la in known_las}
    rows: list[Row] = []
    rejects: list[Row] = []
    seen: set[tuple[int, str]] = set()
    for n, cell in _read(data, file, {c: (c,) for c in LA_CATEGORY_COLUMNS}):
        p = _Problems(file, n)
        urn = parse_urn(cell["urn"])
        if urn is None:
            p.add("missing_urn", f"urn {cell['urn']!r} is not a number")
        elif known_urns is not None and urn not in known_urns:
            p.add("unknown_urn", f"urn {urn} is not in the schools table")
        la = cell["la_name"]
        if _is_none(la) or (known is not None and _key(la) not in known):
            p.add("unknown_la", f"la_name {la!r} is not an LA of the schools table")
        year = academic_year(cell["academic_year"])
        if year is None:
            p.add("bad_date", f"academic_year {cell['academic_year']!r} is not two consecutive years like 2012/13")
        category = LA_CATEGORY_ALIASES.get(_category_key(cell["la_category"]))
        if category is None:
            p.add(
                "unknown_category",
                f"la_category {cell['la_category']!r} is not one of {sorted(set(LA_CATEGORY_ALIASES.values()))}",
            )
        floor = None if _is_none(cell["floor_risk"]) else cell["floor_risk"].casefold()
        if floor is not None and floor not in FLOOR_RISKS:
            p.add("bad_value", f"floor_risk {cell['floor_risk']!r} is not high, medium, low or blank")
        support = [s.strip().casefold().replace(" ", "_") for s in cell["support_given"].split(";") if s.strip()]
        unknown = [s for s in support if s not in SUPPORT_TYPES]
        if unknown:
            p.add("bad_value", f"support_given {unknown} not support types; valid: {sorted(SUPPORT_TYPES)}")
        if urn is not None and year is not None and (urn, year[0]) in seen:
            p.add("bad_value", f"urn {urn} has a category for {year[0]} earlier in the file")
        if p.found:
            rejects.extend(p.rejects())
            continue
        assert urn is not None and year is not None and category is not None
        seen.add((urn, year[0]))
        rows.append(
            {
                "urn": urn,
                "la_name": la if known is None else known[_key(la)],
                "academic_year": year[0],
                "year_start": year[1],
                "year_end": year[2],
                "la_category": category,
                "floor_risk": floor,
                "support_given": list(dict.fromkeys(support)),
            }
        )
    return rows, rejects
