"""Scale benchmark: a synthetic corpus through every corpus stage, then 100 letters added.

    python bench/bench_scale.py --n 1000            # about 3 minutes here
    python bench/bench_scale.py --n 10000 --work /tmp/scale10k

Writes ``--n`` synthetic letters (30% PDF) with ``ofsted-nlp synth``, holds 100
of them back, runs the stage commands that ``dvc repro`` runs (ingest, parse,
link, embed, classify, load, report; the trained tagger is the repository's)
each in its own process, and prints per stage the seconds, documents/s and
peak RSS, and the warehouse size. Then it adds the 100 letters back and runs
the same commands again (the incremental add). It also measures, in the same
run, the embed stage's encoding against the bare model on the same unit texts,
and PDF ingest against pdfplumber alone and pypdfium2 alone on the golden PDF.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))  # tests/pdf_factory.py knows where the real report is shared

from tests.pdf_factory import bench_report  # noqa: E402


def stage(name: str, args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run one ``ofsted-nlp`` command under GNU time; its wall seconds and peak RSS (MB)."""
    report = Path(env["BENCH_TMP"]) / f"time-{name}.txt"
    cmd = ["/usr/bin/time", "-f", "%e %M", "-o", str(report), str(BIN / "ofsted-nlp"), *args]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{name} failed:\n{run.stdout}\n{run.stderr[-3000:]}")
    seconds, kb = report.read_text().split()[-2:]
    return {"seconds": float(seconds), "rss_mb": int(kb) / 1024}


def pipeline(
    work: Path, raw: Path, reference: Path, env: dict[str, str], jobs: str, skip: frozenset[str] = frozenset()
) -> dict[str, dict[str, float]]:
    """Every corpus stage once, as dvc.yaml runs them (paths under ``work``)."""
    i = work / "interim"
    commands = {
        "ingest": ["ingest", "--raw", str(raw), "--params", str(ROOT / "params.yaml"), "--jobs", jobs,
                   "--documents", str(i / "documents.parquet"), "--rejects", str(i / "rejects.parquet"),
                   "--manifest", str(i / "ingest_manifest.parquet")],
        "parse": ["parse", "--documents", str(i / "documents.parquet"), "--out", str(i / "parsed"), "--jobs", jobs],
        "link": ["link", "--parsed", str(i / "parsed"), "--reference", str(reference),
                 "--params", str(ROOT / "params.yaml"), "--out", str(i / "linked")],
        "embed": ["embed", "--documents", str(i / "documents.parquet"),
                  "--queries", str(ROOT / "corpus" / "labels" / "search_queries.jsonl"),
                  "--cache", str(i / "embedding_cache.parquet"), "--params", str(ROOT / "params.yaml"),
                  "--out", str(i / "embedded"), "--jobs", jobs],
        "classify": ["classify", "--embedded", str(i / "embedded"), "--model", str(ROOT / "models" / "tagger"),
                     "--out", str(i / "classified"), "--jobs", jobs],
        "load": ["load", "--documents", str(i / "documents.parquet"), "--rejects", str(i / "rejects.parquet"),
                 "--parsed", str(i / "parsed"), "--embedded", str(i / "embedded"),
                 "--classified", str(i / "classified"), "--linked", str(i / "linked"),
                 "--warehouse", str(work / "warehouse" / "ofsted.duckdb"), "--params", str(ROOT / "params.yaml")],
        "report": ["report", "--warehouse", str(work / "warehouse" / "ofsted.duckdb"),
                   "--params", str(ROOT / "params.yaml"), "--metrics", str(ROOT / "metrics" / "summary.json"),
                   "--out", str(work / "reports"), "--jobs", jobs],
    }  # fmt: skip
    out = {}
    for name, args in commands.items():
        if name in skip:
            continue
        out[name] = stage(name, args, env)
        print(f"  {name:9s} {out[name]['seconds']:8.1f} s  peak RSS {out[name]['rss_mb']:7.0f} MB", flush=True)
    return out


def embedding_share(work: Path, n_texts: int = 2000) -> dict[str, float]:
    """Units/s of the bare model and of the embed stage's `embed_texts` (empty cache) on the same unit texts."""
    import pandas as pd

    from pipeline.search.encoder import load_encoder
    from pipeline.stages.embed import embed_texts

    spans = pd.read_parquet(work / "interim" / "embedded" / "unit_spans.parquet", columns=["text"])
    texts = list(dict.fromkeys(spans["text"]))[:n_texts]
    encoder = load_encoder()
    encoder.encode(texts[:64])  # warm up
    t = time.perf_counter()
    encoder.encode(texts)
    bare = len(texts) / (time.perf_counter() - t)
    t = time.perf_counter()
    embed_texts(texts, encoder, {})
    ours = len(texts) / (time.perf_counter() - t)
    return {"texts": len(texts), "bare_units_per_s": bare, "embed_units_per_s": ours, "share": ours / bare}


def pdf_ratio() -> dict[str, float]:
    """Pages/s of our PDF reading, pdfplumber alone and pypdfium2 alone on the golden PDF (best of 3)."""
    import pdfplumber
    import pypdfium2 as pdfium

    from pipeline.stages.ingest import IngestParams
    from pipeline.text.pdf import read_pdf

    data = bench_report().read_bytes()  # the real report where ../shared has it
    p = IngestParams()

    def best(fn: object) -> float:
        times = []
        for _ in range(3):
            t = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append(time.perf_counter() - t)
        return min(times)

    def plumber() -> None:
        import io

        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                page.extract_text_lines(use_text_flow=True, return_chars=False)

    def pdfium_alone() -> None:
        doc = pdfium.PdfDocument(data)
        for page in doc:
            page.get_textpage().get_text_range()

    pages = len(pdfium.PdfDocument(data))
    ours = pages / best(lambda: read_pdf(data, max_pages=p.max_pages, margin=p.pdf_margin,
                                         min_chars_per_page=p.min_chars_per_page))  # fmt: skip
    return {"pages": pages, "ours": ours, "pdfplumber": pages / best(plumber), "pypdfium2": pages / best(pdfium_alone)}


