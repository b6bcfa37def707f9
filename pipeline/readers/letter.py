"""HMI letters become records (the letter tables of spec/records.md), with evidence.

Core: `parse_letter` reads one letter's normalised text (as ``ingest`` leaves it)
into a `Letter`; every value carries the offsets of the words it was read from.
The reading is by rules written for the genre, not for particular letters: the
salutation splits the letterhead and address block from the body; the subject
line gives the kind and the school; fixed phrases of each era give the dates,
the judgement and the recommendations. A value the text does not give is None,
never a guess. `letter_rows` turns a `Letter` into the rows of the letter tables.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from pipeline.readers.support import find_support
from pipeline.text.common import BULLET, MONTH_RE, Span, find_dates, fold, month_number, parse_date_list, sentences

CORE_FIELDS = ("letter_kind", "letter_date", "visit_dates", "school_name", "inspector")
"""A letter missing any of these is ``partial``."""

_A = "['\u2019\u2018`]?"  # an apostrophe that may have been lost on the way to the web
_FLAGS = re.I | re.S

_SALUTATION = re.compile(r"(?:^|(?<=\s))Dear\s+(?:Sir or Madam|[A-Z][\w.'\u2019-]*(?:\s+[A-Z][\w.'\u2019-]*){0,3})")
_SALUTATION_NAME = re.compile(
    r"Dear\s+(?:(?:Mrs|Mr|Ms|Miss|Dr|Mx|Sir|Dame|Rev|Professor|Prof)\.?\s+)?[A-Z][\w'\u2019-]*"
)
_SUBJECT_START = re.compile(
    r"\b(?:Requires? improvement|Special measures|Serious weaknesses|Short inspection|No formal designation"
    r"|(?:Section 8 )?Monitoring (?:inspection|visit)|Inspection of|Section 8|Unannounced|Focused)\b",
    re.I,
)
_SUBJECT_END = re.compile(r"\n\s*\n|\s(?=Following (?:my|our|the|a)\b|Thank you|This letter|I write)")
_SCHOOL_IN_SUBJECT = re.compile(
    r"^.*?\b(?:inspection|visit)(?:\s+visit)?(?:\s+under\s+section\s+\d+\s+of\s+the\s+Education\s+Act\s+\d{4})?"
    r"\s+(?:to|of|at)\s+(?P<name>.+)$",
    _FLAGS,
)
_URN_TAIL = re.compile(r"(?:[\s,(\u2013-]+|^)(?:URN|[Uu]nique [Rr]eference [Nn]umber)\b.*$", re.S)

_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s?(\d[A-Z]{2})\b")
_LETTERHEAD_CUE = re.compile(
    r"Inspections?\b|Ofsted|Serco|Tribal|CfBT|Prospects|Education Development Trust|\bT\s*:?\s*0\d|"
    r"Text ?phone|enquiries@|www\.|@\w+\.(?:com|gov|org|co)|Direct (?:T|line|email)",
    re.I,
)
LETTERHEAD_POSTCODES = frozenset(
    {
        "B15 1LH",  # Serco Inspections, Cedar House, Edgbaston
        "B4 6AT",  # Serco Inspections, Colmore Plaza
        "BS2 0HQ",  # Tribal, Kings Orchard, Bristol
        "BS2 8RR",  # Tribal, Portland Square, Bristol
        "WN8 9TG",  # CfBT Inspection Services, Skelmersdale
        "M1 2WD",  # Ofsted, Piccadilly Gate, Manchester
        "WC2B 6SE",  # Ofsted, Aviation House, London
        "SW1H 9EX",  # Ofsted, Clive House, London
        "NG1 6HJ",  # Ofsted, Nottingham office
        "NE1 3TQ",  # Ofsted, Newcastle office
        "BS1 6EH",  # Ofsted, Bristol office
    }
)
"""Postcodes of Ofsted's offices and its inspection contractors: never a school's."""

_ROLE = re.compile(
    r"\b(?:(?:Acting|Interim|Executive|Associate|Substantive|Co-?|Joint|Deputy)\s+)*"
    r"(?:Head\s?teacher|Head of School|Head\s?master|Head\s?mistress|Principal|Head|Chair of|Chief Executive|"
    r"Chair|Executive Head)\b",
    re.I,
)
_TITLE = r"(?:Mrs|Mr|Ms|Miss|Dr|Mx|Sir|Dame|Rev(?:erend)?|Professor|Prof|Father|Canon)\.?"
_PERSON = re.compile(
    rf"^(?:{_TITLE}\s+)?(?:[A-Z][a-z'\u2019-]+|[A-Z]\.?)(?:\s+(?:[A-Z][A-Za-z'\u2019-]+|[A-Z]\.?|de|van|von|da|le|la)){{0,4}}$"
)
_INSPECTOR_ROLE = re.compile(
    rf"\b(?:(?:Senior|Lead|Specialist)\s+)?(?:Her|His) Majesty{_A}s?{_A}\s+(?:Chief\s+)?Inspector(?:\s+of\s+Schools)?\b"
    r"|\b(?:Senior )?HMI\b|\bOfsted Inspector\b|\bAdditional Inspector\b|\bRegional Director\b|\bLead inspector\b",
    re.I,
)
_SIGN_OFF = re.compile(r"\bYours\s+(?:sincerely|faithfully|truly)\b[,.]?", re.I)

_LA = re.compile(
    rf"Director\s+of\s+(?:Children{_A}s?{_A}\s+Services?|Education|Children\s+and\s+Young\s+People{_A}s?\s+Services"
    rf"|Children,?\s+Schools\s+and\s+Families|Children{_A}s?{_A}\s+and\s+Adults{_A}?\s+Services)"
    r"\s+(?:for|at|of|in)\s+(?P<la>(?:[^.;,\n]|\n(?!\s*\n))+?)"
    r"(?=\s*(?:[.;,](?:\s|$)|$|\n\s*\n|\s+and\s+(?:the|to|as|a|an|copies|Regional|Chief|Department|Education"
    r"|Diocese|Trust|Academies|Schools)\b|\s+(?:as|who|which)\s))",
    re.I,
)
_LA_TAIL = re.compile(
    r"\s+(?:(?:County|City|Borough|Metropolitan Borough|Metropolitan District|District)\s+)?Council$", re.I
)

_ORDINALS = {
    w: i + 1
    for i, w in enumerate(
        ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
    )
}
_VISIT_NUMBER = re.compile(
    rf"\b(?P<n>{'|'.join(_ORDINALS)}|1st|2nd|3rd|[4-9]th|10th)\s+(?:section\s+8\s+)?monitoring\s+(?:inspection|visit)",
    re.I,
)
_PREVIOUS_S5 = re.compile(
    r"(?:section\s*5\s+inspection|inspection\s+(?:which|that)\s+took\s+place|judged\s+to|"
    r"(?:was|were)\s+judged|placed\s+in|made\s+subject\s+to|became\s+subject\s+to|designated)",
    re.I,
)
_MONTH_YEAR = re.compile(rf"\b(?P<m>{MONTH_RE})\s+(?P<y>(?:19|20)\d\d)\b", re.I)

_JUDGEMENT_CUES = re.compile(
    r"(?P<neg>\b(?:not|n[\u2019']t|no longer|insufficient|inadequate|un)\b[^.]{0,40}?)?"
    r"(?P<cue>(?:taking|take|taken|takes)\s+effective\s+action|have\s+begun\s+to\s+take"
    r"|(?:making|made|make)\s+(?:reasonable|enough|sufficient|insufficient|inadequate|good|rapid|limited)\s+"
    r"progress\s+towards?\s+(?:the\s+)?(?:removal|removing|being\s+removed)"
    r"|continues?\s+to\s+be\s+(?:a\s+)?(?:good|outstanding)|(?:may|might)\s+no\s+longer\s+be\s+(?:good|outstanding)"
    r"|(?:has|have)\s+maintained\s+the\s+good\s+quality)",
    re.I,
)
_JUDGEMENT_STRONG = re.compile(
    r"areas?\s+requiring\s+improvement|removal\s+of|serious\s+weakness|special\s+measures|continues?\s+to\s+be"
    r"|section\s+5\s+inspection|opinion|no\s+longer",
    re.I,
)
_FIT = re.compile(
    r"(?P<what>statement\s+of\s+action|action\s+plans?|improvement\s+plans?|plans?)[^.]{0,80}?"
    r"(?P<neg>\bnot\s+(?:yet\s+)?|\bun)?fit\s+for\s+purpose",
    re.I,
)
_NQT = re.compile(r"(?:newly\s+qualified\s+teachers?|\bNQTs?\b|early\s+career\s+teachers?|\bECTs?\b)", re.I)
_NQT_NEG = re.compile(
    r"\b(?:may|should|must|can|will)\s+not\b|\bcannot\b|\bnot\s+(?:to\s+)?(?:be\s+)?appoint|\bdoes\s+not\s+seek"
    r"|\bnot\s+permitted|\bno\s+(?:newly|NQT|early)",
    re.I,
)

_HEADING_BLOCKLIST = re.compile(
    r"^(?:Yours\b|Dear\b|Her Majesty|HMI\b|Ofsted Inspector|Direct |T |Text ?phone|www\.|enquiries)", re.I
)
KNOWN_HEADINGS = (
    "Evidence",
    "Context",
    "Main findings",
    "External support",
    "Additional support",
    "Priorities for further improvement",
    "Next steps for the school",
    "Strengths of the school",
    "Areas for improvement",
    "Annex",
    "Safeguarding",
)
_INLINE_HEADING = re.compile(rf"(?<=[.!?:]\s)(?P<h>{'|'.join(KNOWN_HEADINGS)})\s+(?=[A-Z])")
_SUPPORT_HEADING = re.compile(
    r"^(?:External|Additional)\s+support|^Support\b|support\s+(?:for|from|to)\s+the\s+school", re.I
)
_ANNEX = re.compile(
    r"(?m)^[^\S\n]*Annex\b"  # not ^\s*: from every line of a run of blank lines it rescanned the run
    r"|^The areas for improvement (?:that were )?identified (?:during|at) the (?:most recent )?section 5",
    re.I,
)
_REC_INTRO = re.compile(
    r"(?P<cue>\b(?:"
    r"recommends?\s+that\s+(?:further\s+)?action\s+is\s+taken\s+to"
    r"|recommends?\s+that\s+(?P<actor1>[^.:]{0,80}?)\s+takes?\s+(?:further\s+|immediate\s+|urgent\s+)?action\s+to"
    r"|(?:should|must|needs?\s+to)\s+take\s+(?:further\s+|immediate\s+|urgent\s+)?action\s+to"
    r"|(?:should|must|need\s+to|needs\s+to)(?:\s+(?:now|urgently|also))?(?:\s+(?:ensure|make\s+sure)\s+that)?"
    r"|in\s+order\s+to\s+improve[^.:\n]{0,80}"
    r"|Priorities\s+for\s+(?:further\s+)?improvement|Next\s+steps\s+for\s+the\s+school"
    r")\s*:?)\s*(?=\n|$|[-\u2022\uf0b7\uf06e\uf0a7])",
    re.I,
)
_NOT_SCHOOL = re.compile(
    r"\blocal\s+authority\b|\bLA\b|\btrust\b|\bsponsor\b|\bdiocese\b|Regional\s+Schools\s+Commissioner"
    r"|Department\s+for\s+Education|\bDfE\b|\bcouncil\b",
    re.I,
)
_SCHOOL_ACTOR = re.compile(
    r"\bschool\b|\bleaders?\b|\bgovernors?\b|governing\s+body|\bheadteacher\b|\bprincipal\b|\bHMI\b|\byou\b",
    re.I,
)
_INLINE_REACH = 5000  # an inline list is one paragraph: the one in the sample letters runs to 448 characters
_INLINE_GLYPH = re.compile(r"\s[\u2022\uf0b7\uf06e\uf0a7\u25aa\u25cf]\s*")


@dataclass(frozen=True)
class Recommendation:
    """One action the school is asked to take."""

    text: str
    intro: str
    start: int
    end: int


@dataclass(frozen=True)
class Section:
    """A headed section of a letter: the body's offsets."""

    heading: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Support:
    """External support named in a sentence."""

    support_type: str
    text: str
    matched: str
    start: int
    end: int


