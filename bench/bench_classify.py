"""Benchmark: classification throughput (units/s) with batch encoding, against the bare model.

Prints figures; asserts nothing. Needs a trained model (`dvc repro train`).
Run: .venv/bin/python bench/bench_classify.py [--units N] [--model models/tagger]
"""

from __future__ import annotations

import argparse
import re
import resource
import time
from pathlib import Path

from pipeline.readers.units import make_nlp, units
from pipeline.search.encoder import load_encoder
from pipeline.stages import classify, train
from pipeline.stages.ingest import IngestParams, ingest_document

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=2000, help="about how many units to classify")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "tagger")
    args = ap.parse_args()
    t0 = time.perf_counter()
    enc, model, nlp = load_encoder(), train.load(args.model), make_nlp()
    print(f"load encoder, model and spaCy: {time.perf_counter() - t0:.1f} s")
    docs = []
    for path in sorted((ROOT / "corpus" / "raw").iterdir()):
        doc = ingest_document(str(path), path.read_bytes(), IngestParams())
        docs.append((doc.doc_id, doc.text))
    per_round = sum(len(units(d, t, nlp)) for d, t in docs)
    rounds = max(1, args.units // per_round)
    # distinct doc ids and distinct sentences per round: `embed_texts` encodes a repeated text once, so
    # repeating the documents unchanged would measure the dedup, not the encoder
    corpus = [
        (f"{d}-{r}", re.sub(r"\bthe\b", f"the-{r}", t) + f"\n\nRound {r} of the benchmark text.")
        for r in range(rounds)
        for d, t in docs
    ]
    texts = [u.text for d, t in corpus for u in units(d, t, nlp)]

    t0 = time.perf_counter()
    enc.encode(texts)
    bare = len(texts) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    unit_rows, issue_rows, _ = classify.classify_documents(iter(corpus), nlp, enc, model)
    full = len(unit_rows) / (time.perf_counter() - t0)
    print(
        f"units: {len(unit_rows)} ({rounds} rounds of the {len(docs)} sample documents; "
        f"{len(set(texts))} distinct texts)"
    )
    print(f"  bare model (encode only):                     {bare:6.0f} units/s")
    print(f"  classify (units + encode + tag + support):   {full:6.0f} units/s   (target >= 120)")
    print(f"  share of the bare model's speed:             {full / bare:6.0%}")
    print(f"  issues rows: {len(issue_rows)}")

    # letter-length sentences (12–25 words, invented wording; the bench_search word bank)
    import numpy as np
    from bench_search import letter_sentences

    sentences = letter_sentences(250, np.random.default_rng(7)) * 4  # 250 distinct (the bank holds 261), 1,000 in all
    t0 = time.perf_counter()
    enc.encode(sentences)
    bare = len(sentences) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    classify.classify_texts(sentences, model, enc)
    full = len(sentences) / (time.perf_counter() - t0)
    print(f"letter-length sentences: {len(sentences)}")
    print(f"  bare model (encode only):                     {bare:6.0f} units/s")
    print(f"  classify (encode + tag + support):            {full:6.0f} units/s   (target >= 120)")
    print(f"  share of the bare model's speed:             {full / bare:6.0%}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
