"""Rendering a composed letter: as UTF-8 text (several layouts) or as a PDF laid out as Ofsted's are.

Text: one line per paragraph or hard-wrapped, bullets in one of several glyph styles, the odd stray page
break. PDF (fpdf2, core Helvetica): letterhead top right, date, address block, bullets drawn with "•" and
hanging indents, a running footer and page numbers. Both are pure: the same letter and style give the
same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from pipeline.synth.compose import Block, Bullets, Heading, Item, Letter, Lines, Para
from pipeline.synth.plan import CONTRACTORS_UNTIL

_SPLITTABLE_AFTER = re.compile(r"[^.!?:;\"'\u2019\u201d)]$")


_ENDS_CLAUSE = re.compile(r"[.!?;:]['\u2019\")]*$")
_GLYPH_LIKE = frozenset({"-", "\u2013", "\u2014", "\u2022", "*", "o"})


def wrap(
    text: str, measure: Callable[[str], float], first_width: float, width: float, *, item: bool = False
) -> list[str]:
    """Greedy word wrap.

    No line starts with a word a reader would take for a bullet glyph ("o",
    "-"), and in a list item (``item``) no line but the last ends a sentence or
    clause: the parser would take the item to end there. Either break moves
    the last word down.

    Args:
        text: one paragraph or item.
        measure: the width of a word (a space is ``measure(" ")``).
        first_width: the width of the first line.
        width: the width of the other lines.
        item: the text is a list item.
    """
    space = measure(" ")
    lines: list[str] = []
    cur: list[str] = []
    used = 0.0
    limit = first_width
    for w in text.split(" "):
        size = measure(w)
        if not cur or used + space + size <= limit:
            used += (space if cur else 0.0) + size
            cur.append(w)
            continue
        carry = [w]
        while len(cur) > 1 and (carry[0] in _GLYPH_LIKE or (item and _ENDS_CLAUSE.search(cur[-1]))):
            carry.insert(0, cur.pop())
        lines.append(" ".join(cur))
        cur, limit = carry, width
        used = sum(measure(c) for c in carry) + space * (len(carry) - 1)
    if cur:
        lines.append(" ".join(cur))
    return lines


def chars(word: str) -> float:
    """The width of a word in characters: the measure `wrap` uses for text letters."""
    return float(len(word))


_CURLY = "\u2019"


def apostrophes(letter: Letter, curly: bool) -> Letter:
    """Write apostrophes as Word does (’) in the whole letter, truth included."""
    if not curly:
        return letter

    def fix(s: str) -> str:
        return s.replace("'", _CURLY)

    def block(b: Block) -> Block:
        if isinstance(b, Para):
            return Para(tuple(replace(u, text=fix(u.text)) for u in b.units), b.optional)
        if isinstance(b, Heading):
            return Heading(fix(b.text))
        if isinstance(b, Bullets):
            return Bullets(
                tuple(
                    Item(
                        replace(i.unit, text=fix(i.unit.text)), tuple(replace(c, text=fix(c.text)) for c in i.children)
                    )
                    for i in b.items
                ),
                b.counted,
            )
        return Lines(tuple(fix(x) if b.role not in ("letterhead",) else x for x in b.lines), b.role, b.bold)

    letter.header = [block(b) for b in letter.header]
    letter.body = [block(b) for b in letter.body]
    for k in ("school_name", "headteacher", "judgement", "local_authority", "inspector"):
        if isinstance(letter.values.get(k), str):
            letter.values[k] = fix(letter.values[k])
    return letter


@dataclass(frozen=True)
class TextStyle:
    """How a text letter is laid out."""

    one_line_header: bool
    wrap: int | None  # hard-wrap width in characters, or None for one line per paragraph
    glyph: str
    sub_glyph: str
    blank_between_items: bool
    page_breaks: tuple[int, ...]  # body paragraph indexes split by a stray blank line


def text_style(rng: random.Random, letter: Letter) -> TextStyle:
    """Draw how a text letter is laid out."""
    glyph, sub = rng.choice(
        (("- ", "  - "), ("\u2022 ", "o "), ("\u2022 ", "\u2013 "), ("\uf0b7 ", "o "), ("\u2013 ", "o "))
    )
    wrap = rng.choice((None, None, 90, 100)) if rng.random() < 0.5 else None
    paras = [i for i, b in enumerate(letter.body) if isinstance(b, Para) and len(b.units) > 1]
    breaks = (
        tuple(sorted(rng.sample(paras, min(len(paras), rng.randint(1, 2)))))
        if (wrap is None and rng.random() < 0.2)
        else ()
    )
    one_line = (
        letter.plan.visit_dates[0] < CONTRACTORS_UNTIL
        and not letter.layout.get("letterhead_after_address")
        and rng.random() < 0.2
    )
    return TextStyle(one_line, wrap, glyph, sub, rng.random() < 0.3, breaks)


def _para_text(p: Para) -> str:
    return " ".join(u.text for u in p.units)


def render_text(letter: Letter, style: TextStyle) -> str:
    """The letter as UTF-8 text: one line per paragraph (or hard-wrapped), blank lines between blocks."""
    out: list[str] = []

    def lines_of(s: str, indent: str = "") -> list[str]:
        if style.wrap is None:
            return [indent + s]
        lines = wrap(s, chars, style.wrap - len(indent), style.wrap, item=bool(indent))
        return [indent + lines[0], *lines[1:]]

    header = letter.header
    if style.one_line_header:
        lh = [b for b in header if isinstance(b, Lines) and b.role == "letterhead"]
        rest = [b for b in header if not (isinstance(b, Lines) and b.role == "letterhead")]
        head_lines = [" ".join(lh[0].lines + lh[1].lines), *("\n".join(b.lines) for b in lh[2:])]
        out.append("\n".join(head_lines) + "\n")
        for b in rest:
            assert isinstance(b, Lines)
            out.append(" ".join(b.lines) if b.role == "address" else "\n".join(b.lines))
    else:
        for b in header:
            assert isinstance(b, Lines)
            out.append("\n".join(b.lines))
    for i, b in enumerate(letter.body):
        if isinstance(b, Para):
            text = _para_text(b)
            if i in style.page_breaks:
                text = _stray_break(text)
            out.append("\n".join(lines_of(text)))
        elif isinstance(b, Heading):
            out.append(b.text)
        elif isinstance(b, Bullets):
            lines: list[str] = []
            for item in b.items:
                lines += lines_of(item.unit.text, style.glyph)
                for c in item.children:
                    lines += lines_of(c.text, style.sub_glyph)
                if style.blank_between_items:
                    lines.append("")
            out.append("\n".join(lines).rstrip("\n"))
        else:
            out.append("\n".join(b.lines))
    return "\n\n".join(out) + "\n"


def _stray_break(text: str) -> str:
    """A blank line in the middle of a paragraph, as a page break leaves it in text saved from a PDF."""
    positions = [m.start() for m in re.finditer(r"(?<![.!?:;]) (?=[a-z])", text) if 40 < m.start() < len(text) - 20]
    if not positions:
        return text
    p = positions[len(positions) // 2]
    return text[:p] + "\n\n" + text[p + 1 :]


# -- PDF --------------------------------------------------------------------------------------------

_MM_PER_PT = 25.4 / 72
_PAGE_TOP = 30.0  # body top on later pages: below the 8% margin (23.8 mm) where ingest drops running lines
_PAGE_BOTTOM = 262.0  # last body baseline; the footer sits at 283–289 mm, in the bottom margin
_LEFT = 20.0
_WIDTH = 170.0
_LINE = 5.0
_LH_X = 125.0
_LH_LINE = 4.2
_HANG = 4.5
_SUB = 8.0


@functools.lru_cache(maxsize=2)
def _widths(bold: bool) -> dict[str, float]:
    """Helvetica advance widths in mm per point of font size, by character."""
    import fpdf

    pdf = fpdf.FPDF()
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_font("Helvetica", "B" if bold else "", 10)
    cw: dict[str, int] = pdf.current_font.cw  # type: ignore[union-attr,assignment]
    out = {}
    for b in range(32, 256):
        ch = bytes([b]).decode("cp1252", errors="ignore")
        if ch:
            out[ch] = cw[chr(b)] * 0.001 * _MM_PER_PT
    return out


def _text_width(text: str, size: float, bold: bool = False) -> float:
    w = _widths(bold)
    return sum(w.get(c, 0.6 * _MM_PER_PT) for c in text) * size


def _measure(size: float, bold: bool = False) -> Callable[[str], float]:
    """Width in mm of a word in Helvetica at ``size`` points (cached: the same words come back often)."""
    return functools.partial(_word_width, size, bold)


@functools.lru_cache(maxsize=50_000)
def _word_width(size: float, bold: bool, word: str) -> float:
    return _text_width(word, size, bold)


@dataclass(frozen=True)
class _Row:
    """One line to draw: x offset, text, bold, and the space (mm) to leave before it."""

    x: float
    text: str
    bold: bool = False
    gap: float = 0.0


@dataclass(frozen=True)
class _Chunk:
    """Rows that go on one page together (a paragraph may still be split where it can be)."""

    rows: tuple[_Row, ...]
    splittable: bool = False
    keep_with_next: bool = False


@dataclass(frozen=True)
class PdfStyle:
    """How a PDF letter is laid out."""

    item_gap: float  # space between bullet items (0 or a blank line)
    date_right: bool


def pdf_style(rng: random.Random) -> PdfStyle:
    """Draw how a PDF letter is laid out."""
    return PdfStyle(item_gap=rng.choice((0.0, 2.5, _LINE)), date_right=rng.random() < 0.5)


def _pdf_chunks(letter: Letter, style: PdfStyle) -> list[_Chunk]:
    size = 11.0
    fits, fits_b = _measure(size), _measure(size, True)
    chunks: list[_Chunk] = []
    for b in letter.body:
        gap = _LINE
        if isinstance(b, Para):
            lines = wrap(_para_text(b), fits, _WIDTH, _WIDTH)
            rows = tuple(_Row(0, t, gap=gap if j == 0 else 0) for j, t in enumerate(lines))
            chunks.append(_Chunk(rows, splittable=True))
        elif isinstance(b, Heading):
            chunks.append(_Chunk((_Row(0, b.text, bold=True, gap=gap),), keep_with_next=True))
        elif isinstance(b, Bullets):
            first = True
            for item in b.items:
                g = gap if first else style.item_gap
                first = False
                rows_l: list[_Row] = []
                glyph = "\u2022 "
                lines = wrap(item.unit.text, fits, _WIDTH - _text_width(glyph, size), _WIDTH - _HANG, item=True)
                rows_l.append(_Row(0, glyph + lines[0], gap=g))
                rows_l += [_Row(_HANG, t) for t in lines[1:]]
                chunks.append(_Chunk(tuple(rows_l)))
                for c in item.children:
                    sub = "\u2013 "
                    lines = wrap(c.text, fits, _WIDTH - _SUB - _text_width(sub, size), _WIDTH - _SUB - _HANG, item=True)
                    rows_c = [_Row(_SUB, sub + lines[0], gap=style.item_gap)]
                    rows_c += [_Row(_SUB + _HANG, t) for t in lines[1:]]
                    chunks.append(_Chunk(tuple(rows_c)))
        else:
            if b.role == "signoff":
                rows = (_Row(0, b.lines[0], gap=gap), _Row(0, b.lines[2], gap=12.0), _Row(0, b.lines[3]))
                chunks.append(_Chunk(rows))
            else:
                wrapped: list[_Row] = []
                for j, line in enumerate(b.lines):
                    parts = wrap(line, fits_b if b.bold else fits, _WIDTH, _WIDTH)
                    wrapped += [
                        _Row(0, t, bold=b.bold, gap=gap if j == 0 and k == 0 else 0) for k, t in enumerate(parts)
                    ]
                chunks.append(_Chunk(tuple(wrapped), keep_with_next=b.role in ("salutation", "report_title")))
    return chunks


_Op = tuple[float, float, str, bool, float]  # x, y, text, bold, size


def layout_pdf(letter: Letter, style: PdfStyle) -> list[list[_Op]]:
    """Place the letter on A4 pages: letterhead top right, date, address block, body; returns pages of ops."""
    ops: list[_Op] = []
    y = 12.0
    header = letter.header
    lh_blocks = [b for b in header if isinstance(b, Lines) and b.role == "letterhead"]
    for g, b in enumerate(lh_blocks):
        if g:
            y += _LH_LINE
        for line in b.lines:
            ops.append((_LH_X, y, line, g == 0 and line == b.lines[0], 9.0))
            y += _LH_LINE
    y = max(y + 6.0, 62.0)
    date = next(b for b in header if isinstance(b, Lines) and b.role == "date")
    address = next(b for b in header if isinstance(b, Lines) and b.role == "address")
    x_date = _LEFT + _WIDTH - _text_width(date.lines[0], 11.0) if style.date_right else _LEFT
    ops.append((x_date, y, date.lines[0], False, 11.0))
    y += 2 * _LINE
    for line in address.lines:
        ops.append((_LEFT, y, line, False, 11.0))
        y += _LINE
    pages: list[list[_Op]] = [ops]
    chunks = _pdf_chunks(letter, style)
    i = 0
    while i < len(chunks):
        ch = chunks[i]
        need = sum(r.gap for r in ch.rows) + _LINE * (len(ch.rows) - 1)
        if ch.keep_with_next and i + 1 < len(chunks):
            nxt = chunks[i + 1]
            need += nxt.rows[0].gap + _LINE * min(2, len(nxt.rows))
        if y + need <= _PAGE_BOTTOM or y <= _PAGE_TOP + _LINE:  # (a chunk taller than a page runs on)
            for r in ch.rows:
                y += r.gap
                pages[-1].append((_LEFT + r.x, y, r.text, r.bold, 11.0))
                y += _LINE
            i += 1
            continue
        if ch.splittable:
            cut = _split_point(ch, _PAGE_BOTTOM - y)
            if cut:
                head, tail = ch.rows[:cut], ch.rows[cut:]
                for r in head:
                    y += r.gap
                    pages[-1].append((_LEFT + r.x, y, r.text, r.bold, 11.0))
                    y += _LINE
                chunks[i] = _Chunk(tuple(replace(r, gap=0) for r in tail), splittable=True)
        pages.append([])
        y = _PAGE_TOP
        chunks[i] = replace(chunks[i], rows=(replace(chunks[i].rows[0], gap=0), *chunks[i].rows[1:]))
    return pages


def _split_point(ch: _Chunk, room: float) -> int:
    """How many rows of a paragraph to leave on this page, or 0.

    Only where ingest will join the halves again (the last row left behind
    does not end a sentence or clause and is long, and the first row carried
    over starts with a lower-case word), or between two sentences.
    """
    rows = ch.rows
    fit = 0
    used = 0.0
    for r in rows:
        used += r.gap + (_LINE if fit else 0)
        if used > room:
            break
        fit += 1
    for cut in range(min(fit, len(rows) - 1), 1, -1):
        prev, nxt = rows[cut - 1].text, rows[cut].text
        if len(prev) > 30 and _SPLITTABLE_AFTER.search(prev) and nxt[:1].islower():
            return cut  # ingest joins the halves again
        if re.search(r"[.!?]$", prev) and nxt[:1].isupper():
            return cut  # two paragraphs, each of whole sentences
    return 0


def pdf_bytes(letter: Letter, pages: list[list[_Op]], footer: str) -> bytes:
    """Draw laid-out pages with fpdf2, with a running footer and page numbers on every page."""
    import fpdf

    pdf = fpdf.FPDF(format="A4", unit="mm")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_auto_page_break(False)
    d = letter.plan.letter_date
    pdf.set_creation_date(dt.datetime(d.year, d.month, d.day, 9, 0, tzinfo=dt.UTC))
    pdf.set_author("Ofsted")
    pdf.set_title(letter.values["school_name"])
    n = len(pages)
    for k, ops in enumerate(pages):
        pdf.add_page()
        font = ("", 0.0)
        for x, y, text, bold, size in ops:
            if font != ("B" if bold else "", size):
                font = ("B" if bold else "", size)
                pdf.set_font("Helvetica", *font)
            pdf.text(x, y + 0.75 * size * _MM_PER_PT, text)  # y is the top of the line; text() takes the baseline
        pdf.set_font("Helvetica", "", 8)
        pdf.text(_LEFT, 286.0, footer)
        pdf.text(_LEFT + _WIDTH - 20, 292.0, f"Page {k + 1} of {n}")
    return bytes(pdf.output())