@dataclass
class Letter:
    """A parsed letter.

    ``values`` maps each scalar field to its value and ``evidence`` maps it to
    the span it was read from.
    """

    doc_id: str
    values: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Span] = field(default_factory=dict)
    visit_dates: list[dt.date] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    external_support: list[Support] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """Core fields that could not be read."""
        return [f for f in CORE_FIELDS if (not self.visit_dates if f == "visit_dates" else self.values.get(f) is None)]

    def set(self, name: str, value: Any, span: Span | None) -> None:
        """Record a value and its evidence (nothing for None)."""
        self.values[name] = value
        if value is not None and span is not None:
            self.evidence[name] = span


def parse_letter(doc_id: str, text: str) -> Letter:
    """Read an HMI letter's normalised text into a `Letter`.

    Args:
        doc_id: the document's id.
        text: ``documents.text``: the normalised text all offsets point into.
    """
    letter = Letter(doc_id)
    for name in (
        "letter_kind",
        "letter_date",
        "school_name",
        "postcode",
        "headteacher",
        "local_authority",
        "inspector",
        "previous_section5",
        "monitoring_visit_number",
        "judgement",
        "effective_action",
        "action_plan_fit",
        "nqt_permission",
    ):
        letter.values[name] = None
    dear = _SALUTATION.search(text, 0, min(len(text), 6000))
    header_end = dear.start() if dear else min(len(text), 1500)
    body_start = _salutation_end(text, dear) if dear else 0
    subject = _subject(text, body_start)
    units = sentences(text, body_start)
    one_line = text.count("\n") < 12

    _read_date_and_address(letter, text, header_end, subject)
    _read_kind(letter, text, subject, units)
    _read_visit_dates(letter, text, body_start)
    _read_judgement(letter, units)
    _read_flags(letter, units)
    _read_history(letter, units)
    _read_la(letter, text)
    _read_inspector(letter, text)
    letter.sections = _sections(text, body_start, subject, one_line)
    letter.recommendations = _recommendations(text, body_start, letter.sections)
    letter.external_support = _external_support(text, letter.sections)
    return letter


