"""Stage ``embed``: every unit of every document is embedded once, in batches.

Documents are cut into units (`pipeline.readers.units`) and each unit's text is
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
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline import incremental
from pipeline.incremental import batches_where
from pipeline.readers.units import units
from pipeline.search.encoder import Encoder
from pipeline.warehouse import contracts

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


class VectorCache:
    """The embedding cache during a run: vectors looked up by text key, the new ones spilled to disk as they come.

    The cache is a folder of Parquet parts (`VectorParts`) at ``path``. Texts
    encoded this run are written batch by batch to parts in ``<path>.new``, so
    no run holds more than one batch of vectors, however many texts are new.
    `commit` writes the cache again with only the texts still in use (so it
    does not grow without end): parts still wholly in use are linked, this
    run's vectors become one new part. It is written aside and swapped in.
    """

    def __init__(self, path: Path, encoder: Encoder, batch_units: int = 1024) -> None:
        _recover(path)
        self.path, self.encoder, self.batch_units = path, encoder, batch_units
        self.staged = path.with_name(path.name + ".new")
        _remove(self.staged)
        self.staged.mkdir(parents=True)
        self.new_keys: set[str] = set()
        self.encoded = 0
        self.parts = 0

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts`` (``len × dim``): from the cache, or encoded (each distinct missing text once)."""
        import pyarrow.parquet as pq

        wanted = {text_key(t) for t in texts}
        found = read_cache(self.path, self.encoder.name, wanted - self.new_keys)
        found.update(read_cache(self.staged, self.encoder.name, wanted & self.new_keys))
        before = set(found)
        vecs, n = embed_texts(texts, self.encoder, found, self.batch_units)
        self.encoded += n
        if n:
            keys = sorted(set(found) - before)
            table = vector_table(keys, self.encoder.name, [found[k] for k in keys])
            pq.write_table(table, self.staged / f"part-{self.parts:05d}.parquet", use_dictionary=_DICTIONARY)
            self.parts += 1
            self.new_keys.update(keys)
        return vecs

    def commit(self, keep: set[str]) -> None:
        """Write the cache with the vectors of ``keep`` (the text keys still in use), and drop the staged parts."""
        tmp, old = self.path.with_name(self.path.name + ".tmp"), self.path.with_name(self.path.name + ".old")
        for stale in (tmp, old):
            _remove(stale)
        with VectorParts(self.path, tmp, keep, self.encoder.name, key="text_key") as parts:
            for batch in batches_where(self.staged, "text_key", keep, ["text_key", "vector"]):
                keys = batch.column("text_key").to_pylist()
                parts.add(keys, vector_rows(batch.column("vector")))
        if self.path.exists():
            self.path.rename(old)
        tmp.rename(self.path)
        _remove(old)
        _remove(self.staged)


def _recover(path: Path) -> None:
    """Put back a cache a killed `VectorCache.commit` left as ``<path>.old`` (between its two renames)."""
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
        from pipeline.readers.units import make_nlp

        _NLP = make_nlp()
    return unit_spans([item], _NLP)


def cut(items: Sequence[tuple[str, str]], nlp: Language | None, jobs: int = 1) -> pd.DataFrame:
    """``unit_spans`` of ``(doc_id, text)`` items as a checked frame, cut in ``jobs`` processes.

    ``nlp`` None: the default pipeline (`pipeline.readers.units.make_nlp`), built once in each process that cuts.
    """
    global _NLP
    if nlp is not None:
        _NLP = nlp  # workers forked from here use the caller's pipeline
    rows = [row for doc_rows in incremental.parallel_map(_cut_one, items, jobs) for row in doc_rows]
    return contracts.frame(contracts.UNIT_SPANS, rows)


_DOC_ROWS = 1000
"""Documents read and cut at a time: the texts of a large corpus are never all in memory."""


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

    Memory is that of one batch of documents (`_DOC_ROWS`) and their vectors,
    plus the ids of the units and text keys in use: kept rows are streamed
    from the last run's files, and each batch's spans and vectors are written
    before the next is cut.

    Returns:
        Rows written per table, ``encoded`` (texts the encoder actually ran on)
        and ``documents`` (documents cut this run).
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = pd.read_parquet(documents, columns=["doc_id"])["doc_id"].tolist()
    fp = incremental.fingerprint(incremental.code_of(__name__), asdict(params), encoder.name)
    kept, kept_units = _kept(out, incremental.done_before(out, ["unit_spans"], fp, set(ids)))
    todo = [d for d in ids if d not in kept]
    qs = read_queries(queries) if queries is not None else []
    q_texts = [q["query"] for q in qs]
    cache = VectorCache(cache_path, encoder, params.batch_units)
    in_use = {text_key(t) for t in q_texts}  # the text keys the cache keeps
    schema = contracts.arrow_schema(contracts.UNIT_SPANS)
    n_spans = 0
    with incremental.staged_folder(out, set(ids), fp) as tmp:
        with (
            pq.ParquetWriter(tmp / "unit_spans.parquet", schema) as spans_out,
            VectorParts(
                out / "unit_embeddings.parquet", tmp / "unit_embeddings.parquet", kept_units, encoder.name
            ) as vectors_out,
        ):
            for batch in batches_where(out / "unit_spans.parquet", "doc_id", kept, schema.names):
                spans_out.write_table(pa.Table.from_batches([batch]).cast(schema))
                in_use.update(text_key(t) for t in batch.column("text").to_pylist())
                n_spans += batch.num_rows
            for batch in batches_where(documents, "doc_id", todo, ["doc_id", "text"], rows=_DOC_ROWS):
                items = list(zip(batch.column("doc_id").to_pylist(), batch.column("text").to_pylist(), strict=True))
                spans = cut(items, nlp, jobs)
                texts = spans["text"].tolist()
                spans_out.write_table(pa.Table.from_pandas(spans, schema=schema, preserve_index=False))
                vectors_out.add(spans["unit_id"].tolist(), list(cache.vectors(texts)))
                in_use.update(text_key(t) for t in texts)
                n_spans += len(spans)
        qvecs = cache.vectors(q_texts)
        query_frame = pd.DataFrame(
            {
                "query_id": [q["query_id"] for q in qs],
                "model": encoder.name,
                "vector": pd.Series(list(qvecs), dtype=object),
            },
            columns=["query_id", "model", "vector"],
        )
        query_frame.to_parquet(tmp / "query_embeddings.parquet", index=False)
    cache.commit(in_use)
    print(f"embed: {len(todo)} documents cut, {len(kept)} kept from the last run", file=sys.stderr)
    return {
        "unit_spans": n_spans,
        "unit_embeddings": n_spans,
        "queries": len(qs),
        "encoded": cache.encoded,
        "documents": len(todo),
    }


