"""Stage ``parse``: documents become records (spec/records.md), with evidence.

The stage only dispatches: each document is read by the reader of its
``doc_type`` in `pipeline.readers` (HMI letters: `pipeline.readers.letter`,
section 5 reports: `pipeline.readers.inspection`, case studies:
`pipeline.readers.casestudy`, LA plans: `pipeline.readers.laplan`); every reader
returns rows of the tables in `OUTPUTS`. The shell `run` parses the documents
not parsed before and writes one Parquet file per table.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUTPUTS = (
    "letters",
    "field_evidence",
    "recommendations",
    "external_support",
    "sections",
    "inspections",
    "judgements",
    "case_study_items",
    "la_plans",
    "la_category_scheme",
    "la_support_offer",
    "la_rag_areas",
    "la_floor_risk",
    "la_success_criteria",
)
"""Tables the parse stage writes."""


READERS = {
    "hmi_letter": "letter",
    "inspection_report": "inspection",
    "case_study": "casestudy",
    "la_plan": "laplan",
}
"""The reader of each document type: module ``pipeline.readers.<name>``, whose ``read(doc_id, text)`` gives its rows.

``unknown`` documents have no reader: they are kept, typed, with no rows.
"""


def reader_of(doc_type: str) -> Callable[[str, str], dict[str, list[dict[str, Any]]]] | None:
    """The ``read`` function of the reader of ``doc_type`` (`READERS`), or None for a type with no reader."""
    from pipeline.readers import casestudy, inspection, laplan, letter  # imported here, so code_of counts them

    modules = {"letter": letter, "inspection": inspection, "casestudy": casestudy, "laplan": laplan}
    name = READERS.get(doc_type)
    return None if name is None else modules[name].read


def parse_document(doc_id: str, doc_type: str, text: str) -> dict[str, list[dict[str, Any]]]:
    """Rows of the parse tables for one document, by the reader of its type (none for ``unknown``)."""
    read = reader_of(doc_type)
    return {} if read is None else read(doc_id, text)


_DOC_ROWS = 1000
"""Documents read and parsed at a time: the text of a large corpus is never all in memory."""


def _parse_one(item: tuple[str, str, str]) -> dict[str, list[dict[str, Any]]]:
    return parse_document(*item)


def run(documents: Path, out_dir: Path, jobs: int = 1) -> dict[str, int]:
    """The ``parse`` shell: documents Parquet → one Parquet file per table of `OUTPUTS`.

    Only documents not parsed before by the same code are parsed (in ``jobs``
    processes); the rows of the others are kept from the last run, and a
    document gone from ``documents`` loses its rows (`pipeline.incremental`).

    Returns:
        Rows written per table.
    """
    import pandas as pd

    from pipeline import incremental
    from pipeline.warehouse import contracts

    ids = pd.read_parquet(documents, columns=["doc_id"])["doc_id"]
    fp = incremental.fingerprint(incremental.code_of(__name__))
    kept_frames, kept = incremental.previous(out_dir, OUTPUTS, fp, set(ids))
    todo = [d for d in ids if d not in kept]
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in OUTPUTS}
    # the text of the new documents only, a batch at a time: only the rows parsed from it are kept
    for batch in incremental.batches_where(documents, "doc_id", set(todo), ["doc_id", "doc_type", "text"], _DOC_ROWS):
        items = list(zip(*(batch.column(c).to_pylist() for c in ("doc_id", "doc_type", "text")), strict=True))
        for result in incremental.parallel_map(_parse_one, items, jobs):
            for name, table_rows in result.items():
                rows[name].extend(table_rows)
    partial = [(r["doc_id"], r["error"]) for r in rows["letters"] + rows["inspections"] if r["status"] == "partial"]
    counts = {name: len(rows[name]) + len(kept_frames.get(name, ())) for name in OUTPUTS}

    def writer(name: str) -> Callable[[Path], None]:  # the rows leave memory as they are written
        parts: list[pd.DataFrame | list[dict[str, Any]]] = [
            kept_frames.pop(name, contracts.empty(contracts.TABLES[name])),
            rows[name],
        ]

        def write(path: Path) -> None:
            incremental.write_rows(path, contracts.TABLES[name], parts)

        return write

    incremental.write_folder(out_dir, {name: writer(name) for name in OUTPUTS}, set(ids), fp)
    for doc_id, error in partial:
        print(f"parse: {doc_id} is partial: {error}", file=sys.stderr)
    print(f"parse: {len(todo)} documents parsed, {len(kept)} kept from the last run", file=sys.stderr)
    return counts
