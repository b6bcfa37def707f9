"""Stage ``classify``: every unit of every document gets issue tags, a polarity and support types.

The core functions take the spaCy pipeline, the encoder and the trained model
as arguments. The stage shell (`run`) needs no encoder: it reads the units and
the vectors the ``embed`` stage made (each unit is embedded once, and search
uses the same vectors) and writes the ``units`` and ``issues`` tables.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline import incremental
from pipeline.errors import PipelineError
from pipeline.search.encoder import Encoder
from pipeline.stages.embed import embed_texts, embedding_rows, unit_spans
from pipeline.stages.train import TrainedModel
from pipeline.warehouse import contracts
from pipeline.warehouse.contracts import ISSUE_TAGS

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from spacy.language import Language


def classify_texts(texts: Sequence[str], model: TrainedModel, encoder: Encoder) -> list[dict[str, Any]]:
    """Tags (with scores, best first), polarity and support types of each text, in input order."""
    emb = encoder.encode(list(texts))
    scores, polarity, support = model.predict(texts, emb)
    out = []
    for i, text in enumerate(texts):
        tags = [
            {"tag": tag, "score": round(float(scores[i, j]), 4)}
            for j, tag in enumerate(ISSUE_TAGS)
            if scores[i, j] >= model.thresholds[j]
        ]
        tags.sort(key=lambda t: -float(t["score"]))  # type: ignore[arg-type]
        out.append(
            {
                "text": text,
                "tags": tags,
                "polarity": polarity[i],
                "support_types": support[i],
            }
        )
    return out


def classify_document(
    doc_id: str, text: str, nlp: Language, encoder: Encoder, model: TrainedModel
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``units``, ``issues`` and ``unit_embeddings`` rows of one document."""
    return classify_documents(iter([(doc_id, text)]), nlp, encoder, model)


def record_issues(doc_id: str, text: str, nlp: Language, encoder: Encoder, model: TrainedModel) -> list[dict[str, Any]]:
    """The ``issues`` of an extract record: ``{tag, polarity, text, start, end, score}`` per tagged unit."""
    unit_rows, issue_rows, _ = classify_document(doc_id, text, nlp, encoder, model)
    by_id = {u["unit_id"]: u["text"] for u in unit_rows}
    return [
        {k: r[k] for k in ("tag", "polarity", "start", "end", "score")} | {"text": by_id[r["unit_id"]]}
        for r in issue_rows
    ]


