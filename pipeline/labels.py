"""Hand-labelled units (``corpus/labels/units.jsonl``): reading, checking, the fixed split.

Each row is one unit of a document (see `pipeline.units`) with the tags,
polarity and support types a reader gave it (``corpus/labels/GUIDE.md``). The
``split`` of a row is set once, when it is first labelled, and never changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.contracts import ISSUE_TAGS, POLARITIES, SUPPORT_TYPES
from pipeline.errors import PipelineError

SPLITS = ("train", "test")


@dataclass(frozen=True)
class LabelledUnit:
    """One labelled unit."""

    unit_id: str
    doc_id: str
    source: str
    start: int
    end: int
    text: str
    origin: str  # real | synthetic (units of the synthetic fixture letters) | written (hand-written units)
    split: str  # train | test
    tags: tuple[str, ...]
    polarity: str
    support_types: tuple[str, ...]
    labelled_by: str


def split_of(text: str, origin: str, test_share: float) -> str:
    """The split a newly labelled unit goes to.

    Real units go to ``test`` by a hash of their folded text (identical
    sentences share a split); synthetic and written units only ever train.
    """
    if origin != "real":
        return "train"
    h = int(hashlib.sha256(_fold(text).encode()).hexdigest()[:8], 16)
    return "test" if h / 0xFFFFFFFF < test_share else "train"


def read_labels(path: Path) -> list[LabelledUnit]:
    """Read and check the labels file.

    Raises:
        PipelineError: a row with a missing field or an id outside the taxonomy
            (the message names the line and the valid ids).
    """
    if not path.exists():
        raise PipelineError(f"labels file {path} not found; see corpus/labels/GUIDE.md")
    out = []
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            unit = LabelledUnit(
                unit_id=r["unit_id"],
                doc_id=r["doc_id"],
                source=r["source"],
                start=int(r["start"]),
                end=int(r["end"]),
                text=r["text"],
                origin=r["origin"],
                split=r["split"],
                tags=tuple(r["tags"]),
                polarity=r["polarity"],
                support_types=tuple(r["support_types"]),
                labelled_by=r["labelled_by"],
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise PipelineError(f"{path}:{n}: not a labelled unit ({exc!r})") from exc
        _check(path, n, unit)
        if unit.unit_id in seen:
            raise PipelineError(f"{path}:{n}: unit_id {unit.unit_id} appears twice")
        seen.add(unit.unit_id)
        out.append(unit)
    return out


def _check(path: Path, n: int, unit: LabelledUnit) -> None:
    bad_tags = sorted(set(unit.tags) - set(ISSUE_TAGS))
    bad_support = sorted(set(unit.support_types) - SUPPORT_TYPES)
    problems = []
    if bad_tags:
        problems.append(f"unknown tags {bad_tags} (valid: {', '.join(ISSUE_TAGS)})")
    if bad_support:
        problems.append(f"unknown support types {bad_support} (valid: {', '.join(sorted(SUPPORT_TYPES))})")
    if unit.polarity not in POLARITIES:
        problems.append(f"polarity {unit.polarity!r} is not one of {POLARITIES}")
    if unit.split not in SPLITS:
        problems.append(f"split {unit.split!r} is not one of {SPLITS}")
    if problems:
        raise PipelineError(f"{path}:{n}: " + "; ".join(problems))


def add_written(written: Path, text_out: Path, labels: Path) -> tuple[int, int]:
    """Append hand-written training units to the labels file, with a text file as their evidence.

    ``written`` holds one ``{"text", "tags", "polarity", "support_types", "note"}``
    object per line (units a labelling agent wrote and labelled, GUIDE.md). Their
    texts go to ``text_out`` one per line, so each row's offsets point into a file
    of the repository; the rows are ``origin: written``, ``split: train`` (they
    never test). A text already in ``labels`` (folded spaces and case, any split)
    is skipped, so a written unit can never repeat a test unit.

    Returns:
        Units appended and units skipped as already labelled.
    """
    from pipeline.units import unit_id_of

    if text_out.exists():
        raise PipelineError(f"{text_out} exists: its units are labelled already; write new units to a new file")
    existing = read_labels(labels)
    seen = {_fold(u.text) for u in existing}
    rows = [json.loads(line) for line in written.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = []
    for n, r in enumerate(rows, 1):
        if "\n" in r["text"]:
            raise PipelineError(f"{written}: unit {n} has a line break; a written unit is one line of {text_out}")
        key = _fold(r["text"])
        if key not in seen:
            seen.add(key)
            kept.append(r)
    document = "".join(r["text"] + "\n" for r in kept)
    doc_id = hashlib.sha256(document.encode("utf-8")).hexdigest()[:16]
    out, at = [], 0
    for r in kept:
        start, end = at, at + len(r["text"])
        at = end + 1
        out.append(
            {
                "unit_id": unit_id_of(doc_id, start, end),
                "doc_id": doc_id,
                "source": text_out.as_posix(),
                "start": start,
                "end": end,
                "kind": "sentence",
                "text": r["text"],
                "origin": "written",
                "split": "train",
                "tags": sorted(r["tags"]),
                "polarity": r["polarity"],
                "support_types": sorted(r["support_types"]),
                "labelled_by": "writer",
                "note": r.get("note", ""),
            }
        )
    text_out.parent.mkdir(parents=True, exist_ok=True)
    text_out.write_text(document, encoding="utf-8")
    with labels.open("a", encoding="utf-8") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in out)
    read_labels(labels)  # the appended rows pass the same checks as every other row
    return len(out), len(rows) - len(out)


def _fold(text: str) -> str:
    return " ".join(text.lower().split())
