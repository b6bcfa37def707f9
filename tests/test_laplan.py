"""The LA plan parser: the Wiltshire sample plan, hand-checked, and other authorities' wording."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from pipeline.readers.laplan import TABLE_NAMES, criterion, parse_la_plan
from pipeline.stages.ingest import IngestParams, ingest_document
from pipeline.text.common import fold, normalise_layout
from pipeline.warehouse import contracts
from tests.conftest import RAW

SAMPLE = "004_a596cbc933efc5c6.txt"
Tables = dict[str, list[dict[str, Any]]]


def check(text: str, out: Tables) -> None:
    """Every table meets its contract and every offset points at its evidence."""
    assert set(out) == set(TABLE_NAMES)
    for name, rows in out.items():
        contracts.frame(contracts.TABLES[name], rows)
        for r in rows:
            if "start" not in r:
                continue
            evidence = fold(text[r["start"] : r["end"]])
            written = r.get("label") or r.get("area") or r.get("value") or r["text"]
            if name == "la_support_offer":
                assert fold(evidence.replace("<i>", "").replace("</i>", "")) == written
            else:
                assert evidence == written, (name, r)


def plan(text: str) -> Tables:
    text = normalise_layout(text)
    out = parse_la_plan("test", text)
    check(text, out)
    return out


@pytest.fixture(scope="module")
def sample() -> tuple[str, Tables]:
    path = RAW / SAMPLE
    doc = ingest_document(str(path), path.read_bytes(), IngestParams())
    return doc.text, parse_la_plan(doc.doc_id, doc.text)


def test_sample_contracts_and_offsets(sample: tuple[str, Tables]) -> None:
    check(*sample)


def test_sample_plan_fields(sample: tuple[str, Tables]) -> None:
    text, out = sample
    row = out["la_plans"][0]
    assert (row["local_authority"], row["title"], row["year"]) == (
        "Wiltshire",
        "WILTSHIRE WORLD CLASS PRIMARY PLAN",
        2010,
    )
    evidence = {r["field"]: text[r["start"] : r["end"]] for r in out["field_evidence"]}
    assert evidence == {"local_authority": "Wiltshire", "title": "WILTSHIRE WORLD CLASS PRIMARY PLAN", "year": "2010"}


def test_sample_category_scheme(sample: tuple[str, Tables]) -> None:
    _, out = sample
    assert [(r["la_category"], r["label"]) for r in out["la_category_scheme"]] == [
        ("inadequate", "inadequate"),
        ("satisfactory_satisfactory_capacity", "satisfactory with satisfactory capacity to improve"),
        ("satisfactory_good_capacity", "satisfactory with good capacity to improve"),
        ("good", "good"),
        ("outstanding", "outstanding"),
    ]


def test_sample_support_offer(sample: tuple[str, Tables]) -> None:
    _, out = sample
    rows = out["la_support_offer"]
    # hand count: universal provision 9 bullets + the portfolio's 9 "Label: …" paragraphs (None);
    # 8 items offered to good and outstanding schools alike; satisfactory with good capacity 5;
    # inadequate 8; satisfactory with satisfactory capacity 5 (under "In addition:")
    assert Counter(r["la_category"] for r in rows) == {
        None: 18,
        "good": 8,
        "outstanding": 8,
        "satisfactory_good_capacity": 5,
        "inadequate": 8,
        "satisfactory_satisfactory_capacity": 5,
    }
    assert [r["n"] for r in rows] == list(range(1, 53))
    by_text = {(r["la_category"], r["text"]): r["support_type"] for r in rows}
    assert by_text[(None, "5 days of SIP time (3 days in school)")] == "school_improvement_partner"
    assert by_text[(None, "Collaborative partnership development")] == "partner_school"
    assert by_text[(None, "Access to CPD programme")] is None
    assert by_text[
        ("inadequate", "Working with an NLE, partnering the school alongside a NSS to provide multi-levelled support")
    ] == ("national_leader_of_education")
    assert (
        by_text[("satisfactory_good_capacity", "support from a Local Leader of Education")]
        == "local_leader_of_education"
    )
    inadequate = [r for r in rows if r["la_category"] == "inadequate"]
    assert inadequate[0]["heading"].startswith("For schools that are Inadequate (Schools in an Ofsted category")
    assert inadequate[-1]["text"] == "External evaluations to assess progress against the action plan where necessary"
    portfolio = [r for r in rows if r["heading"] == "Portfolio of Support for Schools"]
    assert [r["support_type"] for r in portfolio][:2] == ["national_leader_of_education", "local_leader_of_education"]
    assert portfolio[-1]["support_type"] == "national_leader_of_governance"  # "Consultant Governors: …"
    good = [r for r in rows if r["la_category"] == "good"]
    outstanding = [r for r in rows if r["la_category"] == "outstanding"]
    assert [r["start"] for r in good] == [r["start"] for r in outstanding]  # one item, two categories


def test_sample_rag_areas(sample: tuple[str, Tables]) -> None:
    _, out = sample
    areas = [r["area"] for r in out["la_rag_areas"]]
    assert len(areas) == 16
    assert areas[0] == "Foundation Stage outcomes"
    assert areas[-1] == "SEN"
    assert "KS2 outcomes including 2 levels progress from KS1" in areas


def test_sample_floor_risk(sample: tuple[str, Tables]) -> None:
    _, out = sample
    rows = out["la_floor_risk"]
    assert [r["level"] for r in rows] == ["high", "medium", "low"]
    assert rows[0]["text"].startswith("SIPs will make a judgement, effectively a risk assessment (high, medium, low)")


def test_sample_success_criteria(sample: tuple[str, Tables]) -> None:
    _, out = sample
    got = [(r["from_value"], r["to_value"], r["unit"], r["deadline"]) for r in out["la_success_criteria"]]
    assert got == [
        (4.0, 2.0, "count", "2010-12"),
        (4.0, 2.5, "percent", "2010-12"),
        (68.5, 75.0, "percent", "2011-10"),
        (None, None, None, "2011-07"),  # "above the floor target by July 2011"
        (9.0, 5.0, "percent", "2010-07"),
        (None, 90.0, "percent", "2010-10"),  # "will increase to 90% in English and 90% in mathematics"
        (None, 33.0, "percent", "2011-07"),  # "By July 2011, over 33% of our schools …"
        (None, None, None, None),
        (None, None, None, "2011-07"),
    ]
    measures = [r["measure"] for r in out["la_success_criteria"]]
    assert measures[:3] == [
        "The number of schools in an Ofsted category",
        "The number of schools that are inadequate (Ofsted or LA category)",
        "The number of schools that are good or outstanding",
    ]
    assert measures[3] is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            "The number of schools in special measures will reduce to 3 by July 2012",
            ("schools", None, 3.0, "count", "2012-07"),
        ),
        (
            "Increase the proportion of good schools from 60% to 75% by 2013",
            ("proportion", 60.0, 75.0, "percent", None),
        ),
        (
            "Persistent absence falls from 8 per cent to 6 per cent by the end of September 2014",
            (None, 8.0, 6.0, "percent", "2014-09"),
        ),
        ("All schools have a governor trained in safeguarding", (None, None, None, None, None)),
        ("Attendance will rise to at least 95% before Sept 2015", (None, None, 95.0, "percent", "2015-09")),
    ],
)
def test_criterion_numbers_and_deadlines(written: str, expected: tuple[Any, ...]) -> None:
    c = criterion(written)
    word, from_value, to_value, unit, by = expected
    assert (c["from_value"], c["to_value"], c["unit"], c["deadline"]) == (from_value, to_value, unit, by)
    assert (c["measure"] is None) == (word is None)
    if word:
        assert word in c["measure"]
    assert c["text"] == written  # a year-only deadline stays readable in the text


OTHER_PLAN = """Northshire County Council
School Improvement Strategy 2012-2015