def classify_documents(
    docs: Iterator[tuple[str, str]], nlp: Language, encoder: Encoder, model: TrainedModel, batch_units: int = 1024
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """``units``, ``issues`` and ``unit_embeddings`` rows of documents, in one pass: cut, embed, classify.

    The same steps as the ``embed`` and ``classify`` stages (`pipeline.stages.embed.unit_spans`,
    `pipeline.stages.embed.embed_texts` in batches of ``batch_units``, `classify_spans`), for callers that hold
    documents.
    """
    spans = unit_spans(docs, nlp)
    vecs, _ = embed_texts([r["text"] for r in spans], encoder, {}, batch_units)
    unit_rows, issue_rows = classify_spans(spans, {r["unit_id"]: v for r, v in zip(spans, vecs, strict=True)}, model)
    return unit_rows, issue_rows, embedding_rows(spans, vecs, encoder.name)


def classify_spans(
    spans: Sequence[dict[str, Any]], vectors: dict[str, np.ndarray], model: TrainedModel
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``units`` and ``issues`` rows of embedded units (``unit_spans`` rows and their vectors by unit_id)."""
    if not spans:
        return [], []
    texts = [r["text"] for r in spans]
    scores, polarity, support = model.predict(texts, np.stack([vectors[r["unit_id"]] for r in spans]))
    return _rows(spans, scores, polarity, support, model)


def _rows(
    spans: Sequence[dict[str, Any]],
    scores: np.ndarray,
    polarity: Sequence[str],
    support: Sequence[list[str]],
    model: TrainedModel,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``units`` and ``issues`` rows of scored units; issues unit by unit, tags in `ISSUE_TAGS` order."""
    unit_rows: list[dict[str, Any]] = []
    issue_rows: list[dict[str, Any]] = []
    for i, r in enumerate(spans):
        unit_rows.append({**r, "polarity": polarity[i], "support_types": support[i], "model_version": model.version})
        for j, tag in enumerate(ISSUE_TAGS):
            if scores[i, j] >= model.thresholds[j]:
                issue_rows.append(
                    {
                        "doc_id": r["doc_id"],
                        "unit_id": r["unit_id"],
                        "tag": tag,
                        "polarity": polarity[i],
                        "score": round(float(scores[i, j]), 4),
                        "start": r["start"],
                        "end": r["end"],
                        "model_version": model.version,
                    }
                )
    return unit_rows, issue_rows


OUTPUTS = ("units", "issues")
"""Tables the stage writes."""


_SPAN_ROWS = 50_000
"""Units read from ``unit_spans`` and classified at a time: the stage never holds the corpus's units."""


def run(
    spans_path: Path, embeddings: Path, model: TrainedModel, out: Path, jobs: int = 1, batch_units: int = 10_000
) -> dict[str, int]:
    """The shell: the embed stage's ``unit_spans`` and ``unit_embeddings`` → ``units`` and ``issues`` in ``out``.

    Only documents not classified before by the same code, model and encoder,
    or whose units the embed stage has since cut differently, are classified;
    the rows of the others are kept from the last run, and a document gone
    from ``unit_spans`` loses its rows (`pipeline.incremental`). The new units
    are read `_SPAN_ROWS` at a time, their vectors ``batch_units`` at a time,
    classified in ``jobs`` processes and written before the next are read;
    kept rows are streamed from the last run's files.

    Returns:
        Rows written per table, and ``documents``: documents classified this run.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from pipeline.incremental import batches_where

    ids = set(pc.unique(pq.read_table(spans_path, columns=["doc_id"]).column("doc_id")).to_pylist())
    fp = incremental.fingerprint(incremental.code_of(__name__), None, model.version, *_encoders(embeddings))
    kept = incremental.done_before(out, OUTPUTS, fp, ids)
    if kept:
        kept -= _recut(out / "units.parquet", spans_path, kept)
    todo = ids - kept
    counts = dict.fromkeys(OUTPUTS, 0)
    schemas = {t.name: contracts.arrow_schema(t) for t in (contracts.UNITS, contracts.ISSUES)}
    with (
        incremental.staged_folder(out, ids, fp) as tmp,
        pq.ParquetWriter(tmp / "units.parquet", schemas["units"]) as units_out,
        pq.ParquetWriter(tmp / "issues.parquet", schemas["issues"]) as issues_out,
    ):
        writers = {"units": units_out, "issues": issues_out}
        for name, writer in writers.items():
            for batch in batches_where(out / f"{name}.parquet", "doc_id", kept, schemas[name].names):
                writer.write_table(pa.Table.from_batches([batch]).cast(schemas[name]))
                counts[name] += batch.num_rows
        for batch in batches_where(spans_path, "doc_id", todo, contracts.UNIT_SPANS.names, rows=_SPAN_ROWS):
            spans = _spans_frame(batch)
            for name, frame in zip(OUTPUTS, classify_stored(spans, embeddings, model, jobs, batch_units), strict=True):
                writers[name].write_table(pa.Table.from_pandas(frame, schema=schemas[name], preserve_index=False))
                counts[name] += len(frame)
    print(f"classify: {len(todo)} documents classified, {len(kept)} kept from the last run", file=sys.stderr)
    return counts | {"documents": len(todo)}


def _spans_frame(batch: pa.RecordBatch) -> pd.DataFrame:
    """A batch of ``unit_spans`` rows as a frame with the contract's types (whatever the file was written with)."""
    import pyarrow as pa

    schema = contracts.arrow_schema(contracts.UNIT_SPANS)
    frame: pd.DataFrame = pa.Table.from_batches([batch]).select(schema.names).cast(schema).to_pandas()
    return frame


def _encoders(embeddings: Path) -> list[str]:
    """The encoders that made the vectors (a new encoder makes every document's tags stale)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    column = pq.read_table(embeddings, columns=["model"]).column("model")
    return sorted(str(m) for m in pc.unique(column).to_pylist() if m is not None)


def _recut(units: Path, spans: Path, docs: set[str]) -> set[str]:
    """Documents of ``docs`` whose ``unit_spans`` rows differ from those their kept ``units`` rows were made from.

    Each side's rows are hashed and summed per document in DuckDB (a multiset
    hash: row order does not matter), streaming the files; columns are cast to
    the contract's types, so the widths a file was written with do not count.
    """
    import duckdb
    import pyarrow as pa

    from pipeline.incremental import parquet_glob

    cols = ", ".join(f'CAST("{c.name}" AS {c.type})' for c in contracts.UNIT_SPANS.columns)
    con = duckdb.connect()
    try:
        con.register("kept", pa.table({"doc_id": pa.array(sorted(docs), pa.string())}))

        def digest(path: str) -> str:
            return (
                f"SELECT doc_id, sum(hash({cols})) AS h FROM read_parquet({path}) "
                "WHERE doc_id IN (SELECT doc_id FROM kept) GROUP BY doc_id"
            )

        rows = con.execute(
            f"WITH old AS ({digest('$units')}), new AS ({digest('$spans')}) "
            "SELECT doc_id FROM kept LEFT JOIN old USING (doc_id) LEFT JOIN new USING (doc_id) "
            "WHERE old.h IS NULL OR old.h IS DISTINCT FROM new.h",
            {"units": parquet_glob(units), "spans": parquet_glob(spans)},
        ).fetchall()
    finally:
        con.close()
    return {str(r[0]) for r in rows}


def classify_stored(
    spans: pd.DataFrame, embeddings: Path, model: TrainedModel, jobs: int = 1, batch_units: int = 10_000
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``units`` and ``issues`` of ``unit_spans`` rows whose vectors are in the Parquet file ``embeddings``.

    The vectors are streamed ``batch_units`` at a time (never all in memory) and
    the batches classified in ``jobs`` processes; rows come back in the order of ``spans``.

    Raises:
        PipelineError: a unit has no vector (or two).
    """
    import pandas as pd

    global _MODEL
    _MODEL = model  # workers forked from here use it
    index = pd.Index(spans["unit_id"])
    seen = np.zeros(len(spans), dtype=bool)
    units_parts: list[pd.DataFrame] = []
    issues_parts: list[pd.DataFrame] = []
    window: list[tuple[pd.DataFrame, np.ndarray, np.ndarray]] = []

    def flush() -> None:
        for units, issues in incremental.parallel_map(_classify_batch, window, jobs, chunk=1):
            units_parts.append(units)
            issues_parts.append(issues)
        window.clear()

    for ids, vecs in _vector_batches(embeddings, spans["unit_id"].tolist(), batch_units):
        pos = index.get_indexer(ids)
        if seen[pos].any():
            raise PipelineError(f"classify: {embeddings} holds a unit twice; re-run the embed stage")
        seen[pos] = True
        window.append((spans.iloc[pos], vecs, pos))
        if len(window) >= 2 * jobs:  # two batches a process: fewer idle at the end of a window
            flush()
    flush()
    if not seen.all():
        missing = spans["unit_id"].to_numpy()[~seen]
        raise PipelineError(
            f"classify: {len(missing)} units have no embedding (e.g. {missing[0]}); re-run the embed stage"
        )
    units = _in_order(units_parts, contracts.UNITS)
    if "text" not in units.columns:  # one row per span, in the spans' order: the text is theirs, held once
        if not (units["unit_id"].to_numpy() == spans["unit_id"].to_numpy()).all():
            raise PipelineError("classify: the units came back out of order")  # cannot happen: _in_order sorts
        units.insert(contracts.UNITS.names.index("text"), "text", spans["text"].array)
    return units, _in_order(issues_parts, contracts.ISSUES)


_MODEL: TrainedModel | None = None
"""The model of a worker process (inherited from `classify_stored` when forked)."""


def _classify_batch(item: tuple[pd.DataFrame, np.ndarray, np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Checked ``units`` (without its text) and ``issues`` frames of a batch of spans, its vectors and its positions.

    The positions are kept in ``_pos``.

    A `parallel_map` worker: the model is the one `classify_stored` set before forking.
    """
    from pipeline.incremental import records

    if _MODEL is None:
        raise PipelineError("classify: no model in this worker process (it must be forked from classify_stored)")
    spans, vecs, pos = item
    texts = [str(t) for t in spans["text"]]
    scores, polarity, support = _MODEL.predict(texts, vecs)
    unit_rows, issue_rows = _rows(records(spans), scores, polarity, support, _MODEL)
    units = contracts.frame(contracts.UNITS, unit_rows).drop(columns="text")  # the caller has it: not sent back
    issues = contracts.frame(contracts.ISSUES, issue_rows)
    units["_pos"] = pos
    issues["_pos"] = np.repeat(pos, (scores >= _MODEL.thresholds).sum(axis=1))
    return units, issues


def _vector_batches(embeddings: Path, unit_ids: list[str], size: int) -> Iterator[tuple[list[str], np.ndarray]]:
    """``(unit_ids, vectors)`` of the units of ``unit_ids`` in ``embeddings``, ``size`` at a time, in file order."""
    from pipeline.incremental import batches_where
    from pipeline.stages.embed import vector_rows

    ids: list[str] = []
    vecs: list[np.ndarray] = []
    for batch in batches_where(embeddings, "unit_id", unit_ids, ["unit_id", "vector"]):
        ids.extend(batch.column("unit_id").to_pylist())
        vecs.extend(vector_rows(batch.column("vector")))
        while len(ids) >= size:
            yield ids[:size], np.stack(vecs[:size])
            ids, vecs = ids[size:], vecs[size:]
    if ids:
        yield ids, np.stack(vecs)


def _in_order(parts: list[pd.DataFrame], table: contracts.Table) -> pd.DataFrame:
    """The parts as one frame, rows in ``_pos`` order (the order of the stage's spans), without ``_pos``."""
    import pandas as pd

    parts = [p for p in parts if len(p)]
    if not parts:
        return contracts.empty(table)
    df = pd.concat(parts, ignore_index=True).sort_values("_pos", kind="stable")
    return df.drop(columns="_pos").reset_index(drop=True)
