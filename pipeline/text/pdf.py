"""Read a PDF's text layer in reading order, without running headers and footers.

Text is read with pypdfium2 (PDFium), in the order in which the PDF draws it,
which for Word-made Ofsted PDFs is column by column; sorting by position instead
would interleave the two columns of a report's first page. PDFium gives the
characters; each gets the box pdfminer would give it (the font's full height from
its descent), and they are grouped into words and lines exactly as pdfplumber's
``extract_text_lines(use_text_flow=True)`` does (the extractor used before, over
ten times slower: ``bench/bench_pdf.py``), so the text is the same. Lines are then
dropped when they are running headers or footers (in the top or bottom margin and
repeated on other pages once digits are ignored) or bare page numbers, and a
blank line is put wherever the vertical gap says a new paragraph starts.

Where PDFium reads differently, it reads better: it puts a space where the PDF
moves the pen between words without drawing one (pdfplumber joins words 3 pt or
less apart), reads text drawn twice for a bold effect once, reads Symbol-font
text as the Unicode it shows (Greek, not Latin letters), and reads a soft hyphen
that ends a line as the hyphen drawn. Positions are measured from the crop box
(what a viewer shows), pdfplumber's from the media box; they differ only when a
PDF crops its pages.

``read_pdf_pdfplumber`` is the pdfplumber reader, kept to compare the two texts
(``tests/test_pdf.py``, ``bench/bench_pdf.py``).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import io
import itertools
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.errors import DocumentError

_PAGE_NUMBER = re.compile(r"(?i)^(?:page\s*)?[-\u2013 ]*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?[-\u2013 ]*$")

# pdfplumber's defaults: a gap wider than X_TOLERANCE, or a top more than Y_TOLERANCE
# away, starts a new word; tops within Y_TOLERANCE of each other make one line.
X_TOLERANCE = 3.0
Y_TOLERANCE = 3.0
LIGATURES = {
    "\ufb00": "ff",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb06": "st",
    "\ufb05": "st",
}
"""Expanded as pdfplumber expands them."""

# pdfminer (under pdfplumber) takes the descent of these fonts from Adobe's metrics,
# not from the PDF, so their boxes are placed with these values (per 1000 of the size).
_AFM_DESCENT = {
    **dict.fromkeys(["Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique"], -207.0),
    **dict.fromkeys(["Arial", "Arial,Bold", "Arial,Italic", "Arial,BoldItalic"], -207.0),
    **dict.fromkeys(["Times-Roman", "Times-Bold", "Times-Italic", "Times-BoldItalic"], -217.0),
    **dict.fromkeys(
        ["TimesNewRoman", "TimesNewRoman,Bold", "TimesNewRoman,Italic", "TimesNewRoman,BoldItalic"], -217.0
    ),
    **dict.fromkeys(["Courier", "Courier-Bold", "Courier-Oblique", "Courier-BoldOblique"], -194.0),
    **dict.fromkeys(["CourierNew", "CourierNew,Bold", "CourierNew,Italic", "CourierNew,BoldItalic"], -194.0),
    "Symbol": 0.0,
    "ZapfDingbats": 0.0,
}

# PDFium marks a hyphen (U+002D or U+00AD) that ends a line with code 2, which its text
# functions give as U+FFFE; it is read as "-", the glyph drawn.
_LINE_END_HYPHENS = ("\ufffe", "\x02")

Char = tuple[str, float, float, float, float, bool]
"""One character: text, x0, x1, top, bottom (PDF points, top of the page = 0), upright."""

Line = dict[str, Any]
"""One line: ``text``, ``top``, ``bottom`` (PDF points from the top of the page)."""

Page = tuple[float, list[Line]]
"""A page's height and its lines in reading order."""


@dataclass(frozen=True)
class PdfText:
    """The text of a PDF and what was learnt reading it."""

    text: str
    n_pages: int
    extractor: str
    dropped_lines: int


