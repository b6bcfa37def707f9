"""Stage ``embed``: every unit of every document is embedded once, in batches.

Documents are cut into units (`pipeline.units`) and each unit's text is
embedded with the sentence encoder (an argument). Vectors are kept in a cache
keyed by the encoder's name and the text's hash, which the stage reads back on
its next run: re-running after new documents arrive (or a parser change that
moves offsets but not words) embeds only texts it has not seen. The classifier
(`classify`) and search share these vectors. Search queries to be evaluated
are embedded here too, so `evaluate` needs no model.

The stage is incremental (`pipeline.incremental`): a run cuts and embeds only
the documents it has not done under the same code, encoder and params, keeps
the rows of the others and drops those of documents gone. Vectors travel as
float32 arrays and Arrow buffers, never as a Python float per number.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline import contracts
from pipeline.encoder import Encoder
from pipeline.incremental import batches_where
from pipeline.units import units

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
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
    keys = [text_key(t) for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cache}.items())
    for k in range(0, len(missing), batch_units):
        chunk = missing[k : k + batch_units]
        for (key, _), vec in zip(chunk, encoder.encode([t for _, t in chunk]), strict=True):
            cache[key] = np.asarray(vec, dtype=np.float32)
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32), 0
    return np.stack([cache[k] for k in keys]), len(missing)


def vector_rows(column: pa.ChunkedArray | pa.Array) -> list[np.ndarray]:
    """The vectors of a Parquet list column as float32 rows, without a Python float per number.

    Each row is a view into its chunk's buffer (a copy only when the column holds doubles).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    rows: list[np.ndarray] = []
    for chunk in chunks:
        if not len(chunk):
            continue
        flat = np.asarray(pc.list_flatten(chunk).to_numpy(zero_copy_only=False), dtype=np.float32)
        rows.extend(flat.reshape(len(chunk), -1))
    return rows


def member(column: pd.Series, values: Collection[str]) -> np.ndarray:
    """``column.isin(values)`` through a Python set (pandas 3 makes an Arrow scalar of every value: 1 s for 10k)."""
    wanted = values if isinstance(values, set | frozenset) else set(values)
    return np.fromiter((v in wanted for v in column.tolist()), dtype=bool, count=len(column))


def joined(frames: Sequence[pd.DataFrame | None], table: contracts.Table) -> pd.DataFrame:
    """The rows of ``frames`` as one frame of ``table`` (empty ones left out, so no column turns to object)."""
    import pandas as pd

    parts = [f for f in frames if f is not None and len(f)]
    return pd.concat(parts, ignore_index=True) if parts else contracts.empty(table)


def read_cache(path: Path, model: str, keys: Collection[str] | None = None) -> dict[str, np.ndarray]:
    """The cached vectors of one encoder, only those of ``keys`` when given (empty when there is no cache yet)."""
    import pyarrow.parquet as pq

    _recover(path)
    if not path.exists():
        return {}
    if keys is None:
        keys = pq.read_table(path, columns=["text_key"]).column("text_key").to_pylist()
    cache: dict[str, np.ndarray] = {}
    for batch in batches_where(path, "text_key", keys, ["text_key", "model", "vector"], model=model):
        cache.update(zip(batch.column("text_key").to_pylist(), vector_rows(batch.column("vector")), strict=True))
    return cache


def write_cache(path: Path, cache: dict[str, np.ndarray], model: str, keep: set[str]) -> None:
    """Write the cache: the vectors of ``keep`` (the texts still in use, so it does not grow without end).

    The cache is a folder of parts (`write_vector_parts`): the texts encoded
    this run are a new part and the parts still wholly in use are linked, so a
    run that adds documents writes only their new texts' vectors. It is
    written aside and swapped in.
    """
    import pyarrow.parquet as pq

    from pipeline import incremental

    _recover(path)
    stored: set[str] = set()
    for part in incremental.parquet_parts(path):
        t = pq.read_table(part, columns=["text_key", "model"])
        stored.update(k for k, m in zip(t.column("text_key").to_pylist(), t.column("model").to_pylist()) if m == model)
    new_keys = sorted(k for k in cache if k in keep and k not in stored)
    tmp, old = path.with_name(path.name + ".tmp"), path.with_name(path.name + ".old")
    for stale in (tmp, old):
        _remove(stale)
    write_vector_parts(path, tmp, keep, new_keys, [cache[k] for k in new_keys], model, key="text_key")
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    _remove(old)


def _recover(path: Path) -> None:
    """Put back a cache a killed `write_cache` left as ``<path>.old`` (between its two renames)."""
    old = path.with_name(path.name + ".old")
    if not path.exists() and old.exists():
        old.rename(path)


