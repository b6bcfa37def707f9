"""The classify command: text mode (stdin, jsonl, input order), stage mode, and the real model."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import cli
from pipeline.readers.units import make_nlp
from pipeline.readers.units import units as units_of
from pipeline.search import encoder
from pipeline.stages import classify, embed, train
from pipeline.stages.ingest import IngestParams, ingest_document
from pipeline.tagging import tagger
from pipeline.tagging.labels import read_labels
from pipeline.warehouse import contracts
from tests.conftest import ROOT
from tests.fakes import FakeEncoder
from tests.test_embed import corpus, write_docs
from tests.test_incremental import Counting
from tests.test_train import tiny_units


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    enc = FakeEncoder(dim=384)
    monkeypatch.setattr(encoder, "load_encoder", lambda batch_size=64: enc)
    monkeypatch.setattr(encoder, "LazyEncoder", lambda batch_size=64: enc)
    units = tiny_units()
    model, _ = train.fit(units, enc.encode([u.text for u in units]), train.TrainParams(folds=3, min_tag_n=3), enc.name)
    train.save(model, tmp_path / "tagger")
    return tmp_path / "tagger"


def test_stdin_lines_come_back_as_jsonl_in_input_order(
    fake_model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        "Governors do not challenge leaders.",
        "",
        "Mathematics lessons are well planned.",
        "The LA adviser visited.",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert cli.main(["classify", "--model", str(fake_model), "--format", "jsonl"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in out] == [line for line in lines if line]  # blank lines are not units
    assert all(set(r) == {"text", "tags", "polarity", "support_types"} for r in out)
    assert out[2]["support_types"] == ["la_adviser_consultant"]
    for r in out:
        assert [t["score"] for t in r["tags"]] == sorted((t["score"] for t in r["tags"]), reverse=True)


def test_without_a_model_it_says_how_to_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["classify", "--model", str(tmp_path / "none"), "Governors lack data."]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ofsted-nlp classify: error: no trained model in") and "dvc repro train" in err


def test_stage_mode_writes_units_issues_and_embeddings(
    fake_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "documents.parquet"
    pd.DataFrame(
        {
            "doc_id": ["a", "b"],
            "text": ["Governors do not challenge leaders. Pupils read well.", "- improve the teaching of mathematics"],
        }
    ).to_parquet(docs)
    embedded, out = tmp_path / "embedded", tmp_path / "classified"
    args = ["embed", "--documents", str(docs), "--cache", str(tmp_path / "cache.parquet"), "--out", str(embedded)]
    assert cli.main(args) == 0
    assert capsys.readouterr().out.startswith("embed: 3 units, 0 queries; 3 texts encoded")
    assert cli.main(["classify", "--embedded", str(embedded), "--model", str(fake_model), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("classify: 3 units, ")
    assert cli.main(["classify", "--embedded", str(embedded), "--model", str(fake_model), "--out", str(out)]) == 0
    assert capsys.readouterr().out.endswith(", 0 documents -> " + str(out) + "/\n")  # nothing new
    for table in (contracts.UNITS, contracts.ISSUES):
        contracts.check(pd.read_parquet(out / f"{table.name}.parquet"), table)
    contracts.check(pd.read_parquet(embedded / "unit_embeddings.parquet"), contracts.UNIT_EMBEDDINGS)


def test_classify_says_when_a_unit_has_no_embedding(
    fake_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    embedded = tmp_path / "embedded"
    embedded.mkdir()
    spans = [
        {"unit_id": "u1", "doc_id": "a", "n": 1, "kind": "sentence", "text": "Pupils read well.", "start": 0, "end": 17}
    ]
    contracts.frame(contracts.UNIT_SPANS, spans).to_parquet(embedded / "unit_spans.parquet", index=False)
    contracts.frame(contracts.UNIT_EMBEDDINGS, []).to_parquet(embedded / "unit_embeddings.parquet", index=False)
    args = ["classify", "--embedded", str(embedded), "--model", str(fake_model), "--out", str(tmp_path / "c")]
    assert cli.main(args) == 2
    assert "1 units have no embedding (e.g. u1); re-run the embed stage" in capsys.readouterr().err


def test_extract_issues_fills_the_record_with_grounded_tags(
    fake_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    letter = ROOT / "corpus" / "raw" / "000_9679ccaa734ab79b.txt"
    assert cli.main(["extract", "--issues", "--model", str(fake_model), str(letter)]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["issues"], "a letter has tagged units"
    text = ingest_document(str(letter), letter.read_bytes(), IngestParams()).text
    for issue in rec["issues"]:
        assert set(issue) == {"tag", "polarity", "text", "start", "end", "score"}
        assert " ".join(text[issue["start"] : issue["end"]].split()) == issue["text"]


@pytest.mark.slow
def test_real_model_tags_the_issue_examples(tmp_path: Path) -> None:
    """Trains on the labelled train split with all-MiniLM-L6-v2, as `dvc repro train` does."""
    from pipeline.stages.classify import classify_texts

    enc = encoder.load_encoder()
    units = read_labels(ROOT / "corpus" / "labels" / "units.jsonl")
    train.run(units, enc, train.TrainParams(), tmp_path / "tagger", tmp_path / "emb.parquet")
    gov, num = classify_texts(
        [
            "Governors do not understand the school's performance data well enough to challenge leaders",
            "ensure the numeracy leader secures an effective two year plan",
        ],
        train.load(tmp_path / "tagger"),
        enc,
    )
    assert gov["tags"][0]["tag"] == "governance" and gov["polarity"] == "weakness"
    assert {"maths_numeracy", "middle_leadership"} <= {t["tag"] for t in num["tags"]}


# ---------------------------------------------------------------- incremental runs


def embedded(
    tmp: Path, docs: dict[str, str], name: str = "embedded", enc: FakeEncoder | None = None, **kw: object
) -> Path:
    """The embed stage's folder for ``docs`` (fake encoder)."""
    embed.run(
        write_docs(tmp / f"{name}.parquet", docs),
        None,
        tmp / f"{name}-cache.parquet",
        tmp / name,
        enc or FakeEncoder(dim=384),
        make_nlp(),
        embed.EmbedParams(**kw),  # type: ignore[arg-type]
    )
    return tmp / name