# -- header -------------------------------------------------------------------------------------


def _salutation_end(text: str, dear: re.Match[str]) -> int:
    """Where the body starts: after the salutation's name."""
    m = _SALUTATION_NAME.match(text, dear.start())
    return m.end() if m else dear.end()


def _subject(text: str, body_start: int) -> Span | None:
    """The subject line after the salutation ("Short inspection of X School")."""
    m = _SUBJECT_START.search(text, body_start, min(len(text), body_start + 400))
    if not m or text[body_start : m.start()].strip(" ,\n*"):
        return None
    end_m = _SUBJECT_END.search(text, m.start())
    end = end_m.start() if end_m else min(len(text), m.start() + 300)
    raw = text[m.start() : end].rstrip(" .*\n")
    return Span(fold(raw), m.start(), m.start() + len(raw))


def _read_date_and_address(letter: Letter, text: str, header_end: int, subject: Span | None) -> None:
    header = text[:header_end]
    dates = find_dates(header)
    if dates:
        d, s, e = dates[0]
        letter.set("letter_date", d, Span(text[s:e], s, e))
    block_start, block_end = _address_block(text, header_end, dates[0][2] if dates else None)
    if subject:
        name = _school_from_subject(subject)
        if name:
            letter.set("school_name", name.text, name)
    _read_postcode(letter, text, block_start, block_end, header_end)
    _read_headteacher(letter, text, block_start, block_end)
    if letter.values["school_name"] is None:
        _school_from_address(letter, text, block_start, block_end)


