"""Taggers, metrics, the labels file and train → classify end to end with a fake encoder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.stages import classify, train
from pipeline.tagging.labels import LabelledUnit, add_written, read_labels, split_of
from pipeline.tagging.tagger import KeywordTagger, best_thresholds, label_matrix, tag_metrics
from pipeline.warehouse.contracts import ISSUE_TAGS
from tests.fakes import FakeEncoder

TINY = [
    ("Governors do not challenge leaders about the school's performance.", ["governance"], "weakness"),
    ("The governing body now holds leaders to account well.", ["governance"], "strength"),
    ("Governors have attended training on data.", ["governance", "professional_development"], "neutral"),
    ("ensure that governors understand the school's data", ["governance"], "weakness"),
    ("Governors visit the school regularly and know its strengths.", ["governance"], "strength"),
    ("The chair of governors meets the headteacher weekly.", ["governance"], "neutral"),
    ("Pupils' calculation skills in mathematics are weak.", ["maths_numeracy"], "weakness"),
    ("improve the teaching of mathematics in Key Stage 2", ["maths_numeracy", "teaching_quality"], "weakness"),
    ("Mathematics lessons are now well planned.", ["maths_numeracy", "teaching_quality"], "strength"),
    ("The numeracy leader has written a plan for mathematics.", ["maths_numeracy", "middle_leadership"], "neutral"),
    ("Pupils enjoy mathematics and their number skills have improved.", ["maths_numeracy"], "strength"),
    ("Mathematics results fell last year.", ["maths_numeracy", "pupil_outcomes"], "weakness"),
    ("The school was inspected in October.", [], "neutral"),
    ("I met the headteacher and two teachers.", [], "neutral"),
    ("Thank you for your help during the visit.", [], "neutral"),
]


def tiny_units(copies: int = 3) -> list[LabelledUnit]:
    out = []
    for k in range(copies):
        for i, (text, tags, pol) in enumerate(TINY):
            t = text if k == 0 else f"{text} ({k})"
            out.append(
                LabelledUnit(f"u{k}-{i}", "d", "x.txt", 0, len(t), t, "real", "train", tuple(tags), pol, (), "t")
            )
    return out


def test_tag_metrics_per_tag_micro_macro_and_too_few() -> None:
    y = label_matrix([["governance"], ["governance"], ["maths_numeracy"], []])
    pred = label_matrix([["governance"], [], ["maths_numeracy", "governance"], []])
    m = tag_metrics(y, pred, min_n=2)
    assert m["per_tag"]["governance"] == {"n": 2, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert m["per_tag"]["maths_numeracy"] == {"n": 1, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert m["macro_f1"] == 0.5 and m["n_tags_in_macro"] == 1  # maths (n=1) is listed, not averaged
    assert m["too_few_examples"]["maths_numeracy"] == 1 and m["too_few_examples"]["safeguarding"] == 0
    assert m["micro_precision"] == pytest.approx(2 / 3, abs=1e-4) and m["micro_recall"] == pytest.approx(
        2 / 3, abs=1e-4
    )


def test_best_threshold_maximises_f1_per_tag() -> None:
    y = np.array([[1, 0], [1, 0], [0, 0], [0, 0]])
    scores = np.array([[0.9, 0.1], [0.35, 0.2], [0.3, 0.3], [0.1, 0.4]])
    assert best_thresholds(y, scores, [0.2, 0.32, 0.5]).tolist() == [0.32, 0.5]  # tag 2 has no positive: 0.5


def test_cross_fitted_thresholds_are_never_chosen_on_the_units_they_judge() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((200, len(ISSUE_TAGS))) < 0.2).astype(float)
    scores = rng.random(y.shape)  # noise: any F1 above chance is a threshold fitted to the units themselves
    params = train.TrainParams(folds=5, min_tag_n=1)
    in_sample = tag_metrics(y, scores >= best_thresholds(y, scores, params.grid), 1)["micro_f1"]
    held_out = tag_metrics(y, train.cross_fitted(y, scores, params), 1)["micro_f1"]
    assert held_out < in_sample - 0.01


def test_cross_validation_scores_real_units_and_trains_on_the_others_in_every_fold() -> None:
    enc = FakeEncoder()
    real = tiny_units()
    written = [
        LabelledUnit(f"w{i}", "w", "w.txt", 0, 1, f"Staff have been appointed to post number {i}.", "written",
                     "train", ("staffing",), "neutral", (), "writer")
        for i in range(10)
    ]  # fmt: skip
    units = real + written
    emb = enc.encode([u.text for u in units])
    y = label_matrix([u.tags for u in units])
    pol = [u.polarity for u in units]
    origin = np.array([u.origin == "real" for u in units])
    params = train.TrainParams(folds=3, min_tag_n=3)
    report = train.cross_validate("embedding", [u.text for u in units], emb, y, pol, params, origin)
    assert report["n"] == len(real) and report["scored"] == "real" and report["polarity"]["n"] == len(real)
    assert report["tags"]["per_tag"]["staffing"]["n"] == 0  # the written units are never scored
    assert report["macro_f1_thresholds_in_sample"] >= report["tags"]["macro_f1"]
    everything = train.cross_validate("embedding", [u.text for u in units], emb, y, pol, params, None)
    assert everything["n"] == len(units) and everything["scored"] == "all"


def test_keyword_baseline_is_transparent() -> None:
    kw = KeywordTagger()
    scores = kw.scores(["Governors do not challenge leaders.", "Pupils read widely."])
    assert [ISSUE_TAGS[j] for j in np.nonzero(scores[0])[0]] == ["governance"]
    assert [ISSUE_TAGS[j] for j in np.nonzero(scores[1])[0]] == ["english_literacy"]
    assert kw.polarity(["ensure that pupils read", "Reading has improved.", "I met the headteacher."]) == [
        "weakness",
        "strength",
        "neutral",
    ]


def test_train_save_load_classify_end_to_end(tmp_path: Path) -> None:
    enc = FakeEncoder()
    units = tiny_units()
    emb = enc.encode([u.text for u in units])
    params = train.TrainParams(folds=3, min_tag_n=3)
    model, report = train.fit(units, emb, params, enc.name)
    assert set(report) == set(train.CANDIDATES)
    assert model.meta["chosen"] in train.CANDIDATES and model.version.startswith(model.meta["chosen"])
    assert set(model.others) == set(train.CANDIDATES) - {model.meta["chosen"]}
    train.save(model, tmp_path / "m")
    loaded = train.load(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["n_train_units"] == len(units) and set(meta["thresholds"]) == set(ISSUE_TAGS)
    [gov, maths] = classify.classify_texts(
        ["Governors do not challenge leaders about performance.", "Mathematics lessons are well planned."], loaded, enc
    )
    assert gov["tags"][0]["tag"] == "governance" and gov["polarity"] == "weakness"
    assert "maths_numeracy" in [t["tag"] for t in maths["tags"]]
    assert set(gov) == {"text", "tags", "polarity", "support_types"}


def test_a_support_classifier_replaces_the_rules_only_where_it_does_better() -> None:
    enc = FakeEncoder()
    extra = []
    for k in range(8):
        extra += [
            (
                f"The Quillon programme trained teachers in phonics, cohort {k}.",
                ["english_literacy"],
                ("other_external",),
            ),
            (f"A national leader of education visited the school in week {k}.", [], ("national_leader_of_education",)),
            (f"Teachers planned lessons together in week {k}.", ["teaching_quality"], ()),
        ]
    units = tiny_units() + [
        LabelledUnit(f"s{i}", "d", "x.txt", 0, len(t), t, "real", "train", tuple(tags), "neutral", support, "t")
        for i, (t, tags, support) in enumerate(extra)
    ]
    emb = enc.encode([u.text for u in units])
    model, _ = train.fit(units, emb, train.TrainParams(folds=3, min_tag_n=3), enc.name)
    choice = model.meta["support"]["per_type"]
    assert choice["other_external"]["use"] == "classifier" and choice["other_external"]["rules"]["f1"] == 0.0
    assert choice["national_leader_of_education"]["use"] == "rules"  # the rule is already perfect
    assert sorted(model.support.models) == model.meta["support"]["learned"] == ["other_external"]
    texts = ["The Quillon programme trained teachers in phonics again.", "A national leader of education advised us."]
    [quillon, nle] = model.predict(texts, enc.encode(texts))[2]
    assert quillon == ["other_external"] and nle == ["national_leader_of_education"]


def test_two_fits_give_the_same_model() -> None:
    enc = FakeEncoder()
    units = tiny_units()
    emb = enc.encode([u.text for u in units])
    params = train.TrainParams(folds=3, min_tag_n=3, candidates=("embedding",))
    a, ra = train.fit(units, emb, params, enc.name)
    b, rb = train.fit(units, emb, params, enc.name)
    assert ra == rb and a.version == b.version
    # a different support label is a different model (its support classifier learns from them)
    relabelled = [replace(units[0], support_types=("partner_school",)), *units[1:]]
    assert train.fit(relabelled, emb, params, enc.name)[0].version != a.version


def test_classify_documents_embeds_each_unit_once_in_batches() -> None:
    enc = FakeEncoder()
    units = tiny_units(1)
    model, _ = train.fit(units, enc.encode([u.text for u in units]), train.TrainParams(folds=3, min_tag_n=3), "x")
    from pipeline.readers.units import make_nlp

    docs = [("a", "Governors do not challenge leaders. Pupils read well."), ("b", "- improve mathematics teaching")]
    enc.calls.clear()
    unit_rows, issue_rows, emb_rows = classify.classify_documents(iter(docs), make_nlp(), enc, model, batch_units=2)
    assert sum(enc.calls) == len(unit_rows) == 3 and enc.calls == [2, 1]
    assert {r["unit_id"] for r in emb_rows} == {r["unit_id"] for r in unit_rows}
    assert all(r["model_version"] == model.version for r in issue_rows)
    for r in issue_rows:
        assert r["tag"] in ISSUE_TAGS and 0 <= r["score"] <= 1


def test_missing_model_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="dvc repro train"):
        train.load(tmp_path)


def test_labels_file_is_checked(tmp_path: Path) -> None:
    row = {
        "unit_id": "u1", "doc_id": "d", "source": "x.txt", "start": 0, "end": 5, "text": "Governors lack data.",
        "origin": "real", "split": "train", "tags": ["governance"], "polarity": "weakness",
        "support_types": [], "labelled_by": "reader",
    }  # fmt: skip
    path = tmp_path / "units.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert read_labels(path)[0].tags == ("governance",)
    path.write_text(json.dumps({**row, "tags": ["governors"]}) + "\n")
    with pytest.raises(PipelineError, match=r"units.jsonl:1: unknown tags \['governors'\]"):
        read_labels(path)
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(PipelineError, match="appears twice"):
        read_labels(path)


def test_written_units_point_into_their_text_and_never_repeat_a_labelled_unit(tmp_path: Path) -> None:
    labels = tmp_path / "units.jsonl"
    real = {
        "unit_id": "u1", "doc_id": "d", "source": "x.txt", "start": 0, "end": 20, "text": "Governors lack data.",
        "origin": "real", "split": "test", "tags": ["governance"], "polarity": "weakness",
        "support_types": [], "labelled_by": "reader",
    }  # fmt: skip
    labels.write_text(json.dumps(real) + "\n")
    written = tmp_path / "w.jsonl"
    rows = [
        {"text": "Phonics is taught well.", "tags": ["english_literacy"], "polarity": "strength",
         "support_types": [], "note": ""},
        {"text": "governors  LACK data.", "tags": ["governance"], "polarity": "weakness", "support_types": [],
         "note": ""},  # the test unit again, folded differently
        {"text": "A national leader of education supports the head.", "tags": ["senior_leadership"],
         "polarity": "neutral", "support_types": ["national_leader_of_education"], "note": "hard"},
        {"text": "Phonics is taught well.", "tags": [], "polarity": "neutral", "support_types": [], "note": ""},
    ]  # fmt: skip
    written.write_text("".join(json.dumps(r) + "\n" for r in rows))
    text_out = tmp_path / "written" / "w.txt"
    assert add_written(written, text_out, labels) == (2, 2)
    units = read_labels(labels)
    assert [u.origin for u in units] == ["real", "written", "written"]
    document = text_out.read_text(encoding="utf-8")
    for u in units[1:]:
        assert document[u.start : u.end] == u.text and u.split == "train" and u.source == text_out.as_posix()
    assert units[2].support_types == ("national_leader_of_education",)
    with pytest.raises(PipelineError, match="labelled already"):
        add_written(written, text_out, labels)
    assert len(read_labels(labels)) == 3
    written.write_text(json.dumps({**rows[0], "text": "Two\nlines."}) + "\n")
    with pytest.raises(PipelineError, match="unit 1 has a line break"):
        add_written(written, tmp_path / "other.txt", labels)
    assert len(read_labels(labels)) == 3 and not (tmp_path / "other.txt").exists()


def test_split_is_fixed_by_text_and_synthetic_units_only_train() -> None:
    assert split_of("Governors lack data.", "real", 0.3) == split_of("governors  lack data.", "real", 0.3)
    assert split_of("Governors lack data.", "synthetic", 0.99) == "train"
    shares = [split_of(f"sentence {i}", "real", 0.3) for i in range(2000)]
    assert 0.25 < shares.count("test") / 2000 < 0.35