MAX_PARTS = 64
"""Parts of ``unit_embeddings`` beyond which a run rewrites them as one (each run that adds vectors adds a part)."""


class VectorParts:
    """Writes vectors (``key``, ``model``, ``vector``) as a folder of Parquet parts: ``old``'s kept, new ones added.

    On entering, a part of ``old`` whose rows are all kept (``key`` in
    ``keep``, made by ``model``) is hard-linked, not copied; one that lost rows
    is rewritten without them (batch by batch, never all held). `add` writes
    new vectors to a part of their own as they come. So a run that adds
    documents writes only their vectors, however large the table. Past
    `MAX_PARTS` parts everything is rewritten as one part.
    """

    def __init__(self, old: Path, new: Path, keep: set[str], model: str, key: str = "unit_id") -> None:
        import pyarrow as pa

        self.old, self.new, self.keep, self.model, self.key = old, new, keep, model, key
        self.schema = pa.schema([(key, pa.string()), ("model", pa.string()), ("vector", pa.list_(pa.float32()))])
        self.writer: Any = None
        self.n = 0

    def __enter__(self) -> VectorParts:
        import os
        import shutil

        import pyarrow as pa
        import pyarrow.parquet as pq

        from pipeline import incremental

        self.new.mkdir(parents=True)
        parts = incremental.parquet_parts(self.old)
        whole = len(parts) + 1 > MAX_PARTS
        for part in parts:
            t = pq.read_table(part, columns=[self.key, "model"])
            held = sum(
                1
                for u, m in zip(t.column(self.key).to_pylist(), t.column("model").to_pylist())
                if u in self.keep and m == self.model
            )
            if not held:
                continue
            if held == len(t) and not whole and pq.read_schema(part).equals(self.schema, check_metadata=False):
                try:
                    os.link(part, self._next())
                except OSError:  # a file system without hard links
                    shutil.copyfile(part, self._next())
                self.n += 1
                continue
            if self.writer is None or not whole:
                self._close()
                self._open()
            for batch in batches_where(part, self.key, self.keep, self.schema.names, model=self.model):
                self.writer.write_table(pa.Table.from_batches([batch]).cast(self.schema))
        if not whole:
            self._close()  # new vectors get a part of their own
        return self

    def add(self, keys: Sequence[str], vectors: Sequence[np.ndarray]) -> None:
        """Write new vectors (in pieces of `_WRITE_ROWS`)."""
        if not len(keys):
            return
        if self.writer is None:
            self._open()
        for i in range(0, len(keys), _WRITE_ROWS):
            piece = slice(i, i + _WRITE_ROWS)
            self.writer.write_table(vector_table(list(keys[piece]), self.model, list(vectors[piece]), key=self.key))

    def __exit__(self, *exc: object) -> None:
        if self.writer is None and not self.n and exc[0] is None:
            self._open()  # a folder always holds a part, if only an empty one
        self._close()

    def _next(self) -> Path:
        return self.new / f"part-{self.n:05d}.parquet"

    def _open(self) -> None:
        import pyarrow.parquet as pq

        self.writer = pq.ParquetWriter(self._next(), self.schema, use_dictionary=_DICTIONARY)
        self.n += 1

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _kept(out: Path, kept: set[str]) -> tuple[set[str], set[str]]:
    """The kept documents whose units all have vectors in ``unit_embeddings``, and those units' ids.

    A kept document with a unit missing from ``unit_embeddings`` is not kept (it is embedded again).
    Only id columns are read, as Arrow arrays.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = out / "unit_embeddings.parquet"
    if not kept or not path.exists():
        return set(), set()
    ids = pa.schema([("unit_id", pa.string()), ("doc_id", pa.string())])
    spans = pq.read_table(out / "unit_spans.parquet", columns=ids.names).cast(ids)  # whatever string type it has
    if not spans.num_rows:  # the kept documents have no units
        return kept, set()
    spans = spans.filter(pc.is_in(spans.column("doc_id"), value_set=pa.array(sorted(kept), pa.string())))
    stored = pa.chunked_array(
        [
            pq.read_table(p, columns=["unit_id"]).column("unit_id").cast(pa.string())
            for p in incremental.parquet_parts(path)
        ],
        pa.string(),
    )
    missing = pc.invert(pc.is_in(spans.column("unit_id"), value_set=stored))
    lost = set(pc.unique(spans.column("doc_id").filter(missing)).to_pylist())
    if lost:
        spans = spans.filter(pc.invert(pc.is_in(spans.column("doc_id"), value_set=pa.array(sorted(lost), pa.string()))))
    return kept - lost, set(spans.column("unit_id").to_pylist())
