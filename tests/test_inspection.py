"""The section 5 report parser: the sample report hand-checked, and variants of wording and layout."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pipeline.readers.inspection import grade_number, parse_inspection, read_category_of_concern
from pipeline.stages.ingest import IngestParams, ingest_document
from pipeline.text.common import normalise_layout
from pipeline.warehouse import contracts
from tests.conftest import shared_report

TABLES = ("inspections", "field_evidence", "judgements", "recommendations")


def check_contracts(rows: dict[str, list[dict[str, Any]]]) -> None:
    assert set(rows) == set(TABLES)
    for name in TABLES:
        contracts.frame(contracts.TABLES[name], rows[name])
    assert len(rows["inspections"]) == 1


def parse(text: str) -> dict[str, list[dict[str, Any]]]:
    rows = parse_inspection("test", normalise_layout(text))
    check_contracts(rows)
    return rows


def record(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return rows["inspections"][0]


def grades(rows: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    return {j["area"]: j["grade"] for j in rows["judgements"]}


# -- the sample report --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> tuple[str, dict[str, list[dict[str, Any]]]]:
    report = shared_report()
    doc = ingest_document(str(report), report.read_bytes(), IngestParams())
    return doc.text, parse_inspection(doc.doc_id, doc.text)


def test_sample_record(sample: tuple[str, dict[str, list[dict[str, Any]]]]) -> None:
    _, rows = sample
    check_contracts(rows)
    rec = record(rows)
    assert rec["status"] == "ok" and rec["error"] is None
    assert rec["school_name"] == "Rounds Green Primary School"
    assert rec["address"] == "Brades Road, Oldbury, West Midlands B69 2DP"
    assert rec["postcode"] == "B69 2DP"
    assert rec["urn"] == 103980
    assert rec["local_authority"] == "Sandwell"
    assert rec["inspection_start"] == dt.date(2016, 11, 9)
    assert rec["inspection_end"] == dt.date(2016, 11, 10)
    assert rec["overall_effectiveness"] == 4
    assert rec["previous_overall_effectiveness"] == 3
    assert rec["category_of_concern"] == "special_measures"


def test_sample_judgements(sample: tuple[str, dict[str, list[dict[str, Any]]]]) -> None:
    text, rows = sample
    assert [(j["area"], j["heading"], j["grade"], j["grade_text"]) for j in rows["judgements"]] == [
        ("overall_effectiveness", "Overall effectiveness", 4, "Inadequate"),
        ("leadership_management", "Effectiveness of leadership and management", 4, "Inadequate"),
        ("teaching_learning_assessment", "Quality of teaching, learning and assessment", 4, "Inadequate"),
        ("personal_development_behaviour_welfare", "Personal development, behaviour and welfare", 4, "Inadequate"),
        ("outcomes", "Outcomes for pupils", 4, "Inadequate"),
        ("early_years", "Early years provision", 4, "Inadequate"),
    ]
    for j in rows["judgements"]:
        assert text[j["start"] : j["end"]] == f"{j['heading']} {j['grade_text']}"
        assert j["end"] < text.index("Summary of key findings")  # read from the summary table


def test_sample_recommendations(sample: tuple[str, dict[str, list[dict[str, Any]]]]) -> None:
    text, rows = sample
    recs = rows["recommendations"]
    assert len(recs) == 22
    top = [r for r in recs if r["parent"] is None]
    assert [r["n"] for r in top] == [1, 5, 9, 13, 17]
    children = {t["n"]: [r["n"] for r in recs if r["parent"] == t["n"]] for t in top}
    assert children == {1: [2, 3, 4], 5: [6, 7, 8], 9: [10, 11, 12], 13: [14, 15, 16], 17: [18, 19, 20, 21, 22]}
    assert {r["intro"] for r in recs} == {"What does the school need to do to improve further?"}
    assert recs[0]["text"] == (
        "As a matter of urgency, ensure that all aspects of safeguarding are effective by: "
        "adhering closely to the school\u2019s safeguarding policy "
        "assessing risks regularly and taking immediate action on potential or identified shortcomings "
        "teaching pupils to keep safe from risks such as child exploitation and radicalisation."
    )
    assert recs[1]["text"] == "adhering closely to the school\u2019s safeguarding policy"
    assert recs[2]["text"] == (
        "assessing risks regularly and taking immediate action on potential or identified shortcomings"
    )
    assert recs[12]["text"].startswith(
        "Improve personal development, behaviour and welfare, including pupils\u2019 attendance, by:"
    )
    assert recs[-1]["text"] == (
        "ensuring that parents contribute to staff\u2019s knowledge about what children know and can do "
        "and keeping parents informed so that they know how to support their children at home."
    )
    for r in recs:
        assert " ".join(text[r["start"] : r["end"]].replace("- ", " ").split()) == r["text"]
        assert "\n\n" not in text[r["start"] : r["end"]] or r["parent"] is None
    # the external review sentence after the list is not a bullet, so not an item
    assert not any("external review" in r["text"] for r in recs)
    assert recs[-1]["end"] < text.index("An external review")


def test_sample_evidence(sample: tuple[str, dict[str, list[dict[str, Any]]]]) -> None:
    text, rows = sample
    ev = {e["field"]: e for e in rows["field_evidence"]}
    assert set(ev) == {
        "school_name",
        "urn",
        "address",
        "postcode",
        "local_authority",
        "inspection_start",
        "inspection_end",
        "overall_effectiveness",
        "previous_overall_effectiveness",
        "category_of_concern",
    }
    for field in ("school_name", "urn", "address", "postcode", "local_authority"):
        assert ev[field]["value"] in text[ev[field]["start"] : ev[field]["end"]]
    assert ev["inspection_start"]["value"] == "2016-11-09"
    assert text[ev["inspection_start"]["start"] : ev["inspection_start"]["end"]] == "9\u201310 November 2016"
    assert ev["inspection_end"]["value"] == "2016-11-10"
    assert text[ev["overall_effectiveness"]["start"] : ev["overall_effectiveness"]["end"]].endswith("Inadequate")
    assert (
        text[ev["previous_overall_effectiveness"]["start"] : ev["previous_overall_effectiveness"]["end"]]
        == "Overall effectiveness at previous inspection Requires Improvement"
    )
    assert text[ev["category_of_concern"]["start"] : ev["category_of_concern"]["end"]] == (
        "school requires special measures"
    )


# -- synthetic variants -------------------------------------------------------------------------

GOOD_2015 = """School report

