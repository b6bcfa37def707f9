"""Read a PDF's text layer in reading order, without running headers and footers.

pdfplumber's ``use_text_flow`` keeps the order in which the PDF draws its text,
which for Word-made Ofsted PDFs is column by column; sorting by position instead
would interleave the two columns of a report's first page. Lines are then
dropped when they are running headers or footers (in the top or bottom margin and
repeated on other pages once digits are ignored) or bare page numbers, and a
blank line is put wherever the vertical gap says a new paragraph starts.
"""

from __future__ import annotations

import io
import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pipeline.errors import DocumentError

_PAGE_NUMBER = re.compile(r"(?i)^(?:page\s*)?[-\u2013 ]*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?[-\u2013 ]*$")


@dataclass(frozen=True)
class PdfText:
    """The text of a PDF and what was learnt reading it."""

    text: str
    n_pages: int
    extractor: str
    dropped_lines: int


def read_pdf(data: bytes, *, max_pages: int, margin: float, min_chars_per_page: float) -> PdfText:
    """Extract the text of a PDF given as bytes.

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
            pages = [(p.height, p.extract_text_lines(use_text_flow=True, return_chars=False)) for p in pdf.pages]
        except DocumentError:
            raise
        except Exception as exc:
            raise DocumentError(
                "corrupt_pdf",
                f"the PDF opened but a page could not be read ({type(exc).__name__}: {str(exc)[:120]}); "
                "the file may be truncated or damaged",
            ) from exc
    n_chars = sum(len(line["text"]) for _, lines in pages for line in lines)
    if n_pages == 0 or n_chars / max(n_pages, 1) < min_chars_per_page:
        raise DocumentError(
            "no_text_layer",
            f"no text layer — needs OCR ({n_chars} characters of text on {n_pages} pages)",
        )
    kept, dropped = _drop_running_lines(pages, margin)
    text = "\n\n".join(_paragraphs(lines) for lines in kept)
    return PdfText(text=text, n_pages=n_pages, extractor=f"pdfplumber-{pdfplumber.__version__}", dropped_lines=dropped)


def _digitless(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.split())).lower()


def _drop_running_lines(
    pages: list[tuple[float, list[dict[str, Any]]]], margin: float
) -> tuple[list[list[dict[str, Any]]], int]:
    """Drop headers, footers and page numbers found in the page margins."""

    def in_margin(height: float, line: dict[str, Any]) -> bool:
        return bool(line["top"] < height * margin or line["bottom"] > height * (1 - margin))

    repeats = Counter(
        key for height, lines in pages for key in {_digitless(ln["text"]) for ln in lines if in_margin(height, ln)}
    )
    needed = max(2, round(0.3 * len(pages)))
    kept: list[list[dict[str, Any]]] = []
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


def _paragraphs(lines: list[dict[str, Any]]) -> str:
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