def _address_block(text: str, header_end: int, date_end: int | None) -> tuple[int, int]:
    """The addressee's block, as (start, end).

    What follows the letter date up to a blank line (or, on one-line headers,
    the salutation); failing that, the last paragraph of the header that is not
    a letterhead.
    """
    if date_end is not None:
        start = date_end + len(text[date_end:header_end]) - len(text[date_end:header_end].lstrip())
        end = text.find("\n\n", start, header_end)
        end = header_end if end < 0 else end
        if text[start:end].strip():
            return start, end
    paras = [m for m in re.finditer(r"[^\n](?:(?!\n\s*?\n)[\s\S])*", text[:header_end])]
    for m in reversed(paras):
        if not _LETTERHEAD_CUE.search(m.group(0)) and not find_dates(m.group(0)):
            return m.start(), m.end()
    return 0, header_end


def _school_from_subject(subject: Span) -> Span | None:
    m = _SCHOOL_IN_SUBJECT.match(subject.text)
    if not m:
        return None
    name = _URN_TAIL.sub("", m.group("name")).strip(" .,:;*")
    if not name or len(name.split()) > 14:
        return None
    return Span(name, subject.start, subject.end)


def _school_from_address(letter: Letter, text: str, start: int, end: int) -> None:
    for line in re.finditer(r"[^\n]+", text[start:end]):
        m = re.search(
            r"(?:[A-Z][\w'\u2019.&-]*\s+){0,8}?(?:School|Academy|College|Infant|Junior|Primary|Nursery)\b"
            r"(?:\s+(?:School|Academy|and\s+Nursery|Trust))*",
            line.group(0),
        )
        if m:
            s = start + line.start() + m.start()
            letter.set("school_name", m.group(0).strip(), Span(m.group(0).strip(), s, s + len(m.group(0).strip())))
            return


def _read_postcode(letter: Letter, text: str, block_start: int, block_end: int, header_end: int) -> None:
    def usable(m: re.Match[str], lo: int) -> bool:
        code = f"{m.group(1)} {m.group(2)}"
        ctx = text[max(lo, m.start() - 150) : m.start()]
        ctx = ctx[ctx.rfind("\n\n") + 1 :] if "\n\n" in ctx else ctx
        return code not in LETTERHEAD_POSTCODES and not _LETTERHEAD_CUE.search(ctx)

    for lo, hi in ((block_start, block_end), (0, header_end)):
        found = [m for m in _POSTCODE.finditer(text, lo, hi) if usable(m, lo)]
        if found:
            m = found[-1]
            letter.set("postcode", f"{m.group(1)} {m.group(2)}", Span(m.group(0), m.start(), m.end()))
            return


def _read_headteacher(letter: Letter, text: str, block_start: int, block_end: int) -> None:
    block = text[block_start:block_end]
    lead = len(block) - len(block.lstrip())
    first = block.lstrip().split("\n", 1)[0]
    school = letter.values.get("school_name")
    cut = len(first)
    for pattern in (_ROLE, re.compile(r",")):
        m = pattern.search(first)
        if m:
            cut = min(cut, m.start())
    if school and school in first:
        cut = min(cut, first.index(school))
    post = _POSTCODE.search(first)
    if post:
        cut = min(cut, post.start())
    name = first[:cut].strip(" ,.")
    if name.lower().startswith("the "):
        return
    person = _trim_to_person(name)
    where = re.search(r"\s+".join(map(re.escape, person.split())), first) if person else None
    if person and where:
        # the words as written: "Mr  John Smith" (two spaces) is not in the line as the
        # joined "Mr John Smith", and looking that up raised ValueError
        s = block_start + lead + where.start()
        letter.set("headteacher", person, Span(person, s, block_start + lead + where.end()))