def read_pdf(data: bytes, *, max_pages: int, margin: float, min_chars_per_page: float) -> PdfText:
    """Extract the text of a PDF given as bytes, with pypdfium2.

    Args:
        data: the file's bytes.
        max_pages: a PDF with more pages is rejected before any is read.
        margin: share of the page height, at top and bottom, where running
            headers and footers are looked for.
        min_chars_per_page: below this mean, the PDF is taken to be scanned.

    Raises:
        DocumentError: ``encrypted_pdf``, ``corrupt_pdf``, ``too_many_pages`` or
            ``no_text_layer``.
    """
    pages = read_pages(data, max_pages=max_pages)
    return assemble_text(pages, margin, min_chars_per_page, f"pypdfium2-{_pypdfium2_version()}")


def read_pdf_pdfplumber(data: bytes, *, max_pages: int, margin: float, min_chars_per_page: float) -> PdfText:
    """Extract the text of a PDF with pdfplumber: `read_pdf` as it was, over ten times slower.

    Kept to check that `read_pdf` gives the same text. Arguments and errors are
    those of `read_pdf`.
    """
    import pdfplumber

    pages = read_pages_pdfplumber(data, max_pages=max_pages)
    return assemble_text(pages, margin, min_chars_per_page, f"pdfplumber-{pdfplumber.__version__}")


@functools.cache
def _pypdfium2_version() -> str:
    return importlib.metadata.version("pypdfium2")