Hollyfield Meadow Infant School
Orchard Lane
Northbury
NB7 3QT

Inspection dates 3 and 4 March 2015

Overall effectiveness Good

Effectiveness of leadership and management Good

Quality of teaching, learning and assessment good

Personal development, behaviour and welfare OUTSTANDING

Outcomes for pupils Good

16 to 19 study programmes Requires improvement

Overall effectiveness at previous inspection Not previously inspected

Full report

This school continues to improve. The school no longer requires special measures.

What does the school need to do to improve?

(Information for the school and appropriate authority)

- Give the most able pupils harder work in
mathematics.
- Check that reading books match what pupils can read.

Inspection judgements

School details

Unique reference number 654321

Local authority North Wold
"""


def test_good_report_without_category() -> None:
    rows = parse(GOOD_2015)
    rec = record(rows)
    assert rec["status"] == "ok"
    assert rec["school_name"] == "Hollyfield Meadow Infant School"
    assert rec["address"] == "Orchard Lane, Northbury, NB7 3QT"
    assert rec["postcode"] == "NB7 3QT"
    assert rec["urn"] == 654321
    assert rec["local_authority"] == "North Wold"
    assert (rec["inspection_start"], rec["inspection_end"]) == (dt.date(2015, 3, 3), dt.date(2015, 3, 4))
    assert rec["overall_effectiveness"] == 2
    assert rec["previous_overall_effectiveness"] is None  # not previously inspected
    assert rec["category_of_concern"] is None  # "no longer requires" is not in the category
    assert grades(rows) == {
        "overall_effectiveness": 2,
        "leadership_management": 2,
        "teaching_learning_assessment": 2,
        "personal_development_behaviour_welfare": 1,
        "outcomes": 2,
        "sixth_form": 3,
    }
    assert {j["area"]: j["grade_text"] for j in rows["judgements"]}["personal_development_behaviour_welfare"] == (
        "OUTSTANDING"
    )
    fields = {e["field"] for e in rows["field_evidence"]}
    assert "previous_overall_effectiveness" not in fields and "category_of_concern" not in fields
    recs = rows["recommendations"]
    assert [(r["n"], r["parent"], r["text"]) for r in recs] == [
        (1, None, "Give the most able pupils harder work in mathematics."),
        (2, None, "Check that reading books match what pupils can read."),
    ]
    assert recs[0]["intro"] == "What does the school need to do to improve?"


OLD_SCALE = """School report

