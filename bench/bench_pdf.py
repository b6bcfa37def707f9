"""Benchmark: PDF ingest speed, pages/s: pdfplumber alone, pypdfium2 alone, and our `read_pdf`.

All three read the same PDFs: the golden section 5 report (13 pages, two columns
on page 1) and synthetic letters of 2-4 pages built with tests/pdf_factory.py from
the paragraphs of the sample text letters, with a running header and footer.

- (a) pdfplumber alone: ``extract_text_lines(use_text_flow=True)`` on every page
  (what `read_pdf` did before; `read_pdf_pdfplumber` is that plus the cheap
  header, footer and paragraph steps);
- (b) pypdfium2 alone: ``get_text_range()`` on every page (no positions, no order
  control: the floor for any pypdfium2 reader);
- (c) `read_pdf`: pypdfium2 characters grouped into lines, running lines dropped,
  paragraphs joined.

Each is timed ``--repeat`` times (pdfplumber ``--plumber-repeat`` times) and the
best run is printed. Then, unless ``--no-check``, every PDF is read with
`read_pdf_pdfplumber` too and the texts are compared. Prints figures; asserts nothing.
Run: .venv/bin/python bench/bench_pdf.py [--letters 50] [--repeat 3] [--plumber-repeat 1]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/pdf_factory.py builds the synthetic letters

from pipeline.stages.ingest import IngestParams  # noqa: E402
from pipeline.text.pdf import read_pdf, read_pdf_pdfplumber  # noqa: E402
from tests import pdf_factory  # noqa: E402

RAW = ROOT / "corpus" / "raw"
REPORT = pdf_factory.bench_report()  # the real report where ../shared has it
LINES_PER_PAGE = 42  # pdf_factory's body runs from 40 to 260 mm in 5 mm lines: 44 fit
WRAP = 88  # characters per line of 11 pt Helvetica across the A4 body


def paragraphs() -> list[str]:
    """The paragraphs of the sample text letters, as one line each, in Windows-1252 (pdf_factory's core font)."""
    out = []
    for path in sorted(RAW.glob("00*.txt")):
        for block in path.read_text(encoding="utf-8").split("\n\n"):
            text = " ".join(block.split())
            if len(text) > 20:
                out.append(text.encode("cp1252", "replace").decode("cp1252"))
    return out


def letter(rng: random.Random, paras: list[str]) -> bytes:
    """A letter of 2-4 full pages of paragraphs, with a running header and a page-number footer."""
    pages: list[list[str]] = []
    for _ in range(rng.randint(2, 4)):
        lines: list[str] = []
        while len(lines) < LINES_PER_PAGE - 3:
            lines += [*textwrap.wrap(rng.choice(paras), WRAP), ""]
        pages.append(lines[:LINES_PER_PAGE])
    return pdf_factory.text_pdf(pages, header="Ofsted | Monitoring inspection letter", footer="Page {page} of {pages}")


def plumber_alone(data: bytes) -> None:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            page.extract_text_lines(use_text_flow=True, return_chars=False)


def pdfium_alone(data: bytes) -> None:
    pdf = pdfium.PdfDocument(data)
    for i in range(len(pdf)):
        page = pdf[i]
        textpage = page.get_textpage()
        textpage.get_text_range()
        textpage.close()
        page.close()
    pdf.close()


def best_seconds(fn: Callable[[bytes], object], pdfs: list[bytes], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for data in pdfs:
            fn(data)
        times.append(time.perf_counter() - t0)
    return min(times)


def load() -> str:
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--letters", type=int, default=50, help="synthetic letters of 2-4 pages")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of (b) and (c); the best is printed")
    ap.add_argument("--plumber-repeat", type=int, default=1, help="timed runs of (a), the slow one")
    ap.add_argument("--no-check", action="store_true", help="skip comparing the texts with read_pdf_pdfplumber")
    args = ap.parse_args()

    params = IngestParams()
    kw = {"max_pages": params.max_pages, "margin": params.pdf_margin, "min_chars_per_page": params.min_chars_per_page}
    rng = random.Random(0)
    paras = paragraphs()
    pdfs = [REPORT.read_bytes()] + [letter(rng, paras) for _ in range(args.letters)]
    n_pages = sum(read_pdf(data, **kw).n_pages for data in pdfs)  # also warms both libraries' imports
    plumber_alone(pdfs[0])
    print(f"PDFs: the golden report + {args.letters} synthetic letters = {len(pdfs)} PDFs, {n_pages} pages; {load()}")

    a = n_pages / best_seconds(plumber_alone, pdfs, args.plumber_repeat)
    b = n_pages / best_seconds(pdfium_alone, pdfs, args.repeat)
    c = n_pages / best_seconds(lambda data: read_pdf(data, **kw), pdfs, args.repeat)
    print(f"  (a) pdfplumber alone, extract_text_lines(use_text_flow=True): {a:8.1f} pages/s")
    print(f"  (b) pypdfium2 alone, get_text_range():                       {b:8.1f} pages/s")
    print(f"  (c) read_pdf (pypdfium2, lines, running lines, paragraphs):  {c:8.1f} pages/s")
    print(f"  (c)/(a) = {c / a:.1f}x pdfplumber;  (c)/(b) = {c / b:.2f} of bare pypdfium2;  {load()}")

    if not args.no_check:
        same = sum(read_pdf(data, **kw).text == read_pdf_pdfplumber(data, **kw).text for data in pdfs)
        print(f"same text as read_pdf_pdfplumber: {same}/{len(pdfs)} PDFs")


if __name__ == "__main__":
    main()
