"""Hand-labelled units (``corpus/labels/units.jsonl``): reading, checking, the fixed split.

Each row is one unit of a document (see `pipeline.readers.units`) with the tags,
polarity and support types a reader gave it (``corpus/labels/GUIDE.md``). The
``split`` of a row is set once, when it is first labelled, and never changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.warehouse.contracts import ISSUE_TAGS, POLARITIES, SUPPORT_TYPES

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
            unit = _unit(json.loads(line))
        except (KeyError, ValueError, TypeError) as exc:
            raise PipelineError(f"{path}:{n}: not a labelled unit ({exc!r})") from exc
        _check(path, n, unit)
        if unit.unit_id in seen:
            raise PipelineError(f"{path}:{n}: unit_id {unit.unit_id} appears twice")
        seen.add(unit.unit_id)
        out.append(unit)
    return out


def _unit(r: Mapping[str, Any]) -> LabelledUnit:
    return LabelledUnit(
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
    from pipeline.readers.units import unit_id_of

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


@dataclass(frozen=True)
class LabelParams:
    """``params.yaml: labels``."""

    test_share: float = 0.3
    """Share of newly labelled real units that go to the test split (`split_of`)."""


def sheet(spans: Sequence[Mapping[str, Any]], labelled: Sequence[LabelledUnit]) -> tuple[list[dict[str, Any]], int]:
    """A labelling sheet: every unit of ``spans`` not labelled yet, with blank labels and its neighbours.

    ``spans`` are ``unit_spans`` rows (`pipeline.stages.embed.unit_spans`) with the
    document's ``source`` added. ``before`` and ``after`` are the units next to
    each one in its document, so the reader can read it in place (GUIDE.md).
    Nothing proposes a label. A unit whose text (folded spaces and case) is
    labelled already, or earlier in the sheet, is left out: letterheads and
    standard sentences recur in every letter.

    Returns:
        The rows in document order, and how many units were left out for their text.
    """
    ids = {u.unit_id for u in labelled}
    seen = {_fold(u.text) for u in labelled}
    by_doc: dict[str, list[Mapping[str, Any]]] = {}
    for r in spans:
        by_doc.setdefault(str(r["doc_id"]), []).append(r)
    rows: list[dict[str, Any]] = []
    same_text = 0
    for doc in by_doc.values():
        doc = sorted(doc, key=lambda r: (int(r["start"]), int(r["end"])))
        for i, r in enumerate(doc):
            if r["unit_id"] in ids:
                continue
            key = _fold(str(r["text"]))
            if key in seen:
                same_text += 1
                continue
            seen.add(key)
            rows.append(
                {
                    **{k: r[k] for k in ("unit_id", "doc_id", "source", "start", "end", "kind", "text")},
                    "before": doc[i - 1]["text"] if i else "",
                    "after": doc[i + 1]["text"] if i + 1 < len(doc) else "",
                    "tags": [],
                    "polarity": "",
                    "support_types": [],
                    "labelled_by": "",
                    "note": "",
                }
            )
    return rows, same_text


def add_labelled(sheet_path: Path, labels: Path, test_share: float) -> dict[str, int]:
    """Append the rows of a labelling sheet (`sheet`) that a reader has labelled to the labels file.

    A row with an empty ``polarity`` is not labelled yet and is left for later;
    a labelled row must say who labelled it (``labelled_by``). A unit already in
    ``labels`` is skipped, so adding the same sheet again adds nothing. Each new
    unit is ``origin: real`` and gets its fixed split from `split_of`. Nothing is
    written unless every labelled row passes the checks of `read_labels`.

    Returns:
        Counts: ``added``, ``train``, ``test``, ``unlabelled`` and ``already_labelled``.

    Raises:
        PipelineError: a row that is not a sheet row, has an unknown id, no
            ``labelled_by``, or offsets that no longer match its ``unit_id``.
    """
    from pipeline.readers.units import unit_id_of

    ids = {u.unit_id for u in read_labels(labels)}
    counts = {"added": 0, "train": 0, "test": 0, "unlabelled": 0, "already_labelled": 0}
    out = []
    for n, line in enumerate(sheet_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            if not r["polarity"]:
                counts["unlabelled"] += 1
                continue
            if r["unit_id"] in ids:
                counts["already_labelled"] += 1
                continue
            if unit_id_of(r["doc_id"], int(r["start"]), int(r["end"])) != r["unit_id"]:
                raise PipelineError(f"{sheet_path}:{n}: start and end were edited: they are not unit {r['unit_id']}")
            if not str(r["labelled_by"]).strip():
                raise PipelineError(f"{sheet_path}:{n}: labelled_by is empty; name who read and labelled the unit")
            row = {
                **{k: r[k] for k in ("unit_id", "doc_id", "source", "start", "end", "kind", "text")},
                "origin": "real",
                "split": split_of(r["text"], "real", test_share),
                "tags": sorted(r["tags"]),
                "polarity": r["polarity"],
                "support_types": sorted(r["support_types"]),
                "labelled_by": str(r["labelled_by"]).strip(),
                "note": r.get("note", ""),
            }
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise PipelineError(f"{sheet_path}:{n}: not a labelling sheet row ({exc!r})") from exc
        _check(sheet_path, n, _unit(row))
        ids.add(row["unit_id"])
        counts[row["split"]] += 1
        out.append(row)
    counts["added"] = len(out)
    if out:
        with labels.open("a", encoding="utf-8") as f:
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in out)
        read_labels(labels)
    return counts


def _fold(text: str) -> str:
    return " ".join(text.lower().split())