def _trim_to_person(name: str) -> str | None:
    """The longest leading run of ``name`` that reads as a person's name."""
    words = name.split()
    for n in range(min(len(words), 6), 1, -1):
        cand = " ".join(words[:n])
        if _PERSON.match(cand) and not re.search(r"School|Academy|College|Road|Street|Lane", cand):
            return cand
    return None


# -- body ---------------------------------------------------------------------------------------

_KINDS_SUBJECT = (
    (re.compile(r"special\s+measures", re.I), "special_measures_monitoring"),
    (re.compile(r"serious\s+weakness", re.I), "serious_weaknesses_monitoring"),
    (re.compile(r"requires?\s+improvement", re.I), "ri_monitoring"),
    (re.compile(r"short\s+inspection", re.I), "short_inspection"),
    (re.compile(r"no\s+formal\s+designation", re.I), "section8_other"),
)
_KINDS_BODY = (
    (
        re.compile(
            r"(?:requires?|required|requiring|in|into|subject\s+to|placed\s+in|removal\s+(?:of|from))\s+"
            r"special\s+measures",
            re.I,
        ),
        "special_measures_monitoring",
    ),
    (
        re.compile(r"(?:ha[sd]|have|having|with|of\s+the)\s+serious\s+weaknesses", re.I),
        "serious_weaknesses_monitoring",
    ),
    (
        re.compile(r"judged\s+(?:to|as)\s+requir(?:e|es|ing)\s+improvement|requires\s+improvement", re.I),
        "ri_monitoring",
    ),
    (re.compile(r"continues?\s+to\s+be\s+(?:a\s+)?(?:good|outstanding)|short\s+inspection", re.I), "short_inspection"),
)


def _read_kind(letter: Letter, text: str, subject: Span | None, units: list[Span]) -> None:
    if subject:
        for pattern, kind in _KINDS_SUBJECT:
            m = pattern.search(subject.text)
            if m:
                letter.set("letter_kind", kind, subject)
                return
    # "Monitoring inspection of X" names no category: the opening paragraphs do
    best: tuple[int, str, Span] | None = None
    for unit in units[:12]:
        for pattern, kind in _KINDS_BODY:
            m = pattern.search(unit.text)
            if m and (best is None or unit.start + m.start() < best[0]):
                best = (unit.start + m.start(), kind, unit)
    if best:
        letter.set("letter_kind", best[1], best[2])
    elif subject or units:
        letter.set("letter_kind", "section8_other", subject or units[0])


_VISIT = re.compile(
    r"(?:Following|After)\s+(?:my|our|the|a)\s+(?:recent\s+)?(?:visit|inspection)\b(?:(?!\n\s*?\n)[\s\S]){0,300}?\bon\s+"
    r"(?=(?:\w+day,?\s+)?\d)"
    r"|\b(?:visited|visit(?:ed)?\s+(?:to\s+)?(?:your|the)\s+school|inspection\s+took\s+place|inspected)\b"
    r"(?:(?!\n\s*?\n)[\s\S]){0,120}?\bon\s+(?=(?:\w+day,?\s+)?\d)"
    # "the monitoring inspection of your school that took place on …" (not the section 5 one)
    r"|(?<!section\s5\s)(?<!section\s5\s\s)\b(?:inspection|visit)\s+(?:of\s+(?:your|the|this)\s+(?:school|academy)\s+)?"
    r"(?:that|which)\s+took\s+place\s+on\s+(?=(?:\w+day,?\s+)?\d)",
    re.I,
)


def _read_visit_dates(letter: Letter, text: str, body_start: int) -> None:
    for m in _VISIT.finditer(text, body_start):
        pos = m.end()
        wd = re.match(r"\w+day,?\s+", text[pos:])
        pos += wd.end() if wd else 0
        got = parse_date_list(text[pos : pos + 120])
        if got:
            dates, length = got
            letter.visit_dates = dates
            letter.evidence["visit_dates"] = Span(text[pos : pos + length], pos, pos + length)
            return


def _read_judgement(letter: Letter, units: list[Span]) -> None:
    best: tuple[int, Span, re.Match[str]] | None = None
    for unit in units:
        m = _JUDGEMENT_CUES.search(unit.text)
        if not m:
            continue
        score = 2 * bool(_JUDGEMENT_STRONG.search(unit.text)) + bool(
            re.match(
                r"(?:Senior\s+)?leaders|governors|the\s+school|this\s+school|the\s+trust|the\s+headteacher"
                r"|leadership|the\s+(?:academy|principal)",
                unit.text,
                re.I,
            )
        )
        if best is None or score > best[0]:
            best = (score, unit, m)
    if not best:
        return
    _, unit, m = best
    letter.set("judgement", fold(unit.text), unit)
    cue = m.group("cue").lower()
    negative = bool(m.group("neg")) or cue.startswith(("may", "might"))
    if re.match(r"(?:making|made|make)\s+(?:insufficient|inadequate|limited)", cue):
        negative = True
    letter.set("effective_action", not negative, unit)