def _remove(path: Path) -> None:
    """Delete a file or a folder, if there is one."""
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def vector_table(keys: list[str], model: str, vectors: Sequence[np.ndarray], key: str = "text_key") -> pa.Table:
    """A table (``key``, ``model``, ``vector``) built from float32 arrays, not Python lists."""
    import pyarrow as pa

    lengths = np.array([len(v) for v in vectors], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    flat = np.concatenate(vectors).astype(np.float32, copy=False) if len(vectors) else np.zeros(0, np.float32)
    return pa.table(
        {
            key: pa.array(keys, pa.string()),
            "model": pa.array([model] * len(keys), pa.string()),
            "vector": pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat)),
        }
    )


def read_queries(path: Path) -> list[dict[str, Any]]:
    """The judged search queries (``corpus/labels/search_queries.jsonl``)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


_WRITE_ROWS = 20_000
"""Rows per piece when the cache is written."""
_DICTIONARY = ["model"]
"""Columns written dictionary-encoded: only the encoder name repeats (a dictionary on vectors costs 40% more time)."""

_NLP: Language | None = None
"""The spaCy pipeline `_cut_one` uses: the caller's (set by `cut`, inherited by forked workers), or `make_nlp`'s."""


def _cut_one(item: tuple[str, str]) -> list[dict[str, Any]]:
    """``unit_spans`` rows of one document (a `parallel_map` worker)."""
    global _NLP
    if _NLP is None:
        from pipeline.units import make_nlp

        _NLP = make_nlp()
    return unit_spans([item], _NLP)


def cut(items: Sequence[tuple[str, str]], nlp: Language | None, jobs: int = 1) -> pd.DataFrame:
    """``unit_spans`` of ``(doc_id, text)`` items as a checked frame, cut in ``jobs`` processes.

    ``nlp`` None: the default pipeline (`pipeline.units.make_nlp`), built once in each process that cuts.
    """
    from pipeline import incremental

    global _NLP
    if nlp is not None:
        _NLP = nlp  # workers forked from here use the caller's pipeline
    rows = [row for doc_rows in incremental.parallel_map(_cut_one, items, jobs) for row in doc_rows]
    return contracts.frame(contracts.UNIT_SPANS, rows)


_DOC_ROWS = 1000
"""Documents read and cut at a time: the texts of a large corpus are never all in memory."""


EMBED_MODULES = ("pipeline.embed", "pipeline.units", "pipeline.encoder", "pipeline.text")
"""The code whose change makes every document's units stale (`pipeline.text` holds the bullet glyph)."""


def run(
    documents: Path,
    queries: Path | None,
    cache_path: Path,
    out: Path,
    encoder: Encoder,
    nlp: Language | None,
    params: EmbedParams,
    jobs: int = 1,
) -> dict[str, int]:
    """The shell: documents → ``unit_spans``, ``unit_embeddings`` and ``query_embeddings`` in ``out``.

    Only documents not embedded before by the same code, encoder and params are
    cut (in ``jobs`` processes) and embedded; the rows of the others are kept
    from the last run, and a document gone from ``documents`` loses its rows
    (`pipeline.incremental`). Texts already in the cache are not encoded again.
    With ``nlp`` None the default spaCy pipeline is built only if a document is
    new (it takes seconds to build).

    Returns:
        Rows written per table, ``encoded`` (texts the encoder actually ran on)
        and ``documents`` (documents cut this run).
    """
    import pandas as pd

    from pipeline import incremental

    ids = pd.read_parquet(documents, columns=["doc_id"])["doc_id"].tolist()
    fp = incremental.fingerprint(EMBED_MODULES, asdict(params), encoder.name)
    kept_frames, kept = incremental.previous(out, ["unit_spans"], fp, set(ids))
    old_spans, kept = _kept(out, kept_frames.get("unit_spans"), kept)
    todo = [d for d in ids if d not in kept]
    pieces = []
    for batch in batches_where(documents, "doc_id", todo, ["doc_id", "text"], rows=_DOC_ROWS):  # new ones only
        items = list(zip(batch.column("doc_id").to_pylist(), batch.column("text").to_pylist(), strict=True))
        pieces.append(cut(items, nlp, jobs))
    new_spans = pd.concat(pieces, ignore_index=True) if pieces else contracts.empty(contracts.UNIT_SPANS)
    qs = read_queries(queries) if queries is not None else []
    new_texts = new_spans["text"].tolist()
    q_texts = [q["query"] for q in qs]
    cache = read_cache(cache_path, encoder.name, {text_key(t) for t in new_texts + q_texts})
    new_vecs, encoded = embed_texts(new_texts, encoder, cache, params.batch_units)
    qvecs, n = embed_texts(q_texts, encoder, cache, params.batch_units)
    encoded += n
    spans = joined([old_spans, new_spans], contracts.UNIT_SPANS)
    old_ids = [] if old_spans is None else old_spans["unit_id"].tolist()
    new_ids = new_spans["unit_id"].tolist()

    def write_vectors(path: Path) -> None:
        write_vector_parts(out / "unit_embeddings.parquet", path, set(old_ids), new_ids, list(new_vecs), encoder.name)

    query_frame = pd.DataFrame(
        {
            "query_id": [q["query_id"] for q in qs],
            "model": encoder.name,
            "vector": pd.Series(list(qvecs), dtype=object),
        },
        columns=["query_id", "model", "vector"],
    )
    frames: dict[str, pd.DataFrame | Callable[[Path], None]] = {
        "unit_spans": spans,
        "unit_embeddings": write_vectors,
        "query_embeddings": query_frame,
    }
    incremental.write_folder(out, frames, set(ids), fp)
    keep = {text_key(t) for t in spans["text"]} | {text_key(t) for t in q_texts}
    write_cache(cache_path, cache, encoder.name, keep)
    print(f"embed: {len(todo)} documents cut, {len(kept)} kept from the last run", file=sys.stderr)
    return {
        "unit_spans": len(spans),
        "unit_embeddings": len(spans),
        "queries": len(qs),
        "encoded": encoded,
        "documents": len(todo),
    }


