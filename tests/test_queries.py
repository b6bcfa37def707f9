"""The named queries, checked against answers worked out by hand from the sample documents.

The warehouse (`sample_warehouse` in conftest) is built from the sample corpus by
the real ingest, parse, link and load stages; its issue rows come from the hand
labels of the same units, not from the model, so the expected answers below are
what a person reading the letters and the reference files finds.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from pipeline import cli
from pipeline.warehouse import contracts, queries

ROOT = Path(__file__).resolve().parent.parent
WIGMORE, PIXMORE, LEYS = "fe4cd934214d41a7", "43786a7423e93eb7", "4faf4adda15c8ccf"


@pytest.fixture()
def con(sample_warehouse: Path) -> Any:
    c = duckdb.connect(str(sample_warehouse), read_only=True)
    yield c
    c.close()


def rows(df: pd.DataFrame, *cols: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in df[list(cols)].itertuples(index=False)]


def test_recurring_weaknesses_of_one_la(con: Any) -> None:
    # Leys Junior (Derbyshire, visit 4 December 2012): the weaknesses its letter's units were labelled with
    df = queries.run_query(con, "recurring_weaknesses", la="derbyshire")
    assert sorted(rows(df, "la", "period", "tag", "schools", "documents", "units")) == [
        ("Derbyshire", "2012/13", "governance", 1, 1, 3),
        ("Derbyshire", "2012/13", "middle_leadership", 1, 1, 2),
        ("Derbyshire", "2012/13", "professional_development", 1, 1, 2),
        ("Derbyshire", "2012/13", "pupil_outcomes", 1, 1, 1),
        ("Derbyshire", "2012/13", "senior_leadership", 1, 1, 1),
        ("Derbyshire", "2012/13", "teaching_quality", 1, 1, 1),
    ]


def test_recurring_weaknesses_counts_schools_before_sentences() -> None:
    """Two letters to one school and one to another: the long letter's many sentences do not outrank two schools."""
    c = duckdb.connect()
    for table in contracts.TABLES.values():
        c.execute(contracts.ddl(table))
    queries.create_views(c)
    docs = [
        ("a1", "School A", "2013-01-10", 1),
        ("a2", "School A", "2013-03-10", 1),
        ("b1", "School B", "2013-02-01", 2),
    ]
    for doc_id, name, date, urn in docs:
        c.execute(
            "INSERT INTO documents VALUES (?, ?, 'hmi_letter', NULL, '', 0, NULL, 0, 'test', NULL)", [doc_id, doc_id]
        )
        c.execute(
            "INSERT INTO letters (doc_id, status, visit_dates, school_name, local_authority) "
            "VALUES (?, 'ok', [?::DATE], ?, 'Testshire')",
            [doc_id, date, name],
        )
        c.execute(
            "INSERT INTO letter_school VALUES (?, ?, ?, 1.0, 'urn', ?, ?, 'Testshire')", [doc_id, urn, urn, name, name]
        )
    issues = [
        ("a1", "governance", 6),
        ("a2", "governance", 1),
        ("b1", "english_literacy", 1),
        ("a1", "english_literacy", 0),
    ]
    for doc_id, tag, n in issues:
        for k in range(n):
            c.execute(
                "INSERT INTO issues VALUES (?, ?, ?, 'weakness', 0.9, ?, ?, 'test')",
                [doc_id, f"{doc_id}-{tag}-{k}", tag, k, k + 1],
            )
    df = queries.run_query(c, "recurring_weaknesses")
    assert rows(df, "tag", "schools", "documents", "units") == [("governance", 1, 2, 7), ("english_literacy", 1, 1, 1)]
    c.execute("INSERT INTO issues VALUES ('a2', 'a2-english', 'english_literacy', 'weakness', 0.9, 9, 10, 'test')")
    df = queries.run_query(c, "recurring_weaknesses")
    assert rows(df, "tag", "schools", "documents", "units")[0] == ("english_literacy", 2, 2, 2)
    assert queries.run_query(c, "recurring_weaknesses", since=dt.date(2013, 3, 1))["units"].sum() == 2


