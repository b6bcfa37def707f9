"""Stage ``embed``: every unit of every document is embedded once, in batches.

Documents are cut into units (`pipeline.units`) and each unit's text is
embedded with the sentence encoder (an argument). Vectors are kept in a cache
keyed by the encoder's name and the text's hash, which the stage reads back on
its next run: re-running after new documents arrive (or a parser change that
moves offsets but not words) embeds only texts it has not seen. The classifier
(`classify`) and search share these vectors. Search queries to be evaluated
are embedded here too, so `evaluate` needs no model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.encoder import Encoder
from pipeline.units import units

if TYPE_CHECKING:
    from spacy.language import Language


@dataclass(frozen=True)
class EmbedParams:
    """``params.yaml: embed``."""

    batch_size: int = 64
    batch_units: int = 1024


def text_key(text: str) -> str:
    """The cache key of a text (its sha256, first 16 hex digits)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def unit_spans(docs: Iterable[tuple[str, str]], nlp: Language) -> list[dict[str, Any]]:
    """``unit_spans`` rows: every unit of every document, in document order."""
    rows: list[dict[str, Any]] = []
    for doc_id, text in docs:
        for i, u in enumerate(units(doc_id, text, nlp)):
            rows.append(
                {
                    "unit_id": u.unit_id,
                    "doc_id": doc_id,
                    "n": i + 1,
                    "kind": u.kind,
                    "text": u.text,
                    "start": u.start,
                    "end": u.end,
                }
            )
    return rows


def embedding_rows(spans: Sequence[dict[str, Any]], vectors: np.ndarray, model: str) -> list[dict[str, Any]]:
    """``unit_embeddings`` rows: each unit's vector with the encoder's name."""
    return [
        {"unit_id": r["unit_id"], "model": model, "vector": v.tolist()} for r, v in zip(spans, vectors, strict=True)
    ]


def embed_texts(
    texts: Sequence[str], encoder: Encoder, cache: dict[str, np.ndarray], batch_units: int = 1024
) -> tuple[np.ndarray, int]:
    """Vectors of ``texts`` (``len × dim``), encoding only the distinct texts ``cache`` lacks.

    New vectors are added to ``cache`` (keyed by `text_key`).

    Returns:
        The vectors in input order and the number of texts encoded.
    """
    missing = sorted({text_key(t): t for t in texts if text_key(t) not in cache}.items())
    for k in range(0, len(missing), batch_units):
        chunk = missing[k : k + batch_units]
        for (key, _), vec in zip(chunk, encoder.encode([t for _, t in chunk]), strict=True):
            cache[key] = np.asarray(vec, dtype=np.float32)
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32), 0
    return np.stack([cache[text_key(t)] for t in texts]), len(missing)


def read_cache(path: Path, model: str) -> dict[str, np.ndarray]:
    """The cached vectors of one encoder (empty when there is no cache yet)."""
    import pandas as pd

    if not path.exists():
        return {}
    df = pd.read_parquet(path)
    df = df[df["model"] == model]
    return {k: np.asarray(v, dtype=np.float32) for k, v in zip(df["text_key"], df["vector"], strict=True)}


def write_cache(path: Path, cache: dict[str, np.ndarray], model: str, keep: set[str]) -> None:
    """Write the cache, keeping only the texts still in use (so it does not grow without end)."""
    import pandas as pd

    keys = sorted(k for k in cache if k in keep)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pd.DataFrame({"text_key": keys, "model": model, "vector": [cache[k].tolist() for k in keys]}).to_parquet(
        tmp, index=False
    )
    tmp.replace(path)


def read_queries(path: Path) -> list[dict[str, Any]]:
    """The judged search queries (``corpus/labels/search_queries.jsonl``)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(
    documents: Path,
    queries: Path | None,
    cache_path: Path,
    out: Path,
    encoder: Encoder,
    nlp: Language,
    params: EmbedParams,
) -> dict[str, int]:
    """The shell: documents → ``unit_spans``, ``unit_embeddings`` (and ``query_embeddings``) in ``out``.

    Returns:
        Rows written per table, and ``encoded``: texts the encoder actually ran on.
    """
    import pandas as pd

    from pipeline import contracts

    docs = pd.read_parquet(documents, columns=["doc_id", "text"])
    spans = unit_spans(zip(docs["doc_id"], docs["text"], strict=True), nlp)
    cache = read_cache(cache_path, encoder.name)
    texts = [r["text"] for r in spans]
    vecs, encoded = embed_texts(texts, encoder, cache, params.batch_units)
    query_rows: list[dict[str, Any]] = []
    if queries is not None:
        qs = read_queries(queries)
        qvecs, n = embed_texts([q["query"] for q in qs], encoder, cache, params.batch_units)
        encoded += n
        query_rows = [
            {"query_id": q["query_id"], "model": encoder.name, "vector": v.tolist()}
            for q, v in zip(qs, qvecs, strict=True)
        ]
        texts = texts + [q["query"] for q in qs]
    emb_rows = embedding_rows(spans, vecs, encoder.name)
    out.mkdir(parents=True, exist_ok=True)
    contracts.frame(contracts.UNIT_SPANS, spans).to_parquet(out / "unit_spans.parquet", index=False)
    contracts.frame(contracts.UNIT_EMBEDDINGS, emb_rows).to_parquet(out / "unit_embeddings.parquet", index=False)
    pd.DataFrame(query_rows, columns=["query_id", "model", "vector"]).to_parquet(
        out / "query_embeddings.parquet", index=False
    )
    write_cache(cache_path, cache, encoder.name, {text_key(t) for t in texts})
    return {"unit_spans": len(spans), "unit_embeddings": len(emb_rows), "queries": len(query_rows), "encoded": encoded}
