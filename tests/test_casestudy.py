"""The case study parser: the sample case study, hand-checked, and the variations case studies show."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from pipeline.readers.casestudy import parse_case_study
from pipeline.stages.ingest import IngestParams, ingest_document
from pipeline.text.common import fold, normalise_layout
from pipeline.warehouse import contracts
from tests.conftest import RAW

SAMPLE = "003_73e813e566bb7302.txt"


def items(text: str) -> list[dict[str, Any]]:
    text = normalise_layout(text)
    rows = parse_case_study("test", text)["case_study_items"]
    contracts.frame(contracts.CASE_STUDY_ITEMS, rows)
    for r in rows:
        assert fold(text[r["start"] : r["end"]]) == r["text"]
    return rows


@pytest.fixture(scope="module")
def sample() -> tuple[str, list[dict[str, Any]]]:
    path = RAW / SAMPLE
    doc = ingest_document(str(path), path.read_bytes(), IngestParams())
    return doc.text, parse_case_study(doc.doc_id, doc.text)["case_study_items"]


def test_sample_counts_per_part(sample: tuple[str, list[dict[str, Any]]]) -> None:
    _, rows = sample
    # hand count: context 5 paragraphs + 2 bullets; priorities 4 bullets (the intro line is not an item);
    # actions 8 bullets + 1 paragraph; impact 5 bullets (the "full case study is available" pointer is not)
    assert Counter(r["part"] for r in rows) == {"context": 7, "priorities": 4, "actions": 9, "impact": 5}
    assert [r["n"] for r in rows] == list(range(1, 26))
    assert {r["part"]: r["heading"] for r in rows} == {
        "context": "School context",
        "priorities": "Priorities for school improvement",
        "actions": "What was done?",
        "impact": "What has been the overall impact?",
    }
    assert all(r["parent"] is None for r in rows)


def test_sample_item_texts_and_offsets(sample: tuple[str, list[dict[str, Any]]]) -> None:
    text, rows = sample
    contracts.frame(contracts.CASE_STUDY_ITEMS, rows)
    for r in rows:
        assert fold(text[r["start"] : r["end"]]) == r["text"]
    assert rows[0]["text"].startswith("This is a smaller than average primary school situated in a city centre.")
    priorities = [r["text"] for r in rows if r["part"] == "priorities"]
    assert priorities[0] == "Establish a new SLT with clearly identified roles."
    assert priorities[-1] == "Use of drop-in sessions to observe lessons."
    actions = [r["text"] for r in rows if r["part"] == "actions"]
    assert actions[3].startswith("Colleagues brought back aspects of their training")  # a paragraph among bullets
    impact = [r["text"] for r in rows if r["part"] == "impact"]
    assert impact[-1].startswith("Parents are being shown the Attainment Mapping Grids.")
    assert not any("whatworkswell" in r["text"] for r in rows)
    assert not any(r["text"].startswith("The school identified the following") for r in rows)


def test_other_heading_wordings_and_prose_parts() -> None:
    rows = items(
        "Background\n\nThe academy serves a large estate on the edge of a market town.\n\n"
        "Key issues\n\n• Reading in Key Stage 1 was weak.\n• Governors did not hold leaders to account.\n\n"
        "Strategies\n\nLeaders rewrote the phonics programme and trained every adult in it.\n"
        "They checked pupils' reading every six weeks.\n\n"
        "Outcomes\n\nReading results rose to the national average within two years.\n"
    )
    assert [(r["part"], r["heading"]) for r in rows] == [
        ("context", "Background"),
        ("priorities", "Key issues"),
        ("priorities", "Key issues"),
        ("actions", "Strategies"),
        ("impact", "Outcomes"),
    ]
    assert rows[3]["text"] == (
        "Leaders rewrote the phonics programme and trained every adult in it. "
        "They checked pupils' reading every six weeks."
    )


@pytest.mark.parametrize(
    ("heading", "part"),
    [
        ("The school", "context"),
        ("About our school", "context"),
        ("Areas for improvement", "priorities"),
        ("What the school did", "actions"),
        ("What did we do?", "actions"),
        ("Actions taken", "actions"),
        ("What changed?", "impact"),
        ("Results", "impact"),
        ("## Impact", "impact"),
        ("2. Priorities", "priorities"),
    ],
)
def test_heading_vocabulary(heading: str, part: str) -> None:
    rows = items(f"{heading}\n\nPupils now read widely and often in every class of the school.\n")
    assert [r["part"] for r in rows] == [part]


def test_nested_bullets_name_their_parent() -> None:
    rows = items(
        "What was done\n\n"
        "• Leaders introduced a new marking policy.\n"
        "    o Teachers wrote one next step on each piece.\n"
        "    o Pupils answered it in green pen.\n"
        "• Governors visited lessons each term.\n"
    )
    assert [(r["n"], r["parent"]) for r in rows] == [(1, None), (2, 1), (3, 1), (4, None)]
    assert rows[1]["text"] == "Teachers wrote one next step on each piece."


def test_inline_heading_and_heading_without_blank_line() -> None:
    rows = items(
        "Context: A two-form entry infant school with a new headteacher.\n\n"
        "Impact\nAttendance rose from 93% to 96% in one year.\n"
    )
    assert [(r["part"], r["heading"], r["text"]) for r in rows] == [
        ("context", "Context", "A two-form entry infant school with a new headteacher."),
        ("impact", "Impact", "Attendance rose from 93% to 96% in one year."),
    ]


def test_text_before_first_heading_kept_only_when_about_the_school() -> None:
    rows = items(
        "Improving writing in rural schools\n\nCase study 3\n\n"
        "This village school has 90 pupils in four mixed-age classes.\n\n"
        "This series looks at what made a difference.\n\n"
        "Priorities\n\n- Raise standards in writing.\n"
    )
    assert [(r["part"], r["heading"], r["text"]) for r in rows] == [
        ("context", "Case study 3", "This village school has 90 pupils in four mixed-age classes."),
        ("priorities", "Priorities", "Raise standards in writing."),
    ]


def test_stop_heading_ends_the_part() -> None:
    rows = items(
        "Impact\n\n- Results improved.\n\nNext steps\n\n- Share the approach with the cluster.\n\n"
        "Contact details\n\nThe headteacher can be reached through the school office at any time.\n"
    )
    assert [r["text"] for r in rows] == ["Results improved."]


def test_no_headings_no_rows() -> None:
    assert items("Dear parents,\n\nThe school will close early on Friday for staff training.\n") == []
    assert items("") == []
