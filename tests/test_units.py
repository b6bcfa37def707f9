"""Units: sentences and bullet items with offsets (spaCy blank pipeline + our rule component)."""

from __future__ import annotations

import hashlib

import pytest

from pipeline.readers.units import make_nlp, units
from pipeline.text.common import normalise_layout


@pytest.fixture(scope="module")
def nlp():  # type: ignore[no-untyped-def]
    return make_nlp()


def texts(text: str, nlp) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(u.kind, u.text) for u in units("d", text, nlp)]


def test_abbreviations_and_year_groups_do_not_end_sentences(nlp) -> None:  # type: ignore[no-untyped-def]
    text = (
        "Mrs. Patel met teachers in Years 4 and 5. Pupils, e.g. the most able, read widely. "
        "Teaching (i.e. in Year 6) is better. It has improved."
    )
    assert texts(text, nlp) == [
        ("sentence", "Mrs. Patel met teachers in Years 4 and 5."),
        ("sentence", "Pupils, e.g. the most able, read widely."),
        ("sentence", "Teaching (i.e. in Year 6) is better."),
        ("sentence", "It has improved."),
    ]


def test_bullets_are_whole_units_and_nested_items_their_own(nlp) -> None:  # type: ignore[no-untyped-def]
    text = normalise_layout(
        "The school should take further action to:\n"
        "• improve teaching by:\n"
        "o matching work to pupils' needs in all\nclasses\n"
        "o checking pupils' understanding. Then moving on.\n"
        "• raise attainment in mathematics."
    )
    assert texts(text, nlp) == [
        ("sentence", "The school should take further action to:"),
        ("bullet", "improve teaching by:"),
        ("sub_bullet", "matching work to pupils' needs in all classes"),
        ("sub_bullet", "checking pupils' understanding. Then moving on."),
        ("bullet", "raise attainment in mathematics."),
    ]


def test_offsets_point_at_the_unit_and_ids_are_stable(nlp) -> None:  # type: ignore[no-untyped-def]
    text = "Evidence\n\nI met the headteacher and two governors.\n\n- Ensure that governors challenge leaders."
    us = units("doc1", text, nlp)
    assert [u.text for u in us] == [
        "I met the headteacher and two governors.",
        "Ensure that governors challenge leaders.",
    ]
    for u in us:
        assert " ".join(text[u.start : u.end].split()) == u.text
    assert [u.unit_id for u in units("doc1", text, nlp)] == [u.unit_id for u in us]
    assert units("doc2", text, nlp)[0].unit_id != us[0].unit_id


def test_unit_ids_are_the_contract_s_for_sentences_and_bullets_alike(nlp) -> None:  # type: ignore[no-untyped-def]
    # contracts.UNITS: "sha256 of doc_id, start and end, first 16 hex digits"; so no two units share one
    text = "I met the headteacher and two governors.\n\n- Ensure that governors challenge leaders."
    for doc_id in ("doc1", "doc2"):
        us = units(doc_id, text, nlp)
        assert [u.kind for u in us] == ["sentence", "bullet"]
        for u in us:
            assert u.unit_id == hashlib.sha256(f"{doc_id}:{u.start}:{u.end}".encode()).hexdigest()[:16]


def test_headings_and_short_fragments_are_not_units(nlp) -> None:  # type: ignore[no-untyped-def]
    assert texts("Main findings\n\nContext\n\nYours sincerely", nlp) == []
