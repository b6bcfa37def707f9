"""Build small test PDFs in memory, so no binary fixture is committed.

Text is drawn with fpdf2's core Helvetica in Windows-1252 (WinAnsiEncoding), which
has the bullet "•" and the en dash "–" that Word-made PDFs use. Pages are A4
(297 mm high): with ingest.pdf_margin = 0.08 the top and bottom 23.76 mm are the
margins where running headers and footers are looked for, so headers are drawn at
12 mm, footers at 285 mm and the body between 40 mm and 260 mm.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import fpdf
import pikepdf
from PIL import Image

PAGE_H = 297.0
HEADER_Y = 12.0
FOOTER_Y = 285.0
BODY_TOP = 40.0
LINE_H = 5.0  # 14 pt for 11 pt type: lines of one paragraph sit closer than half a line apart
LEFT = 20.0
RIGHT_COLUMN = 110.0
INDENT = 8.0
HANGING = 4.0


def _new_pdf() -> fpdf.FPDF:
    pdf = fpdf.FPDF(format="A4", unit="mm")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=11)
    # fixed dates keep the bytes, and so the doc_id, the same from run to run
    pdf.set_creation_date(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    return pdf


def _line(pdf: fpdf.FPDF, x: float, y: float, text: str) -> None:
    pdf.set_xy(x, y)
    pdf.cell(text=text)


def _body(pdf: fpdf.FPDF, x: float, lines: list[str]) -> None:
    """Draw lines down from BODY_TOP; an empty string leaves a blank line (a new paragraph)."""
    y = BODY_TOP
    for text in lines:
        if text:
            _line(pdf, x, y, text)
        y += LINE_H


def text_pdf(
    pages: list[list[str]],
    header: str | None = None,
    footer: str | None = None,
    *,
    notes: dict[int, str] | None = None,
) -> bytes:
    """A PDF with one page per item of ``pages``, each a list of body lines.

    Args:
        pages: the body lines of each page; ``""`` is a blank line.
        header: drawn at the top of every page.
        footer: drawn at the bottom of every page; ``{page}`` and ``{pages}``
            are replaced by the page number and the page count.
        notes: page index → a line drawn once, in that page's bottom margin.
    """
    pdf = _new_pdf()
    for i, lines in enumerate(pages):
        pdf.add_page()
        if header is not None:
            _line(pdf, LEFT, HEADER_Y, header)
        _body(pdf, LEFT, lines)
        if notes and i in notes:
            _line(pdf, LEFT, FOOTER_Y - LINE_H, notes[i])
        if footer is not None:
            _line(pdf, LEFT, FOOTER_Y, footer.format(page=i + 1, pages=len(pages)))
    return bytes(pdf.output())


def two_column_pdf(left: list[str], right: list[str]) -> bytes:
    """One page with two columns of lines side by side, the left one drawn first."""
    pdf = _new_pdf()
    pdf.add_page()
    _body(pdf, LEFT, left)
    _body(pdf, RIGHT_COLUMN, right)
    return bytes(pdf.output())


def bullet_pdf(items: list[tuple[int, str]] | None = None, intro: str = "The school should:") -> bytes:
    """One page of a list, drawn as Word draws it in Ofsted PDFs.

    Args:
        items: ``(level, text)`` pairs; level 0 is drawn "• text", level 1
            indented "– text". A "\\n" in the text wraps the item: the next line
            is drawn under the text, after the glyph (a hanging indent).
        intro: the line before the list.

    A blank line separates the items.
    """
    items = items if items is not None else BULLET_ITEMS
    pdf = _new_pdf()
    pdf.add_page()
    _line(pdf, LEFT, BODY_TOP, intro)
    y = BODY_TOP + 2 * LINE_H
    for level, text in items:
        x = LEFT + level * INDENT
        first, *rest = text.split("\n")
        _line(pdf, x, y, ("\u2022 " if level == 0 else "\u2013 ") + first)
        for more in rest:
            y += LINE_H
            _line(pdf, x + HANGING, y, more)
        y += 2 * LINE_H
    return bytes(pdf.output())


BULLET_ITEMS: list[tuple[int, str]] = [
    (0, "Improve leadership by:"),
    (1, "checking the quality of teaching"),
    (1, "holding middle leaders to account."),
    (0, "Improve teaching by:"),
    (1, "raising expectations of the most able."),
    (0, "Improve attendance."),
]
"""What `bullet_pdf` draws by default."""


def encrypted_pdf(password: str = "secret") -> bytes:
    """A text PDF that cannot be opened without a user password."""
    source = pikepdf.open(io.BytesIO(text_pdf([["A letter that only its reader may open."]])))
    out = io.BytesIO()
    source.save(out, encryption=pikepdf.Encryption(user=password, owner=password + "-owner", R=6))
    return out.getvalue()


def image_only_pdf() -> bytes:
    """A scanned page: one full-page image and no text layer."""
    image = Image.new("L", (200, 280), color=255)
    for x in range(20, 180):  # a few dark "lines of print", so it is not blank
        for y in range(40, 240, 20):
            image.putpixel((x, y), 0)
    pdf = _new_pdf()
    pdf.add_page()
    pdf.image(image, x=0, y=0, w=210, h=297)
    return bytes(pdf.output())


def truncated_pdf() -> bytes:
    """A real text PDF cut off half way, as an interrupted download leaves it."""
    data = text_pdf([[f"Line {n} of a report that was never fully downloaded." for n in range(30)]] * 3)
    return data[: len(data) // 2]


SHARED_REPORT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "pdf" / "103980__5.pdf"
"""A real section 5 report from a third-party repository: read where it is shared, never copied into the project."""


def bench_report() -> Path:
    """The report PDF the benchmarks read: the real one where ``../shared`` has it, else the synthetic sample."""
    here = Path(__file__).resolve().parent.parent / "corpus" / "raw" / SAMPLE_REPORT_PDF
    return SHARED_REPORT if SHARED_REPORT.is_file() else here


SAMPLE_REPORT_SOURCE = Path(__file__).parent / "fixtures" / "reports" / "fernhollow_section5.txt"
"""The synthetic section 5 report of the sample corpus, as marked-up text (its header says how)."""
SAMPLE_REPORT_PDF = "900411_section5_synthetic.pdf"
"""Its file name in ``corpus/raw/``."""
_REPORT_FOOTER = "Inspection report: {school}, {dates}"
_VALUE_X = 125.0
_COLUMN_W = 85.0
_TEXT_W = 170.0


class _Report(fpdf.FPDF):
    footer_text = ""

    def footer(self) -> None:
        if self.page_no() > 1:  # a running footer from page 2, as published reports have
            self.set_xy(LEFT, FOOTER_Y)
            self.set_font("Helvetica", size=9)
            self.cell(text=f"{self.footer_text}    Page {self.page_no()} of {{nb}}")
            self.set_font("Helvetica", size=11)


def _wrapped(pdf: fpdf.FPDF, x: float, width: float, text: str, glyph: str | None = None) -> None:
    """A paragraph (or a bullet with a hanging indent) from ``x``, wrapped within ``width``."""
    if glyph:
        pdf.set_x(x)
        pdf.cell(w=HANGING, h=LINE_H, text=glyph)
        x, width = x + HANGING, width - HANGING
    pdf.set_x(x)
    pdf.multi_cell(w=width, h=LINE_H, text=text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(LINE_H / 2)


def sample_report_pdf(source: str | None = None) -> bytes:
    """The sample corpus's synthetic section 5 report, drawn as a published report is laid out.

    Page 1: the title block, the grades and the two-column summary; then the
    report flows over pages with a running footer ("Inspection report: …, Page N
    of M") in the bottom margin, where ``ingest`` drops it. Same source, same bytes.
    """
    lines = (source if source is not None else SAMPLE_REPORT_SOURCE.read_text(encoding="utf-8")).splitlines()
    lines = [line for line in lines if line.strip() and line.split(" ")[0] != "#"]
    title = [line.removeprefix("@title ") for line in lines if line.startswith("@title ")]
    pdf = _Report(format="A4", unit="mm")
    pdf.footer_text = _REPORT_FOOTER.format(school=title[1], dates=title[-1].removeprefix("Inspection dates "))
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    pdf.set_margins(LEFT, BODY_TOP - 20)
    pdf.set_auto_page_break(True, margin=30)
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    columns: dict[str, list[str]] = {"@left": [], "@right": []}
    for line in lines:
        tag, _, rest = line.partition(" ")
        if tag == "@title":  # the school's name and address sit together, a paragraph apart from the rest
            pdf.set_font("Helvetica", style="B" if rest == title[1] else "", size=11)
            pdf.set_x(LEFT)
            pdf.cell(text=rest, new_x="LMARGIN", new_y="NEXT", h=LINE_H)
            if rest not in title[1:2]:
                pdf.ln(LINE_H)
            pdf.set_font("Helvetica", size=11)
        elif tag in ("@grade", "@details"):
            label, value = (part.strip() for part in rest.split("|"))
            if pdf.will_page_break(LINE_H * 1.5):
                pdf.add_page()
            y = pdf.get_y()
            pdf.set_xy(LEFT, y)
            pdf.cell(text=label)
            pdf.set_xy(_VALUE_X, y)
            pdf.cell(text=value)
            pdf.set_xy(LEFT, y + LINE_H * 1.5)
        elif tag in columns:
            columns[tag].append(rest)
        elif tag == "@page":
            top = pdf.get_y() + LINE_H
            for x, key in ((LEFT, "@left"), (RIGHT_COLUMN, "@right")):  # the left column is drawn first
                pdf.set_xy(x, top)
                for item in columns[key]:
                    bullet = item.startswith("- ")
                    _wrapped(pdf, x, _COLUMN_W, item.removeprefix("- "), "\u2022" if bullet else None)
            pdf.add_page()
        elif line.startswith("## "):
            heading, _, grade = line.removeprefix("## ").partition(" | ")
            pdf.ln(LINE_H / 2)
            if pdf.will_page_break(LINE_H * 3):  # a heading is not left alone at the foot of a page
                pdf.add_page()
            y = pdf.get_y()
            pdf.set_font("Helvetica", style="B", size=11)
            pdf.set_xy(LEFT, y)
            pdf.cell(text=heading.strip())
            if grade:
                pdf.set_xy(_VALUE_X + 20, y)
                pdf.cell(text=grade.strip())
            pdf.set_font("Helvetica", size=11)
            pdf.set_xy(LEFT, y + LINE_H * 1.5)
        elif line.startswith("  - "):
            _wrapped(pdf, LEFT + INDENT, _TEXT_W - INDENT, line.removeprefix("  - "), "\u2013")
        elif line.startswith("- "):
            _wrapped(pdf, LEFT, _TEXT_W, line.removeprefix("- "), "\u2022")
        else:
            _wrapped(pdf, LEFT, _TEXT_W, line)
    return bytes(pdf.output())


if __name__ == "__main__":  # python -m tests.pdf_factory: rebuild the sample corpus's synthetic report
    out = Path(__file__).resolve().parent.parent / "corpus" / "raw" / SAMPLE_REPORT_PDF
    out.write_bytes(sample_report_pdf())
    print(f"wrote {out}")
