"""Stage ``evaluate``: score the parse against hand-checked gold records.

Field accuracy is exact match per field; recommendations and support types are
scored as sets per letter (precision, recall, F1, micro-averaged), so a missed,
split or merged bullet counts against both. The gold letters are the ones the
rules were written beside: these are development figures, not held-out ones,
and the metrics file says so with its n.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.text import fold

SCALAR_FIELDS = (
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
)


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float | int]:
    p = tp / n_pred if n_pred else 1.0
    r = tp / n_gold if n_gold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "n_gold": n_gold, "n_pred": n_pred}


def score(gold: list[dict[str, Any]], predicted: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Score predicted records against gold ones.

    Args:
        gold: gold records; ``file`` names the document (matched on file name),
            the other keys are fields of records.md plus ``support_types``.
        predicted: file name → predicted record (records.md keys, plus
            ``support_types``); a gold letter with no prediction scores zero.

    Returns:
        ``accuracy`` per field, ``field_accuracy`` over all gold values, the
        ``misses`` (field, file, gold, got), and ``recommendations`` and
        ``support_types`` P/R/F1 with n.
    """
    fields: dict[str, dict[str, Any]] = {}
    tp = {"recommendations": 0, "support_types": 0}
    n_pred = {"recommendations": 0, "support_types": 0}
    n_gold = {"recommendations": 0, "support_types": 0}
    for g in gold:
        name = Path(g["file"]).name
        pred = predicted.get(name, {})
        for f in SCALAR_FIELDS:
            if f not in g:
                continue
            stat = fields.setdefault(f, {"correct": 0, "n": 0, "misses": []})
            stat["n"] += 1
            want, got = g[f], pred.get(f)
            if isinstance(want, str) and isinstance(got, str) and f == "judgement":
                want, got = fold(want), fold(got)
            if want == got:
                stat["correct"] += 1
            else:
                stat["misses"].append({"file": name, "gold": want, "got": got})
        for f, norm in (("recommendations", fold), ("support_types", str)):
            if f not in g:
                continue
            want_set = {norm(x) for x in g[f]}
            got_set = {norm(x) for x in pred.get(f, [])}
            tp[f] += len(want_set & got_set)
            n_pred[f] += len(got_set)
            n_gold[f] += len(want_set)
    total = sum(s["n"] for s in fields.values())
    correct = sum(s["correct"] for s in fields.values())
    return {
        "n_letters": len(gold),
        "field_accuracy": round(correct / total, 4) if total else None,
        "n_field_values": total,
        "accuracy": {f: round(s["correct"] / s["n"], 4) for f, s in fields.items()},
        "misses": [dict(field=f, **miss) for f, s in fields.items() for miss in s["misses"]],
        "recommendations": _prf(tp["recommendations"], n_pred["recommendations"], n_gold["recommendations"]),
        "support_types": _prf(tp["support_types"], n_pred["support_types"], n_gold["support_types"]),
    }


def predictions_from_warehouse(warehouse: Path) -> dict[str, dict[str, Any]]:
    """File name → record fields, read back from the warehouse (what users get)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        letters = con.execute("SELECT d.source, l.* FROM letters l JOIN documents d USING (doc_id)").fetchdf()
        recs = con.execute("SELECT doc_id, text FROM recommendations ORDER BY doc_id, n").fetchall()
        sups = con.execute("SELECT DISTINCT doc_id, support_type FROM external_support").fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, Any]] = {}
    by_doc: dict[str, dict[str, Any]] = {}
    for row in letters.to_dict("records"):
        rec = {f: _plain(row.get(f)) for f in SCALAR_FIELDS}
        rec["recommendations"], rec["support_types"] = [], []
        out[Path(row["source"]).name] = rec
        by_doc[row["doc_id"]] = rec
    for doc_id, text in recs:
        by_doc[doc_id]["recommendations"].append(text)
    for doc_id, support_type in sups:
        by_doc[doc_id]["support_types"].append(support_type)
    return out


def _plain(value: Any) -> Any:
    """Warehouse values as the JSON of records.md (ISO dates, plain lists, None)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    return value.item() if hasattr(value, "item") else value


def run(warehouse: Path, gold: Path, out: Path, misses_out: Path) -> dict[str, Any]:
    """The ``evaluate`` shell: warehouse + gold JSONL → metrics and misses JSON.

    The metrics file holds numbers only, for ``dvc metrics show``; the misses
    file lists each wrong value, for people.
    """
    gold_rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    metrics = score(gold_rows, predictions_from_warehouse(warehouse))
    misses = {
        "note": (
            f"development set: the {len(gold_rows)} gold letters are the seed letters the parser rules were "
            "written beside, so the figures in the metrics file are not held-out accuracy"
        ),
        "misses": metrics.pop("misses"),
    }
    for path, data in ((out, metrics), (misses_out, misses)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    metrics["misses"] = misses["misses"]
    return metrics
