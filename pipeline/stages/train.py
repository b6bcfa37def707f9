"""Stage ``train``: fit the issue taggers on the train split, choose one by cross-validation.

Candidates (``params.yaml: train.candidates``): the keyword baseline, an
embedding classifier, the embedding + keyword hybrid and that hybrid with word
n-grams. Each is scored by k-fold cross-validation **on the train split only**:
the folds split its real units, and the written and synthetic units train in
every fold (the test split is real text only; they are not what the product
meets). Per-tag thresholds of the embedding models are chosen on the real
units' out-of-fold scores, and the candidates are compared by the real units'
out-of-fold macro-F1 with cross-fitted thresholds. The best is refitted on the
whole train split.
The test split is embedded here (so each labelled unit is embedded once and
`evaluate` needs no model) but its labels are never read.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import PipelineError
from pipeline.search.encoder import Encoder
from pipeline.tagging.labels import LabelledUnit
from pipeline.tagging.tagger import (
    EmbeddingTagger,
    KeywordTagger,
    SupportModel,
    best_thresholds,
    fit_support,
    label_matrix,
    polarity_metrics,
    prf,
    tag_metrics,
)
from pipeline.warehouse.contracts import ISSUE_TAGS, SUPPORT_TYPES

CANDIDATES = ("keyword", "embedding", "embedding+keywords", "embedding+keywords+ngrams")
MODEL_FILE = "tagger.pkl"
META_FILE = "meta.json"


@dataclass(frozen=True)
class TrainParams:
    """``params.yaml: train``."""

    seed: int = 13
    folds: int = 5
    C: float = 4.0
    threshold_step: float = 0.05
    min_tag_n: int = 5
    candidates: tuple[str, ...] = CANDIDATES
    batch_size: int = 64
    polarity_balanced: bool = True
    written_weight: float = 1.0

    @property
    def grid(self) -> list[float]:
        """Thresholds tried per tag."""
        return [round(t, 4) for t in np.arange(self.threshold_step, 1.0, self.threshold_step)]


@dataclass
class TrainedModel:
    """What `classify` and `evaluate` load: the chosen tagger and how it was made."""

    tagger: KeywordTagger | EmbeddingTagger
    encoder_name: str
    version: str
    meta: dict[str, Any] = field(default_factory=dict)
    others: dict[str, KeywordTagger | EmbeddingTagger] = field(default_factory=dict)
    """The candidates not chosen, fitted the same way, kept so `evaluate` can compare them on test."""
    support: SupportModel = field(default_factory=SupportModel)
    """Support types: the rules, and a classifier for the types where it did better (`support_choice`)."""

    def predict(self, texts: Sequence[str], emb: np.ndarray) -> tuple[np.ndarray, list[str], list[list[str]]]:
        """Tag scores (``n × len(ISSUE_TAGS)``), polarities and support types, from one feature matrix."""
        if isinstance(self.tagger, KeywordTagger) or not len(texts):
            scores, polarity = predict_with(self.tagger, texts, emb)
            return scores, polarity, self.support.predict(texts, None)
        x = self.tagger.features(texts, emb)
        scores, polarity = self.tagger.predict_features(x)
        return scores, polarity, self.support.predict(texts, x)

    @property
    def thresholds(self) -> np.ndarray:
        """Per-tag decision thresholds."""
        return np.asarray(self.tagger.thresholds)


def predict_with(
    tagger: KeywordTagger | EmbeddingTagger, texts: Sequence[str], emb: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Tag scores and polarities of any tagger."""
    if isinstance(tagger, KeywordTagger):
        return tagger.scores(texts), tagger.polarity(texts)
    return tagger.predict(texts, emb)