def test_school_timeline_follows_the_academy_chain(con: Any) -> None:
    # Wigmore Primary School (URN 900101) became Wigmore Primary Academy (900111) on 1 September 2014
    df = queries.run_query(con, "school_timeline", la="Luton")
    wigmore = df[df["current_urn"] == 900111]
    assert rows(wigmore, "date", "event", "detail") == [
        (
            pd.Timestamp("2011-09-01"),
            "LA category 2011/12",
            "satisfactory_good_capacity, floor risk low, support: la_adviser_consultant",
        ),
        (
            pd.Timestamp("2012-09-01"),
            "LA category 2012/13",
            "satisfactory_satisfactory_capacity, floor risk medium, support: la_adviser_consultant, "
            "national_leader_of_governance",
        ),
        (pd.Timestamp("2012-10-10"), "outcome: section5", "requires improvement"),
        (pd.Timestamp("2012-12-12"), "letter: ri_monitoring", "effective action"),
        (pd.Timestamp("2012-12-12"), "outcome: monitoring", "visit"),
        (pd.Timestamp("2016-03-02"), "outcome: section5", "good"),
    ]
    assert list(wigmore["school"])[-1] == "Wigmore Primary Academy"


def test_letter_under_old_urn_reaches_outcome_under_new_urn(con: Any) -> None:
    linked = con.execute("SELECT urn, current_urn FROM letter_school WHERE doc_id = ?", [WIGMORE]).fetchone()
    assert linked == (900101, 900111)
    nxt = con.execute("SELECT next_date, next_outcome FROM next_outcome WHERE doc_id = ?", [WIGMORE]).fetchone()
    assert nxt == (dt.date(2016, 3, 2), "section 5: good")
    recorded = con.execute("SELECT urn FROM outcomes WHERE date = DATE '2016-03-02'").fetchall()
    assert recorded == [(900111,)]


def test_support_then_outcome(con: Any) -> None:
    # support named in each letter (its external-support section and hand-labelled units) and given by the LA
    # in the year of the visit; every letter school's next outcome is a good section 5 grade
    df = queries.run_query(con, "support_then_outcome")
    assert rows(df, "support_type", "next_outcome", "schools", "letters") == [
        ("(all letter schools)", "section 5: good", 3, 3),  # the baseline
        ("la_adviser_consultant", "section 5: good", 3, 3),
        ("local_leader_of_education", "section 5: good", 1, 1),
        ("national_leader_of_governance", "section 5: good", 1, 1),
        ("ofsted_hmi", "section 5: good", 2, 2),
        ("other_external", "section 5: good", 1, 1),
        ("partner_school", "section 5: good", 2, 2),
        ("school_improvement_partner", "section 5: good", 2, 2),
    ]


def test_category_vs_letters(con: Any) -> None:
    df = queries.run_query(con, "category_vs_letters")
    assert rows(df, "la", "la_category", "letter_kind", "letters", "effective_action", "not_effective") == [
        ("Derbyshire", "satisfactory_satisfactory_capacity", "ri_monitoring", 1, 1, 0),
        ("Hertfordshire", "satisfactory_satisfactory_capacity", "ri_monitoring", 1, 1, 0),
        ("Luton", "satisfactory_satisfactory_capacity", "ri_monitoring", 1, 1, 0),
    ]
    assert queries.run_query(con, "category_vs_letters", since=dt.date(2013, 1, 1))["letters"].tolist() == [1]