def read_pages(data: bytes, *, max_pages: int) -> list[Page]:
    """Each page's height and lines, read with pypdfium2.

    Raises:
        DocumentError: ``encrypted_pdf``, ``corrupt_pdf`` or ``too_many_pages``
            (checked before any page is read).
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise DocumentError("encrypted_pdf", "the PDF is password-protected; supply an unencrypted copy") from exc
        raise DocumentError(
            "corrupt_pdf",
            f"cannot open the PDF (PdfiumError: {str(exc)[:120] or 'no detail'}); "
            "the file may be truncated or damaged: download it again",
        ) from exc
    try:
        n_pages = len(pdf)
        if n_pages > max_pages:
            raise DocumentError("too_many_pages", f"the PDF has {n_pages} pages, over ingest.max_pages = {max_pages}")
        api = _PdfiumApi(pdfium_c)
        pages = []
        for i in range(n_pages):
            page = pdf[i]
            try:
                pages.append(_pdfium_page_lines(page, api))
            finally:
                page.close()
        return pages
    except DocumentError:
        raise
    except Exception as exc:
        raise _unreadable_page(exc) from exc
    finally:
        pdf.close()


def _unreadable_page(exc: Exception) -> DocumentError:
    return DocumentError(
        "corrupt_pdf",
        f"the PDF opened but a page could not be read ({type(exc).__name__}: {str(exc)[:120]}); "
        "the file may be truncated or damaged",
    )


def read_pages_pdfplumber(data: bytes, *, max_pages: int) -> list[Page]:
    """Each page's height and lines, read with pdfplumber's ``extract_text_lines(use_text_flow=True)``.

    Raises:
        DocumentError: as `read_pages`.
    """
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfminer raises many unrelated types for bad bytes
        cause = exc.__cause__ or exc.__context__ or exc
        if isinstance(exc, PDFPasswordIncorrect) or isinstance(cause, PDFPasswordIncorrect):
            raise DocumentError("encrypted_pdf", "the PDF is password-protected; supply an unencrypted copy") from exc
        raise DocumentError(
            "corrupt_pdf",
            f"cannot open the PDF ({type(cause).__name__}: {str(cause)[:120] or 'no detail'}); "
            "the file may be truncated or damaged: download it again",
        ) from exc
    with pdf:
        try:
            n_pages = len(pdf.pages)
            if n_pages > max_pages:
                raise DocumentError(
                    "too_many_pages", f"the PDF has {n_pages} pages, over ingest.max_pages = {max_pages}"
                )
            return [(p.height, p.extract_text_lines(use_text_flow=True, return_chars=False)) for p in pdf.pages]
        except DocumentError:
            raise
        except Exception as exc:
            raise _unreadable_page(exc) from exc


def assemble_text(pages: list[Page], margin: float, min_chars_per_page: float, extractor: str) -> PdfText:
    """Check there is a text layer, drop running lines and join the pages' lines into paragraphs.

    Args:
        pages: each page's height and lines, from `read_pages` or `read_pages_pdfplumber`.
        margin: as in `read_pdf`.
        min_chars_per_page: as in `read_pdf`.
        extractor: what read the pages, kept in the result.

    Raises:
        DocumentError: ``no_text_layer``.
    """
    n_pages = len(pages)
    n_chars = sum(len(line["text"]) for _, lines in pages for line in lines)
    if n_pages == 0 or n_chars / max(n_pages, 1) < min_chars_per_page:
        raise DocumentError(
            "no_text_layer",
            f"no text layer — needs OCR ({n_chars} characters of text on {n_pages} pages)",
        )
    kept, dropped = _drop_running_lines(pages, margin)
    text = "\n\n".join(_paragraphs(lines) for lines in kept)
    return PdfText(text=text, n_pages=n_pages, extractor=extractor, dropped_lines=dropped)


# ---------------------------------------------------------------- characters to lines (pure)


def text_flow_lines(chars: Iterable[Char]) -> list[Line]:
    """Group a page's characters, in drawing order, into lines as pdfplumber's text flow does.

    A word ends at a whitespace character, where uprightness changes, or where the
    next character starts left of the last one, more than ``X_TOLERANCE`` right of
    its end, or more than ``Y_TOLERANCE`` above or below it. Words whose tops fall
    in one cluster (tops chained within ``Y_TOLERANCE``) and that follow each other
    make a line, joined by one space.

    Args:
        chars: the page's characters in the order the PDF draws them.

    Returns:
        The lines, each with ``text``, ``top`` and ``bottom``.
    """
    words: list[tuple[str, float, float]] = []  # text, top, bottom
    parts: list[str] = []
    w_top = w_bottom = p_x0 = p_x1 = p_top = 0.0
    upright_before: bool | None = None
    for text, x0, x1, top, bottom, upright in chars:
        if parts and (
            upright != upright_before
            or text.isspace()
            or x0 < p_x0
            or x0 > p_x1 + X_TOLERANCE
            or abs(top - p_top) > Y_TOLERANCE
        ):
            words.append(("".join(parts), w_top, w_bottom))
            parts = []
        upright_before = upright
        if text.isspace():
            continue
        if not parts:
            w_top, w_bottom = top, bottom
        else:  # if/else rather than min/max: this runs for every character
            if top < w_top:
                w_top = top
            if bottom > w_bottom:
                w_bottom = bottom
        parts.append(LIGATURES.get(text, text))
        p_x0, p_x1, p_top = x0, x1, top
    if parts:
        words.append(("".join(parts), w_top, w_bottom))
    cluster = _cluster_ids([top for _, top, _ in words], Y_TOLERANCE)
    lines = []
    for _, group in itertools.groupby(words, key=lambda w: cluster[w[1]]):
        ws = list(group)
        lines.append(
            {"text": " ".join(w[0] for w in ws), "top": min(w[1] for w in ws), "bottom": max(w[2] for w in ws)}
        )
    return lines


def _cluster_ids(values: list[float], tolerance: float) -> dict[float, int]:
    """Number the clusters of values, sorted, in which each is within ``tolerance`` of the one before."""
    ids: dict[float, int] = {}
    n = -1
    last = float("-inf")
    for v in sorted(set(values)):
        if v > last + tolerance:
            n += 1
        ids[v] = n
        last = v
    return ids


# ---------------------------------------------------------------- PDFium (shell)


class _PdfiumApi:
    """The PDFium calls made for every character, bound to return plain ints and floats.

    pypdfium2's own bindings return typed pointers; comparing the text object and
    font handles of thousands of characters is much cheaper as ints. Make one per
    document: the descents are cached by font handle, which another document may reuse.
    """

    def __init__(self, c: Any) -> None:
        vp, i, d, f = ctypes.c_void_p, ctypes.c_int, ctypes.c_double, ctypes.c_float

        def bind(fn: Any, restype: Any, *argtypes: Any) -> Callable[..., Any]:
            address = ctypes.cast(fn, vp).value
            if not address:
                raise RuntimeError(f"pypdfium2 gives no address for {fn!r}; reinstall pypdfium2")
            bound: Callable[..., Any] = ctypes.CFUNCTYPE(restype, *argtypes)(address)
            return bound

        self.c = c
        self.text_object = bind(c.FPDFText_GetTextObject, vp, vp, i)
        self.loose_box = bind(c.FPDFText_GetLooseCharBox, i, vp, i, ctypes.POINTER(c.FS_RECTF))
        self.char_origin = bind(c.FPDFText_GetCharOrigin, i, vp, i, ctypes.POINTER(d), ctypes.POINTER(d))
        self.matrix = bind(c.FPDFText_GetMatrix, i, vp, i, ctypes.POINTER(c.FS_MATRIX))
        self.object_font = bind(c.FPDFTextObj_GetFont, vp, vp)
        self.object_font_size = bind(c.FPDFTextObj_GetFontSize, i, vp, ctypes.POINTER(f))
        self.font_descent = bind(c.FPDFFont_GetDescent, i, vp, f, ctypes.POINTER(f))
        name = getattr(c, "FPDFFont_GetBaseFontName", None) or c.FPDFFont_GetFontName  # renamed in 2024
        self.font_name = bind(name, ctypes.c_size_t, vp, ctypes.c_char_p, ctypes.c_size_t)
        self.unicode = bind(c.FPDFText_GetUnicode, ctypes.c_uint, vp, i)
        self.descents: dict[int, float] = {}

    def descent(self, font: int | None) -> float:
        """The font's descent per unit of size, as pdfminer reads it (negative)."""
        if font is None:
            return 0.0
        if font not in self.descents:
            buf = ctypes.create_string_buffer(256)
            self.font_name(font, buf, 256)
            out = ctypes.c_float()
            afm = _AFM_DESCENT.get(buf.value.decode("latin-1"))
            if afm is not None:
                self.descents[font] = afm / 1000
            elif self.font_descent(font, 1000.0, ctypes.byref(out)):
                self.descents[font] = -abs(out.value) / 1000
            else:
                self.descents[font] = 0.0
        return self.descents[font]