def text_key(text: str) -> str:
    """The embedding cache key of a text."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_tagger(name: str, params: TrainParams) -> KeywordTagger | EmbeddingTagger:
    """A fresh, unfitted candidate."""
    if name == "keyword":
        return KeywordTagger()
    if name in CANDIDATES[1:]:
        return EmbeddingTagger(
            C=params.C,
            keywords="+keywords" in name,
            ngrams="+ngrams" in name,
            polarity_balanced=params.polarity_balanced,
            seed=params.seed,
        )
    raise PipelineError(f"unknown train candidate {name!r}; valid: {', '.join(CANDIDATES)}")


def cross_validate(
    name: str,
    texts: Sequence[str],
    emb: np.ndarray,
    y: np.ndarray,
    polarity: Sequence[str],
    params: TrainParams,
    real: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> dict[str, Any]:
    """Out-of-fold tag scores and polarities of a candidate on the real units, and their metrics.

    ``real`` marks the units that are real text (all units when ``None`` or
    none is real). Only they are split into folds and scored: the test split
    is real text, so that is what candidates are compared by; the other units
    (written and synthetic) train in every fold, as they will in the final
    model. The per-tag thresholds are chosen on the real units' out-of-fold
    scores, and the reported tag metrics judge each real unit with thresholds
    chosen without it (`cross_fitted`), so the threshold choice does not
    flatter them (``macro_f1_thresholds_in_sample`` gives the flattered figure).
    """
    by_origin = real is not None and bool(real.any())
    scored, folds = real_folds(real, len(texts), params)
    ys, pol_s = y[scored], [polarity[i] for i in scored.tolist()]
    if name == "keyword":
        kw = KeywordTagger()
        scored_texts = [texts[i] for i in scored.tolist()]
        scores, pol = kw.scores(scored_texts), kw.polarity(scored_texts)
        thresholds = kw.thresholds
        pred = in_sample = scores >= thresholds
    else:
        scores = np.zeros_like(ys, dtype=float)
        pol = [""] * len(scored)
        for fit_on, va in folds:
            tagger = make_tagger(name, params)
            assert isinstance(tagger, EmbeddingTagger)
            tagger.fit(
                [texts[i] for i in fit_on],
                emb[fit_on],
                y[fit_on],
                [polarity[i] for i in fit_on],
                None if weights is None else weights[fit_on],
            )
            scores[va], labels = tagger.predict([texts[i] for i in scored[va]], emb[scored[va]])
            for i, p in zip(va, labels, strict=True):
                pol[i] = p
        thresholds = best_thresholds(ys, scores, params.grid)
        in_sample = scores >= thresholds
        pred = cross_fitted(ys, scores, params)
    tags = tag_metrics(ys, pred, params.min_tag_n)
    return {
        "n": len(scored),
        "scored": "real" if by_origin else "all",
        "tags": tags,
        "macro_f1_thresholds_in_sample": tag_metrics(ys, in_sample, params.min_tag_n)["macro_f1"],
        "polarity": polarity_metrics(pol_s, pol),
        "thresholds": {t: float(v) for t, v in zip(ISSUE_TAGS, thresholds, strict=True)},
    }


def real_folds(
    real: np.ndarray | None, n: int, params: TrainParams
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The units cross-validation scores and its folds: ``(fit_on, positions in scored)`` per fold.

    The real units are scored (all units when ``real`` is None or none is
    real); the other units are in every fold's ``fit_on``.
    """
    from sklearn.model_selection import KFold

    mask = real if real is not None and real.any() else np.ones(n, dtype=bool)
    scored, others = np.flatnonzero(mask), np.flatnonzero(~mask)
    folds = KFold(params.folds, shuffle=True, random_state=params.seed).split(scored)
    return scored, [(np.concatenate([scored[tr], others]), va) for tr, va in folds]


def cross_fitted(y: np.ndarray, scores: np.ndarray, params: TrainParams) -> np.ndarray:
    """Tag decisions where each fold's thresholds are chosen on the other folds' scores."""
    from sklearn.model_selection import KFold

    pred = np.zeros_like(y, dtype=bool)
    if len(y) < params.folds:
        return scores >= best_thresholds(y, scores, params.grid)
    for tr, va in KFold(params.folds, shuffle=True, random_state=params.seed + 1).split(scores):
        pred[va] = scores[va] >= best_thresholds(y[tr], scores[tr], params.grid)
    return pred