def _read_flags(letter: Letter, units: list[Span]) -> None:
    fits: list[tuple[bool, Span]] = []
    nqts: list[tuple[bool, Span]] = []
    for unit in units:
        for m in _FIT.finditer(unit.text):
            fits.append((not m.group("neg"), unit))
        if _NQT.search(unit.text) and re.search(r"appoint", unit.text, re.I):
            nqts.append((not _NQT_NEG.search(unit.text), unit))
    if fits:
        value = all(ok for ok, _ in fits)
        letter.set("action_plan_fit", value, next(u for ok, u in fits if ok == value))
    if nqts:
        letter.set("nqt_permission", nqts[0][0], nqts[0][1])


def _read_history(letter: Letter, units: list[Span]) -> None:
    for unit in units:
        m = _VISIT_NUMBER.search(unit.text)
        if m:
            word = m.group("n").lower()
            n = _ORDINALS.get(word) or int(re.sub(r"\D", "", word))
            s = unit.start + m.start()
            letter.set("monitoring_visit_number", n, Span(m.group(0), s, unit.start + m.end()))
            break
    for unit in units:
        cue = _PREVIOUS_S5.search(unit.text)
        if not cue:
            continue
        rest = unit.text[cue.end() :]
        my = _MONTH_YEAR.search(rest)
        if my and month_number(my.group("m")):
            s = unit.start + cue.end() + my.start()
            letter.set(
                "previous_section5",
                f"{my.group('y')}-{month_number(my.group('m')):02d}",
                Span(my.group(0), s, s + len(my.group(0))),
            )
            break
        if re.search(r"\b(?:in|during)\s+(?:19|20)\d\d\b", rest):
            # a year with its month left blank ("in  2014"): the first sentence
            # that dates the inspection decides; never borrow a later date
            break


def _read_la(letter: Letter, text: str) -> None:
    m = _LA.search(text)
    if not m:
        return
    raw = m.group("la")
    la = fold(raw)
    la = re.sub(r"^the\s+", "", la, flags=re.I)
    la = _LA_TAIL.sub("", la) if len(la.split()) > 2 else la
    la = la.strip(" .,;:*")
    if la:
        letter.set("local_authority", la, Span(raw, m.start("la"), m.end("la")))


def _read_inspector(letter: Letter, text: str) -> None:
    signs = list(_SIGN_OFF.finditer(text))
    if signs:
        start = signs[-1].end()
        tail = text[start : start + 300]
        role = _INSPECTOR_ROLE.search(tail)
        chunk = tail[: role.start()] if role else tail.lstrip().split("\n", 1)[0]
    else:
        roles = list(_INSPECTOR_ROLE.finditer(text, max(0, len(text) - 3000)))
        if not roles:
            return
        start = max(0, roles[-1].start() - 80)
        chunk = text[start : roles[-1].start()]
        chunk = chunk.rsplit("\n\n", 1)[-1]
        chunk = re.split(r"(?<=[.!?])\s", chunk)[-1]
    name = _trim_to_person(chunk.replace("*", " ").strip(" ,\n"))
    if name is None:
        cand = chunk.replace("*", " ").strip(" ,\n")
        name = cand if _PERSON.match(cand) else None
    if name:
        s = text.index(name.split()[0], start)
        letter.set("inspector", name, Span(name, s, s + len(name)))


# -- sections, recommendations, support ----------------------------------------------------------


def _sections(text: str, body_start: int, subject: Span | None, one_line: bool) -> list[Section]:
    closings = _closings(text, body_start)
    heads: list[tuple[str, int, int]] = []  # heading, heading start, body start
    if one_line:
        for m in _INLINE_HEADING.finditer(text, body_start):
            heads.append((m.group("h"), m.start(), m.end()))
    else:
        for m in re.finditer(r"(?:^|(?<=\n\n))(?P<h>[^\n]+)(?=\n\n)", text[body_start:]):
            h = m.group("h").strip().strip("*").strip()
            s = body_start + m.start("h")
            if (subject and subject.start <= s < subject.end) or any(a <= s < b for a, b in closings):
                continue
            if _is_heading(h):
                heads.append((h, s, body_start + m.end() + 2))
    out: list[Section] = []
    for i, (h, _, b) in enumerate(heads):
        e = heads[i + 1][1] if i + 1 < len(heads) else len(text)
        e = min([e] + [a for a, _ in closings if b <= a < e])
        body = text[b:e].rstrip()
        out.append(Section(h, body, b, b + len(body)))
    return out