def _pdfium_page_lines(page: Any, api: _PdfiumApi) -> Page:
    """The page height and its lines, from PDFium's characters."""
    # the visible box, inherited attributes resolved (``get_mediabox`` reads only the page's own dictionary)
    _, bottom, _, top = page.get_bbox()
    textpage = page.get_textpage()
    try:
        return top - bottom, text_flow_lines(_pdfium_chars(textpage, top, api))
    finally:
        textpage.close()


def _pdfium_chars(textpage: Any, page_top: float, api: _PdfiumApi) -> list[Char]:
    """A text page's characters with pdfminer's boxes: the font's full height, from its descent up.

    PDFium's generated line breaks are left out (lines are found from the boxes,
    as pdfplumber finds them); its generated spaces are kept, as word breaks.
    """
    tp = ctypes.cast(textpage.raw, ctypes.c_void_p).value
    rect = api.c.FS_RECTF()
    rect_p = ctypes.byref(rect)
    # per text object: baseline y (None for rotated or skewed text), box bottom and top from it, upright
    objects: dict[int | None, tuple[float | None, float, float, bool]] = {}
    chars: list[Char] = []
    for i, ch in _indexed_text(textpage, tp, api):
        if ch == "\r" or ch == "\n":
            continue
        if ch.isspace():
            chars.append((" ", 0.0, 0.0, 0.0, 0.0, True))
            continue
        obj = api.text_object(tp, i)
        metrics = objects.get(obj)
        if metrics is None:
            metrics = objects[obj] = _object_metrics(api, tp, i, obj)
        api.loose_box(tp, i, rect_p)
        baseline, low, high, upright = metrics
        if baseline is None:
            y0, y1 = rect.bottom, rect.top
        else:
            y0, y1 = baseline + low, baseline + high
            if y0 > y1:
                y0, y1 = y1, y0
        if ch in _LINE_END_HYPHENS:
            ch = "-"
        chars.append((ch, rect.left, rect.right, page_top - y1, page_top - y0, upright))
    return chars


