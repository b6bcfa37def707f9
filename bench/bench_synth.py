"""Benchmark: how fast the synthetic corpus generator writes letters (text and PDF).

Prints figures; asserts nothing (targets are read by people, not tests).
Run: .venv/bin/python bench/bench_synth.py [--n 10000] [--pdf-share 0.3] [--seed 1] [--out DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from pipeline.synth import bank
from pipeline.synth import generate as synth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000, help="letters to write")
    ap.add_argument("--pdf-share", type=float, default=0.3, help="share of the letters written as PDF")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="keep the corpus here (default: a temporary folder)")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_synth_"))

    t_data = time.perf_counter()
    bank.load_all()  # once per process; timed apart so that the plan figure stays comparable
    t0 = time.perf_counter()
    plan = synth.plan_corpus(args.n, args.pdf_share, args.seed)
    t1 = time.perf_counter()
    by_fmt: dict[str, list[float]] = {"txt": [], "pdf": []}
    for p in plan.letters[: min(len(plan.letters), 500)]:
        s = time.perf_counter()
        synth.build_letter(p, args.seed)
        by_fmt[p.fmt].append(time.perf_counter() - s)
    t2 = time.perf_counter()
    counts = synth.run(args.n, args.pdf_share, args.seed, out / "corpus")
    t3 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mb = sum(f.stat().st_size for f in (out / "corpus").rglob("*") if f.is_file()) / 1e6

    n = counts["letters"]
    print(
        f"letters: {n} ({counts['txt']} text, {counts['pdf']} PDF with {counts['pdf_pages']} pages), "
        f"{counts['schools']} schools, {counts['units']} labelled units, {size_mb:.0f} MB on disk"
    )
    loader = "libyaml" if hasattr(yaml, "CSafeLoader") else "pure-Python"
    print(f"{f'  load the data files ({loader}):':<34}{1000 * (t0 - t_data):6.1f} ms")
    print(f"  plan (schools, kinds, dates):   {t1 - t0:6.2f} s")
    for fmt, times in by_fmt.items():
        if times:
            print(f"  one {fmt} letter (first {len(times):>3}):  {1000 * sum(times) / len(times):6.1f} ms")
    print(f"  run() end to end, to disk:      {t3 - t2:6.2f} s = {n / (t3 - t2):6.0f} letters/s")
    print(f"  peak memory: {peak_mb:.0f} MB")
    if args.out is None:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
