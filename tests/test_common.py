"""pipeline.text.common by example: cases `make mutate` found no test pinned (the properties are in test_fuzz.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.errors import DocumentError
from pipeline.text.common import decode, find_dates, normalise_layout, parse_date_list, sentences

LETTER = "Dear Mrs Smith,\nThank you for your help during my visit to the school.\n"


def reject(data: bytes) -> tuple[str, str]:
    with pytest.raises(DocumentError) as exc:
        decode(data)
    return exc.value.reason, exc.value.message


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (LETTER.encode("utf-16-le"), "utf-16-le"),  # no byte-order mark: told by where the NULs are
        (LETTER.encode("utf-16-be"), "utf-16-be"),
        (b"\xfe\xff" + LETTER.encode("utf-16-be"), "utf-16"),
        (b"\xff\xfe" + LETTER.encode("utf-16-le"), "utf-16"),
    ],
    ids=["utf-16-le", "utf-16-be", "utf-16-be-bom", "utf-16-le-bom"],
)
def test_utf16_is_read_with_or_without_a_byte_order_mark(data: bytes, encoding: str) -> None:
    assert decode(data) == (LETTER, encoding)


def test_undecodable_utf16_says_which_encoding_it_claimed() -> None:
    assert reject(b"\xfe\xff" + LETTER.encode("utf-16-be") + b"!") == (
        "unknown_encoding",
        "starts with a UTF-16 byte-order mark but is not UTF-16 (undecodable bytes at offset 144); "
        "re-save the file as UTF-8",
    )
    assert reject(LETTER.encode("utf-16-le")[:-2] + b"\x00\xd8") == (  # a lone surrogate at the end
        "unknown_encoding",
        "looks like UTF-16-LE without a byte-order mark but does not decode as it (offset 140); "
        "re-save the file as UTF-8",
    )


def test_one_nul_or_over_one_percent_of_control_characters_is_binary() -> None:
    assert reject(LETTER.encode() * 3 + b"\x00") == (
        "binary_file",
        "looks like binary data, not text (1 control characters); check that the file is a text or PDF document",
    )
    assert reject(LETTER.encode() * 3 + b"\x01\x02\x03\x04")[0] == "binary_file"  # 4 in 220: 1.8%
    text, _ = decode(LETTER.encode() * 10 + b"\x01")  # 1 in 721: kept, as a stray mark in a letter is
    assert text.endswith("school.\n\x01")


def test_a_sentence_wrapped_over_two_lines_is_one_unit() -> None:
    text = "Leaders have\nimproved teaching. Pupils learn well."
    assert [(s.text, s.start, s.end) for s in sentences(text)] == [
        ("Leaders have\nimproved teaching.", 0, 31),
        ("Pupils learn well.", 32, 50),
    ]


def test_an_abbreviation_opening_a_paragraph_does_not_end_a_sentence() -> None:
    assert [s.text for s in sentences("Dr. Jones visited the school. It has improved.")] == [
        "Dr. Jones visited the school.",
        "It has improved.",
    ]


@pytest.mark.parametrize(
    ("written", "days"),
    [
        ("1 to 8 May 2015", list(range(1, 9))),  # a week on: every day
        ("1 to 9 May 2015", [1, 9]),  # longer: the two days written, not a made-up run
        ("4–5 March 2016", [4, 5]),
    ],
)
def test_a_range_is_every_day_in_it_up_to_a_week(written: str, days: list[int]) -> None:
    got = parse_date_list(written)
    assert got is not None and [d.day for d in got[0]] == days and got[1] == len(written)


def test_month_names_are_read_in_any_case() -> None:
    assert find_dates("on 12 december 2012 and 3 MAY 2015") == [
        (dt.date(2012, 12, 12), 3, 19),
        (dt.date(2015, 5, 3), 24, 34),
    ]
    assert parse_date_list("4–5 march 2016") == ([dt.date(2016, 3, 4), dt.date(2016, 3, 5)], 14)


def test_bullet_items_are_units_at_their_own_offsets_even_when_repeated() -> None:
    text = "Priorities:\n- raise standards\n\nLater:\n- raise standards\n  - check understanding. Then move on."
    assert [(s.text, s.start, s.end) for s in sentences(text)] == [
        ("Priorities:", 0, 11),
        ("raise standards", 14, 29),
        ("Later:", 31, 37),
        ("raise standards", 40, 55),
        ("check understanding. Then move on.", 60, 94),  # an item is one unit, whatever its full stops
    ]


def test_layout_keeps_prose_that_looks_like_a_bullet_and_makes_spaces_plain() -> None:
    # "o" opens a line of prose outside a list (Word writes it for second-level bullets only); "– 3 –" is a page
    text = "Dear\u00a0Mrs\u202fSmith\n\nWe met.\no clock faces were used.\n\u2013 3 \u2013\nEnd."
    assert normalise_layout(text) == "Dear Mrs Smith\n\nWe met.\no clock faces were used.\n\u2013 3 \u2013\nEnd."
