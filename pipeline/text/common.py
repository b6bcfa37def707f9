"""Pure text functions shared by the stages: decoding, layout normalisation, dates.

Everything here takes and returns plain strings or values; nothing reads files.
The normalised text is *the* document text: every offset the pipeline stores
points into it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from pipeline.errors import DocumentError

BULLET = "- "
"""The one list marker the parser relies on: every bullet line starts with it."""

# Bullet glyphs as they come out of Word, PDF extraction and the web. Solid ones
# may touch the text ("•improve"); dash-like ones need a space after them.
# U+F020–U+F0FF are Symbol/Wingdings private-use glyphs (U+F0B7, U+F06E, …) that
# PDF text layers often carry instead of a real bullet.
_SOLID = "\u2022\u25aa\u25cf\u25e6\u2023\u2043\u2219\u25a0\u25a1\u27a2\u00b7\uf020-\uf0ff"
_SPACED = "\u2013\u2014\u2010\u2012*o\\-"
_BULLET_LINE = re.compile(rf"^(?P<indent>[ \t]*)(?:(?P<solid>[{_SOLID}])[ \t]*|(?P<spaced>[{_SPACED}])[ \t]+)(?=\S)")
_WRAP_WIDTH = 60  # a shorter line ended where its author ended it, not where the page did
_PAGE_WIDTH = 110  # a text with longer lines was not wrapped by a page: its paragraphs are lines
_INDENTED = re.compile(r"^(?:[ \t]{2,}|\t)(?=\S)")
_TERMINAL = re.compile(r"[.!?:;][\"'\u2019\u201d)]*\s*$")
_SENTENCE_END = re.compile(r"[.!?][\"'\u2019\u201d)]*\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # C0/C1 controls bar tab, newlines, form feed

MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
MONTH_RE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)


def decode(data: bytes, max_non_ascii_share: float = 0.02) -> tuple[str, str]:
    r"""Decode the bytes of a text document.

    Tries UTF-8 (with or without BOM), UTF-16 with a BOM, then Windows-1252, the
    encoding of text saved from Word and of Ofsted's own CSV files. cp1252 decodes
    almost any bytes, so its result is accepted only when it looks like English
    prose.

    Args:
        data: the file's bytes.
        max_non_ascii_share: the largest share of non-ASCII characters a cp1252
            decoding may have before it is judged to be some other encoding.

    Returns:
        The text (newlines normalised to ``\\n``) and the encoding used.

    Raises:
        DocumentError: ``unknown_encoding`` or ``binary_file``.
    """
    bom = _bom_encoding(data)
    if bom:
        try:
            text, enc = data.decode(bom), bom
        except UnicodeDecodeError as exc:
            raise DocumentError(
                "unknown_encoding",
                f"starts with a {bom.upper()} byte-order mark but is not {bom.upper()} "
                f"(undecodable bytes at offset {exc.start}); re-save the file as UTF-8",
            ) from exc
    elif enc := _utf16_without_bom(data):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as exc:
            raise DocumentError(
                "unknown_encoding",
                f"looks like {enc.upper()} without a byte-order mark but does not decode as it "
                f"(offset {exc.start}); re-save the file as UTF-8",
            ) from exc
    else:
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, enc = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError as exc:
                raise DocumentError(
                    "unknown_encoding",
                    f"not UTF-8 and not Windows-1252 (undecodable byte 0x{data[exc.start]:02x} "
                    f"at offset {exc.start}); re-save the file as UTF-8",
                ) from exc
            non_ascii = sum(1 for c in text if ord(c) > 127)
            if text and non_ascii / len(text) > max_non_ascii_share:
                raise DocumentError(  # noqa: B904 (not an error in the handler: a verdict on the text)
                    "unknown_encoding",
                    f"not UTF-8, and as Windows-1252 {non_ascii / len(text):.0%} of its characters "
                    f"would be non-ASCII (limit {max_non_ascii_share:.0%}); "
                    "re-save the file as UTF-8",
                )
    controls = len(_CONTROL.findall(text))
    if "\x00" in text or (text and controls / len(text) > 0.01):
        raise DocumentError(
            "binary_file",
            f"looks like binary data, not text ({controls} control characters); "
            "check that the file is a text or PDF document",
        )
    return text.replace("\r\n", "\n").replace("\r", "\n"), enc


def _bom_encoding(data: bytes) -> str:
    """The encoding a byte-order mark announces ("" when there is none)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return ""


def _utf16_without_bom(data: bytes) -> str:
    """``utf-16-le``/``utf-16-be`` when the bytes look like BOM-less UTF-16 English text, else "".

    English in UTF-16 has a NUL in (nearly) every other byte and none in the others.
    """
    sample = data[:4000]
    if len(sample) < 4 or len(data) % 2:
        return ""
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    half = len(sample) // 2
    if odd > 0.8 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.8 * half and odd < 0.05 * half:
        return "utf-16-be"
    return ""