def add_only(work: Path, jobs: str) -> None:
    """The incremental add, timed on a corpus already built: 100 letters out (a run), back in (the timed run)."""
    env = {**os.environ, "BENCH_TMP": str(work), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    raw, held = work / "synth" / "raw", work / "held_back"
    held.mkdir(exist_ok=True)
    files = sorted(raw.iterdir())
    for f in files[1 :: max(1, len(files) // 100)][:100]:
        f.rename(held / f.name)
    print(f"100 letters taken out ({len(list(raw.iterdir()))} left; no report):", flush=True)
    pipeline(work, raw, work / "synth" / "reference", env, jobs, skip=frozenset({"report"}))
    for f in held.iterdir():
        f.rename(raw / f.name)
    print(f"100 letters added ({len(list(raw.iterdir()))} in all):", flush=True)
    add = pipeline(work, raw, work / "synth" / "reference", env, jobs)
    total = sum(s["seconds"] for s in add.values())
    serving = add["load"]["seconds"] + add["report"]["seconds"]
    print(f"add 100: {total:.1f} s in all, of which load and report {serving:.1f} s")
    (work / "bench_add.json").write_text(json.dumps(add, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--jobs", default="0", help="--jobs for the stages that take it (0: every core)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument(
        "--add-only",
        action="store_true",
        help="on an existing --work folder: take 100 letters out and run, then put them back and time that run",
    )
    args = ap.parse_args()
    work = args.work or Path(f"/tmp/bench_scale_{args.n}")
    if args.add_only:
        add_only(work, args.jobs)
        return
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "BENCH_TMP": str(work), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    print(f"bench_scale: {args.n} synthetic letters (30% PDF), {os.cpu_count()} cores, jobs={args.jobs}", flush=True)
    t = time.perf_counter()
    subprocess.run([str(BIN / "ofsted-nlp"), "synth", "--n", str(args.n), "--pdf-share", "0.3", "--seed",
                    str(args.seed), str(work / "synth")], check=True, env=env, capture_output=True)  # fmt: skip
    print(f"  synth     {time.perf_counter() - t:8.1f} s", flush=True)
    raw = work / "synth" / "raw"
    held = work / "held_back"
    held.mkdir()
    for f in sorted(raw.iterdir())[:: max(1, args.n // 100)][:100]:
        f.rename(held / f.name)
    n_first = len(list(raw.iterdir()))
    print(f"full build of {n_first} letters:", flush=True)
    full = pipeline(work, raw, work / "synth" / "reference", env, args.jobs)
    for f in held.iterdir():
        f.rename(raw / f.name)
    print("100 letters added:", flush=True)
    add = pipeline(work, raw, work / "synth" / "reference", env, args.jobs)
    warehouse_mb = (work / "warehouse" / "ofsted.duckdb").stat().st_size / 1e6
    emb = embedding_share(work)
    pdf = pdf_ratio()
    import duckdb

    con = duckdb.connect(str(work / "warehouse" / "ofsted.duckdb"), read_only=True)
    units = con.execute("SELECT count(*) FROM units").fetchone()[0]  # type: ignore[index]
    con.close()
    result = {
        "letters": args.n,
        "units": units,
        "full": full,
        "full_seconds": sum(s["seconds"] for s in full.values()),
        "full_peak_rss_mb": max(s["rss_mb"] for s in full.values()),
        "add_100": add,
        "add_100_seconds": sum(s["seconds"] for s in add.values()),
        "warehouse_mb": warehouse_mb,
        "embedding": emb,
        "pdf": pdf,
    }
    print()
    print("| stage | full build: s | docs/s | peak RSS MB | +100 letters: s |")
    print("|---|---|---|---|---|")
    for name in full:
        s = full[name]["seconds"]
        print(f"| {name} | {s:.1f} | {n_first / s:.0f} | {full[name]['rss_mb']:.0f} | {add[name]['seconds']:.1f} |")
    print(f"| **all** | **{result['full_seconds']:.0f}** | {n_first / result['full_seconds']:.1f} | "
          f"{result['full_peak_rss_mb']:.0f} | **{result['add_100_seconds']:.1f}** |")  # fmt: skip
    print(f"\nunits: {units}; warehouse: {warehouse_mb:.0f} MB")
    print(f"embedding on {emb['texts']} unit texts: bare model {emb['bare_units_per_s']:.0f} units/s, embed stage "
          f"{emb['embed_units_per_s']:.0f} units/s = {emb['share']:.0%} of bare (goal >= 90%)")  # fmt: skip
    print(f"PDF ingest on the golden PDF ({pdf['pages']} pages): ours {pdf['ours']:.0f} pages/s, pdfplumber "
          f"{pdf['pdfplumber']:.1f} ({pdf['ours'] / pdf['pdfplumber']:.1f}x; goal >= 5x), pypdfium2 alone "
          f"{pdf['pypdfium2']:.0f} ({pdf['ours'] / pdf['pypdfium2']:.2f}x)")  # fmt: skip
    (work / "bench_scale.json").write_text(json.dumps(result, indent=1, default=str))
    print(f"figures -> {work / 'bench_scale.json'}")


if __name__ == "__main__":
    main()