Northshire County Council will categorise every school each autumn.

Schools are placed in Category A, B, C or D according to their latest data.

Category D: inadequate schools receive intensive support.

For all schools
• An annual visit from the link adviser
• Access to the training programme

Schools that are good or outstanding
• Opportunities to become a teaching school

Category\tSupport
Inadequate\t<ul> ▪ Fortnightly visits from an LA consultant ▪ Support from a national leader of education</ul>

Schools are rated Red, Amber and Green on the following areas:
• Attainment
• Leadership

Each school is given a risk rating of high, medium or low against the floor standard.

Targets
1. Reduce the number of schools below floor to 3 by July 2012
2. Increase the percentage of good schools from 60% to 75% by 2013
"""


def test_another_authority_and_layout() -> None:
    out = plan(OTHER_PLAN)
    assert out["la_plans"] == [
        {
            "doc_id": "test",
            "local_authority": "Northshire",
            "title": "School Improvement Strategy 2012-2015",
            "year": 2012,
        }
    ]
    # the letters A–C are never explained, so only D (said to be inadequate) is a row
    assert [(r["la_category"], r["label"]) for r in out["la_category_scheme"]] == [
        ("inadequate", "Category D: inadequate")
    ]
    offer = [(r["la_category"], r["text"], r["support_type"]) for r in out["la_support_offer"]]
    assert offer == [
        (None, "An annual visit from the link adviser", "la_adviser_consultant"),
        (None, "Access to the training programme", None),
        ("good", "Opportunities to become a teaching school", "partner_school"),
        ("outstanding", "Opportunities to become a teaching school", "partner_school"),
        ("inadequate", "Fortnightly visits from an LA consultant", "la_adviser_consultant"),
        ("inadequate", "Support from a national leader of education", "national_leader_of_education"),
    ]
    assert [r["area"] for r in out["la_rag_areas"]] == ["Attainment", "Leadership"]
    assert [r["level"] for r in out["la_floor_risk"]] == ["high", "medium", "low"]
    crit = out["la_success_criteria"]
    assert [(r["from_value"], r["to_value"], r["unit"], r["deadline"]) for r in crit] == [
        (None, 3.0, "count", "2012-07"),
        (60.0, 75.0, "percent", None),
    ]
    assert crit[1]["measure"] == "the percentage of good schools"


def test_letter_scheme_without_meanings_gives_no_rows() -> None:
    out = plan(
        "Eastvale Council Primary Plan\n\nSchools are sorted into Category A, Category B, Category C and "
        "Category D by the school improvement team.\n"
    )
    assert out["la_category_scheme"] == []
    assert out["la_plans"][0]["local_authority"] == "Eastvale"


def test_plain_satisfactory_is_not_a_taxonomy_category() -> None:
    out = plan("Learning Plan\n\nOur categories are inadequate, satisfactory, good and outstanding schools.\n")
    assert [r["la_category"] for r in out["la_category_scheme"]] == ["inadequate", "good", "outstanding"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Dear Mrs Smith\n\nThank you for your help during the visit on 3 May 2014.\n",
        "Minutes of the governors' meeting\n\n- Apologies were received.\n- The budget was agreed.\n",
    ],
)
def test_non_plan_text_gives_empty_tables(text: str) -> None:
    out = plan(text)
    assert all(rows == [] for rows in out.values())
