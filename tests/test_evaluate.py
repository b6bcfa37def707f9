"""The evaluate stage's scoring."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from pipeline.stages import train
from pipeline.stages.evaluate import bootstrap_macro_f1, predictions_from_warehouse, score, score_tagger
from pipeline.tagging.labels import LabelledUnit
from pipeline.warehouse.contracts import ISSUE_TAGS
from tests.fakes import FakeEncoder
from tests.test_train import tiny_units

GOLD = [
    {
        "file": "seed/a.txt",
        "school_name": "A School",
        "postcode": "AB1 2CD",
        "judgement": "Leaders are taking\neffective action.",
        "recommendations": ["improve x", "improve y"],
        "support_types": ["la_adviser_consultant"],
    },
    {"file": "seed/b.txt", "school_name": "B School", "recommendations": [], "support_types": []},
]


def test_perfect_prediction_scores_one() -> None:
    pred = {
        "a.txt": {
            "school_name": "A School",
            "postcode": "AB1 2CD",
            "judgement": "Leaders are taking effective action.",
            "recommendations": ["improve  x", "improve y"],
            "support_types": ["la_adviser_consultant"],
        },
        "b.txt": {"school_name": "B School", "recommendations": [], "support_types": []},
    }
    m = score(GOLD, pred)
    assert m["field_accuracy"] == 1.0 and m["n_field_values"] == 4
    assert m["recommendations"]["f1"] == 1.0 and m["recommendations"]["n_gold"] == 2
    assert m["misses"] == []


def test_misses_and_set_scores() -> None:
    pred = {
        "a.txt": {
            "school_name": "A Schoo",
            "postcode": None,
            "judgement": "Leaders are taking effective action.",
            "recommendations": ["improve x", "improve y and z", "extra"],
            "support_types": ["la_adviser_consultant", "ofsted_hmi"],
        },
    }
    m = score(GOLD, pred)
    assert m["accuracy"] == {"school_name": 0.0, "postcode": 0.0, "judgement": 1.0}
    assert m["field_accuracy"] == 0.25
    assert m["recommendations"] == {"precision": 0.3333, "recall": 0.5, "f1": 0.4, "n_gold": 2, "n_pred": 3}
    assert m["support_types"]["precision"] == 0.5 and m["support_types"]["recall"] == 1.0
    assert {"field": "postcode", "file": "a.txt", "gold": "AB1 2CD", "got": None} in m["misses"]
    assert {"field": "school_name", "file": "b.txt", "gold": "B School", "got": None} in m["misses"]


def test_predictions_read_letters_only(sample_warehouse: Path) -> None:
    """A report's recommendations share the table with letters' and must not break the letter scores."""
    predictions = predictions_from_warehouse(sample_warehouse)
    assert sorted(predictions) == ["000_9679ccaa734ab79b.txt", "001_7962ccb6ef7c9504.txt", "002_ac7e3850505a210e.txt"]
    assert sum(len(p["recommendations"]) for p in predictions.values()) == 9


def test_bootstrap_interval_of_macro_f1_and_of_a_paired_difference() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random((150, 4)) < 0.3).astype(float)
    assert bootstrap_macro_f1(y, y, None, 500) == [1.0, 1.0]
    noisy = np.where(rng.random(y.shape) < 0.2, 1 - y, y)
    assert bootstrap_macro_f1(y, noisy, noisy, 500) == [0.0, 0.0]  # paired: the same predictions never differ
    lo, hi = bootstrap_macro_f1(y, noisy, None, 500)
    point = float(np.mean([f1_score(y[:, j], noisy[:, j]) for j in range(4)]))
    assert lo < point < hi and hi - lo < 0.3
    d_lo, d_hi = bootstrap_macro_f1(y, y, noisy, 500)
    assert 0 < d_lo < d_hi  # perfect beats noisy on every resample


def _tiny_model_and_test() -> tuple[train.TrainedModel, list[LabelledUnit], dict[str, np.ndarray]]:
    """A model trained on the tiny units, and a test split of the same units reworded, with their vectors."""
    enc = FakeEncoder()
    units = tiny_units()
    model, _ = train.fit(units, enc.encode([u.text for u in units]), train.TrainParams(folds=3, min_tag_n=3), "fake")
    test = [replace(u, text=u.text + " again", split="test") for u in units]
    vectors = {train.text_key(u.text): v for u, v in zip(test, enc.encode([u.text for u in test]), strict=True)}
    return model, test, vectors


def test_score_tagger_reports_every_candidate_with_intervals() -> None:
    model, test, vectors = _tiny_model_and_test()
    m = score_tagger(test, vectors, model, min_n=3, resamples=200)
    assert set(m["macro_f1_ci95_by_model"]) == set(train.CANDIDATES) and m["n_test_units"] == len(test)
    lo, hi = m["macro_f1_ci95"]
    assert lo <= m["macro_f1"] <= hi
    # every candidate is perfect on the tiny units and a tie goes to the keywords: no difference to give
    assert m["chosen"] == "keyword" and m["minus_keyword_macro_f1_ci95"] is None


def test_score_tagger_gives_the_interval_of_the_chosen_model_minus_the_keyword_baseline() -> None:
    model, test, vectors = _tiny_model_and_test()
    # an embedding tagger chosen instead, blind to governance (a threshold no score reaches): one tag short
    blind = copy.deepcopy(model.others["embedding"])
    blind.thresholds = np.where(np.array(ISSUE_TAGS) == "governance", 2.0, blind.thresholds)
    chosen = replace(model, tagger=blind, meta={**model.meta, "chosen": "embedding"}, others={"keyword": model.tagger})
    m = score_tagger(test, vectors, chosen, min_n=3, resamples=200)
    assert m["chosen"] == "embedding" and m["keyword_macro_f1"] == 1.0
    n_tags = m["models"]["embedding"]["tags"]["n_tags_in_macro"]
    assert n_tags >= 2 and m["macro_f1"] == round(1 - 1 / n_tags, 4)
    # paired: on every resample (each draws governance units: 18 of the 45) the keywords are ahead by that one tag
    assert m["minus_keyword_macro_f1_ci95"] == [round(-1 / n_tags, 4)] * 2
