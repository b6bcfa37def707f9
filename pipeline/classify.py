"""Stage ``classify``: every unit of every document gets issue tags, a polarity and support types.

The core functions take the spaCy pipeline, the encoder and the trained model
as arguments. The stage shell (`run`) needs no encoder: it reads the units and
the vectors the ``embed`` stage made (each unit is embedded once, and search
uses the same vectors) and writes the ``units`` and ``issues`` tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline import contracts
from pipeline.contracts import ISSUE_TAGS
from pipeline.embed import embed_texts, embedding_rows, unit_spans
from pipeline.encoder import Encoder
from pipeline.errors import PipelineError
from pipeline.support import find_support
from pipeline.train import TrainedModel

if TYPE_CHECKING:
    from spacy.language import Language


def classify_texts(texts: Sequence[str], model: TrainedModel, encoder: Encoder) -> list[dict[str, Any]]:
    """Tags (with scores, best first), polarity and support types of each text, in input order."""
    emb = encoder.encode(list(texts))
    scores, polarity = model.predict(texts, emb)
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
                "support_types": [t for t, _ in find_support(text)],
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

    The same steps as the ``embed`` and ``classify`` stages (`pipeline.embed.unit_spans`,
    `pipeline.embed.embed_texts` in batches of ``batch_units``, `classify_spans`), for callers that hold documents.
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
    scores, polarity = model.predict(texts, np.stack([vectors[r["unit_id"]] for r in spans]))
    unit_rows: list[dict[str, Any]] = []
    issue_rows: list[dict[str, Any]] = []
    for i, r in enumerate(spans):
        unit_rows.append(
            {
                **r,
                "polarity": polarity[i],
                "support_types": [t for t, _ in find_support(r["text"])],
                "model_version": model.version,
            }
        )
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


def run(spans_path: Path, embeddings: Path, model: TrainedModel, out: Path) -> dict[str, int]:
    """The shell: the embed stage's ``unit_spans`` and ``unit_embeddings`` → ``units`` and ``issues`` in ``out``."""
    import pandas as pd

    spans: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in pd.read_parquet(spans_path).to_dict("records")
    ]
    emb = pd.read_parquet(embeddings, columns=["unit_id", "vector"])
    vectors = {k: np.asarray(v, dtype=np.float32) for k, v in zip(emb["unit_id"], emb["vector"], strict=True)}
    missing = [r["unit_id"] for r in spans if r["unit_id"] not in vectors]
    if missing:
        raise PipelineError(
            f"classify: {len(missing)} units have no embedding (e.g. {missing[0]}); re-run the embed stage"
        )
    unit_rows, issue_rows = classify_spans(spans, vectors, model)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table, rows in (
        (contracts.UNITS, unit_rows),
        (contracts.ISSUES, issue_rows),
    ):
        contracts.frame(table, rows).to_parquet(out / f"{table.name}.parquet", index=False)
        counts[table.name] = len(rows)
    return counts