def normalise_layout(text: str) -> str:
    """Give extracted text the layout the parser relies on.

    - Unicode NFC, non-breaking spaces to spaces, trailing spaces dropped.
    - Every bullet line starts with ``"- "``; a nested bullet (a glyph other than
      the one that opened the list, or a deeper indent) with ``"  - "``.
    - Lines indented as a list after a line ending in ``:`` become bullets.
    - A paragraph split by a page break (a blank line where the sentence goes on)
      is joined again with a single space.
    """
    text = unicodedata.normalize("NFC", text).replace("\u00a0", " ").replace("\u202f", " ")
    # Joining a page break can bring an "o" line into a list, which a second
    # marking pass then nests: repeat until nothing changes (twice is the norm).
    for _ in range(4):
        lines = [ln.rstrip() for ln in text.split("\n")]
        out = _join_page_breaks("\n".join(_mark_bullets(lines)))
        if out == text:
            break
        text = out
    return text


def _mark_bullets(lines: list[str]) -> list[str]:
    out: list[str] = []
    first_glyph: str | None = None  # glyph that opened the current list
    first_indent = 0
    indent_list = False  # inside a list written as a bare indent
    in_item = False  # the last line was a bullet or the wrapped text of one
    # text whose paragraphs run on one long line (the web) has no wrapped items
    hard_wrapped = max((len(ln) for ln in lines), default=0) <= _PAGE_WIDTH
    for line in lines:
        m = _BULLET_LINE.match(line)
        if m and not _is_dash_prose(line, m, first_glyph):
            glyph, indent = m.group("solid") or m.group("spaced"), len(m.group("indent").expandtabs(4))
            if first_glyph is None:
                first_glyph, first_indent = glyph, indent
            nested = glyph != first_glyph or indent > first_indent + 1
            out.append(("  " if nested else "") + BULLET + line[m.end() :].strip())
            in_item = True
            continue
        if not line.strip():
            out.append("")
            continue
        prev = next((p for p in reversed(out) if p.strip()), "")
        if _INDENTED.match(line) and (indent_list or prev.endswith(":")):
            indent_list = True
            wrapped = (
                hard_wrapped and len(prev) >= _WRAP_WIDTH and not _TERMINAL.search(prev) and line.lstrip()[:1].islower()
            )
            if prev.startswith(BULLET) and wrapped:
                out.append(line.strip())  # a long item wrapped onto this line
            else:
                out.append(BULLET + line.strip())
            in_item = True
            continue
        indent_list = False
        after_blank = not out or not out[-1].strip()
        # a line straight after an item carries on its text (an item may wrap over
        # several lines) unless the item had ended and this line opens a sentence
        wraps = in_item and not after_blank and (not _SENTENCE_END.search(prev) or line.lstrip()[:1].islower())
        if not wraps:
            first_glyph = None  # a new paragraph closes the list
            in_item = False
        out.append(line)
    return out


def _is_dash_prose(line: str, m: re.Match[str], first_glyph: str | None) -> bool:
    """Whether a dash-led line is prose: a page number ("- 3 -"), or "o" outside a list.

    Word writes "o" only for second-level bullets.
    """
    rest = line[m.end() :]
    return bool(re.fullmatch(r"\d+\s*[-\u2013]?", rest.strip())) or (m.group("spaced") == "o" and first_glyph is None)


def _join_page_breaks(text: str) -> str:
    paras = text.split("\n\n")
    out: list[str] = []
    for para in paras:
        if not para.strip():
            out.append(para)
            continue
        prev_i = len(out) - 1
        while prev_i >= 0 and not out[prev_i].strip():
            prev_i -= 1
        if prev_i >= 0 and _continues(out[prev_i], para):
            # drop the blank paragraphs in between and join with one space
            joined = out[prev_i].rstrip() + " " + para.lstrip()
            del out[prev_i:]
            out.append(joined)
        else:
            out.append(para)
    return "\n\n".join(out)


def _continues(prev: str, nxt: str) -> bool:
    """Whether paragraph ``nxt`` carries on the sentence that ``prev`` left open."""
    last_line = prev.rstrip().rsplit("\n", 1)[-1]
    first = nxt.lstrip()
    if not first or _TERMINAL.search(last_line) or first.startswith(BULLET.strip()):
        return False
    if first[0].islower():
        # a lower-case start never opens a paragraph; the short heading case
        # ("Evidence" then "during …") does not occur in letters
        return len(last_line) > 25 or last_line.startswith(BULLET)
    # a long line stopped on a lower-case word mid-sentence: "… work with the" / "Local"
    last_word = last_line.split()[-1] if last_line.split() else ""
    return len(last_line) >= 70 and last_word.islower() and last_word.isalpha() and len(last_word) <= 4