def support_choice(
    name: str,
    units: Sequence[LabelledUnit],
    emb: np.ndarray,
    params: TrainParams,
    weights: np.ndarray,
) -> dict[str, Any]:
    """Per support type, the rules or a classifier on candidate ``name``'s features, by cross-validation.

    The folds are those of `cross_validate` (real units scored; the others train
    in every fold). A type goes to the classifier when it has at least
    ``min_tag_n`` real positives and its out-of-fold F1 beats the rules' F1 on
    the same units; ``chosen`` is micro-averaged over that mix, chosen on the
    same scores (so it flatters the mix a little).
    """
    from pipeline.readers.support import find_support

    types, y = support_matrix(units)
    texts = [u.text for u in units]
    scored, folds = real_folds(np.array([u.origin == "real" for u in units]), len(units), params)
    learned = np.zeros((len(scored), len(types)), dtype=bool)
    for fit_on, va in folds:
        tagger = make_tagger(name, params)
        assert isinstance(tagger, EmbeddingTagger)
        x_fit = tagger.features([texts[i] for i in fit_on], emb[fit_on])
        x_va = tagger.features([texts[i] for i in scored[va]], emb[scored[va]])
        models = fit_support(x_fit, y[fit_on], types, weights[fit_on], params.C, params.seed)
        for j, t in enumerate(types):
            if t in models:
                learned[va, j] = models[t].predict_proba(x_va)[:, 1] >= 0.5
    ys = y[scored].astype(bool)
    rules = np.array([[t in {s for s, _ in find_support(texts[i])} for t in types] for i in scored.tolist()])
    rules = rules.reshape(len(scored), len(types))
    per = {}
    for j, t in enumerate(types):
        r, c = prf(ys[:, j], rules[:, j]), prf(ys[:, j], learned[:, j])
        use = "classifier" if r["n"] >= params.min_tag_n and c["f1"] > r["f1"] else "rules"
        per[t] = {"n": r["n"], "rules": r, "classifier": c, "use": use}
    mix = np.where([per[t]["use"] == "classifier" for t in types], learned, rules)
    return {
        "n_units": len(scored),
        "per_type": per,
        "rules": prf(ys, rules),
        "classifier": prf(ys, learned),
        "chosen": prf(ys, mix),
        "learned": [t for t in types if per[t]["use"] == "classifier"],
    }


def support_matrix(units: Sequence[LabelledUnit]) -> tuple[list[str], np.ndarray]:
    """The support type ids (sorted) and a ``units × types`` 0/1 matrix of each unit's support types."""
    types = sorted(SUPPORT_TYPES)
    return types, np.array([[t in u.support_types for t in types] for u in units], dtype=int).reshape(
        len(units), len(types)
    )


def unit_weights(units: Sequence[LabelledUnit], params: TrainParams) -> np.ndarray:
    """Each unit's weight in the loss: ``written_weight`` for hand-written units, 1 for the rest."""
    return np.array([params.written_weight if u.origin == "written" else 1.0 for u in units])


