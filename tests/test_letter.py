"""The HMI-letter reader (pipeline.readers.letter): gold seed letters, and each kind of variation real letters show."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.readers.letter import Letter, letter_rows, parse_letter
from pipeline.stages.ingest import IngestParams, ingest_document
from pipeline.text.common import fold, normalise_layout
from tests.conftest import GOLD, RAW

FIXTURES = Path(__file__).parent / "fixtures" / "letters"


def parse_text(text: str) -> Letter:
    return parse_letter("test", normalise_layout(text))


def as_record(letter: Letter) -> dict[str, object]:
    rec = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in letter.values.items()}
    rec["visit_dates"] = [d.isoformat() for d in letter.visit_dates]
    rec["recommendations"] = [r.text for r in letter.recommendations]
    rec["support_types"] = sorted({s.support_type for s in letter.external_support})
    return rec


def gold_letters() -> list[dict[str, object]]:
    return [json.loads(line) for line in (GOLD / "letters.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("gold", gold_letters(), ids=lambda g: Path(str(g["file"])).name[:3])
def test_seed_letters_match_gold_exactly(gold: dict[str, object]) -> None:
    path = RAW / Path(str(gold["file"])).name
    doc = ingest_document(str(path), path.read_bytes(), IngestParams())
    letter = parse_letter(doc.doc_id, doc.text)
    rec = as_record(letter)
    for key, want in gold.items():
        if key == "file":
            continue
        got = rec[key]
        if key == "support_types":
            want = sorted(want)  # type: ignore[type-var]
        assert got == want, key
    assert letter.missing == []


@pytest.mark.parametrize("gold", gold_letters(), ids=lambda g: Path(str(g["file"])).name[:3])
def test_every_value_points_at_its_evidence(gold: dict[str, object]) -> None:
    path = RAW / Path(str(gold["file"])).name
    doc = ingest_document(str(path), path.read_bytes(), IngestParams())
    letter = parse_letter(doc.doc_id, doc.text)
    for field in ("school_name", "postcode", "headteacher", "inspector", "judgement"):
        span = letter.evidence[field]
        value = str(letter.values[field])
        evidence = fold(doc.text[span.start : span.end])
        assert value.replace(" ", "") in evidence.replace(" ", "") or evidence in value, field
    for rec in letter.recommendations:
        assert fold(doc.text[rec.start : rec.end].replace("- ", " ")) == fold(rec.text.replace("- ", " "))
    for sup in letter.external_support:
        assert fold(doc.text[sup.start : sup.end]) == sup.text
        assert sup.matched.lower() in sup.text.lower()
    for sec in letter.sections:
        assert doc.text[sec.start : sec.end] == sec.text


def fixture_expectations() -> list[dict[str, object]]:
    # read at collection: a missing file is an error there, never an empty (skipped) parametrisation
    return [json.loads(line) for line in (FIXTURES / "expected.jsonl").read_text().splitlines() if line.strip()]


def test_every_fixture_letter_has_its_expected_fields() -> None:
    listed = [str(e["file"]) for e in fixture_expectations()]
    assert len(listed) == len(set(listed)) == 16
    assert sorted(listed) == sorted(p.name for p in FIXTURES.glob("*.txt"))


FIXTURE_FIELDS = (
    "letter_kind", "letter_date", "visit_dates", "school_name", "postcode", "headteacher", "local_authority",
    "inspector", "previous_section5", "monitoring_visit_number", "judgement", "effective_action",
    "action_plan_fit", "nqt_permission", "recommendations", "support_types",
)  # fmt: skip


@pytest.mark.parametrize("expected", fixture_expectations(), ids=lambda e: str(e["file"])[:2])
def test_varied_letters(expected: dict[str, object]) -> None:
    """Hand-written letters covering the variety of real ones (tests/fixtures/letters)."""
    path = FIXTURES / str(expected["file"])
    doc = ingest_document(str(path), path.read_bytes(), IngestParams())
    assert doc.doc_type == "hmi_letter"
    rec = as_record(parse_letter(doc.doc_id, doc.text))
    wrong = {
        k: {"got": rec[k], "want": expected[k]}
        for k in FIXTURE_FIELDS
        if (sorted(rec[k]) if k == "support_types" else rec[k])
        != (  # type: ignore[call-overload]
            sorted(expected[k]) if k == "support_types" else expected[k]  # type: ignore[call-overload]
        )
    }
    assert wrong == {}


# -- one variation at a time ---------------------------------------------------------------------

ONE_LINE = (
    "Ofsted Piccadilly Gate Store Street Manchester M1 2WD T 0300 123 1231 www.gov.uk/ofsted "
    "3 May 2015 Mrs A Name Headteacher Some School Street Town AB1 2CD Dear Mrs Name Serious weaknesses "
    "monitoring inspection of Some School Following my visit with Jane Doe, Her Majesty's Inspector, to your "
    "school on 4–5 March 2015, I write on behalf of Her Majesty's Chief Inspector to report the findings. "
    "The visit was the second monitoring inspection since the school was judged to have serious weaknesses "
    "following the section 5 inspection in June 2014. Having considered all the evidence I am of the opinion "
    "that at this time: Leaders and managers are not taking effective action towards the removal of the "
    "serious weaknesses designation. The school should take further action to: • improve the teaching of "
    "reading • make sure governors hold leaders to account. I am copying this letter to the Director of "
    "Children's Services for the London Borough of Newham. Yours sincerely Peter Smith Her Majesty's Inspector"
)


def test_header_on_one_line() -> None:
    rec = as_record(parse_text(ONE_LINE))
    assert rec["letter_date"] == "2015-05-03"
    assert rec["headteacher"] == "Mrs A Name"
    assert rec["postcode"] == "AB1 2CD"
    assert rec["school_name"] == "Some School"
    assert rec["letter_kind"] == "serious_weaknesses_monitoring"
    assert rec["visit_dates"] == ["2015-03-04", "2015-03-05"]
    assert rec["monitoring_visit_number"] == 2
    assert rec["previous_section5"] == "2014-06"
    assert rec["effective_action"] is False
    assert rec["local_authority"] == "London Borough of Newham"
    assert rec["inspector"] == "Peter Smith"
    assert rec["recommendations"] == [
        "improve the teaching of reading",
        "make sure governors hold leaders to account.",
    ]


def letter(subject: str, body: str, head: str = "") -> str:
    head = head or "10 June 2016\n\nMr John Brown\nHeadteacher\nElm Tree Primary School\nElm Road\nLeeds\nLS8 2QR"
    tail = (
        "I am copying this letter to the chair of the governing body and the Director of Children's Services "
        "for Leeds.\n\nYours sincerely\n\nAnne Grey\nHer Majesty's Inspector"
    )
    return f"{head}\n\nDear Mr Brown\n\n{subject}\n\n{body}\n\n{tail}\n"


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ("Requires improvement: monitoring inspection visit to Elm Tree Primary School", "ri_monitoring"),
        ("Special measures monitoring inspection of Elm Tree Primary School", "special_measures_monitoring"),
        ("Serious weaknesses monitoring inspection of Elm Tree Primary School", "serious_weaknesses_monitoring"),
        ("Short inspection of Elm Tree Primary School", "short_inspection"),
        ("No formal designation monitoring inspection of Elm Tree Primary School", "section8_other"),
        ("Monitoring inspection of Elm Tree Primary School", "section8_other"),
    ],
)
def test_letter_kind_from_subject(subject: str, kind: str) -> None:
    rec = as_record(parse_text(letter(subject, "Following my visit to your school on 8 June 2016, I write.")))
    assert rec["letter_kind"] == kind
    assert rec["school_name"] == "Elm Tree Primary School"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("This was the first monitoring inspection since the school was judged to require special measures.",
         "special_measures_monitoring"),
        ("The visit was the second monitoring inspection since the school was judged to have serious weaknesses.",
         "serious_weaknesses_monitoring"),
        ("Leaders have addressed the safeguarding concerns raised by parents.", "section8_other"),
    ],
)  # fmt: skip
def test_generic_monitoring_subject_takes_kind_from_body(body: str, kind: str) -> None:
    text = letter("Monitoring inspection of Elm Tree Primary School", body)
    assert as_record(parse_text(text))["letter_kind"] == kind


@pytest.mark.parametrize(
    ("visit", "dates"),
    [
        ("on 12 December 2012", ["2012-12-12"]),
        ("on 4–5 March 2016", ["2016-03-04", "2016-03-05"]),
        ("on 11 and 12 June 2013", ["2013-06-11", "2013-06-12"]),
        ("on 30 September and 1 October 2015", ["2015-09-30", "2015-10-01"]),
        ("on Tuesday 9 to 11 May 2017", ["2017-05-09", "2017-05-10", "2017-05-11"]),
    ],
)
def test_visit_dates(visit: str, dates: list[str]) -> None:
    body = f"Following my visit with Jane Doe, Her Majesty's Inspector, to your school {visit}, I write."
    assert as_record(parse_text(letter("Short inspection of Elm Tree Primary School", body)))["visit_dates"] == dates


@pytest.mark.parametrize(
    ("sentence", "effective"),
    [
        ("Senior leaders and governors are taking effective action to tackle the areas requiring improvement "
         "identified at the recent section 5 inspection.", True),
        ("Senior leaders and governors are not taking effective action to tackle the areas requiring "
         "improvement identified at the recent section 5 inspection.", False),
        ("Senior leaders and governors have begun to take effective action to tackle the areas requiring "
         "improvement.", True),
        ("The school is making reasonable progress towards the removal of special measures.", True),
        ("The school is not making enough progress towards the removal of special measures.", False),
        ("This school continues to be good.", True),
        ("Leaders and managers are taking effective action towards the removal of special measures.", True),
    ],
)  # fmt: skip
def test_judgement_wordings(sentence: str, effective: bool) -> None:
    body = (
        "Following my visit to your school on 8 June 2016, I write to report the findings.\n\n"
        "Having considered all the evidence I am of the opinion that at this time:\n\n"
        f"{sentence}\n\nLeaders are taking effective action to improve attendance."
    )
    rec = as_record(parse_text(letter("Monitoring inspection of Elm Tree Primary School", body)))
    assert rec["judgement"] == sentence
    assert rec["effective_action"] is effective


def test_no_judgement_is_null() -> None:
    rec = as_record(parse_text(letter("Monitoring inspection of X School", "Following my visit on 8 June 2016.")))
    assert rec["judgement"] is None
    assert rec["effective_action"] is None


@pytest.mark.parametrize(
    ("sentences", "fit", "nqt"),
    [
        ("The school's action plan is fit for purpose. The school may appoint newly qualified teachers.", True, True),
        ("The local authority's statement of action is not fit for purpose. The school may not appoint newly "
         "qualified teachers.", False, False),
        ("The local authority's statement of action is fit for purpose. The school's improvement plan is not yet "
         "fit for purpose. Newly qualified teachers should not be appointed.", False, False),
        ("Leaders are improving the curriculum.", None, None),
    ],
)  # fmt: skip
def test_action_plan_and_nqt(sentences: str, fit: bool | None, nqt: bool | None) -> None:
    body = f"Following my visit to your school on 8 June 2016, I write.\n\n{sentences}"
    rec = as_record(parse_text(letter("Special measures monitoring inspection of X School", body)))
    assert (rec["action_plan_fit"], rec["nqt_permission"]) == (fit, nqt)


@pytest.mark.parametrize(
    ("phrase", "la"),
    [
        ("Director of Children's Services for Luton.", "Luton"),
        ("Director of Children's Services for Bath and North East Somerset.", "Bath and North East Somerset"),
        ("Director of Children's Services for the Royal Borough of Greenwich.", "Royal Borough of Greenwich"),
        ("Director of Childrens Services for Kent and the Regional Schools Commissioner.", "Kent"),
        ("Director of Children’s Services for Hertfordshire County Council, the trust.", "Hertfordshire"),
    ],
)
def test_local_authority(phrase: str, la: str) -> None:
    text = f"Dear Mr Brown\n\nShort inspection of X School\n\nI am copying this letter to the {phrase}\n"
    assert as_record(parse_text(text))["local_authority"] == la


@pytest.mark.parametrize(
    ("intro", "glyph"),
    [
        ("HMI recommend that further action is taken to:", "-"),
        ("The school should take further action to:", "•"),
        ("Leaders should take immediate action to:", "\uf0b7"),
        ("Priorities for further improvement", "–"),
    ],
)
def test_recommendation_intros_and_glyphs(intro: str, glyph: str) -> None:
    body = (
        "Following my visit to your school on 8 June 2016, I write.\n\n"
        f"{intro}\n\n"
        f"{glyph} improve the teaching of mathematics so that pupils\n"
        f"apply their skills in problem solving\n"
        f"{glyph} check that governors hold leaders to account.\n\n"
        "Ofsted may carry out further visits."
    )
    rec = as_record(parse_text(letter("Monitoring inspection of X School", body)))
    assert rec["recommendations"] == [
        "improve the teaching of mathematics so that pupils apply their skills in problem solving",
        "check that governors hold leaders to account.",
    ]


def test_bullet_split_by_page_break_is_whole() -> None:
    body = (
        "Following my visit to your school on 8 June 2016, I write.\n\n"
        "The school should take further action to:\n\n"
        "- ensure that the leader for mathematics checks the\n\n"
        "quality of teaching in every class\n"
        "- improve attendance."
    )
    rec = as_record(parse_text(letter("Monitoring inspection of X School", body)))
    assert rec["recommendations"] == [
        "ensure that the leader for mathematics checks the quality of teaching in every class",
        "improve attendance.",
    ]


def test_bullets_for_the_local_authority_and_annex_are_not_recommendations() -> None:
    body = (
        "Following my visit to your school on 8 June 2016, I write.\n\n"
        "The school should take further action to:\n\n- improve attendance.\n\n"
        "The local authority should take further action to:\n\n- appoint an additional governor.\n\n"
        "Annex\n\nThe areas for improvement identified during the section 5 inspection are:\n\n"
        "- improve the quality of teaching."
    )
    letter_ = parse_text(letter("Monitoring inspection of X School", body))
    assert [r.text for r in letter_.recommendations] == ["improve attendance."]
    assert "Annex" in [s.heading for s in letter_.sections]


def test_bare_indent_list() -> None:
    body = (
        "Following my visit to your school on 8 June 2016, I write.\n\n"
        "HMI recommend that further action is taken to:\n"
        "    improve the quality of marking\n"
        "    develop the role of middle leaders.\n\n"
        "Ofsted will continue to monitor the school."
    )
    rec = as_record(parse_text(letter("Monitoring inspection of X School", body)))
    assert rec["recommendations"] == ["improve the quality of marking", "develop the role of middle leaders."]


def test_bare_indent_items_of_one_line_each_in_unwrapped_text() -> None:
    """Web text keeps each paragraph on one line: an indented line is an item, never a wrap."""
    long_para = "Leaders have acted on the previous findings. " * 4  # a line no page could hold
    body = (
        f"Following my visit to your school on 8 June 2016, I write.\n\n{long_para}\n\n"
        "The school should take further action to:\n"
        "    raise teachers' expectations of what pupils in Key Stage 2 can achieve in writing\n"
        "    check the impact of the pupil premium.\n\n"
        "Ofsted will continue to monitor the school."
    )
    rec = as_record(parse_text(letter("Monitoring inspection of X School", body)))
    assert rec["recommendations"] == [
        "raise teachers' expectations of what pupils in Key Stage 2 can achieve in writing",
        "check the impact of the pupil premium.",
    ]


def test_annex_before_the_report_hides_only_itself() -> None:
    body = (
        "Following my visit to your school on 5 and 6 March 2019, I write.\n\n"
        "Yours sincerely\n\nJane Black\nHer Majesty's Inspector\n\n"
        "Annex\n\nThe areas for improvement identified during the section 5 inspection\n\n"
        "- Improve the quality of teaching.\n\n"
        "Evidence\n\nI met the principal.\n\n"
        "Priorities for further improvement\n\n- Reduce the rate of exclusions."
    )
    parsed = parse_text(letter("Special measures monitoring inspection of X Academy", body))
    assert [r.text for r in parsed.recommendations] == ["Reduce the rate of exclusions."]


@pytest.mark.parametrize(
    ("sentence", "dates"),
    [
        ("This letter sets out the findings of the monitoring inspection of your school that took place on "
         "17 January 2023.", ["2023-01-17"]),
        ("The school was judged to require improvement at the section 5 inspection that took place on "
         "3 March 2022.", []),
    ],
)  # fmt: skip
def test_visit_that_took_place_but_not_the_section_5_one(sentence: str, dates: list[str]) -> None:
    assert as_record(parse_text(letter("Monitoring inspection of X School", sentence)))["visit_dates"] == dates


def test_missing_month_is_null_not_guessed() -> None:
    body = (
        "Following my visit to your school on 8 June 2016, I write.\n\n"
        "The visit was the third monitoring inspection since the school was judged to require improvement "
        "following the section 5 inspection in  2014.\n\n"
        "The school was last inspected in March 2012 and judged good."
    )
    rec = as_record(parse_text(letter("Requires improvement: monitoring inspection visit to X School", body)))
    assert rec["previous_section5"] is None
    assert rec["monitoring_visit_number"] == 3


@pytest.mark.parametrize(
    ("head", "postcode", "headteacher"),
    [
        ("Tribal\nKings Orchard\n1 Queen Street\nBristol\nBS2 0HQ\n\n6 March 2014\n\nMrs Jo Bloggs\nPrincipal\n"
         "Hill Academy\nHill Road\nBristol\nBS5 9JH", "BS5 9JH", "Mrs Jo Bloggs"),
        ("CfBT Inspection Services\nSuite 22\nSkelmersdale\nWN8 9TG\nT 0300 123 1231\n\n6 March 2014\n\n"
         "The Headteacher\nHill Academy\nPreston\nPR1 6DT", "PR1 6DT", None),
        ("6 March 2014\n\nMr K. Patel, Executive Headteacher\nHill Academy\nHill Road\nSheffield S10 2TN\n\n"
         "Ofsted\nPiccadilly Gate\nManchester\nM1 2WD", "S10 2TN", "Mr K. Patel"),
    ],
)  # fmt: skip
def test_letterhead_postcode_is_not_the_school(head: str, postcode: str, headteacher: str | None) -> None:
    rec = as_record(parse_text(letter("Short inspection of Hill Academy", "Following my visit on 5 March 2014.", head)))
    assert rec["postcode"] == postcode
    assert rec["headteacher"] == headteacher
    assert rec["letter_date"] == "2014-03-06"


def test_lost_apostrophes_and_line_breaks() -> None:
    text = ONE_LINE.replace("'", "").replace("’", "")
    rec = as_record(parse_text(text))
    assert rec["local_authority"] == "London Borough of Newham"
    assert rec["inspector"] == "Peter Smith"
    assert rec["visit_dates"] == ["2015-03-04", "2015-03-05"]


def test_not_a_letter_gives_nulls_and_partial_status() -> None:
    letter_ = parse_text("Minutes of the governing body meeting.\n\nPresent: the chair and four governors.")
    rows = letter_rows(letter_)
    assert rows["letters"][0]["status"] == "partial"
    assert all(letter_.values[k] is None for k in ("letter_date", "school_name", "postcode", "inspector"))
    assert rows["recommendations"] == []


def test_report_after_the_sign_off_is_read() -> None:
    """Later monitoring letters put the judgement first and the report after the signature."""
    body = (
        "Following my visit to your school on 15 and 16 January 2019, I write.\n\n"
        "Having considered all the evidence I am of the opinion that at this time:\n\n"
        "The school is making reasonable progress towards the removal of special measures.\n\n"
        "I am copying this letter to the Director of Children's Services for Barnsley.\n\n"
        "Yours sincerely\n\nJane Black\nHer Majesty's Inspector\n\n"
        "Evidence\n\nI met the headteacher.\n\n"
        "External support\n\nThe diocese has provided training for governors.\n\n"
        "Priorities for further improvement\n\n- Improve the teaching of mathematics."
    )
    text = "24 January 2019\n\nMrs S Jones\nHeadteacher\nX School\nBarnsley\nS70 4PL\n\nDear Mrs Jones\n\n"
    parsed = parse_text(text + "Special measures monitoring inspection of X School\n\n" + body)
    assert [(s.heading, s.text) for s in parsed.sections] == [
        ("Evidence", "I met the headteacher."),
        ("External support", "The diocese has provided training for governors."),
        ("Priorities for further improvement", "- Improve the teaching of mathematics."),
    ]
    assert [s.support_type for s in parsed.external_support] == ["diocese"]
    assert [r.text for r in parsed.recommendations] == ["Improve the teaching of mathematics."]
    assert parsed.values["inspector"] == "Jane Black"
    assert parsed.values["local_authority"] == "Barnsley"


def test_school_name_ending_in_burn_and_metropolitan_district_council_and_his_majesty() -> None:
    """A name like Blackburn keeps its "urn"; "Metropolitan District Council" is dropped; HMI after 2022."""
    text = normalise_layout((RAW / "000_9679ccaa734ab79b.txt").read_text(encoding="utf-8"))
    text = text.replace("Wigmore Primary School", "Blackburn Primary School").replace(
        "Director of Children's Services for Luton", "Director of Children's Services for Bradford Metropolitan "
        "District Council"
    ).replace("Her Majesty's Inspector", "His Majesty's Inspector")  # fmt: skip
    values = parse_letter("d", text).values
    assert (values["school_name"], values["local_authority"], values["inspector"]) == (
        "Blackburn Primary School",
        "Bradford",
        "Michael Sheridan",
    )