_CLOSING = re.compile(r"I am copying this letter|\bYours\s+(?:sincerely|faithfully)", re.I)


def _closings(text: str, body_start: int) -> list[tuple[int, int]]:
    """Spans of the copy-to sentence and the sign-off (through the signatory's role).

    They are not part of any section; in later letters the report follows them.
    """
    spans: list[tuple[int, int]] = []
    for m in _CLOSING.finditer(text, body_start):
        if m.group(0).lower().startswith("yours"):
            role = _INSPECTOR_ROLE.search(text, m.end(), m.end() + 300)
            end = role.end() if role else m.end()
        else:
            para = text.find("\n\n", m.end())
            end = len(text) if para < 0 else para
        if spans and m.start() <= spans[-1][1] + 2:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((m.start(), end))
    return spans


def _is_heading(line: str) -> bool:
    words = line.split()
    return (
        0 < len(words) <= 12
        and line[:1].isupper()
        and not re.search(r"[.,;:]$", line)
        and not line.startswith(BULLET.strip())
        and not _HEADING_BLOCKLIST.match(line)
        and not find_dates(line)
        and not _PERSON.match(line)
    ) or line in KNOWN_HEADINGS


def _recommendations(text: str, body_start: int, sections: list[Section]) -> list[Recommendation]:
    annexes = _annex_spans(text, body_start, sections)
    out: list[Recommendation] = []
    taken: set[int] = set()
    read_to = 0  # end of the items read so far
    for m in _REC_INTRO.finditer(text, body_start):
        if any(a <= m.start() < b for a, b in annexes):
            continue  # the previous inspection's areas for improvement
        if m.start() < read_to:
            continue  # inside an item already read: its list was read with it (re-reading it was quadratic)
        limit = min((a for a, _ in annexes if a >= m.end()), default=len(text))
        intro = fold(text[_sentence_start(text, m.start(), body_start) : m.end("cue")])
        actor = _actor(intro)
        if _NOT_SCHOOL.search(actor) and not _SCHOOL_ACTOR.search(actor):
            continue  # addressed to the local authority, a trust or the DfE
        items = _bullets_after(text, m.end(), limit)
        if not items:
            items = _inline_items(text, m.end(), limit)
        read_to = max([read_to, *(e for _, e in items)])
        for s, e in items:
            if s in taken:
                continue
            taken.add(s)
            out.append(Recommendation(_clean_item(text[s:e]), intro, s, e))
    out.sort(key=lambda r: r.start)
    return out


def _annex_spans(text: str, body_start: int, sections: list[Section]) -> list[tuple[int, int]]:
    """Where the annex of the previous inspection's areas for improvement runs.

    An annex ends with its section: later letters put the monitoring report after it.
    """
    spans = []
    for m in _ANNEX.finditer(text, body_start):
        end = next((sec.end for sec in sections if sec.end > m.end()), len(text))
        spans.append((m.start(), end))
    return spans


def _sentence_start(text: str, pos: int, floor: int) -> int:
    """Start of the sentence, line-block or bullet that ``pos`` lies in."""
    lo = max(floor, pos - 400)
    ends = [m.end() for m in re.finditer(r"[.!?:;]\s+|\n\s*\n|\n- ", text[lo:pos])]
    return lo + ends[-1] if ends else lo


def _actor(intro: str) -> str:
    m = re.search(r"recommends?\s+that\s+(.*?)\s+(?:takes?|is\s+taken)\b", intro, re.I)
    if m:
        return m.group(1)
    m = re.search(r"^(.*?)\b(?:should|must|needs?\s+to)\b", intro, re.I)
    return m.group(1) if m else ""


def _bullets_after(text: str, pos: int, limit: int) -> list[tuple[int, int]]:
    """Top-level bullet items (with their sub-items and wrapped lines) from ``pos``."""
    items: list[tuple[int, int]] = []
    skipped_lead = False
    cur: list[int] | None = None
    for ln in _LINE.finditer(text, pos, limit):  # lazily: the list usually ends within a few lines
        raw = ln.group(0)
        s = ln.start()
        body = raw.rstrip("\n")
        if not body.strip():
            continue
        if body.startswith(BULLET):
            if cur:
                items.append((cur[0], cur[1]))
            cur = [s + len(BULLET), s + len(body)]
        elif body.startswith("  " + BULLET) and cur:
            cur[1] = s + len(body)
        elif cur and not _ends_sentence(text, cur[0], cur[1]) and body[:1].islower():
            cur[1] = s + len(body)  # a wrapped line of the item
        elif cur and _prev_line_continues(text, cur[1], s):
            cur[1] = s + len(body)
        elif cur is None and not skipped_lead and body.rstrip().endswith(":") and len(body) < 200:
            skipped_lead = True  # "Leaders should:" under a "Priorities…" heading
        else:
            break
    if cur:
        items.append((cur[0], cur[1]))
    return items