def test_report_outcome_and_next_event(con: Any) -> None:
    # Fernhollow: the parsed 2017 report is one outcome with the MI file's row of the same inspection
    got = con.execute(
        "SELECT overall_effectiveness, category_of_concern, source FROM school_outcomes "
        "WHERE current_urn = 900411 AND date = DATE '2017-03-07'"
    ).fetchall()
    assert len(got) == 1 and got[0][:2] == (3, None) and got[0][2].count(";") == 1
    # Rounds Green (no document now): the two MI files' rows of one inspection are one outcome
    got = con.execute(
        "SELECT overall_effectiveness, category_of_concern, source FROM school_outcomes "
        "WHERE current_urn = 103980 AND date = DATE '2016-11-09'"
    ).fetchall()
    assert len(got) == 1 and got[0][:2] == (4, "special_measures") and got[0][2].count(";") == 1
    nxt = con.execute("SELECT next_outcome FROM next_outcome n JOIN inspections USING (doc_id)").fetchone()
    assert nxt == ("none recorded yet",)  # nothing after the report in the reference files


def test_views_equal_unfiltered_queries(con: Any) -> None:
    for name in queries.QUERIES:
        view = con.execute(f'SELECT * FROM "{name}"').df()
        pd.testing.assert_frame_equal(view, queries.run_query(con, name), check_dtype=False)


