"""The public record of spec/records.md, for ``ofsted-nlp extract``.

`extract` runs ``ingest`` and ``parse`` in memory on the files given and
returns one record per file, in input order, rejects included. No model is
imported on this path, so it answers in well under two seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pipeline.readers.letter import Letter, parse_letter
from pipeline.stages.ingest import Document, IngestParams, Reject, ingest, list_files, reader

RECORD_KEYS = (
    "doc_id",
    "source",
    "doc_type",
    "status",
    "error",
    "letter_kind",
    "letter_date",
    "visit_dates",
    "school_name",
    "postcode",
    "headteacher",
    "local_authority",
    "inspector",
    "previous_section5",
    "monitoring_visit_number",
    "judgement",
    "effective_action",
    "action_plan_fit",
    "nqt_permission",
    "recommendations",
    "sections",
    "external_support",
    "issues",
    "evidence",
)
"""Keys of a record, in order: records.md's, then ``evidence`` (field → [start, end])."""

_LETTER_FIELDS = RECORD_KEYS[5:19]


def blank_record(source: str, doc_id: str | None, doc_type: str, status: str, error: str | None) -> dict[str, Any]:
    """A record with every key present and no letter field read."""
    rec: dict[str, Any] = dict.fromkeys(RECORD_KEYS)
    rec.update(
        doc_id=doc_id,
        source=source,
        doc_type=doc_type,
        status=status,
        error=error,
        visit_dates=[],
        recommendations=[],
        sections={},
        external_support=[],
        issues=[],
        evidence={},
    )
    return rec


def record(item: Document | Reject, letter: Letter | None = None) -> dict[str, Any]:
    """The record of one ingested file (and its parsed letter, if it is one)."""
    if isinstance(item, Reject):
        return blank_record(item.source, item.doc_id, "unknown", "rejected", item.message)
    if letter is None:
        status = "partial" if item.doc_type == "unknown" else "ok"
        return blank_record(item.source, item.doc_id, item.doc_type, status, item.problems)
    missing = letter.missing
    rec = blank_record(
        item.source,
        item.doc_id,
        item.doc_type,
        "partial" if missing else "ok",
        f"could not read: {', '.join(missing)}" if missing else None,
    )
    for key in _LETTER_FIELDS:
        if key != "visit_dates":
            value = letter.values.get(key)
            rec[key] = value.isoformat() if isinstance(value, dt.date) else value
    rec["visit_dates"] = [d.isoformat() for d in letter.visit_dates]
    rec["recommendations"] = [r.text for r in letter.recommendations]
    sections: dict[str, str] = {}
    for s in letter.sections:
        key, k = s.heading, 2
        while key in sections:
            key, k = f"{s.heading} ({k})", k + 1
        sections[key] = s.text
    rec["sections"] = sections
    rec["external_support"] = [
        {"support_type": s.support_type, "text": s.text, "start": s.start, "end": s.end}
        for s in letter.external_support
    ]
    rec["evidence"] = {f: [sp.start, sp.end] for f, sp in letter.evidence.items()}
    return rec


def expand(paths: Sequence[str]) -> list[Path]:
    """Files named, with folders expanded to the files below them."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(list_files(p) if p.is_dir() else [p])
    return out


def extract(
    paths: Sequence[Path], params: IngestParams, tag: Callable[[str, str], list[dict[str, Any]]] | None = None
) -> Iterator[dict[str, Any]]:
    """One record per file, in input order (a missing file becomes a reject).

    Args:
        paths: the files.
        params: ingest tunables.
        tag: if given, fills ``issues`` from ``(doc_id, text)`` (see
            `pipeline.stages.classify.record_issues`); without it ``issues`` stays empty.
    """
    for item in ingest(((str(p), reader(p, params.max_bytes)) for p in paths), params):
        letter = (
            parse_letter(item.doc_id, item.text)
            if isinstance(item, Document) and item.doc_type == "hmi_letter"
            else None
        )
        rec = record(item, letter)
        if tag is not None and isinstance(item, Document):
            rec["issues"] = tag(item.doc_id, item.text)
        yield rec
