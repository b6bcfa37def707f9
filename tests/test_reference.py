"""Reference-data loaders: GIAS schools and links, lineage, Ofsted outcomes MI, LA categorisations."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from pipeline.errors import PipelineError
from pipeline.readers.reference import (
    OUTCOME_ALIASES,
    academic_year,
    lineage,
    load_la_categories,
    load_outcomes,
    load_school_links,
    load_schools,
    normalise_postcode,
    outcome_kind,
    parse_date,
    parse_grade,
    read_csv_text,
)
from pipeline.warehouse import contracts
from tests.conftest import ROOT

REF = ROOT / "corpus" / "reference"
GIAS_HEADER = (
    "URN,LA (code),LA (name),EstablishmentName,TypeOfEstablishment (name),EstablishmentStatus (name),"
    "OpenDate,CloseDate,PhaseOfEducation (name),Postcode"
)


def _load(loader: Any, name: str, *args: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, rejects = loader((REF / name).read_bytes(), name, *args)
    contracts.frame(contracts.REFERENCE_REJECTS, rejects)
    return rows, rejects


def _reasons(rejects: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(r["row"], r["reason"]) for r in rejects]


def _gias(*lines: str) -> bytes:
    return ("\n".join((GIAS_HEADER, *lines)) + "\n").encode()


# --- decoding ---------------------------------------------------------------------------------


def test_read_csv_text_decodes_utf8_bom_cp1252_and_utf16() -> None:
    text = "URN,EstablishmentName\n1,St Mary’s\n"
    assert read_csv_text(text.encode("utf-8")) == text
    assert read_csv_text(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    assert read_csv_text(text.encode("cp1252")) == text
    assert read_csv_text(text.encode("utf-16")) == text
    assert read_csv_text(b"a,b\n1,\x81\n") == "a,b\n1,\x81\n"  # undefined in cp1252: read, not fatal


def test_sample_files_are_in_the_encodings_the_readme_gives() -> None:
    gias = (REF / "edubasealldata_sample.csv").read_bytes()
    assert b"\x92" in gias  # the cp1252 right quote of St Mary's
    with pytest.raises(UnicodeDecodeError):
        gias.decode("utf-8")
    assert (REF / "inspection_outcomes_2019_aliases.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_bom_header_and_cp1252_names_load() -> None:
    utf8 = _gias("5,821,Luton,St Mary’s,Community school,Open,,,Primary,LU2 8AB")
    rows, rejects = load_schools(b"\xef\xbb\xbf" + utf8, "bom.csv")  # the BOM must not spoil the URN header
    assert rejects == [] and rows[0]["urn"] == 5 and rows[0]["name"] == "St Mary’s"
    rows, _ = load_schools(utf8.decode().encode("cp1252"), "cp.csv")
    assert rows[0]["name"] == "St Mary’s"


# --- small parsers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("31-08-2014", dt.date(2014, 8, 31)),
        ("31/08/2014", dt.date(2014, 8, 31)),
        ("2014-08-31", dt.date(2014, 8, 31)),
        ("1-9-2014", dt.date(2014, 9, 1)),
        ("31/08/2014 00:00:00", dt.date(2014, 8, 31)),
        ("", None),
        ("NULL", None),
    ],
)
def test_parse_date(value: str, expected: dt.date | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["31-02-2013", "2014/31/08", "August 2014", "31-08-14"])
def test_parse_date_rejects(value: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        parse_date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("lu2 9tb", "LU2 9TB"), ("LU29TB", "LU2 9TB"), (" SW1A  1AA ", "SW1A 1AA"), ("M1 2WD", "M1 2WD"), ("LU2", None)],
)
def test_normalise_postcode(value: str, expected: str | None) -> None:
    assert normalise_postcode(value) == expected


def test_academic_year_forms() -> None:
    assert academic_year("2012/13") == ("2012/13", dt.date(2012, 9, 1), dt.date(2013, 8, 31))
    assert academic_year("2012-2013") == ("2012/13", dt.date(2012, 9, 1), dt.date(2013, 8, 31))
    assert academic_year("1999/00") == ("1999/00", dt.date(1999, 9, 1), dt.date(2000, 8, 31))
    for bad in ("2012/14", "2012", "12/13", "2012/2014"):
        assert academic_year(bad) is None


def test_grades_and_kinds() -> None:
    assert [parse_grade(v) for v in ("1", "4", "3.0", "9", "", "NULL", "Requires improvement", "Satisfactory")] == [
        1,
        4,
        3,
        None,
        None,
        None,
        3,
        3,
    ]
    with pytest.raises(ValueError, match="'5'"):
        parse_grade("5")
    kinds = {
        "S5 Inspection": "section5",
        "Section 5": "section5",
        "": "section5",
        "S8": "monitoring",
        "Section 8": "monitoring",
        "Monitoring Inspection": "monitoring",
        "S8 No Formal Designation Inspection": "monitoring",
        "Short inspection": "monitoring",
        "Ungraded inspection": "monitoring",
    }
    assert {k: outcome_kind(k) for k in kinds} == kinds


# --- schools ----------------------------------------------------------------------------------


def test_schools_sample() -> None:
    rows, rejects = _load(load_schools, "edubasealldata_sample.csv")
    contracts.frame(contracts.SCHOOLS, rows)
    assert len(rows) == 14
    assert _reasons(rejects) == [(5, "missing_urn"), (10, "unknown_la"), (14, "bad_date")]
    assert "'31-02-2013'" in rejects[2]["message"] and "CloseDate" in rejects[2]["message"]
    by_urn = {r["urn"]: r for r in rows}
    assert by_urn[103980] == {
        "urn": 103980,
        "name": "Rounds Green Primary School",
        "la_code": 333,
        "la_name": "Sandwell",
        "postcode": "B69 2DP",
        "phase": "Primary",
        "status": "Open",
        "type": "Community school",
        "opened": None,
        "closed": None,
    }
    assert by_urn[900101]["closed"] == dt.date(2014, 8, 31)
    assert by_urn[900111]["opened"] == dt.date(2014, 9, 1)
    assert by_urn[900202]["postcode"] == "SG6 1RY"  # written sg61ry
    assert by_urn[900121]["name"] == "St Mary’s Catholic Primary School"  # cp1252
    letter_schools = {(r["name"], r["postcode"], r["la_name"]) for r in rows}
    assert {
        ("Wigmore Primary School", "LU2 9TB", "Luton"),
        ("Pixmore Junior School", "SG6 1RS", "Hertfordshire"),
        ("Leys Junior School", "DE55 7HA", "Derbyshire"),
        ("Fernhollow Primary School", "B69 9ZZ", "Sandwell"),  # the synthetic section 5 report's school
    } <= letter_schools


def test_schools_ignore_other_columns_in_any_order() -> None:
    data = (
        b"Town,Postcode,CloseDate,OpenDate,PhaseOfEducation (name),TypeOfEstablishment (name),Street,"
        b"EstablishmentStatus (name),LA (name),LA (code),EstablishmentName,URN,Gender (name)\n"
        b"Oldtown,ab1 2cd,,2001-09-01,Primary,Community school,High St,Open,Northshire,999,Ash School,42,Mixed\n"
    )
    rows, rejects = load_schools(data, "reordered.csv")
    assert rejects == []
    assert rows == [
        {
            "urn": 42,
            "name": "Ash School",
            "la_code": 999,
            "la_name": "Northshire",
            "postcode": "AB1 2CD",
            "phase": "Primary",
            "status": "Open",
            "type": "Community school",
            "opened": dt.date(2001, 9, 1),
            "closed": None,
        }
    ]


def test_schools_bad_rows_are_reported_not_fatal() -> None:
    data = _gias(
        "1,821,Luton,Ash School,x,Open,,,Primary,LU1 1AA",
        "1,821,Luton,Ash School again,x,Open,,,Primary,LU1 1AA",
        "abc,821,Luton,Birch School,x,Open,,,Primary,LU1 1AB",
        "",
        "3,LUT,Luton,Cedar School,x,Open,,,Primary,LU1 1AC",
        "4,821,Luton,Elm School,x,Open,,,Primary,not a postcode",
        "5,821,Luton,Fir School,x,Open,32-01-2001,30-02-2003,Primary,",
        "6,821,Luton,Gorse School,x,Open,,,Primary,",
    )
    rows, rejects = load_schools(data, "bad.csv")
    assert [r["urn"] for r in rows] == [1, 6]
    assert _reasons(rejects) == [
        (2, "bad_value"),
        (3, "missing_urn"),
        (5, "bad_value"),
        (6, "bad_value"),
        (7, "bad_date"),
    ]
    assert "'abc'" in rejects[1]["message"] and "'LUT'" in rejects[2]["message"]
    assert "32-01-2001" in rejects[4]["message"] and "30-02-2003" in rejects[4]["message"]  # both dates named


def test_missing_column_is_a_pipeline_error_naming_it() -> None:
    data = b"URN,EstablishmentName,LA (code),Postcode\n1,Ash,821,LU1 1AA\n"
    with pytest.raises(PipelineError) as err:
        load_schools(data, "edubasealldata20240101.csv")
    message = str(err.value)
    assert "edubasealldata20240101.csv" in message
    assert "'LA (name)'" in message and "'OpenDate'" in message
    assert "['URN', 'EstablishmentName', 'LA (code)', 'Postcode']" in message
    with pytest.raises(PipelineError, match="empty"):
        load_schools(b"", "empty.csv")


# --- links and lineage ------------------------------------------------------------------------


def test_links_sample() -> None:
    rows, rejects = _load(load_school_links, "links_sample.csv")
    contracts.frame(contracts.SCHOOL_LINKS, rows)
    assert len(rows) == 5
    assert _reasons(rejects) == [(6, "missing_urn")]
    assert {"urn": 900101, "link_urn": 900111, "link_type": "Successor", "link_date": dt.date(2014, 9, 1)} in rows


def test_links_bad_rows() -> None:
    data = (
        b"URN,LinkURN,LinkName,LinkType,LinkEstablishedDate\n"
        b"1,2,B,Successor,01-09-2010\n"
        b"1,2,B,Successor,01-09-2010\n"
        b"1,3,C,,01-09-2010\n"
        b"1,4,D,Successor,2010-13-01\n"
        b"1,5,E,Successor,\n"
    )
    rows, rejects = load_school_links(data, "links.csv")
    assert [(r["urn"], r["link_urn"], r["link_date"]) for r in rows] == [(1, 2, dt.date(2010, 9, 1)), (1, 5, None)]
    assert _reasons(rejects) == [(2, "bad_value"), (3, "bad_value"), (4, "bad_date")]


def test_lineage_sample_follows_amalgamation_then_academy() -> None:
    schools, _ = _load(load_schools, "edubasealldata_sample.csv")
    links, _ = _load(load_school_links, "links_sample.csv")
    rows = lineage({s["urn"] for s in schools}, links)
    contracts.frame(contracts.SCHOOL_LINEAGE, rows)
    by_urn = {r["urn"]: (r["current_urn"], r["steps"]) for r in rows}
    assert len(rows) == 14
    assert by_urn[900101] == (900111, 1)
    assert by_urn[900102] == (900111, 2)  # junior → primary → academy
    assert by_urn[900103] == (900111, 2)  # only the predecessor row names this link
    assert by_urn[900111] == (900111, 0)
    assert by_urn[103980] == (103980, 0)


def _link(urn: int, link_urn: int, link_type: str, date: dt.date | None = None) -> dict[str, Any]:
    return {"urn": urn, "link_urn": link_urn, "link_type": link_type, "link_date": date}


def test_lineage_chain_and_predecessor_direction() -> None:
    links = [_link(1, 2, "Successor"), _link(3, 2, "Predecessor - amalgamated")]  # 1 → 2 → 3
    rows = lineage({1, 2, 3, 4}, links)
    assert [(r["urn"], r["current_urn"], r["steps"]) for r in rows] == [(1, 3, 2), (2, 3, 1), (3, 3, 0), (4, 4, 0)]


def test_lineage_cycle_ends() -> None:
    links = [_link(1, 2, "Successor"), _link(2, 3, "Successor"), _link(3, 1, "Successor")]
    rows = lineage({1, 2, 3}, links)
    assert [(r["urn"], r["current_urn"], r["steps"]) for r in rows] == [(1, 3, 2), (2, 1, 2), (3, 2, 2)]
    assert lineage({7}, [_link(7, 7, "Successor")]) == [{"urn": 7, "current_urn": 7, "steps": 0}]


def test_lineage_split_takes_latest_then_smallest() -> None:
    late, early = dt.date(2015, 9, 1), dt.date(2014, 9, 1)
    split = [_link(1, 30, "Successor - Split School", early), _link(1, 20, "Successor - Split School", late)]
    assert lineage({1}, split)[0]["current_urn"] == 20
    tie = [_link(1, 30, "Successor - Split School", late), _link(1, 20, "Successor - Split School", late)]
    assert lineage({1}, tie)[0]["current_urn"] == 20
    undated = [_link(1, 10, "Successor - Split School"), _link(1, 30, "Successor - Split School", early)]
    assert lineage({1}, undated)[0]["current_urn"] == 30


def test_lineage_ignores_links_that_are_not_succession() -> None:
    links = [_link(1, 2, "Merged - expansion of school capacity"), _link(1, 3, "Sixth Form Centre Link")]
    assert [r["current_urn"] for r in lineage({1}, links)] == [1]


# --- outcomes ---------------------------------------------------------------------------------


def test_outcomes_sample() -> None:
    rows, rejects = _load(load_outcomes, "inspection_outcomes_sample.csv")
    contracts.frame(contracts.OUTCOMES, rows)
    assert len(rows) == 13
    assert _reasons(rejects) == [(7, "bad_date"), (11, "unknown_category"), (15, "missing_urn")]
    assert "'XYZ'" in rejects[1]["message"] and "'31/02/2015'" in rejects[0]["message"]
    assert {r["source"] for r in rows} == {"inspection_outcomes_sample.csv"}
    got = {(r["urn"], r["date"]): (r["kind"], r["overall_effectiveness"], r["category_of_concern"]) for r in rows}
    assert got[(103980, dt.date(2016, 11, 9))] == ("section5", 4, "special_measures")
    assert got[(103980, dt.date(2014, 11, 4))] == ("section5", 3, None)
    assert got[(900101, dt.date(2012, 12, 12))] == ("monitoring", None, None)
    assert got[(900111, dt.date(2016, 3, 2))] == ("section5", 2, None)  # after conversion, under the new URN
    # the previous section 5 each letter names (month) is in the file, graded requires improvement
    for urn, month in ((900101, (2012, 10)), (900201, (2013, 9)), (900301, (2012, 9))):
        assert any(u == urn and (d.year, d.month) == month and v == ("section5", 3, None) for (u, d), v in got.items())


def test_outcomes_alias_eras_give_the_same_rows() -> None:
    old, _ = _load(load_outcomes, "inspection_outcomes_sample.csv")
    new, rejects = _load(load_outcomes, "inspection_outcomes_2019_aliases.csv")
    contracts.frame(contracts.OUTCOMES, new)
    assert len(new) == 5 and _reasons(rejects) == [(6, "bad_value")]
    assert contracts.frame(contracts.OUTCOMES, old).columns.equals(contracts.frame(contracts.OUTCOMES, new).columns)

    def strip(r: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in r.items() if k != "source"}

    same_old = [strip(r) for r in old if r["urn"] == 103980 and r["date"] == dt.date(2016, 11, 9)]
    same_new = [strip(r) for r in new if r["urn"] == 103980 and r["date"] == dt.date(2016, 11, 9)]
    assert same_old == same_new and len(same_old) == 1
    assert {(r["kind"], r["category_of_concern"]) for r in new if r["urn"] == 103980} == {
        ("section5", "special_measures"),
        ("monitoring", "special_measures"),
    }
    assert [r["category_of_concern"] for r in new if r["urn"] == 900302] == ["serious_weaknesses"]


def test_outcome_aliases_cover_both_eras_and_never_publication_date() -> None:
    assert "Inspection start date" in OUTCOME_ALIASES["date"] and "Inspection date" in OUTCOME_ALIASES["date"]
    assert not any("publication" in a.casefold() for a in OUTCOME_ALIASES["date"])
    data = b"URN,Publication date,Overall effectiveness\n1,01/02/2015,2\n"
    with pytest.raises(PipelineError) as err:
        load_outcomes(data, "mi.csv")
    assert "'Inspection start date' or 'Inspection date'" in str(err.value)
    assert "['URN', 'Publication date', 'Overall effectiveness']" in str(err.value)


def test_outcomes_first_alias_wins_and_case_is_ignored() -> None:
    data = (
        "urn,INSPECTION DATE,Inspection start date,Publication date,overall effectiveness grade\n"
        "7,02/02/2015,01/02/2015,30/03/2015,Good\n"
    ).encode("cp1252")
    rows, rejects = load_outcomes(data, "mi.csv")
    assert rejects == []
    assert rows[0]["date"] == dt.date(2015, 2, 1) and rows[0]["overall_effectiveness"] == 2
    assert rows[0]["kind"] == "section5" and rows[0]["category_of_concern"] is None  # no type/category columns


def test_outcomes_categories_and_duplicates() -> None:
    data = (
        b"URN,Inspection date,Overall Effectiveness,Category of Concern,Inspection type\n"
        b"1,01/02/2015,4,SWK,S5\n"
        b"2,01/02/2015,4,Serious Weaknesses,S5\n"
        b"3,01/02/2015,4,NTI,S5\n"
        b"4,01/02/2015,3,-,S5\n"
        b"5,01/02/2015,4,special  measures,S5\n"
        b"5,01/02/2015,4,SM,S5\n"
        b"6,01/02/2015,4,Requires attention,S5\n"
        b"7,,4,SM,S5\n"
    )
    rows, rejects = load_outcomes(data, "mi.csv")
    assert [r["category_of_concern"] for r in rows] == [
        "serious_weaknesses",
        "serious_weaknesses",
        "serious_weaknesses",
        None,
        "special_measures",
    ]
    assert _reasons(rejects) == [(6, "bad_value"), (7, "unknown_category"), (8, "bad_date")]
    contracts.frame(contracts.OUTCOMES, rows)


# --- LA categories ----------------------------------------------------------------------------


def test_la_categories_sample() -> None:
    schools, _ = _load(load_schools, "edubasealldata_sample.csv")
    rows, rejects = _load(load_la_categories, "la_categories_sample.csv", {s["la_name"] for s in schools})
    contracts.frame(contracts.LA_CATEGORIES, rows)
    assert len(rows) == 6
    assert _reasons(rejects) == [(4, "unknown_la"), (6, "unknown_category"), (9, "bad_date"), (10, "bad_value")]
    assert (
        "'Herts'" in rejects[0]["message"] and "'amber'" in rejects[1]["message"] and "'sip'" in rejects[3]["message"]
    )
    wigmore = next(r for r in rows if r["urn"] == 900101 and r["academic_year"] == "2012/13")
    assert wigmore == {
        "urn": 900101,
        "la_name": "Luton",
        "academic_year": "2012/13",
        "year_start": dt.date(2012, 9, 1),
        "year_end": dt.date(2013, 8, 31),
        "la_category": "satisfactory_satisfactory_capacity",  # written in the plan's words
        "floor_risk": "medium",
        "support_given": ["la_adviser_consultant", "national_leader_of_governance"],
    }
    # each letter school has the year of its letter and the year before
    years = {(r["urn"], r["academic_year"]) for r in rows}
    assert {(900101, "2012/13"), (900101, "2011/12"), (900201, "2013/14"), (900201, "2012/13")} <= years
    assert {(900301, "2012/13"), (900301, "2011/12")} <= years


def test_la_categories_without_known_las_and_variants() -> None:
    data = (
        b"urn,la_name,academic_year,la_category,floor_risk,support_given\n"
        b"1,Herts,2012-13,Satisfactory-good-capacity,HIGH, partner_school ; diocese ;\n"
        b"2,Herts,2012/13,good,,\n"
        b"3,Herts,2012/13,good,severe,\n"
        b"2,Herts,2012/2013,good,,\n"
        b",Herts,2012/13,good,,\n"
    )
    rows, rejects = load_la_categories(data, "cats.csv", None)
    contracts.frame(contracts.LA_CATEGORIES, rows)
    assert rows[0]["academic_year"] == "2012/13" and rows[0]["la_category"] == "satisfactory_good_capacity"
    assert rows[0]["floor_risk"] == "high" and rows[0]["support_given"] == ["partner_school", "diocese"]
    assert rows[1]["support_given"] == [] and rows[1]["floor_risk"] is None
    assert _reasons(rejects) == [(3, "bad_value"), (4, "bad_value"), (5, "missing_urn")]


def test_la_categories_known_las_ignore_case_and_give_the_canonical_name() -> None:
    data = b"urn,la_name,academic_year,la_category,floor_risk,support_given\n1,LUTON,2012/13,good,,\n"
    rows, rejects = load_la_categories(data, "cats.csv", {"Luton"})
    assert rejects == [] and rows[0]["la_name"] == "Luton"


def test_la_categories_missing_column() -> None:
    data = b"urn,la_name,year,la_category\n1,Luton,2012/13,good\n"
    with pytest.raises(PipelineError, match=r"cats\.csv: missing column 'academic_year', 'floor_risk'"):
        load_la_categories(data, "cats.csv", None)


def test_la_category_for_a_school_not_in_the_schools_table_is_rejected() -> None:
    data = (
        b"urn,la_name,academic_year,la_category,floor_risk,support_given\n"
        b"900101,Luton,2012/13,good,,\n123,Luton,2012/13,good,,\n"
    )
    rows, rejects = load_la_categories(data, "cats.csv", {"Luton"}, {900101})
    assert [r["urn"] for r in rows] == [900101]
    assert [(r["row"], r["reason"]) for r in rejects] == [(2, "unknown_urn")]