def _object_metrics(
    api: _PdfiumApi, tp: int | None, i: int, obj: int | None
) -> tuple[float | None, float, float, bool]:
    """For the text object of character ``i``: baseline, bottom and top offsets from it, uprightness.

    All characters of one text object (one text-showing operator) share the font,
    size, matrix and baseline. pdfminer's box runs from the descent to the descent
    plus the font size, scaled by the matrix; for rotated or skewed text PDFium's
    loose box stands in (baseline ``None``).
    """
    m = api.c.FS_MATRIX()
    if obj is None or not api.matrix(tp, i, ctypes.byref(m)):
        return None, 0.0, 0.0, True
    upright = m.a * m.d > 0 and m.b * m.c <= 0
    if m.b != 0 or m.c != 0:
        return None, 0.0, 0.0, upright
    size = ctypes.c_float()
    x, y = ctypes.c_double(), ctypes.c_double()
    if not api.object_font_size(obj, ctypes.byref(size)) or not api.char_origin(
        tp, i, ctypes.byref(x), ctypes.byref(y)
    ):
        return None, 0.0, 0.0, upright
    low = api.descent(api.object_font(obj)) * size.value
    return y.value, m.d * low, m.d * (low + size.value), upright


def _indexed_text(textpage: Any, tp: int | None, api: _PdfiumApi) -> Iterable[tuple[int, str]]:
    """Each character of the page's text with its index in PDFium's character list.

    PDFium lists a character outside UCS-2 as two, its UTF-16 surrogates.
    """
    n = textpage.count_chars()
    text = textpage.get_text_range() if n else ""
    if len(text) == n:
        return enumerate(text)
    if len(text.encode("utf-16-le")) == 2 * n:
        return _utf16_indexed(text)
    # PDFium's text leaves out or adds characters (rare): read them one by one
    return _chars_of_codes([api.unicode(tp, i) for i in range(n)])


def _utf16_indexed(text: str) -> Iterator[tuple[int, str]]:
    i = 0
    for ch in text:
        yield i, ch
        i += 2 if ord(ch) > 0xFFFF else 1


def _chars_of_codes(codes: list[int]) -> Iterator[tuple[int, str]]:
    """The characters of UTF-16 code units, each with the index of its first unit; a lone surrogate reads U+FFFD."""
    i = 0
    while i < len(codes):
        code = codes[i]
        if 0xD800 <= code < 0xDC00 and i + 1 < len(codes) and 0xDC00 <= codes[i + 1] < 0xE000:
            yield i, chr(0x10000 + ((code - 0xD800) << 10) + (codes[i + 1] - 0xDC00))
            i += 2
            continue
        yield i, "\ufffd" if 0xD800 <= code < 0xE000 or code > 0x10FFFF else chr(code)
        i += 1


# ---------------------------------------------------------------- lines to text (pure)


def _digitless(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.split())).lower()


def _drop_running_lines(pages: list[Page], margin: float) -> tuple[list[list[Line]], int]:
    """Drop headers, footers and page numbers found in the page margins."""

    def in_margin(height: float, line: Line) -> bool:
        return bool(line["top"] < height * margin or line["bottom"] > height * (1 - margin))

    repeats = Counter(
        key for height, lines in pages for key in {_digitless(ln["text"]) for ln in lines if in_margin(height, ln)}
    )
    needed = max(2, round(0.3 * len(pages)))
    kept: list[list[Line]] = []
    dropped = 0
    for height, lines in pages:
        page_kept = []
        for ln in lines:
            if in_margin(height, ln) and (
                repeats[_digitless(ln["text"])] >= needed or _PAGE_NUMBER.match(ln["text"].strip())
            ):
                dropped += 1
                continue
            page_kept.append(ln)
        kept.append(page_kept)
    return kept, dropped


def _paragraphs(lines: list[Line]) -> str:
    """Join a page's lines, with a blank line where a paragraph or column starts."""
    if not lines:
        return ""
    heights = [ln["bottom"] - ln["top"] for ln in lines]
    gap_limit = 0.5 * statistics.median(heights)
    out = [lines[0]["text"]]
    for prev, ln in itertools.pairwise(lines):
        gap = ln["top"] - prev["bottom"]
        new_block = gap > gap_limit or ln["top"] < prev["top"] - 1
        out.append(("\n\n" if new_block else "\n") + ln["text"])
    return "".join(out)
