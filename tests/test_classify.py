"""The classify command: text mode (stdin, jsonl, input order), stage mode, and the real model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline import cli, contracts, encoder, train
from pipeline.ingest import IngestParams, ingest_document
from pipeline.labels import read_labels
from tests.conftest import ROOT
from tests.fakes import FakeEncoder
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
    from pipeline.classify import classify_texts

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