def fold(text: str) -> str:
    """Fold whitespace (line breaks included) to single spaces and strip."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Span:
    """A value with the character offsets of its evidence in the document text."""

    text: str
    start: int
    end: int


def find_dates(text: str) -> list[tuple[dt.date, int, int]]:
    """Every complete date written ``12 December 2012`` (or ``12th Dec. 2012``).

    Returns:
        ``(date, start, end)`` for each, in text order; impossible dates skipped.
    """
    out = []
    for m in re.finditer(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({MONTH_RE})\s*,?\s+(\d{{4}})\b", text, flags=re.I):
        d = make_date(m.group(3), m.group(2), m.group(1))
        if d:
            out.append((d, m.start(), m.end()))
    return out


def month_number(name: str) -> int | None:
    """1–12 for a month name or abbreviation, else None."""
    key = name.strip(". ").lower()
    for full, num in MONTHS.items():
        if full == key or (len(key) >= 3 and full.startswith(key)):
            return num
    return None


def make_date(year: str | int, month: str | int, day: str | int) -> dt.date | None:
    """A date from its parts, or None when the parts are not a real date."""
    m = month if isinstance(month, int) else month_number(month)
    try:
        return dt.date(int(year), m, int(day)) if m else None
    except ValueError:
        return None


_DAY_LIST = re.compile(
    rf"""(?P<list>
      \d{{1,2}}(?:st|nd|rd|th)?(?:\s+{MONTH_RE})?(?:\s+\d{{4}})?
      (?:\s*(?:,|and|to|[-\u2013\u2014]|&)\s*
         \d{{1,2}}(?:st|nd|rd|th)?(?:\s+{MONTH_RE})?(?:\s+\d{{4}})?)*
    )""",
    re.X | re.I,
)


def parse_date_list(text: str) -> tuple[list[dt.date], int] | None:
    """Read the date expression at the start of ``text``.

    Handles one day ("12 December 2012"), ranges ("4–5 March 2016", "9 to 11
    May 2015", expanded day by day), lists ("11 and 12 June 2013") and runs that
    cross a month or year ("30 September and 1 October 2015"). A day whose month
    or year is not written takes those of the next day that has them.

    Returns:
        The dates in order and the length of text consumed, or None if the
        expression has no complete date.
    """
    m = _DAY_LIST.match(text)
    if not m:
        return None
    expr = m.group("list")
    parts = re.findall(
        rf"(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+({MONTH_RE}))?(?:\s+(\d{{4}}))?|([-\u2013\u2014]|\bto\b)",
        expr,
        flags=re.I,
    )
    items: list[list[str | None]] = []
    range_after: set[int] = set()
    for day, mon, year, dash in parts:
        if dash:
            if items:
                range_after.add(len(items) - 1)
            continue
        items.append([day, mon or None, year or None])
    if not items or items[-1][1] is None or items[-1][2] is None:
        return None
    for i in range(len(items) - 2, -1, -1):
        items[i][1] = items[i][1] or items[i + 1][1]
        items[i][2] = items[i][2] or items[i + 1][2]
    dates: list[dt.date] = []
    for i, (day, mon, year) in enumerate(items):
        d = make_date(str(year), str(mon), str(day))
        if d is None:
            return None
        if i - 1 in range_after and dates:
            first = dates[-1]  # not read inside the loop: each day added would move it
            gap = (d - first).days
            if 1 < gap <= 7:
                dates.extend(first + dt.timedelta(days=k) for k in range(1, gap))
        dates.append(d)
    # drop a trailing connector the regex may not have consumed
    return dates, len(expr.rstrip())


_ABBREV = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Prof|Rev|No|Nos|Co|Ltd|vs|etc|approx|cf)|\be\.g|\bi\.e|\b[A-Z])\.$")
_ABBREV_REACH = 12  # longer than any abbreviation _ABBREV matches ("approx.")
_SENT_END = re.compile(r"[.!?][\"'\u2019\u201d)]*(?=\s+[\"'\u2018\u201c(]?[A-Z0-9])")


def sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Split ``text[start:end]`` into sentences and bullet items, with offsets.

    A paragraph break, a bullet line and a colon at a line end always end a
    unit; a full stop ends one unless it closes an abbreviation ("Mrs.", "e.g.",
    an initial).
    """
    end = len(text) if end is None else end
    spans: list[Span] = []
    # lazy \s*?: a greedy one ran to the end of a run of blank lines from each of them (quadratic)
    for block in re.finditer(r"(?:(?!\n\s*?\n|\n\s*?- |:\n).)+:?", text[start:end], flags=re.S):
        b0 = start + block.start()
        chunk = block.group(0)
        if chunk.lstrip().startswith(BULLET):
            _add(spans, text, b0, b0 + len(chunk))
            continue
        cut = 0
        for m in _SENT_END.finditer(chunk):
            # look only at the few characters before the stop (an abbreviation is short):
            # searching the whole prefix made a long paragraph quadratic
            if _ABBREV.search(chunk, max(0, m.start() - _ABBREV_REACH), m.start() + 1):
                continue
            _add(spans, text, b0 + cut, b0 + m.end())
            cut = m.end()
        _add(spans, text, b0 + cut, b0 + len(chunk))
    return spans


def _add(spans: list[Span], text: str, start: int, end: int) -> None:
    seg = text[start:end]
    lead = len(seg) - len(seg.lstrip())
    seg = seg.strip()
    if seg.startswith(BULLET):
        lead += len(BULLET)
        seg = seg[len(BULLET) :].lstrip()
        lead = text.index(seg, start) - start if seg else lead
    if seg:
        spans.append(Span(seg, start + lead, start + lead + len(seg)))
