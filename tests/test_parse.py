"""Stage parse: each document goes to the reader of its type, and the stage writes every table it names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.readers import casestudy, inspection, laplan, letter
from pipeline.stages import parse
from pipeline.warehouse import contracts

LETTER = """1 March 2018

Mrs A Head
Headteacher
Brook Primary School
Brook Lane
Sometown
ST1 2AB

Dear Mrs Head

Requires improvement: monitoring inspection visit to Brook Primary School

Following my visit to your school on 20 February 2018, I write on behalf of Her Majesty's Chief Inspector of Education.

Leaders and governors are taking effective action to tackle the areas requiring improvement identified at the recent
section 5 inspection.

Yours sincerely

Ann Other
Her Majesty's Inspector
"""


def test_every_document_type_but_unknown_has_a_reader_module_with_read() -> None:
    modules = {"letter": letter, "inspection": inspection, "casestudy": casestudy, "laplan": laplan}
    assert set(parse.READERS) == contracts.DOC_TYPES - {"unknown"}
    for doc_type, name in parse.READERS.items():
        assert parse.reader_of(doc_type) is modules[name].read, doc_type
    assert parse.reader_of("unknown") is None


def test_a_letter_is_read_by_the_letter_reader_and_unknown_gives_no_rows() -> None:
    rows = parse.parse_document("d1", "hmi_letter", LETTER)
    assert rows == letter.letter_rows(letter.parse_letter("d1", LETTER))
    assert rows["letters"][0]["school_name"] == "Brook Primary School"
    assert parse.parse_document("d2", "unknown", LETTER) == {}


def test_run_writes_every_table_it_names_and_checks_its_contract(tmp_path: Path) -> None:
    docs = pd.DataFrame(
        [
            {"doc_id": "d1", "doc_type": "hmi_letter", "text": LETTER},
            {"doc_id": "d2", "doc_type": "unknown", "text": "Minutes of a meeting."},
        ]
    )
    docs.to_parquet(tmp_path / "documents.parquet", index=False)
    counts = parse.run(tmp_path / "documents.parquet", tmp_path / "parsed")
    assert set(counts) == set(parse.OUTPUTS)
    assert counts["letters"] == 1 and counts["inspections"] == 0
    for name in parse.OUTPUTS:
        frame = pd.read_parquet(tmp_path / "parsed" / f"{name}.parquet")
        contracts.check(frame, contracts.TABLES[name])
        assert len(frame) == counts[name], name


@pytest.mark.parametrize("doc_type", sorted(parse.READERS))
def test_each_reader_returns_only_tables_the_stage_writes(doc_type: str) -> None:
    read = parse.reader_of(doc_type)
    assert read is not None
    assert set(read("d", LETTER)) <= set(parse.OUTPUTS)