_TERMINAL_LINE = re.compile(r"[.!?][\"'\u2019\u201d)]*\s*$")
_LINE = re.compile(r"[^\n]*(?:\n|$)")


def _ends_sentence(text: str, start: int, end: int) -> bool:
    """Whether `_TERMINAL_LINE` finds ``text[start:end]`` ends a sentence, read from its end.

    An item grows line by line: searching all of it for each line was quadratic.
    """
    i = end
    while i > start and text[i - 1].isspace():
        i -= 1
    while i > start and text[i - 1] in "\"'\u2019\u201d)":
        i -= 1
    return i > start and text[i - 1] in ".!?"


def _prev_line_continues(text: str, prev_end: int, s: int) -> bool:
    """A non-bullet line right under an item (no blank line) that goes on with it."""
    between = text[prev_end:s]
    return between.count("\n") == 1 and not _TERMINAL_LINE.search(text[max(0, prev_end - 3) : prev_end])


def _inline_items(text: str, pos: int, limit: int) -> list[tuple[int, int]]:
    """Items of a list whose line breaks were lost: "to: • arrange … • ensure …".

    Only the `_INLINE_REACH` characters after the intro are read: a text of
    intros without glyphs had each of them read to the paragraph's end (quadratic).
    """
    end = text.find("\n\n", pos, min(limit, pos + _INLINE_REACH))
    end = min(limit, pos + _INLINE_REACH) if end < 0 else end
    seg = text[pos:end]
    glyphs = list(_INLINE_GLYPH.finditer(" " + seg))
    if not glyphs:
        return []
    items = []
    for i, g in enumerate(glyphs):
        s = pos + g.end() - 1
        e = pos + glyphs[i + 1].start() - 1 if i + 1 < len(glyphs) else end
        if i + 1 == len(glyphs):
            stop = re.search(r"[.!?](?=\s+[A-Z])", text[s:e])
            e = s + stop.end() if stop else e
        while e > s and text[e - 1].isspace():
            e -= 1  # not len(text[:e].rstrip()): that copied the text up to each item
        items.append((s, e))
    return items


def _clean_item(raw: str) -> str:
    return fold(re.sub(rf"(?m)^[^\S\n]*{re.escape(BULLET)}", " ", raw)).strip()


def _external_support(text: str, sections: list[Section]) -> list[Support]:
    out: list[Support] = []
    for sec in sections:
        if not _SUPPORT_HEADING.search(sec.heading):
            continue
        for unit in sentences(text, sec.start, sec.end):
            for support_type, matched in find_support(unit.text):
                out.append(Support(support_type, fold(unit.text), matched, unit.start, unit.end))
    return out


# -- shell --------------------------------------------------------------------------------------


def letter_rows(letter: Letter) -> dict[str, list[dict[str, Any]]]:
    """A parsed letter as rows of its tables.

    Returns:
        Table name (letters, field_evidence, recommendations, external_support,
        sections) → rows.
    """
    missing = letter.missing
    row: dict[str, Any] = {
        "doc_id": letter.doc_id,
        "status": "partial" if missing else "ok",
        "error": f"could not read: {', '.join(missing)}" if missing else None,
        **{k: v for k, v in letter.values.items()},
        "visit_dates": list(letter.visit_dates),
    }
    evidence = [
        {"doc_id": letter.doc_id, "field": f, "value": _as_text(f, letter), "start": sp.start, "end": sp.end}
        for f, sp in letter.evidence.items()
    ]
    return {
        "letters": [row],
        "field_evidence": evidence,
        "recommendations": [
            {
                "doc_id": letter.doc_id,
                "n": i + 1,
                "parent": None,
                "text": r.text,
                "intro": r.intro,
                "start": r.start,
                "end": r.end,
            }
            for i, r in enumerate(letter.recommendations)
        ],
        "external_support": [
            {
                "doc_id": letter.doc_id,
                "n": i + 1,
                "support_type": s.support_type,
                "text": s.text,
                "matched": s.matched,
                "start": s.start,
                "end": s.end,
            }
            for i, s in enumerate(letter.external_support)
        ],
        "sections": [
            {"doc_id": letter.doc_id, "n": i + 1, "heading": s.heading, "text": s.text, "start": s.start, "end": s.end}
            for i, s in enumerate(letter.sections)
        ],
    }


def _as_text(name: str, letter: Letter) -> str:
    if name == "visit_dates":
        return ",".join(d.isoformat() for d in letter.visit_dates)
    value = letter.values[name]
    return (
        value.isoformat()
        if isinstance(value, dt.date)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )


def read(doc_id: str, text: str) -> dict[str, list[dict[str, Any]]]:
    """The reader's entry point for the ``parse`` stage: rows of the letter tables for one letter."""
    return letter_rows(parse_letter(doc_id, text))
