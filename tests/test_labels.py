"""Labelling new real text: the sheet of unlabelled units and adding a reader's labels."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import cli
from pipeline.errors import PipelineError
from pipeline.readers.units import unit_id_of
from pipeline.tagging.labels import add_labelled, read_labels, sheet, split_of

LABELLED = {
    "unit_id": unit_id_of("d1", 0, 20), "doc_id": "d1", "source": "raw/a.txt", "start": 0, "end": 20,
    "kind": "sentence", "text": "Governors lack data.", "origin": "real", "split": "test", "tags": ["governance"],
    "polarity": "weakness", "support_types": [], "labelled_by": "reader",
}  # fmt: skip


def span(doc: str, start: int, text: str) -> dict[str, object]:
    end = start + len(text)
    return {"unit_id": unit_id_of(doc, start, end), "doc_id": doc, "source": f"raw/{doc}.txt", "start": start,
            "end": end, "kind": "sentence", "text": text}  # fmt: skip


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    path = tmp_path / "units.jsonl"
    path.write_text(json.dumps(LABELLED) + "\n", encoding="utf-8")
    return path


def test_the_sheet_lists_unlabelled_units_in_place_with_blank_labels(labels: Path) -> None:
    spans = [
        span("d2", 30, "Teaching in Year 6 is weak."),
        span("d2", 0, "Serco Inspections, Cedar House."),
        {**LABELLED, "source": "raw/a.txt"},  # labelled already: left out
        span("d2", 60, "GOVERNORS lack  data."),  # its text is labelled already (folded): left out, counted
        span("d2", 90, "Phonics is taught well."),
        span("d3", 0, "Phonics is taught well."),  # the same text twice in the sheet: once
    ]
    rows, same_text = sheet(spans, read_labels(labels))
    assert same_text == 2
    assert [r["text"] for r in rows] == ["Serco Inspections, Cedar House.", "Teaching in Year 6 is weak.",
                                         "Phonics is taught well."]  # fmt: skip
    # neighbours are the document's units in order, labelled or not
    assert rows[1]["before"] == "Serco Inspections, Cedar House." and rows[1]["after"] == "GOVERNORS lack  data."
    assert rows[0]["before"] == "" and rows[2]["after"] == ""
    assert all(r["tags"] == [] and r["polarity"] == "" and r["labelled_by"] == "" for r in rows)


def test_labelled_rows_are_added_with_their_fixed_split_and_the_rest_wait(labels: Path, tmp_path: Path) -> None:
    texts = ["Teaching in Year 6 is weak.", "Phonics is taught well.", "Leaders check marking each week.",
             "Attendance is below average.", "The local authority adviser visits monthly."]  # fmt: skip
    rows, _ = sheet([span("d2", 40 * i, t) for i, t in enumerate(texts)], read_labels(labels))
    rows[0].update(tags=["teaching_quality"], polarity="weakness", labelled_by="reader B")
    rows[1].update(tags=["english_literacy"], polarity="strength", labelled_by="reader B")
    rows[4].update(polarity="neutral", support_types=["la_adviser_consultant"], labelled_by="reader B", note="hard")
    path = tmp_path / "sheet.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    counts = add_labelled(path, labels, 0.3)
    added = read_labels(labels)[1:]
    assert [u.text for u in added] == [texts[0], texts[1], texts[4]]
    n_test = sum(u.split == "test" for u in added)
    assert counts == {"added": 3, "train": 3 - n_test, "test": n_test, "unlabelled": 2, "already_labelled": 0}
    assert all(u.origin == "real" and u.split == split_of(u.text, "real", 0.3) for u in added)
    assert added[2].support_types == ("la_adviser_consultant",) and added[2].labelled_by == "reader B"
    # adding the same sheet again adds nothing
    assert add_labelled(path, labels, 0.3)["already_labelled"] == 3 and len(read_labels(labels)) == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labelled_by": " "}, "labelled_by is empty"),
        ({"start": 41}, "start and end were edited"),
        ({"tags": ["leadership"]}, "unknown tags"),
        ({"polarity": "bad"}, "polarity 'bad'"),
        ({"text": None}, "not a labelling sheet row"),
    ],
)
def test_a_bad_labelled_row_writes_nothing(
    labels: Path, tmp_path: Path, change: dict[str, object], message: str
) -> None:
    rows, _ = sheet([span("d2", 0, "Phonics is taught well."), span("d2", 40, "Pupils behave well.")], [])
    good = {**rows[0], "polarity": "strength", "labelled_by": "reader"}
    bad = {**rows[1], "polarity": "strength", "labelled_by": "reader", **change}
    path = tmp_path / "sheet.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    before = labels.read_text(encoding="utf-8")
    with pytest.raises(PipelineError, match=message):
        add_labelled(path, labels, 0.3)
    assert labels.read_text(encoding="utf-8") == before


def test_the_cli_writes_a_sheet_from_the_documents_and_adds_it_back(
    labels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = tmp_path / "documents.parquet"
    text = "Governors lack data.\n\nThe headteacher has raised expectations of teaching. Pupils now behave well."
    table = {"doc_id": ["d1", "d9"], "source": ["raw/a.txt", "other/b.txt"], "text": [text, "Pupils read well."]}
    pq.write_table(pa.table(table), documents)
    out = tmp_path / "sheet.jsonl"
    args = ["label-sheet", "--documents", str(documents), "--labels", str(labels), "--source", "raw/", "--out"]
    assert cli.main([*args, str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == ["The headteacher has raised expectations of teaching.",
                                         "Pupils now behave well."]  # fmt: skip
    assert all(text[r["start"] : r["end"]] == r["text"] for r in rows)
    assert "2 units to label from 1 of 1 documents" in capsys.readouterr().out
    assert cli.main([*args, str(out)]) == 2  # a sheet may hold labels: never overwritten
    rows[0].update(tags=["senior_leadership", "teaching_quality"], polarity="strength", labelled_by="reader")
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text("labels:\n  test_share: 0.3\n", encoding="utf-8")
    add = ["label-add", str(out), "--labels", str(labels), "--params", str(params)]
    assert cli.main(add) == 0
    assert "1 units added" in capsys.readouterr().out and len(read_labels(labels)) == 2
    params.write_text("labels:\n  test_part: 0.3\n", encoding="utf-8")
    assert cli.main(add) == 2  # an unknown params key is an error, not a default
