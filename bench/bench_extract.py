"""Benchmark: ingest and parse throughput, PDF pages/s, peak memory, extract start-up.

Prints figures; asserts nothing (targets are read by people, not tests).
Run: make bench  (or: .venv/bin/python bench/bench_extract.py [--letters N] [--pdf-rounds N])
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

from pipeline.readers.letter import parse_letter
from pipeline.stages.ingest import IngestParams, ingest_document

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/pdf_factory.py knows where the real report is shared

from tests.pdf_factory import bench_report  # noqa: E402

RAW = ROOT / "corpus" / "raw"
FIXTURES = ROOT / "tests" / "fixtures" / "letters"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--letters", type=int, default=2000, help="text letters to ingest and parse")
    ap.add_argument("--pdf-rounds", type=int, default=3, help="times to read the report PDF")
    args = ap.parse_args()
    params = IngestParams()
    sources = sorted(RAW.glob("00[0-2]_*.txt")) + sorted(FIXTURES.glob("*.txt"))
    blobs = [p.read_bytes() for p in sources]
    # each copy differs by its last byte so that no two are the same document
    letters = [blobs[i % len(blobs)] + f"\n{i}".encode() for i in range(args.letters)]

    t0 = time.perf_counter()
    docs = [ingest_document(f"l{i}.txt", b, params) for i, b in enumerate(letters)]
    t1 = time.perf_counter()
    for d in docs:
        parse_letter(d.doc_id, d.text)
    t2 = time.perf_counter()

    pdf = bench_report().read_bytes()  # the real report where ../shared has it
    t3 = time.perf_counter()
    pages = 0
    for _ in range(args.pdf_rounds):
        pages += ingest_document("r.pdf", pdf, params).n_pages or 0
    t4 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t5 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "extract", str(RAW / "000_9679ccaa734ab79b.txt")],
        check=True,
        capture_output=True,
    )
    t6 = time.perf_counter()

    n = len(letters)
    print(f"text letters: {n} ({len(sources)} distinct texts, {sum(map(len, letters)) / n / 1000:.1f} kB each)")
    print(f"  ingest (decode, normalise, type): {n / (t1 - t0):8.0f} letters/s")
    print(f"  parse:                            {n / (t2 - t1):8.0f} letters/s   (target >= 100)")
    print(f"  ingest + parse:                   {n / (t2 - t0):8.0f} letters/s")
    print(f"PDF ingest (pypdfium2, reading order, running lines dropped): {pages} pages")
    print(f"  {pages / (t4 - t3):8.1f} pages/s   (target >= 5)")
    print(f"peak RSS: {peak_mb:.0f} MB")
    print(f"'ofsted-nlp extract' on one text letter, wall time incl. interpreter start: {t6 - t5:.2f} s (target < 2)")


if __name__ == "__main__":
    main()