MAX_PARTS = 64
"""Parts of ``unit_embeddings`` beyond which a run rewrites them as one (each run that adds vectors adds a part)."""


def write_vector_parts(
    old: Path,
    new: Path,
    keep: set[str],
    new_ids: Sequence[str],
    new_vecs: Sequence[np.ndarray],
    model: str,
    key: str = "unit_id",
) -> None:
    """Write vectors (``key``, ``model``, ``vector``) as a folder of Parquet parts: those of ``old`` kept, and new ones.

    A part of ``old`` whose rows are all kept (``key`` in ``keep``, made by
    ``model``) is hard-linked, not copied; one that lost rows is rewritten
    without them (batch by batch, never all held); the new vectors go to a part
    of their own. So a run that adds documents writes only their vectors,
    however large the table. Past `MAX_PARTS` parts everything is rewritten as one part.
    """
    import os
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline import incremental

    schema = pa.schema([(key, pa.string()), ("model", pa.string()), ("vector", pa.list_(pa.float32()))])
    new.mkdir(parents=True)
    parts = incremental.parquet_parts(old)
    whole = len(parts) + 1 > MAX_PARTS
    writer: pq.ParquetWriter | None = None
    n = 0
    for part in parts:
        t = pq.read_table(part, columns=[key, "model"])
        held = sum(
            1 for u, m in zip(t.column(key).to_pylist(), t.column("model").to_pylist()) if u in keep and m == model
        )
        if not held:
            continue
        if held == len(t) and not whole and pq.read_schema(part).equals(schema, check_metadata=False):
            try:
                os.link(part, new / f"part-{n:05d}.parquet")
            except OSError:  # a file system without hard links
                shutil.copyfile(part, new / f"part-{n:05d}.parquet")
            n += 1
            continue
        if writer is None or not whole:
            if writer is not None:
                writer.close()
            writer = pq.ParquetWriter(new / f"part-{n:05d}.parquet", schema, use_dictionary=_DICTIONARY)
            n += 1
        for batch in batches_where(part, key, keep, schema.names, model=model):
            writer.write_table(pa.Table.from_batches([batch]).cast(schema))
    if writer is not None and not whole:
        writer.close()
        writer = None
    if len(new_ids) or not n:  # a folder always holds a part, if only an empty one
        if writer is None:
            writer = pq.ParquetWriter(new / f"part-{n:05d}.parquet", schema, use_dictionary=_DICTIONARY)
        for i in range(0, len(new_ids), _WRITE_ROWS):
            piece = slice(i, i + _WRITE_ROWS)
            writer.write_table(vector_table(list(new_ids[piece]), model, list(new_vecs[piece]), key=key))
    if writer is not None:
        writer.close()


def _kept(out: Path, spans: pd.DataFrame | None, kept: set[str]) -> tuple[pd.DataFrame | None, set[str]]:
    """The kept units and the documents they cover.

    A kept document with a unit missing from ``unit_embeddings`` is not kept (it is embedded again).
    """
    import pyarrow.parquet as pq

    path = out / "unit_embeddings.parquet"
    if spans is None or not path.exists():
        return None, set()
    if not len(spans):  # the kept documents have no units
        return None, kept
    stored = set(pq.read_table(path, columns=["unit_id"]).column("unit_id").to_pylist())
    lost = set(spans.loc[~member(spans["unit_id"], stored), "doc_id"])
    if lost:
        spans = spans[~member(spans["doc_id"], lost)]
    return spans.reset_index(drop=True), kept - lost