Brookvale Church of England Junior School
Station Road, Eastleigh Parva EP4 9LL

Inspection dates 29 September 2015

Overall effectiveness This inspection: Requires improvement 3
Previous inspection: Satisfactory 3
Achievement of pupils Requires improvement 3
Quality of teaching Satisfactory 3
Behaviour and safety of pupils Good 2
Leadership and management Inadequate 4

Inspection judgements
"""


def test_older_grade_scale_with_satisfactory() -> None:
    rows = parse(OLD_SCALE)
    rec = record(rows)
    assert rec["status"] == "ok"
    assert rec["inspection_start"] == rec["inspection_end"] == dt.date(2015, 9, 29)
    assert rec["overall_effectiveness"] == 3
    assert rec["previous_overall_effectiveness"] == 3
    assert rec["postcode"] == "EP4 9LL"
    assert grades(rows) == {
        "overall_effectiveness": 3,
        "outcomes": 3,
        "teaching_learning_assessment": 3,
        "personal_development_behaviour_welfare": 2,
        "leadership_management": 4,
    }
    texts = {j["area"]: j["grade_text"] for j in rows["judgements"]}
    assert texts["teaching_learning_assessment"] == "Satisfactory 3"
    assert rows["recommendations"] == []


@pytest.mark.parametrize(
    ("written", "start", "end"),
    [
        ("Inspection dates 9 and 10 November 2016", dt.date(2016, 11, 9), dt.date(2016, 11, 10)),
        ("Inspection dates 30 November\u20131 December 2016", dt.date(2016, 11, 30), dt.date(2016, 12, 1)),
        ("Inspection date 29 September 2015", dt.date(2015, 9, 29), dt.date(2015, 9, 29)),
        ("Inspection dates 31 December 2015 \u2013 1 January 2016", dt.date(2015, 12, 31), dt.date(2016, 1, 1)),
        ("Dates of inspection: 12-14 May 2010", dt.date(2010, 5, 12), dt.date(2010, 5, 14)),
    ],
)
def test_inspection_date_formats(written: str, start: dt.date, end: dt.date) -> None:
    text = f"School report\n\nAsh Tree Primary School\n\n{written}\n\nOverall effectiveness Good\n"
    rows = parse(text)
    rec = record(rows)
    assert (rec["inspection_start"], rec["inspection_end"]) == (start, end)
    ev = next(e for e in rows["field_evidence"] if e["field"] == "inspection_start")
    assert ev["value"] == start.isoformat()
    evidence = normalise_layout(text)[ev["start"] : ev["end"]]
    assert evidence in written and str(end.year) in evidence


@pytest.mark.parametrize(
    ("sentence", "category"),
    [
        (
            "Her Majesty\u2019s Chief Inspector is of the opinion that this school has serious weaknesses because "
            "one or more of the key areas is inadequate.",
            "serious_weaknesses",
        ),
        ("In accordance with the Act, this academy requires special measures.", "special_measures"),
        ("The school is placed in special measures.", "special_measures"),
        ("This school no longer requires special measures.", None),
        ("The school was placed in special measures in March 2014.", None),
        ("The school does not have serious weaknesses.", None),
        ("The school no longer has serious weaknesses.", None),
        ("Teaching in the school is good.", None),
    ],
)
def test_category_of_concern_wording(sentence: str, category: str | None) -> None:
    span = read_category_of_concern(sentence)
    assert (span.text if span else None) == category
    if span and category:
        assert sentence[span.start : span.end].lower().endswith(category.replace("_", " "))


def test_serious_weaknesses_in_a_report() -> None:
    text = GOOD_2015.replace(
        "The school no longer requires special measures.",
        "The inspector is of the opinion that this school has serious weaknesses.",
    )
    assert record(parse(text))["category_of_concern"] == "serious_weaknesses"


EIF_2019 = """Inspection of Kestrel Brook Academy
Mill Hill Road, Westerby WB12 8HD

