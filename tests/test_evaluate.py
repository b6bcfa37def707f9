"""The evaluate stage's scoring."""

from __future__ import annotations

from pathlib import Path

from pipeline.evaluate import predictions_from_warehouse, score

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