def fit(
    units: Sequence[LabelledUnit], emb: np.ndarray, params: TrainParams, encoder_name: str
) -> tuple[TrainedModel, dict[str, Any]]:
    """Cross-validate every candidate on ``units`` (the train split), refit the best.

    Returns:
        The chosen model and the cross-validation report of every candidate.
    """
    if not units:
        raise PipelineError("no labelled units in the train split; label some (corpus/labels/GUIDE.md)")
    texts = [u.text for u in units]
    y = label_matrix([u.tags for u in units])
    polarity = [u.polarity for u in units]
    real = np.array([u.origin == "real" for u in units])
    weights = unit_weights(units, params)
    report = {name: cross_validate(name, texts, emb, y, polarity, params, real, weights) for name in params.candidates}
    chosen = max(params.candidates, key=lambda c: (report[c]["tags"]["macro_f1"], c == "keyword"))
    fitted = {}
    for name in params.candidates:
        tagger = make_tagger(name, params)
        if isinstance(tagger, EmbeddingTagger):
            tagger.fit(texts, emb, y, polarity, weights)
            tagger.thresholds = np.array([report[name]["thresholds"][t] for t in ISSUE_TAGS])
        fitted[name] = tagger
    support = SupportModel()
    support_report: dict[str, Any] = {}
    chosen_tagger = fitted[chosen]
    if isinstance(chosen_tagger, EmbeddingTagger):
        support_report = support_choice(chosen, units, emb, params, weights)
        if support_report["learned"]:
            types, y_support = support_matrix(units)
            cols = [types.index(t) for t in support_report["learned"]]
            support = SupportModel(
                fit_support(
                    chosen_tagger.features(texts, emb),
                    y_support[:, cols],
                    support_report["learned"],
                    weights,
                    params.C,
                    params.seed,
                )
            )
    from pipeline.incremental import code_of, fingerprint

    # the version names what made the model: its labels (support types too), params and code
    digest = hashlib.sha256(
        json.dumps(
            {
                "units": [(u.unit_id, u.tags, u.polarity, u.support_types) for u in units],
                "params": repr(params),
                "chosen": chosen,
                "code": fingerprint(code_of(__name__)),
            }
        ).encode()
    ).hexdigest()[:12]
    meta = {
        "chosen": chosen,
        "chosen_by": (
            f"out-of-fold macro-F1 of the real units of the train split ({params.folds} folds, cross-fitted thresholds)"
        ),
        "n_train_units": len(units),
        "n_train_by_origin": {o: sum(u.origin == o for u in units) for o in sorted({u.origin for u in units})},
        "n_train_per_tag": {t: int(v) for t, v in zip(ISSUE_TAGS, y.sum(axis=0), strict=True)},
        "encoder": encoder_name,
        "support": support_report,
    }
    others = {k: v for k, v in fitted.items() if k != chosen}
    model = TrainedModel(fitted[chosen], encoder_name, f"{chosen}-{digest}", meta, others, support)
    return model, report


def save(model: TrainedModel, folder: Path) -> None:
    """Write the model (pickle, for this package only) and a readable meta.json."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / MODEL_FILE).open("wb") as f:
        pickle.dump(model, f)
    meta = {**model.meta, "version": model.version, "thresholds": dict(zip(ISSUE_TAGS, model.thresholds.tolist()))}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load(folder: Path) -> TrainedModel:
    """Load a saved model; says how to train one when there is none."""
    path = folder / MODEL_FILE
    if not path.exists():
        raise PipelineError(
            f"no trained model in {folder}/; train one with `dvc repro train` "
            "(or `ofsted-nlp train --labels corpus/labels/units.jsonl --model models/tagger ...`)"
        )
    with path.open("rb") as f:
        model = pickle.load(f)
    if not isinstance(model, TrainedModel):
        raise PipelineError(f"{path} is not a model written by `ofsted-nlp train`")
    return model


def embed_units(units: Sequence[LabelledUnit], encoder: Encoder) -> dict[str, np.ndarray]:
    """One vector per distinct text, keyed by `text_key`."""
    texts = sorted({u.text for u in units})
    vecs = encoder.encode(texts)
    return {text_key(t): v for t, v in zip(texts, vecs, strict=True)}


def run(
    units: Sequence[LabelledUnit], encoder: Encoder, params: TrainParams, model_dir: Path, embeddings_out: Path
) -> dict[str, Any]:
    """The stage: embed every labelled unit once, cross-validate, save the chosen model and the embeddings."""
    import pandas as pd

    vectors = embed_units(units, encoder)
    train = [u for u in units if u.split == "train"]
    emb = np.stack([vectors[text_key(u.text)] for u in train]) if train else np.zeros((0, encoder.dim))
    model, report = fit(train, emb, params, encoder.name)
    save(model, model_dir)
    embeddings_out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"text_key": list(vectors), "vector": [v.tolist() for v in vectors.values()]}).to_parquet(
        embeddings_out, index=False
    )
    return {
        "chosen": model.meta["chosen"],
        "version": model.version,
        "cross_validation": report,
        "support": model.meta["support"],
    }
