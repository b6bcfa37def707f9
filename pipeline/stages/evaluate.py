"""Stage ``evaluate``: score the parse against gold records, and the issue tagger on held-out units.

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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError
from pipeline.text.common import fold
from pipeline.warehouse.contracts import ISSUE_TAGS

if TYPE_CHECKING:
    from pipeline.search.index import SearchParams
    from pipeline.stages.train import TrainedModel
    from pipeline.tagging.labels import LabelledUnit

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
        recs = con.execute(
            "SELECT doc_id, text FROM recommendations WHERE doc_id IN (SELECT doc_id FROM letters) ORDER BY doc_id, n"
        ).fetchall()
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


# ---------------------------------------------------------------- the issue tagger


def score_tagger(
    test: Sequence[LabelledUnit],
    vectors: dict[str, np.ndarray],
    model: TrainedModel,
    min_n: int,
    worst_k: int = 3,
    resamples: int = 2000,
) -> dict[str, Any]:
    """Held-out metrics of the chosen tagger and of every other candidate on the test split.

    Args:
        test: the test split's labelled units (never seen by `train`'s fitting or choice).
        vectors: embeddings by `text_key`, written by `train`.
        model: the trained model (the chosen tagger and the other candidates).
        min_n: a tag with fewer positive test units is listed, not averaged.
        worst_k: how many of the worst tags get a confusion breakdown.
        resamples: bootstrap resamples of the test units for the 95% intervals.
    """
    from collections import Counter

    from pipeline.readers.support import find_support
    from pipeline.stages.train import predict_with, text_key
    from pipeline.tagging.tagger import label_matrix, polarity_metrics, tag_metrics

    if not test:
        raise PipelineError("no labelled units in the test split; see corpus/labels/GUIDE.md")
    texts = [u.text for u in test]
    emb = np.stack([vectors[text_key(t)] for t in texts])
    y = label_matrix([u.tags for u in test])
    gold_pol = [u.polarity for u in test]
    chosen = str(model.meta["chosen"])
    models: dict[str, Any] = {}
    preds: dict[str, np.ndarray] = {}
    for name, tagger in {chosen: model.tagger, **model.others}.items():
        scores, pol = predict_with(tagger, texts, emb)
        preds[name] = scores >= np.asarray(tagger.thresholds)
        models[name] = {"tags": tag_metrics(y, preds[name], min_n), "polarity": polarity_metrics(gold_pol, pol)}
    chosen_pred = preds[chosen]
    per = models[chosen]["tags"]["per_tag"]
    scored = [t for t in ISSUE_TAGS if per[t]["n"] >= min_n]
    columns = [ISSUE_TAGS.index(t) for t in scored]
    intervals = {name: bootstrap_macro_f1(y[:, columns], p[:, columns], None, resamples) for name, p in preds.items()}
    versus_keyword = (
        bootstrap_macro_f1(y[:, columns], chosen_pred[:, columns], preds["keyword"][:, columns], resamples)
        if "keyword" in preds and chosen != "keyword"
        else None
    )
    worst = sorted(scored, key=lambda t: per[t]["f1"])[:worst_k]
    confusion = {}
    for tag in worst:
        j = ISSUE_TAGS.index(tag)
        fp = [i for i in range(len(test)) if chosen_pred[i, j] and not y[i, j]]
        fn = [i for i in range(len(test)) if y[i, j] and not chosen_pred[i, j]]
        confusion[tag] = {
            "false_positives": len(fp),
            "false_negatives": len(fn),
            "false_positives_were": dict(Counter(t for i in fp for t in test[i].tags).most_common(3)),
            "false_negatives_got": dict(
                Counter(ISSUE_TAGS[k] for i in fn for k in np.nonzero(chosen_pred[i])[0]).most_common(3)
            ),
        }
    gold_support = [set(u.support_types) for u in test]
    rule_support = [{t for t, _ in find_support(u.text)} for u in test]
    model_support = [set(types) for types in model.predict(texts, emb)[2]]
    keyword_macro = models.get("keyword", {}).get("tags", {}).get("macro_f1")
    return {
        "note": (
            "held-out: the test split of corpus/labels/units.jsonl (real units only, fixed by a hash of the "
            "text); train fitted and chose the model on the train split alone"
        ),
        "n_test_units": len(test),
        "chosen": chosen,
        "model_version": model.version,
        "macro_f1": models[chosen]["tags"]["macro_f1"],
        "micro_f1": models[chosen]["tags"]["micro_f1"],
        "polarity_accuracy": models[chosen]["polarity"]["accuracy"],
        "keyword_macro_f1": keyword_macro,
        "macro_f1_ci95": intervals[chosen],
        "macro_f1_ci95_by_model": intervals,
        "minus_keyword_macro_f1_ci95": versus_keyword,
        "models": models,
        "worst_tags": confusion,
        "support_types_rules": _set_prf(gold_support, rule_support),
        "support_types_model": {
            **_set_prf(gold_support, model_support),
            "learned_types": sorted(model.support.models),
        },
    }


def _set_prf(gold: Sequence[set[str]], pred: Sequence[set[str]]) -> dict[str, Any]:
    """Micro precision, recall and F1 of predicted label sets against gold ones."""
    tp = sum(len(g & p) for g, p in zip(gold, pred, strict=True))
    n_pred, n_gold = sum(map(len, pred)), sum(map(len, gold))
    sp, sr = (tp / n_pred if n_pred else 0.0), (tp / n_gold if n_gold else 0.0)
    return {
        "precision": round(sp, 4),
        "recall": round(sr, 4),
        "f1": round(2 * sp * sr / (sp + sr), 4) if sp + sr else 0.0,
        "n_gold": n_gold,
        "n_pred": n_pred,
    }


def bootstrap_macro_f1(
    y: np.ndarray, pred: np.ndarray, baseline: np.ndarray | None, resamples: int, seed: int = 0
) -> list[float]:
    """The 95% percentile interval of macro-F1 over ``y``'s columns, resampling units with replacement.

    With ``baseline``, the interval of ``macro-F1(pred) − macro-F1(baseline)`` on
    the same resamples (paired). The columns are fixed (the tags averaged on the
    whole test split), so a resample that lacks a tag's positives scores it 0.
    """
    rng = np.random.default_rng(seed)
    yb = y.astype(bool)

    def macro(p: np.ndarray, idx: np.ndarray) -> np.ndarray:
        pb = p.astype(bool)
        tp = (yb[idx] & pb[idx]).sum(axis=1)
        fp = (~yb[idx] & pb[idx]).sum(axis=1)
        fn = (yb[idx] & ~pb[idx]).sum(axis=1)
        denom = 2 * tp + fp + fn
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
        out: np.ndarray = f1.mean(axis=1)
        return out

    idx = rng.integers(0, len(y), size=(resamples, len(y)))
    stat = macro(pred, idx) - (macro(baseline, idx) if baseline is not None else 0.0)
    lo, hi = np.percentile(stat, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def run_tagger(
    labels: Path, embeddings: Path, model_dir: Path, params: dict[str, Any], out: Path, plot_out: Path
) -> dict[str, Any]:
    """The shell: score the trained tagger on the test split; write metrics and per-tag plot data."""
    import pandas as pd

    from pipeline.stages.train import load
    from pipeline.tagging.labels import read_labels

    test = [u for u in read_labels(labels) if u.split == "test"]
    df = pd.read_parquet(embeddings)
    vectors = {k: np.asarray(v, dtype=np.float32) for k, v in zip(df["text_key"], df["vector"], strict=True)}
    metrics = score_tagger(
        test,
        vectors,
        load(model_dir),
        int(params.get("min_test_n", 5)),
        resamples=int(params.get("bootstrap_resamples", 2000)),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    per = metrics["models"][metrics["chosen"]]["tags"]["per_tag"]
    rows = [{"tag": t, "f1": per[t]["f1"], "n": per[t]["n"]} for t in ISSUE_TAGS]
    plot_out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return metrics


def run_search(
    warehouse: Path, queries: Path, query_embeddings: Path, params: SearchParams, out: Path
) -> dict[str, Any]:
    """Score the search on the judged queries (hybrid, dense, lexical) and write ``metrics/search.json``.

    The query vectors come from the embed stage, so no model is loaded here.
    """
    from pipeline.errors import PipelineError
    from pipeline.search.index import evaluate_search, load_index
    from pipeline.stages.embed import read_queries
    from pipeline.warehouse.queries import connect_read_only

    qe = pd.read_parquet(query_embeddings)
    vectors = {q: np.asarray(v, dtype=np.float32) for q, v in zip(qe["query_id"], qe["vector"], strict=True)}
    judged = read_queries(queries)
    missing = [q["query_id"] for q in judged if q["query_id"] not in vectors]
    if missing:
        raise PipelineError(f"queries {missing} have no embedding in {query_embeddings}; re-run the embed stage")
    con = connect_read_only(warehouse, params.memory_limit)
    try:
        index = load_index(con, params)
    finally:
        con.close()
    ids = set(index.meta["unit_id"])
    unknown_units = sorted({u for q in judged for u in q["relevant"] if u not in ids})
    metrics = evaluate_search(index, judged, vectors)
    metrics["n_judged_units_not_in_warehouse"] = len(unknown_units)
    metrics["note"] = (
        "Judged by reading (corpus/labels/SEARCH_QUERIES.md); alpha and per_doc were set before the queries were "
        "scored, not tuned on them. Ranking without grouping or filters, over every unit of the warehouse."
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return metrics