def test_cli_query_formats(sample_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["query", "category_vs_letters", "--warehouse", str(sample_warehouse), "--la", "Luton"]
    assert cli.main([*args, "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == [
        {
            "la": "Luton",
            "la_category": "satisfactory_satisfactory_capacity",
            "letter_kind": "ri_monitoring",
            "letters": 1,
            "schools": 1,
            "effective_action": 1,
            "not_effective": 0,
            "no_judgement": 0,
        }
    ]
    assert cli.main([*args, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "la,la_category,letter_kind,letters,schools,effective_action,not_effective,no_judgement"
    )
    assert cli.main([*args, "--format", "table"]) == 0
    assert "satisfactory_satisfactory_capacity" in capsys.readouterr().out


def test_cli_errors(sample_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sql", "DELETE FROM letters", "--warehouse", str(sample_warehouse)]) == 2
    assert "read-only" in capsys.readouterr().err
    assert cli.main(["query", "school_timeline", "--since", "2012-13-01", "--warehouse", str(sample_warehouse)]) == 2
    assert "--since '2012-13-01' is not a date; write it as YYYY-MM-DD" in capsys.readouterr().err
    assert cli.main(["query", "school_timeline", "--warehouse", str(tmp_path / "none.duckdb")]) == 2
    assert "no warehouse at" in capsys.readouterr().err
    assert (
        cli.main(["sql", "SELECT count(*) AS n FROM letters", "--warehouse", str(sample_warehouse), "--format", "csv"])
        == 0
    )
    assert capsys.readouterr().out == "n\n3\n"


def test_case_study_items_carry_the_tags_of_their_units(con: Any) -> None:
    # the case study's three units labelled maths_numeracy (offsets 1117, 1249 and 1378) are in context items 5–7
    got = con.execute("SELECT part, n FROM case_study_tags WHERE tag = 'maths_numeracy' ORDER BY n").fetchall()
    assert got == [("context", 5), ("context", 6), ("context", 7)]
    # every tagged item really contains a unit labelled with that tag
    bad = con.execute(
        "SELECT count(*) FROM case_study_tags t WHERE NOT EXISTS (SELECT 1 FROM issues i JOIN units u USING (unit_id) "
        "WHERE i.doc_id = t.doc_id AND i.tag = t.tag AND contains(t.text, left(u.text, 20)))"
    ).fetchone()
    assert bad == (0,)


def test_letter_context_gives_the_category_in_force_and_the_support_offered() -> None:
    c = duckdb.connect()
    for table in contracts.TABLES.values():
        c.execute(contracts.ddl(table))
    queries.create_views(c)
    c.execute("INSERT INTO documents VALUES ('l1', 'l1', 'hmi_letter', NULL, '', 0, NULL, 0, 'test', NULL)")
    c.execute("INSERT INTO documents VALUES ('p1', 'p1', 'la_plan', NULL, '', 0, NULL, 0, 'test', NULL)")
    c.execute(
        "INSERT INTO letters (doc_id, status, visit_dates, school_name) VALUES ('l1', 'ok', [DATE '2013-02-05'], 'A')"
    )
    c.execute("INSERT INTO letter_school VALUES ('l1', 1, 2, 1.0, 'urn', 'A', 'A', 'Testshire')")
    c.execute("INSERT INTO school_lineage VALUES (1, 2, 1), (2, 2, 0)")
    # categorised under the old URN in 2012/13, under the new one in 2013/14
    c.execute(
        "INSERT INTO la_categories VALUES (1, 'Testshire', '2012/13', DATE '2012-09-01', DATE '2013-08-31', "
        "'inadequate', 'high', ['la_adviser_consultant']), (2, 'Testshire', '2013/14', DATE '2013-09-01', "
        "DATE '2014-08-31', 'good', NULL, [])"
    )
    c.execute("INSERT INTO la_plans VALUES ('p1', 'testshire', 'Plan', 2012)")
    offers = [
        (1, None, "school_improvement_partner"),
        (2, "inadequate", "national_leader_of_education"),
        (3, "good", "partner_school"),
        (4, "inadequate", None),
    ]
    for n, category, support in offers:
        c.execute("INSERT INTO la_support_offer VALUES ('p1', ?, ?, 'h', 't', ?, 0, 1)", [n, category, support])
    got = c.execute(
        "SELECT academic_year, la_category, floor_risk, support_given, support_offered FROM letter_context"
    ).fetchall()
    assert got == [
        (
            "2012/13",
            "inadequate",
            "high",
            ["la_adviser_consultant"],
            ["national_leader_of_education", "school_improvement_partner"],
        )
    ]


def test_query_and_sql_import_no_model_library(sample_warehouse: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pipeline.cli import main; "
        "main(['query', 'school_timeline', '--warehouse', sys.argv[1]]); "
        "main(['sql', 'SELECT 1', '--warehouse', sys.argv[1]]); "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'spacy', 'sklearn') if m in sys.modules]; "
        "sys.stderr.write(repr(heavy))"
    )
    run = subprocess.run([sys.executable, "-c", code, str(sample_warehouse)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip() == "[]"


# ---------------------------------------------------------------- the report's queries


def _labels(doc_id: str) -> list[dict[str, Any]]:
    lines = (ROOT / "corpus" / "labels" / "units.jsonl").read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["source"].startswith("corpus/raw/") and r["doc_id"] == doc_id]


def test_headline(con: Any) -> None:
    got = queries.run_query(con, "headline").iloc[0].to_dict()
    assert got == {
        "letters": 3,
        "reports": 1,
        "schools": 4,
        "las": 4,
        "letters_judged": 3,
        "effective_action": 3,  # all three letters judge the action effective
        "first_date": pd.Timestamp("2012-12-04"),  # Leys's visit
        "last_date": pd.Timestamp("2017-03-07"),  # Fernhollow's inspection (the synthetic report)
    }
    empty = queries.run_query(con, "headline", la="Luton", since=dt.date(2013, 1, 1)).iloc[0]
    assert (empty["letters"], empty["schools"]) == (0, 0) and pd.isna(empty["first_date"])


def test_weakness_evidence_quotes_the_labelled_units(con: Any) -> None:
    df = queries.run_query(con, "weakness_evidence", la="Luton")
    expected = {(t, r["text"]) for r in _labels(WIGMORE) if r["polarity"] == "weakness" for t in r["tags"]}
    assert set(rows(df, "tag", "text")) == expected and len(df) == len(expected)
    governance = df[df["tag"] == "governance"]
    assert rows(governance, "kind", "text", "school") == [
        ("recommendation", "arrange an external review of governance", "Wigmore Primary School")
    ]
    wigmore = (ROOT / "corpus" / "raw" / "000_9679ccaa734ab79b.txt").read_text(encoding="utf-8")
    assert all(wigmore[r.start : r.end] == r.text for r in df.itertuples())  # offsets point at the quote


def test_schools_of_concern(con: Any) -> None:
    df = queries.run_query(con, "schools_of_concern").fillna({"category_of_concern": "none"})
    assert rows(df, "school", "concern_rank", "section5_judgement", "category_of_concern") == [
        ("Fernhollow Primary School", 4, "requires improvement", "none"),
        ("Pixmore Junior School", 6, "good", "none"),  # good in 2015, after its 2013 letter
        ("Wigmore Primary School", 6, "good", "none"),  # good in 2016, as the academy (URN 900111)
        ("Leys Junior School", 6, "good", "none"),
    ]
    # the report's two "what the school needs to do" items are open; later good judgements close the letters'
    assert [len(r) for r in df["open_recommendations"]] == [2, 0, 0, 0]
    # Wigmore: the LA gave an adviser and an NLG in 2012/13 (la_categories_sample.csv)
    assert {"la_adviser_consultant", "national_leader_of_governance"} <= set(df["support_named"].iloc[2])
    assert df["la_category"].iloc[2] == "satisfactory_satisfactory_capacity" and pd.isna(df["la_category"].iloc[0])
    assert list(queries.run_query(con, "schools_of_concern", since=dt.date(2013, 1, 1))["school"]) == [
        "Fernhollow Primary School",
        "Pixmore Junior School",
    ]


def test_what_worked_matches_tags_of_case_studies_and_offers(con: Any) -> None:
    df = queries.run_query(con, "what_worked", la="Luton")
    assert set(df["source"]) <= {"case study: actions", "case study: impact", "LA support offer"}
    luton = [t for r in _labels(WIGMORE) if r["polarity"] == "weakness" for t in r["tags"]]
    assert set(df["tag"]) <= set(luton)
    first = df["tag"].iloc[0]
    assert first == "monitoring_evaluation" and df["units"].iloc[0] == luton.count(first)
    assert set(df.loc[df["source"] == "LA support offer", "la"]) == {"Wiltshire"}
    titles = set(df.loc[df["source"].str.startswith("case study"), "title"])
    assert titles == {"Schools needing to maximise progress"}  # the case study's first line


def test_missing_fields_and_unmatched(sample_warehouse: Path, tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, path)
    c = duckdb.connect(str(path))
    assert queries.run_query(c, "missing_fields")["missing"].sum() == 0  # the sample's fields are all read
    c.execute("UPDATE letters SET inspector = NULL WHERE doc_id = ?", [LEYS])
    c.execute("DELETE FROM letter_school WHERE doc_id = ?", [LEYS])
    c.execute(
        "INSERT INTO unmatched VALUES (?, 'Leys Junior School', 'DE55 7EL', 900302, 'Leys Infant School', 0.7, "
        "'below_threshold')",
        [LEYS],
    )
    missing = queries.run_query(c, "missing_fields", la="Derbyshire")
    assert rows(missing[missing["missing"] > 0], "doc_type", "field", "missing", "documents") == [
        ("hmi_letter", "inspector", 1, 1),
        ("hmi_letter", "school link", 1, 1),
    ]
    unmatched = queries.run_query(c, "unmatched_documents", la="Derbyshire")
    assert rows(unmatched, "doc_id", "school", "best_name", "reason") == [
        (LEYS, "Leys Junior School", "Leys Infant School", "below_threshold")
    ]
    assert queries.run_query(c, "unmatched_documents", la="Luton").empty
    c.close()


def test_rejected_inputs_and_classifier_versions(con: Any) -> None:
    rejected = queries.run_query(con, "rejected_inputs", la="Luton")  # no LA: the filters do not apply
    assert len(rejected) == 12 and set(rejected["input"]) == {"reference row"}
    versions = queries.run_query(con, "classifier_versions")
    n = sum(len(_labels(d)) for d in (WIGMORE, PIXMORE, LEYS, "814070bb9e23f3ae"))  # the synthetic report
    assert rows(versions, "model_version", "units", "documents") == [("hand-labels", n, 4)]