def run(folder: Path, model: train.TrainedModel, out: Path, **kw: object) -> dict[str, int]:
    return classify.run(folder / "unit_spans.parquet", folder / "unit_embeddings.parquet", model, out, **kw)  # type: ignore[arg-type]


def outputs(folder: Path) -> dict[str, pd.DataFrame]:
    units = pd.read_parquet(folder / "units.parquet").sort_values("unit_id").reset_index(drop=True)
    issues = pd.read_parquet(folder / "issues.parquet").sort_values(["unit_id", "tag"]).reset_index(drop=True)
    for df in (units, issues):
        for col in df.columns:
            if df[col].dtype.kind == "i":  # the stage writes the contract's widths (INTEGER: int32)
                df[col] = df[col].astype("int64")
            if df[col].dtype == object:
                df[col] = df[col].map(lambda v: tuple(v) if isinstance(v, np.ndarray) else v)
    return {"units": units, "issues": issues}


def assert_same(a: Path, b: Path) -> None:
    oa, ob = outputs(a), outputs(b)
    for name in oa:
        pd.testing.assert_frame_equal(oa[name], ob[name])


@pytest.fixture(scope="module")
def model() -> train.TrainedModel:
    """The hybrid tagger (embedding, keyword indicators, n-grams), fitted once for the module."""
    enc, units = FakeEncoder(dim=384), tiny_units()
    params = train.TrainParams(folds=3, min_tag_n=3, candidates=("embedding+keywords+ngrams",))
    return train.fit(units, enc.encode([u.text for u in units]), params, enc.name)[0]


@pytest.fixture
def scored(monkeypatch: pytest.MonkeyPatch) -> Counting:
    counter = Counting(classify._classify_batch)
    monkeypatch.setattr(classify, "_classify_batch", counter)
    return counter


def scored_units(counter: Counting) -> int:
    return sum(len(spans) for spans, _, _ in counter.items)


def test_second_run_classifies_nothing(tmp_path: Path, model: train.TrainedModel, scored: Counting) -> None:
    folder = embedded(tmp_path, corpus(4))
    first = run(folder, model, tmp_path / "c")
    assert first["documents"] == 4 and scored_units(scored) == first["units"] == 12 and first["issues"] > 0
    before = outputs(tmp_path / "c")
    scored.items.clear()
    again = run(folder, model, tmp_path / "c")
    assert again == {**first, "documents": 0} and scored.items == []
    after = outputs(tmp_path / "c")
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])
    for table in (contracts.UNITS, contracts.ISSUES):
        contracts.check(pd.read_parquet(tmp_path / "c" / f"{table.name}.parquet"), table)


def test_a_new_document_is_classified_alone_and_a_gone_one_loses_its_rows(
    tmp_path: Path, model: train.TrainedModel, scored: Counting
) -> None:
    run(embedded(tmp_path, corpus(3)), model, tmp_path / "c")
    scored.items.clear()
    folder = embedded(tmp_path, corpus(4))
    assert run(folder, model, tmp_path / "c")["documents"] == 1 and scored_units(scored) == 3
    run(folder, model, tmp_path / "fresh")
    assert_same(tmp_path / "c", tmp_path / "fresh")
    scored.items.clear()
    folder = embedded(tmp_path, {k: v for k, v in corpus(4).items() if k != "doc001"})
    counts = run(folder, model, tmp_path / "c")
    assert counts["documents"] == 0 and scored.items == [] and counts["units"] == 9
    assert "doc001" not in set(pd.read_parquet(tmp_path / "c" / "issues.parquet")["doc_id"])
    run(folder, model, tmp_path / "fresh2")
    assert_same(tmp_path / "c", tmp_path / "fresh2")