Inspection dates 9 and 10 October 2019

Overall effectiveness Requires improvement

The quality of education Requires improvement

Behaviour and attitudes Good

Personal development Good

Leadership and management Requires improvement

Sixth-form provision Good

Previous inspection grade Good
"""


def test_2019_framework_report() -> None:
    rows = parse(EIF_2019)
    rec = record(rows)
    assert rec["status"] == "ok"
    assert rec["school_name"] == "Kestrel Brook Academy"
    assert rec["postcode"] == "WB12 8HD"
    assert rec["previous_overall_effectiveness"] == 2
    assert grades(rows) == {
        "overall_effectiveness": 3,
        "quality_of_education": 3,
        "behaviour_attitudes": 2,
        "personal_development": 2,
        "leadership_management": 3,
        "sixth_form": 2,
    }


def test_grade_on_the_line_below_its_area() -> None:
    text = (
        "School report\n\nAsh Tree Primary School\n\nInspection dates 1 May 2014\n\n"
        "Overall effectiveness\nRequires Improvement\n"
    )
    rows = parse(text)
    j = rows["judgements"][0]
    assert (j["area"], j["grade"], j["grade_text"]) == ("overall_effectiveness", 3, "Requires Improvement")
    assert normalise_layout(text)[j["start"] : j["end"]] == "Overall effectiveness\nRequires Improvement"


def test_section_headings_do_not_override_the_summary_table() -> None:
    text = OLD_SCALE + "\nQuality of teaching Good\n\nOverall effectiveness at previous inspection Good\n"
    rows = parse(text)
    assert grades(rows)["teaching_learning_assessment"] == 3
    assert record(rows)["previous_overall_effectiveness"] == 3


def test_missing_fields_make_a_partial_record() -> None:
    rows = parse("School report\n\nAsh Tree Primary School\n\nOverall effectiveness Good\n")
    rec = record(rows)
    assert rec["status"] == "partial"
    assert rec["error"] == "could not read: inspection_start"
    assert rec["school_name"] == "Ash Tree Primary School"


@pytest.mark.parametrize(
    "text",
    [
        "Minutes of the governing body meeting held on 4 March 2015.\n\nPresent: the chair and four governors.\n",
        "",
        "- a bullet\n  - a sub-bullet\n",
    ],
)
def test_non_report_is_partial_without_crash(text: str) -> None:
    rows = parse(text)
    rec = record(rows)
    assert rec["status"] == "partial"
    assert rec["error"] == "could not read: school_name, inspection_start, overall_effectiveness"
    assert rows["judgements"] == [] and rows["recommendations"] == []


def test_recommendations_stop_at_the_next_paragraph_and_nest() -> None:
    text = (
        "What does the school need to do to improve further?\n\n"
        "\u2022 Improve teaching by:\n"
        "   o planning lessons that build on\n"
        "what pupils already know\n"
        "   o marking work promptly.\n\n"
        "\u2022 Raise attendance.\n\n"
        "Inspection judgements\n\n"
        "- Not a recommendation.\n"
    )
    rows = parse(text)
    norm = normalise_layout(text)
    assert [(r["n"], r["parent"], r["text"]) for r in rows["recommendations"]] == [
        (
            1,
            None,
            "Improve teaching by: planning lessons that build on what pupils already know marking work promptly.",
        ),
        (2, 1, "planning lessons that build on what pupils already know"),
        (3, 1, "marking work promptly."),
        (4, None, "Raise attendance."),
    ]
    for r in rows["recommendations"]:
        assert norm[r["start"] : r["end"]].startswith(r["text"][:10])


@pytest.mark.parametrize(
    ("printed", "grade"),
    [
        ("Outstanding", 1),
        ("good", 2),
        ("Requires Improvement", 3),
        ("Satisfactory 3", 3),
        ("INADEQUATE", 4),
        ("2", 2),
        ("Excellent", None),
        ("5", None),
    ],
)
def test_grade_number(printed: str, grade: int | None) -> None:
    assert grade_number(printed) == grade
