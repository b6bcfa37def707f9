"""Stage ``link``: school names, matching documents to schools, lineage, outcomes, the shell on the sample."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import PipelineError
from pipeline.readers import reference
from pipeline.stages import ingest, link, parse
from pipeline.stages.ingest import IngestParams
from pipeline.stages.link import (
    DocRef,
    LinkParams,
    candidates,
    doc_refs,
    link_documents,
    match_school,
    name_similarity,
    normalise_la,
    normalise_name,
    report_outcomes,
)
from pipeline.warehouse import contracts
from tests.conftest import RAW, ROOT

REF = ROOT / "corpus" / "reference"
PARAMS = LinkParams()

# Invented schools and places (postcode areas NX and EM do not exist).
NORTH, EAST = "Northshire", "Eastmoor"


def school(
    urn: int,
    name: str,
    la: str = NORTH,
    postcode: str | None = None,
    opened: dt.date | None = None,
    closed: dt.date | None = None,
) -> dict[str, Any]:
    return {
        "urn": urn,
        "name": name,
        "la_code": None,
        "la_name": la,
        "postcode": postcode,
        "phase": None,
        "status": None,
        "type": None,
        "opened": opened,
        "closed": closed,
    }


def doc(
    name: str | None,
    postcode: str | None = None,
    la: str | None = None,
    urn: int | None = None,
    date: dt.date | None = dt.date(2013, 3, 5),
    doc_id: str = "d1",
) -> DocRef:
    return DocRef(doc_id, name, postcode, la, urn, date)


# normalise_name / normalise_la / name_similarity


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("St. Mary's C of E Primary School", "Saint Marys Church of England Primary"),
        ("St Mary\u2019s CofE Primary School", "St Marys C.E. Primary"),
        ("St Anne\u2018s RC Primary", "Saint Anne's Roman Catholic Primary School"),
        ("St Anne's Catholic Primary School", "St Annes R.C. Primary"),
        ("Hill & Dale Primary School", "Hill and Dale Primary"),
        ("The Brackenfold Academy", "Brackenfold School"),
        ("Brackenfold Infants' School", "Brackenfold Infant School"),
        ("Brackenfold Junior & Infant School", "Brackenfold Primary School"),
        ("BRACKENFOLD  PRIMARY   SCHOOL", "brackenfold primary school"),
    ],
)
def test_normalise_name_folds_spelling_variants_together(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


def test_normalise_name_gives_the_documented_form() -> None:
    assert normalise_name("St. Mary's C of E Primary School") == "st marys ce primary"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Wigmore Infant School", "Wigmore Primary School"),
        ("Brackenfold Junior School", "Brackenfold Infant School"),
        ("Brackenfold Nursery School", "Brackenfold Primary School"),
        ("St Mary's RC Primary School", "St Mark's RC Primary School"),
    ],
)
def test_normalise_name_keeps_words_that_tell_schools_apart(a: str, b: str) -> None:
    assert normalise_name(a) != normalise_name(b)
    for phase in ("infant", "junior", "primary", "nursery"):
        assert (phase in normalise_name(a).split()) == (phase in a.lower())


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefgHIJ &'\u2019.-()St CofE", max_size=40))
def test_normalise_name_is_idempotent(name: str) -> None:
    once = normalise_name(name)
    assert normalise_name(once) == once


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Luton Borough Council", "Luton"),
        ("London Borough of Camden", "Camden"),
        ("Brighton & Hove City Council", "Brighton and Hove"),
        ("Northshire County Council", "NORTHSHIRE"),
        ("Royal Borough of Eastmoor and Westmoor", "Eastmoor & Westmoor"),
    ],
)
def test_normalise_la_folds_council_wording(a: str, b: str) -> None:
    assert normalise_la(a) == normalise_la(b)
    assert normalise_la(a)


def test_name_similarity_weighs_the_distinctive_word_and_the_phase() -> None:
    def sim(a: str, b: str) -> float:
        return name_similarity(normalise_name(a), normalise_name(b))

    assert sim("Brackenfold Primary", "Brackenfold Primary School") == 1.0
    assert sim("Pixmoor Junior School", "Pixmore Junior School") > 0.9  # a typo in a long word
    assert sim("St Mary's RC Primary", "St Mark's RC Primary") < 0.8
    assert sim("Oakfold Park Primary", "Oakfold Road Primary") < 0.7
    assert sim("Brackenfold Infant School", "Brackenfold Primary School") < 0.3
    assert sim("", "Brackenfold Primary") == 0.0


def test_name_similarity_counts_every_character_in_order() -> None:
    """The character ratio is 2 × the longest common subsequence / the total length.

    difflib's greedy chain of matching blocks gave 0.81 for this pair (the
    block " primary" cut "fields" off), and a ratio that depended on which name
    came first ("nursery junior catholic junior" / "junior junior": 0.49 one way,
    0.70 the other).
    """

    def sim(a: str, b: str) -> float:
        return name_similarity(normalise_name(a), normalise_name(b))

    # "whitefield primary" is, letter by letter in order, inside "whitfield fields primary": 2 × 18 / 42
    assert sim("Whitfield Fields Primary School", "Whitefield Primary School") == 36 / 42
    a, b = "Nursery Junior Catholic Junior School", "Junior Junior School"
    assert sim(a, b) == sim(b, a) == pytest.approx(0.7027, abs=1e-4)


def _lcs(a: str, b: str) -> int:
    """The longest common subsequence, by the textbook table (a reference for the rapidfuzz one)."""
    row = [0] * (len(b) + 1)
    for ca in a:
        prev = 0
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if ca == cb else max(row[j], row[j - 1])
    return row[-1]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    a=st.text(alphabet="abc de", max_size=24),
    b=st.text(alphabet="abc de", max_size=24),
    cutoff=st.sampled_from([0.0, 0.5, 0.85, 0.5 / 0.75, 0.5 / 0.6, 1.0, 1.25]),
)
def test_ratio_is_the_lcs_ratio_or_zero_below_the_cutoff(a: str, b: str, cutoff: float) -> None:
    exact = 2 * _lcs(a, b) / (len(a) + len(b)) if a or b else 1.0
    got = link._ratio(a, b, cutoff)
    assert got == exact or (got == 0 and exact < cutoff)
    assert link._ratio(b, a, cutoff) == got


@settings(max_examples=300, deadline=None, derandomize=True)
@given(a=st.lists(st.sampled_from(["st", "marys", "mary", "brackenfold", "brakenfold", "primary", "infant",
                                   "junior", "ce", "wigmore", "wigmoor", "hill"]), min_size=1, max_size=4),
       b=st.lists(st.sampled_from(["st", "marys", "mary", "brackenfold", "brakenfold", "primary", "infant",
                                   "junior", "ce", "wigmore", "wigmoor", "hill"]), min_size=1, max_size=4))  # fmt: skip
def test_the_similarity_floor_only_cuts_what_is_below_it(a: list[str], b: list[str]) -> None:
    x, y = " ".join(a), " ".join(b)
    full = name_similarity(x, y)
    for floor in (0.5, 0.85):
        cut = link._similarity(x, y, floor)  # 0.5: what `candidates` asks of a school at another postcode
        assert cut == full or (cut == 0 and full < floor)


# match_school on invented school lists


def test_same_postcode_and_name_links_by_postcode_and_name() -> None:
    schools = [school(900901, "Brackenfold Primary School", postcode="NX1 2AB")]
    match, best, reason = match_school(doc("Brackenfold Primary School", "nx12ab"), schools, PARAMS)
    assert match is not None and best is None and reason is None
    assert (match.urn, match.method) == (900901, "postcode+name")
    assert match.confidence >= PARAMS.min_confidence


def test_a_decoy_with_a_similar_name_elsewhere_is_not_chosen() -> None:
    schools = [
        school(900902, "Brackenfold Park Primary School", postcode="NX9 9ZZ"),
        school(900903, "Brackenfold Primary School", la=EAST, postcode="EM4 4RT"),
        school(900901, "Brackenfold Primary School", postcode="NX1 2AB"),
    ]
    match, _, _ = match_school(doc("Brackenfold Primary School", "NX1 2AB", NORTH), schools, PARAMS)
    assert match is not None and match.urn == 900901


def test_only_a_decoy_with_a_similar_name_is_not_linked() -> None:
    schools = [school(900902, "Brackenfold Park Primary School", postcode="NX9 9ZZ")]
    match, best, reason = match_school(doc("Brackenfold Primary School", "NX1 2AB", NORTH), schools, PARAMS)
    assert match is None and reason
    assert best is None or best.confidence < PARAMS.min_confidence


@pytest.mark.parametrize(
    ("name", "urn"),
    [
        ("Brackenfold Junior School", 900911),
        ("Brackenfold Infant School", 900912),
        ("Brackenfold Infants' School", 900912),
        ("Brackenfold Nursery", 900913),
    ],
)
def test_schools_sharing_a_postcode_are_told_apart_by_name(name: str, urn: int) -> None:
    schools = [
        school(900911, "Brackenfold Junior School", postcode="NX1 2AB"),
        school(900912, "Brackenfold Infant School", postcode="NX1 2AB"),
        school(900913, "Brackenfold Nursery School", postcode="NX1 2AB"),
    ]
    match, _, _ = match_school(doc(name, "NX1 2AB"), schools, PARAMS)
    assert match is not None and match.urn == urn


def test_a_phase_the_postcode_lacks_is_not_linked_to_another_phase() -> None:
    schools = [school(900914, "Brackenfold Primary School", postcode="NX1 2AB")]
    match, best, reason = match_school(doc("Brackenfold Infant School", "NX1 2AB"), schools, PARAMS)
    assert match is None and best is not None and best.urn == 900914 and reason


TWO_LAS = [
    school(900921, "Lowmoor Junior School", la=NORTH, postcode="NX3 4CD"),
    school(900922, "Lowmoor Junior School", la=EAST, postcode="EM5 6EF"),
]


def test_a_name_without_postcode_links_when_the_la_agrees() -> None:
    match, _, _ = match_school(doc("Lowmoor Junior School", la="Eastmoor Borough Council"), TWO_LAS, PARAMS)
    assert match is not None and (match.urn, match.method) == (900922, "name+la")
    assert match.confidence >= PARAMS.min_confidence


@pytest.mark.parametrize("la", [None, "Westmoor"])
def test_a_name_in_two_las_without_the_la_goes_to_a_person(la: str | None) -> None:
    match, best, reason = match_school(doc("Lowmoor Junior School", la=la), TWO_LAS, PARAMS)
    assert match is None
    assert best is not None and best.urn in {900921, 900922}
    assert reason is not None and "ambiguous" in reason and "900921" in reason and "900922" in reason


def test_a_name_only_match_below_min_confidence_is_not_linked() -> None:
    schools = [school(900931, "St Mark's RC Primary School", postcode="NX5 1AA")]
    match, best, reason = match_school(doc("St Mary's RC Primary School", la=NORTH), schools, PARAMS)
    assert match is None and best is not None and best.urn == 900931
    assert best.confidence < PARAMS.min_confidence
    assert reason is not None and "low confidence" in reason and f"{PARAMS.min_confidence}" in reason


def test_min_confidence_is_the_bound() -> None:
    schools = [school(900932, "Lowmoor Junior School")]
    ref = doc("Lowmoor Junior School", la=NORTH)
    assert match_school(ref, schools, PARAMS)[0] is not None
    strict = LinkParams(min_confidence=0.99)
    match, best, reason = match_school(ref, schools, strict)
    assert match is None and best is not None and best.urn == 900932 and "0.99" in (reason or "")


def test_a_printed_urn_wins() -> None:
    schools = [
        school(900941, "Brackenfold Primary School", postcode="NX1 2AB"),
        school(900942, "Lowmoor Junior School", la=EAST, postcode="EM5 6EF"),
    ]
    match, _, _ = match_school(doc("Brackenfold Primary School", "NX1 2AB", urn=900942), schools, PARAMS)
    assert match is not None and (match.urn, match.confidence, match.method) == (900942, 1.0, "urn")


def test_an_unknown_printed_urn_falls_back_to_name_and_is_named_when_unlinked() -> None:
    schools = [school(900941, "Brackenfold Primary School", postcode="NX1 2AB")]
    match, _, _ = match_school(doc("Brackenfold Primary School", "NX1 2AB", urn=999999), schools, PARAMS)
    assert match is not None and (match.urn, match.method) == (900941, "postcode+name")
    match, _, reason = match_school(doc("Lowmoor Junior School", urn=999999), schools, PARAMS)
    assert match is None and reason is not None and "URN 999999" in reason


CONVERSION = [
    school(900951, "Brackenfold Primary School", postcode="NX1 2AB", closed=dt.date(2014, 8, 31)),
    school(900952, "Brackenfold Primary Academy", postcode="NX1 2AB", opened=dt.date(2014, 9, 1)),
]


@pytest.mark.parametrize(
    ("name", "date", "urn"),
    [
        ("Brackenfold Primary School", dt.date(2012, 12, 12), 900951),
        ("Brackenfold Primary School", dt.date(2014, 8, 31), 900951),
        ("Brackenfold Primary Academy", dt.date(2014, 9, 1), 900952),
        # The name the predecessor had, on a date only the academy was open.
        ("Brackenfold Primary School", dt.date(2016, 3, 2), 900952),
    ],
)
def test_the_school_open_on_the_documents_date_is_chosen(name: str, date: dt.date, urn: int) -> None:
    match, _, _ = match_school(doc(name, "NX1 2AB", date=date), CONVERSION, PARAMS)
    assert match is not None and match.urn == urn


def test_without_a_date_a_predecessor_and_its_academy_are_ambiguous() -> None:
    match, best, reason = match_school(doc("Brackenfold Primary School", "NX1 2AB", date=None), CONVERSION, PARAMS)
    assert match is None and best is not None and reason is not None and "ambiguous" in reason


def test_a_closed_school_on_its_own_is_a_candidate_but_not_linked() -> None:
    schools = [school(900961, "Lowmoor Infant School", postcode="NX3 4CD", closed=dt.date(2005, 8, 31))]
    match, best, reason = match_school(doc("Lowmoor Infant School", "NX3 4CD"), schools, PARAMS)
    assert match is None and best is not None and best.urn == 900961
    assert reason is not None and "was not open on 2013-03-05" in reason


def test_closed_schools_are_passed_over_for_an_open_one() -> None:
    schools = [
        school(900962, "Lowmoor Junior School", la=NORTH, postcode="NX3 4CD", closed=dt.date(2010, 8, 31)),
        school(900963, "Lowmoor Junior School", la=NORTH, postcode="NX3 9XY", opened=dt.date(2010, 9, 1)),
    ]
    found = candidates(doc("Lowmoor Junior School", la=NORTH), schools)
    assert [m.urn for m in found] == [900963, 900962]
    match, _, _ = match_school(doc("Lowmoor Junior School", la=NORTH), schools, PARAMS)
    assert match is not None and match.urn == 900963


@pytest.mark.parametrize("name", [None, ""])
def test_a_document_naming_no_school_is_unmatched_with_its_reason(name: str | None) -> None:
    match, best, reason = match_school(doc(name, "NX1 2AB"), CONVERSION, PARAMS)
    assert (match, best, reason) == (None, None, "the document names no school")


def test_a_name_like_no_school_is_unmatched_with_its_reason() -> None:
    match, best, reason = match_school(doc("Quarrington Nursery"), CONVERSION, PARAMS)
    assert match is None and best is None and reason is not None and "Quarrington Nursery" in reason


# link_documents, report_outcomes, doc_refs


def test_link_documents_fills_current_urn_from_the_lineage() -> None:
    links = [{"urn": 900951, "link_urn": 900952, "link_type": "Successor", "link_date": dt.date(2014, 9, 1)}]
    lineage = reference.lineage({900951, 900952}, links)
    current = {r["urn"]: r["current_urn"] for r in lineage}
    refs = [
        doc("Brackenfold Primary School", "NX1 2AB", date=dt.date(2012, 12, 12), doc_id="letter"),
        doc(None, doc_id="blank"),
    ]
    linked, unmatched = link_documents(refs, CONVERSION, current, PARAMS)
    contracts.frame(contracts.LETTER_SCHOOL, linked)
    contracts.frame(contracts.UNMATCHED, unmatched)
    assert [(r["doc_id"], r["urn"], r["current_urn"], r["method"]) for r in linked] == [
        ("letter", 900951, 900952, "postcode+name")
    ]
    assert linked[0]["school_name"] == "Brackenfold Primary School"
    assert [(r["doc_id"], r["best_urn"], r["reason"]) for r in unmatched] == [
        ("blank", None, "the document names no school")
    ]


def test_link_documents_keeps_the_urn_when_the_lineage_does_not_know_it() -> None:
    linked, _ = link_documents([doc("Lowmoor Junior School", la=NORTH)], TWO_LAS, {}, PARAMS)
    assert (linked[0]["urn"], linked[0]["current_urn"]) == (900921, 900921)


def test_report_outcomes_gives_a_row_for_a_linked_report_only() -> None:
    inspections: list[dict[str, Any]] = [
        {"doc_id": "r1", "inspection_start": dt.date(2015, 6, 10), "overall_effectiveness": 4.0,
         "category_of_concern": "special_measures"},
        {"doc_id": "r2", "inspection_start": dt.date(2015, 6, 11), "overall_effectiveness": 2,
         "category_of_concern": None},
        {"doc_id": "r3", "inspection_start": None, "overall_effectiveness": 2, "category_of_concern": None},
    ]  # fmt: skip
    linked = [{"doc_id": "r1", "urn": 900951}, {"doc_id": "r3", "urn": 900952}]
    rows = report_outcomes(inspections, linked)
    contracts.frame(contracts.OUTCOMES, rows)
    assert rows == [
        {
            "urn": 900951,
            "date": dt.date(2015, 6, 10),
            "kind": "section5",
            "source": "r1",
            "overall_effectiveness": 4,
            "category_of_concern": "special_measures",
            "doc_id": "r1",
        }
    ]
    assert isinstance(rows[0]["overall_effectiveness"], int)


def test_doc_refs_dates_a_letter_by_its_first_visit() -> None:
    letters: list[dict[str, Any]] = [
        {"doc_id": "l1", "school_name": "A", "postcode": "NX1 2AB", "local_authority": NORTH,
         "visit_dates": [dt.date(2013, 3, 6), dt.date(2013, 3, 5)], "letter_date": dt.date(2013, 3, 8)},
        {"doc_id": "l2", "school_name": "B", "postcode": None, "local_authority": None,
         "visit_dates": [], "letter_date": dt.date(2013, 3, 8)},
    ]  # fmt: skip
    inspections = [
        {"doc_id": "r1", "school_name": "C", "urn": 103980.0, "postcode": None, "local_authority": None,
         "inspection_start": dt.date(2016, 11, 9)},
    ]  # fmt: skip
    refs = doc_refs(letters, inspections)
    assert [(r.doc_id, r.date, r.urn) for r in refs] == [
        ("l1", dt.date(2013, 3, 5), None),
        ("l2", dt.date(2013, 3, 8), None),
        ("r1", dt.date(2016, 11, 9), 103980),
    ]
    assert isinstance(refs[2].urn, int)


# run, on the sample corpus


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("link")
    documents, rejects = tmp / "documents.parquet", tmp / "rejects.parquet"
    ingest.run(RAW, documents, rejects, asdict(IngestParams()))
    parse.run(documents, tmp / "parsed")
    return tmp / "parsed"


def _read(out: Path, name: str) -> pd.DataFrame:
    df = pd.read_parquet(out / f"{name}.parquet")
    contracts.check(df, contracts.TABLES[name])
    return df


def _doc_id(parsed: Path, table: str, school_name: str) -> str:
    df = pd.read_parquet(parsed / f"{table}.parquet")
    ids = df.loc[df["school_name"] == school_name, "doc_id"].tolist()
    assert len(ids) == 1, (table, school_name, df["school_name"].tolist())
    return str(ids[0])


def test_run_links_the_sample_documents(parsed: Path, tmp_path: Path) -> None:
    out = tmp_path / "linked"
    counts = link.run(parsed, REF, out, PARAMS)
    assert set(counts) == set(link.OUTPUTS)
    tables = {name: _read(out, name) for name in link.OUTPUTS}
    assert {name: len(df) for name, df in tables.items()} == counts
    assert counts["unmatched"] == 0

    got = {r["doc_id"]: (r["urn"], r["current_urn"], r["method"]) for r in tables["letter_school"].to_dict("records")}
    expected = {
        _doc_id(parsed, "letters", "Wigmore Primary School"): (900101, 900111, "postcode+name"),
        _doc_id(parsed, "letters", "Pixmore Junior School"): (900201, 900201, "postcode+name"),
        _doc_id(parsed, "letters", "Leys Junior School"): (900301, 900301, "postcode+name"),
        _doc_id(parsed, "inspections", "Fernhollow Primary School"): (900411, 900411, "urn"),
    }
    assert got == expected
    assert (tables["letter_school"]["confidence"] >= PARAMS.min_confidence).all()

    lineage = {r["urn"]: r["current_urn"] for r in tables["school_lineage"].to_dict("records")}
    assert lineage[900102] == lineage[900103] == lineage[900101] == 900111

    report = _doc_id(parsed, "inspections", "Fernhollow Primary School")
    from_report = tables["outcomes"][tables["outcomes"]["source"] == report].to_dict("records")
    assert len(from_report) == 1
    row = from_report[0]
    assert (row["urn"], row["date"], row["kind"], row["overall_effectiveness"]) == (
        900411,
        dt.date(2017, 3, 7),
        "section5",
        3,
    )
    assert pd.isna(row["category_of_concern"])  # requires improvement: no category of concern


def test_run_reports_the_reference_rows_the_readme_says_are_rejected(parsed: Path, tmp_path: Path) -> None:
    link.run(parsed, REF, tmp_path / "linked", PARAMS)
    rejects = _read(tmp_path / "linked", "reference_rejects")
    got = set(zip(rejects["file"], rejects["row"], rejects["reason"], strict=True))
    assert got == {
        ("edubasealldata_sample.csv", 5, "missing_urn"),
        ("edubasealldata_sample.csv", 10, "unknown_la"),
        ("edubasealldata_sample.csv", 14, "bad_date"),
        ("links_sample.csv", 6, "missing_urn"),
        ("inspection_outcomes_sample.csv", 7, "bad_date"),
        ("inspection_outcomes_sample.csv", 11, "unknown_category"),
        ("inspection_outcomes_sample.csv", 15, "missing_urn"),
        ("inspection_outcomes_2019_aliases.csv", 6, "bad_value"),
        ("la_categories_sample.csv", 4, "unknown_la"),
        ("la_categories_sample.csv", 6, "unknown_category"),
        ("la_categories_sample.csv", 9, "bad_date"),
        ("la_categories_sample.csv", 10, "bad_value"),
    }
    assert rejects["message"].str.len().gt(0).all()


def _reference_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "reference"
    shutil.copytree(REF, folder)
    return folder


def test_run_rejects_a_key_an_earlier_reference_file_gave(parsed: Path, tmp_path: Path) -> None:
    folder = _reference_copy(tmp_path)
    # Read after edubasealldata_sample.csv (file names are read in sorted order).
    (folder / "edubasealldata_sample2.csv").write_text(
        "URN,LA (code),LA (name),EstablishmentName,TypeOfEstablishment (name),EstablishmentStatus (name),"
        "OpenDate,CloseDate,PhaseOfEducation (name),Postcode\n"
        "900201,919,Hertfordshire,Pixmore Renamed School,Community school,Open,,,Primary,SG6 1RS\n"
        "900991,821,Luton,Quarrington Nursery School,Community school,Open,,,Nursery,LU9 9ZZ\n"
    )
    (folder / "la_categories_sample2.csv").write_text(
        "urn,la_name,academic_year,la_category,floor_risk,support_given\n900101,Luton,2012/13,good,low,\n"
    )
    out = tmp_path / "linked"
    link.run(parsed, folder, out, PARAMS)
    rejects = _read(out, "reference_rejects")
    later = rejects[rejects["file"].str.endswith("_sample2.csv")].to_dict("records")
    assert sorted((r["file"], r["row"], r["reason"]) for r in later) == [
        ("edubasealldata_sample2.csv", -1, "bad_value"),
        ("la_categories_sample2.csv", -1, "bad_value"),
    ]
    assert all("earlier file" in r["message"] for r in later)
    schools = _read(out, "schools").set_index("urn")
    assert schools.loc[900201, "name"] == "Pixmore Junior School"
    assert schools.loc[900991, "name"] == "Quarrington Nursery School"
    categories = _read(out, "la_categories")
    kept = categories[(categories["urn"] == 900101) & (categories["academic_year"] == "2012/13")]
    assert kept["la_category"].tolist() == ["satisfactory_satisfactory_capacity"]


def test_run_without_the_reference_folder_fails(parsed: Path, tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"reference folder .* not found"):
        link.run(parsed, tmp_path / "nowhere", tmp_path / "linked", PARAMS)
    assert not (tmp_path / "linked").exists()


def test_run_without_a_schools_file_fails(parsed: Path, tmp_path: Path) -> None:
    folder = _reference_copy(tmp_path)
    (folder / "edubasealldata_sample.csv").unlink()
    with pytest.raises(PipelineError, match=r"no schools file \(edubasealldata\*\.csv\)"):
        link.run(parsed, folder, tmp_path / "linked", PARAMS)
    assert not (tmp_path / "linked").exists()


def test_run_without_the_parse_tables_fails(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"letters\.parquet not found; run the parse stage"):
        link.run(tmp_path / "parsed", REF, tmp_path / "linked", PARAMS)
    assert not (tmp_path / "linked").exists()


@pytest.mark.parametrize(
    ("file", "column"),
    [("edubasealldata_sample.csv", "Postcode"), ("la_categories_sample.csv", "floor_risk")],
)
def test_run_with_a_reference_file_missing_a_column_fails_naming_it(
    parsed: Path, tmp_path: Path, file: str, column: str
) -> None:
    folder = _reference_copy(tmp_path)
    df = pd.read_csv(folder / file, dtype=str, keep_default_na=False, encoding="cp1252")
    df.drop(columns=[column]).to_csv(folder / file, index=False, encoding="utf-8")
    with pytest.raises(PipelineError, match=re.escape(f"{file}: missing column '{column}'")):
        link.run(parsed, folder, tmp_path / "linked", PARAMS)
    assert not (tmp_path / "linked").exists()


def test_normalise_name_regression_c_and_e() -> None:
    """Found by hypothesis: removing "and" made a new "c e" that the next pass folded."""
    assert normalise_name("C&E") == normalise_name(normalise_name("C&E")) == "ce"


# ---------------------------------------------------------------- the school index


class _ScanEverySchool(link.SchoolIndex):
    """The index with its lookups switched off: every school is scored, as before the index existed."""

    def near(self, name: str, postcode: str | None) -> list[int]:
        return list(range(len(self.rows)))

    def near_bounds(self, name: str, postcode: str | None) -> tuple[list[int], np.ndarray]:
        return self.near(name, postcode), np.ones(len(self.rows))  # no bound: every school is scored


_WORDS = ["st", "marys", "mary", "brackenfold", "brakenfold", "lowmoor", "highmoor", "church", "ce", "catholic",
          "primary", "junior", "infant", "nursery", "wigmore", "wigmoor", "pixmore", "hill", "park"]  # fmt: skip


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    names=st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4), min_size=1, max_size=25),
    query=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4),
    postcode=st.sampled_from(["NX1 2AB", "NX9 9ZZ", None]),
)
def test_index_finds_the_same_candidates_as_scoring_every_school(
    names: list[list[str]], query: list[str], postcode: str | None
) -> None:
    schools = [
        {"urn": 100 + i, "name": " ".join(ws) + " School", "la_name": "Northshire" if i % 2 else "Eastmoor",
         "postcode": "NX1 2AB" if i % 3 == 0 else f"NX{i} 1AA", "opened": None, "closed": None}
        for i, ws in enumerate(names)
    ]  # fmt: skip
    d = DocRef("d1", " ".join(query) + " School", postcode, "Northshire", None, dt.date(2015, 1, 1))
    assert link.candidates(d, link.SchoolIndex.build(schools)) == link.candidates(d, _ScanEverySchool.build(schools))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    names=st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4), min_size=1, max_size=25),
    query=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4),
    postcode=st.sampled_from(["NX1 2AB", "NX9 9ZZ", None]),
    la=st.sampled_from(["Northshire", "Eastmoor", None]),
    closed=st.sets(st.integers(0, 24)),
    margin=st.sampled_from([0.0, 0.05, 0.2]),
)
def test_scoring_only_the_leading_schools_decides_as_scoring_every_school(
    names: list[list[str]], query: list[str], postcode: str | None, la: str | None, closed: set[int], margin: float
) -> None:
    schools = [
        {"urn": 100 + i, "name": " ".join(ws) + " School", "la_name": "Northshire" if i % 2 else "Eastmoor",
         "postcode": "NX1 2AB" if i % 3 == 0 else f"NX{i} 1AA", "opened": None,
         "closed": dt.date(2010, 8, 31) if i in closed else None}
        for i, ws in enumerate(names)
    ]  # fmt: skip
    d = DocRef("d1", " ".join(query) + " School", postcode, la, None, dt.date(2015, 1, 1))
    params = link.LinkParams(margin=margin)
    index = link.SchoolIndex.build(schools)
    assert link.match_school(d, index, params) == link.match_school(d, _ScanEverySchool.build(schools), params)
    full = link.candidates(d, index)
    within = [m for m in full if m.confidence >= full[0].confidence - margin] if full else []
    lead = link.leading(d, index, margin)
    assert lead[: len(within)] == within  # every school within the margin of the best, in the same order


def test_index_finds_a_misspelt_word_and_skips_unrelated_schools() -> None:
    schools = [
        {"urn": 1, "name": "Brackenfold Primary School", "la_name": NORTH, "postcode": "NX1 2AB"},
        {"urn": 2, "name": "Lowmoor Junior School", "la_name": NORTH, "postcode": "NX5 5AB"},
        {"urn": 3, "name": "Highmoor Infant School", "la_name": EAST, "postcode": "EM1 1AA"},
    ]
    index = link.SchoolIndex.build(schools)
    assert index.near(normalise_name("Brakenfold Primary School"), None) == [0]  # "brakenfold" ~ "brackenfold"
    assert index.near(normalise_name("Lowmoor Junior School"), "EM11AA") == [1, 2]  # word, then postcode
    assert [m.urn for m in candidates(DocRef("d", "Brakenfold Primary", None, NORTH, None, None), index)] == [1]


_TRIGRAM_GAP = (
    "known gap: the index finds near words by shared trigrams, and two words at a ratio of 0.85 can share none "
    "(a letter moved two places); a shared bigram is certain"
)


@pytest.mark.xfail(strict=True, reason=_TRIGRAM_GAP)
def test_index_finds_a_word_with_a_letter_moved_two_places() -> None:
    schools = [{"urn": 1, "name": "Wigmore Primary School", "la_name": NORTH, "postcode": "NX1 2AB"}]
    d = DocRef("d", "Wimogre Primary School", None, NORTH, None, None)  # "wimogre" ~ "wigmore": 2 × 6 / 14 = 0.857
    assert [m.urn for m in candidates(d, _ScanEverySchool.build(schools))] == [1]
    assert [m.urn for m in candidates(d, link.SchoolIndex.build(schools))] == [1]