def test_a_new_model_or_encoder_classifies_every_document_again(
    tmp_path: Path, model: train.TrainedModel, scored: Counting
) -> None:
    folder = embedded(tmp_path, corpus(3))
    run(folder, model, tmp_path / "c")
    scored.items.clear()
    other = dataclasses.replace(model, version="another-version")
    assert run(folder, other, tmp_path / "c")["documents"] == 3 and scored_units(scored) == 9
    assert set(pd.read_parquet(tmp_path / "c" / "units.parquet")["model_version"]) == {"another-version"}
    scored.items.clear()
    enc = FakeEncoder(dim=384)
    enc.name = "another-encoder"
    folder = embedded(tmp_path, corpus(3), enc=enc)
    assert run(folder, other, tmp_path / "c")["documents"] == 3 and scored_units(scored) == 9


def test_only_documents_whose_units_changed_are_classified_again(
    tmp_path: Path, model: train.TrainedModel, scored: Counting
) -> None:
    folder = embedded(tmp_path, corpus(3))
    run(folder, model, tmp_path / "c")
    scored.items.clear()
    folder = embedded(tmp_path, corpus(3), batch_units=7)  # the embed stage ran again: same units, same vectors
    assert run(folder, model, tmp_path / "c")["documents"] == 0 and scored.items == []
    spans = pd.read_parquet(folder / "unit_spans.parquet")  # as if units.py now cut doc001 differently
    spans.loc[(spans["doc_id"] == "doc001") & (spans["n"] == 3), "kind"] = "sub_bullet"
    spans.to_parquet(folder / "unit_spans.parquet")
    assert run(folder, model, tmp_path / "c")["documents"] == 1 and scored_units(scored) == 3
    units = pd.read_parquet(tmp_path / "c" / "units.parquet")
    assert units.loc[units["doc_id"] == "doc001", "kind"].tolist()[-1] == "sub_bullet"
    run(folder, model, tmp_path / "fresh")
    assert_same(tmp_path / "c", tmp_path / "fresh")


def test_batches_and_two_processes_give_the_rows_of_one_pass(tmp_path: Path, model: train.TrainedModel) -> None:
    folder = embedded(tmp_path, corpus(6))
    spans = pd.read_parquet(folder / "unit_spans.parquet")
    vectors = pd.read_parquet(folder / "unit_embeddings.parquet")
    rows = [{str(k): v for k, v in r.items()} for r in spans.to_dict("records")]
    unit_rows, issue_rows = classify.classify_spans(
        rows, {u: np.asarray(v, dtype=np.float32) for u, v in zip(vectors["unit_id"], vectors["vector"])}, model
    )
    (tmp_path / "whole").mkdir()
    contracts.frame(contracts.UNITS, unit_rows).to_parquet(tmp_path / "whole" / "units.parquet")
    contracts.frame(contracts.ISSUES, issue_rows).to_parquet(tmp_path / "whole" / "issues.parquet")
    for out, kw in (("one", {}), ("two", {"jobs": 2}), ("read", {})):
        with pytest.MonkeyPatch.context() as mp:
            scored = Counting(classify._classify_batch)
            if out == "read":  # spans read 7 at a time (7, 7, 4), each scored in batches of at most 4 units
                mp.setattr(classify, "_SPAN_ROWS", 7)
                mp.setattr(classify, "_classify_batch", scored)
            run(folder, model, tmp_path / out, batch_units=4, **kw)  # 18 units: 5 batches of vectors
        if out == "read":
            assert [len(s) for s, _, _ in scored.items] == [4, 3, 4, 3, 4]
        assert_same(tmp_path / "whole", tmp_path / out)
        for name, rows_ in (("units", unit_rows), ("issues", issue_rows)):  # in the embed stage's order
            got = pd.read_parquet(tmp_path / out / f"{name}.parquet")
            assert got["unit_id"].tolist() == [r["unit_id"] for r in rows_]
    assert_same(tmp_path / "one", tmp_path / "two")


def test_predict_builds_features_once_and_gives_the_scores_of_separate_calls(
    model: train.TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: `scores` and `polarity` each built the features (the keyword searches ran twice)."""
    enc = FakeEncoder(dim=384)
    nlp = make_nlp()
    texts = [
        u.text for path in sorted((ROOT / "corpus" / "raw").glob("*.txt")) for u in units_of("d", path.read_text(), nlp)
    ]
    assert len(texts) > 100
    emb = enc.encode(texts)
    assert isinstance(model.tagger, tagger.EmbeddingTagger)
    before_scores, before_polarity = model.tagger.scores(texts, emb), model.tagger.polarity(texts, emb)
    calls = Counting(tagger.cue_features)
    monkeypatch.setattr(tagger, "cue_features", calls)
    scores, polarity, _ = model.predict(texts, emb)
    assert len(calls.items) == 1
    assert np.array_equal(scores, before_scores) and polarity == before_polarity
