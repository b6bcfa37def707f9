"""PDF text extraction: a golden real report, and PDFs built at test time for each layout case."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pdfplumber.utils.text import chars_to_textmap

from pipeline.errors import DocumentError
from pipeline.stages.ingest import IngestParams
from pipeline.text import pdf as pdf_module
from pipeline.text.common import fold, normalise_layout
from pipeline.text.pdf import (
    Char,
    Page,
    PdfText,
    assemble_text,
    read_pages,
    read_pages_pdfplumber,
    read_pdf,
    read_pdf_pdfplumber,
    text_flow_lines,
)
from tests import pdf_factory
from tests.conftest import shared_report


def read(data: bytes, params: IngestParams | None = None, reader: Callable[..., PdfText] = read_pdf) -> PdfText:
    p = params or IngestParams()
    return reader(data, max_pages=p.max_pages, margin=p.pdf_margin, min_chars_per_page=p.min_chars_per_page)


def extract(data: bytes) -> str:
    return normalise_layout(read(data).text)


def between(text: str, start: str, end: str) -> str:
    i = text.index(start) + len(start)
    return text[i : text.index(end, i)]


def items(block: str) -> list[str]:
    """The bullet items of a block, each folded to one line, glyph dropped."""
    return [fold(p)[2:] for p in block.split("\n\n") if p.lstrip().startswith("- ")]


# ---------------------------------------------------------------- golden report


@pytest.fixture(scope="module")
def report() -> tuple[PdfText, str]:
    pdf = read(shared_report().read_bytes())
    return pdf, normalise_layout(pdf.text)


def test_report_has_13_pages_and_one_footer_dropped_per_page_after_the_first(report: tuple[PdfText, str]) -> None:
    pdf, _ = report
    assert pdf.n_pages == 13
    assert pdf.dropped_lines == 12
    assert pdf.extractor.startswith("pypdfium2-")


def test_report_running_footer_and_page_numbers_are_gone(report: tuple[PdfText, str]) -> None:
    _, text = report
    assert "Inspection report:" not in text
    assert not re.search(r"Page\s+\d+\s+of\s+13", text)
    bare_numbers = [ln for ln in text.split("\n") if re.fullmatch(r"\s*(?:page\s*)?\d{1,3}\s*", ln, flags=re.I)]
    assert bare_numbers == []
    # the footer's words are dropped, not the school's name where the report itself writes it
    assert text.count("Rounds Green Primary School") == 1


def test_report_first_page_reads_left_column_then_right_column(report: tuple[PdfText, str]) -> None:
    _, text = report
    summary = between(text, "This is an inadequate school", "The school has the following strengths")
    assert items(summary) == [
        # left column
        "Safeguarding is ineffective. Not enough attention has been paid to assessing risks and acting on "
        "concerns. Actions have not been taken in accordance with the school’s safeguarding policy. Pupils are "
        "not taught how to keep themselves safe from harm or risk.",
        "Leaders, including middle leaders and governors are failing to improve teaching and to provide pupils "
        "with an acceptable standard of education.",
        "Leadership of the school over the last two years has been weak. The school is heavily reliant on "
        "external support.",
        "The leadership of the early years is inadequate. Teachers do not ensure that children’s speedy progress "
        "over time by teaching them the skills they need to learn and practise. Learning areas in the classroom "
        "are poorly organised.",
        "Governors have failed to challenge the poor practice of the school quickly enough.",
        # right column
        "Standards at the end of key stages 1 and 2 are well below the national average and not improving "
        "quickly enough. Disadvantaged pupils do not achieve as well as other pupils nationally.",
        "Teaching and learning are not effective and pupils are underachieving in reading, writing and "
        "mathematics. Teachers’ assessments of pupils’ achievements are insecure. They do not provide sufficient "
        "support for those pupils who have specific learning difficulties or challenge for the most able.",
        "Leaders have not managed incidents of poor behaviour, including bullying, well enough. Low-level "
        "disruption in lessons across the school interrupts learning.",
        "Attendance and punctuality are poor.",
    ]


def test_report_first_group_of_improvements_is_nested(report: tuple[PdfText, str]) -> None:
    _, text = report
    block = between(text, "What does the school need to do to improve further?\n\n", "\n\n- Improve leadership")
    assert block.split("\n") == [
        "- As a matter of urgency, ensure that all aspects of safeguarding are effective by:",
        "",
        "  - adhering closely to the school’s safeguarding policy",
        "",
        "  - assessing risks regularly and taking immediate action on potential or identified",
        "shortcomings",
        "",
        "  - teaching pupils to keep safe from risks such as child exploitation and radicalisation.",
    ]


def test_report_every_group_of_improvements_is_parents_with_sub_items(report: tuple[PdfText, str]) -> None:
    _, text = report
    block = between(text, "What does the school need to do to improve further?", "An external review")
    shape = [("  - " if ln.startswith("  - ") else "- ") for ln in block.split("\n") if ln.lstrip().startswith("- ")]
    counts = []
    for marker in shape:
        if marker == "- ":
            counts.append(0)
        else:
            counts[-1] += 1
    assert counts == [3, 3, 3, 3, 5]


def test_report_paragraph_split_by_a_page_break_is_joined(report: tuple[PdfText, str]) -> None:
    _, text = report
    # pages 5/6, 6/7 and 8/9 break these sentences after "and", "few" and "tackle"
    assert "opportunities to apply, develop and refine reading skills in lessons." in text
    assert "Pupils have too few opportunities to develop their understanding of text" in text
    assert "has helped to tackle weaknesses in teaching." in text


# ---------------------------------------------------------------- built PDFs

BODY = [
    [
        "Dear Mrs Smith",
        "",
        "Following my visit to your school on 12 December 2012, I write to",
        "confirm what we found.",
    ],
    ["Leaders have acted on the weaknesses found at the last inspection.", "", "Yours sincerely"],
    ["Annex: the evidence", "", "Inspectors met the headteacher."],
]


@pytest.mark.parametrize(
    "footer",
    [
        "Page {page} of {pages}",
        "{page}",
        "Inspection report: Anytown School, 9–10 November 2016 Page {page} of {pages}",
    ],
)
def test_running_header_and_footer_are_dropped_but_a_one_off_margin_line_is_kept(footer: str) -> None:
    note = "This copy was printed for the governors."
    pdf = read(pdf_factory.text_pdf(BODY, header="Ofsted | Monitoring letter", footer=footer, notes={1: note}))
    text = normalise_layout(pdf.text)
    assert pdf.dropped_lines == 6
    assert "Ofsted | Monitoring letter" not in text
    assert not re.search(r"(?m)^\s*(?:Page\s*)?\d\s*(?:of 3)?$", text)
    assert "Inspection report" not in text
    assert note in text
    body = [ln for page in BODY for ln in page if ln]
    positions = [text.index(ln) for ln in body]
    assert positions == sorted(positions)


def test_a_line_repeated_in_the_body_of_every_page_is_kept() -> None:
    pages = [[f"Section {n}", "", "Next steps are agreed with the school."] for n in range(1, 4)]
    text = extract(pdf_factory.text_pdf(pages, footer="Page {page} of {pages}"))
    assert text.count("Next steps are agreed with the school.") == 3


def test_a_sentence_carried_over_a_page_break_is_joined() -> None:
    pages = [
        ["Since the last inspection, the headteacher has worked closely with the"],
        ["local authority to improve the teaching of reading."],
    ]
    text = extract(pdf_factory.text_pdf(pages, footer="Page {page} of {pages}"))
    assert text == (
        "Since the last inspection, the headteacher has worked closely with the "
        "local authority to improve the teaching of reading."
    )


def test_a_new_paragraph_on_the_next_page_is_not_joined() -> None:
    pages = [["Leaders have acted on the weaknesses found."], ["Governors now challenge leaders."]]
    text = extract(pdf_factory.text_pdf(pages, footer="{page}"))
    assert text == "Leaders have acted on the weaknesses found.\n\nGovernors now challenge leaders."


def test_two_columns_read_left_column_then_right() -> None:
    left = ["• Safeguarding is ineffective. Not", "enough attention has been paid.", "", "• Governors have failed."]
    right = ["• Standards at the end of key", "stages 1 and 2 are well below.", "", "• Attendance is poor."]
    text = extract(pdf_factory.two_column_pdf(left, right))
    assert text == (
        "- Safeguarding is ineffective. Not\nenough attention has been paid.\n\n- Governors have failed.\n\n"
        "- Standards at the end of key\nstages 1 and 2 are well below.\n\n- Attendance is poor."
    )


def test_bullets_become_dash_and_nested_bullets_indented_dash() -> None:
    text = extract(pdf_factory.bullet_pdf())
    assert text.split("\n") == [
        "The school should:",
        "",
        "- Improve leadership by:",
        "",
        "  - checking the quality of teaching",
        "",
        "  - holding middle leaders to account.",
        "",
        "- Improve teaching by:",
        "",
        "  - raising expectations of the most able.",
        "",
        "- Improve attendance.",
    ]


def test_a_sub_item_wrapped_onto_a_second_line_keeps_the_list_nested() -> None:
    text = extract(
        pdf_factory.bullet_pdf(
            [
                (0, "Improve the early years by:"),
                (1, "ensuring that leaders have high expectations of what children\nshould know and do"),
                (1, "assessing all risks."),
            ]
        )
    )
    assert [ln for ln in text.split("\n") if ln.lstrip().startswith("- ")] == [
        "- Improve the early years by:",
        "  - ensuring that leaders have high expectations of what children",
        "  - assessing all risks.",
    ]


def test_a_sub_item_wrapped_onto_three_lines_keeps_the_list_nested() -> None:
    text = extract(
        pdf_factory.bullet_pdf(
            [
                (0, "Improve the early years by:"),
                (
                    1,
                    "ensuring that leaders have high expectations of what children\n"
                    "should know and do so that children develop the skills\nthey need for the next stage",
                ),
                (1, "assessing all risks."),
            ]
        )
    )
    assert [ln for ln in text.split("\n") if ln.lstrip().startswith("- ")] == [
        "- Improve the early years by:",
        "  - ensuring that leaders have high expectations of what children",
        "  - assessing all risks.",
    ]


# ---------------------------------------------------------------- pypdfium2 reads what pdfplumber reads


def raw_pdf(content: bytes, fonts: bytes, extra: list[bytes] | None = None) -> bytes:
    """A one-page A4 PDF drawing ``content`` with the font resources ``fonts``.

    ``extra`` objects are numbered from 5 on (so a font can point to ``5 0 R``).
    """
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>",
        b"<< /Type /Page /Parent 2 0 R /Resources << /Font " + fonts + b" >> /Contents 4 0 R >>",
        stream(content),
        *(extra or []),
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)


HELVETICA = b"<< /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >> >>"
STANDARD_FONTS = (
    b"<< /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> "
    b"/F2 << /Type /Font /Subtype /Type1 /BaseFont /Times-Roman "
    b"/Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [1 /fi /fl] >> >> "
    b"/F3 << /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold >> >>"
)
# Helvetica whose bullet and euro glyphs read, through a ToUnicode map, as Word's private-use
# bullet U+F0B7 and as U+1D400 (outside UCS-2, which PDFium's page text is limited to)
MAPPED_FONT = (
    b"<< /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode 5 0 R >> >>"
)
TO_UNICODE = stream(
    b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo << /Registry (Adobe) "
    b"/Ordering (UCS) /Supplement 0 >> def /CMapName /Adobe-Identity-UCS def /CMapType 2 def "
    b"1 begincodespacerange <00> <FF> endcodespacerange 2 beginbfchar <95> <F0B7> <80> <D835DC00> endbfchar "
    b"endcmap CMapName currentdict /CMap defineresource pop end end"
)


def mapped_pdf() -> bytes:
    content = b"BT /F1 11 Tf 60 700 Td (The school should:) Tj ET BT /F1 11 Tf 60 672 Td (\\225) Tj 18 0 Td (Improve "
    content += b"teaching.) Tj ET BT /F1 11 Tf 60 644 Td (Bold A is \\200 in maths.) Tj ET"
    return raw_pdf(content, MAPPED_FONT, [TO_UNICODE])


# every kind of PDF this file and tests/test_ingest.py build, and the font and matrix cases
BUILT: dict[str, Callable[[], bytes]] = {
    **{
        f"running lines, footer {footer!r}": (
            lambda footer=footer: pdf_factory.text_pdf(
                BODY, header="Ofsted | Monitoring letter", footer=footer, notes={1: "A one-off note."}
            )
        )
        for footer in ["Page {page} of {pages}", "{page}", "Inspection report: Anytown School, 9–10 November 2016"]
    },
    "body line on every page": lambda: pdf_factory.text_pdf(
        [[f"Section {n}", "", "Next steps are agreed with the school."] for n in range(1, 4)], footer="{page}"
    ),
    "sentence over a page break": lambda: pdf_factory.text_pdf(
        [["Since the last inspection, the headteacher has worked closely with the"], ["local authority to read."]]
    ),
    "two columns": lambda: pdf_factory.two_column_pdf(
        ["• Safeguarding is ineffective. Not", "enough attention has been paid.", "", "• Governors have failed."],
        ["• Standards at the end of key", "stages 1 and 2 are well below.", "", "• Attendance is poor."],
    ),
    "bullets": pdf_factory.bullet_pdf,
    "wrapped sub-item": lambda: pdf_factory.bullet_pdf(
        [(0, "Improve by:"), (1, "ensuring that leaders have high\nexpectations of what\nchildren do"), (1, "x.")]
    ),
    "ingest's report page": lambda: pdf_factory.text_pdf(
        [["School report", "", "Inspection dates 9–10 November 2016", "", "Overall effectiveness Good"]],
        footer="Page {page} of {pages}",
    ),
    "standard fonts and ligatures": lambda: raw_pdf(
        b"BT /F2 12 Tf 60 700 Td (The \\001nal \\002ow of ef\\001ciency) Tj ET "
        b"BT /F3 10 Tf 60 680 Td (Courier text) Tj ET BT /F1 12 Tf 60 660 Td (Helvetica text) Tj ET",
        STANDARD_FONTS,
    ),
    "scaled matrix and raised text": lambda: raw_pdf(
        b"q 0.5 0 0 0.5 10 20 cm BT /F1 24 Tf 100 1400 Td (Scaled by half) Tj ET Q "
        b"BT /F1 12 Tf 60 600 Td (x) Tj 4 Ts (2) Tj 0 Ts ( is raised) Tj ET BT /F1 12 Tf 60 586 Td (next) Tj ET",
        HELVETICA,
    ),
    "rotated text in the margin": lambda: raw_pdf(
        b"BT /F1 12 Tf 60 700 Td (Upright line one) Tj ET BT /F1 12 Tf 0 1 -1 0 30 300 Tm (Rotated) Tj ET "
        b"BT /F1 12 Tf 60 686 Td (Upright line two) Tj ET",
        HELVETICA,
    ),
    "hyphen ending a line": lambda: raw_pdf(
        b"BT /F1 12 Tf 60 700 Td (confidence and self-) Tj ET BT /F1 12 Tf 60 686 Td (esteem of pupils) Tj ET",
        HELVETICA,
    ),
    "private-use bullet, character outside UCS-2": mapped_pdf,
}


@pytest.mark.parametrize("name", BUILT)
def test_built_pdf_reads_as_with_pdfplumber(name: str) -> None:
    data = BUILT[name]()
    params = IngestParams(min_chars_per_page=1)
    new, old = read(data, params), read(data, params, read_pdf_pdfplumber)
    assert (new.text, new.n_pages, new.dropped_lines) == (old.text, old.n_pages, old.dropped_lines)
    assert new.text.strip()


def assert_same_lines(new: list[Page], old: list[Page]) -> None:
    """Same lines, and boxes within 0.01 pt (margins and paragraph gaps are read from them)."""
    assert [h for h, _ in new] == pytest.approx([h for h, _ in old], abs=0.01)
    for (_, new_lines), (_, old_lines) in zip(new, old, strict=True):
        assert [ln["text"] for ln in new_lines] == [ln["text"] for ln in old_lines]
        boxes = [(ln["top"], ln["bottom"]) for ln in new_lines]
        assert boxes == [pytest.approx((ln["top"], ln["bottom"]), abs=0.01) for ln in old_lines]


@pytest.mark.parametrize("name", BUILT)
def test_built_pdf_lines_and_boxes_are_pdfplumbers(name: str) -> None:
    data = BUILT[name]()
    assert_same_lines(read_pages(data, max_pages=50), read_pages_pdfplumber(data, max_pages=50))


@pytest.fixture(scope="module")
def report_pdfplumber_pages() -> list[Page]:
    return read_pages_pdfplumber(shared_report().read_bytes(), max_pages=50)


def test_report_lines_and_boxes_are_pdfplumbers(report_pdfplumber_pages: list[Page]) -> None:
    assert_same_lines(read_pages(shared_report().read_bytes(), max_pages=50), report_pdfplumber_pages)


def test_report_reads_as_with_pdfplumber(report: tuple[PdfText, str], report_pdfplumber_pages: list[Page]) -> None:
    new, _ = report
    p = IngestParams()
    old = assemble_text(report_pdfplumber_pages, p.pdf_margin, p.min_chars_per_page, "pdfplumber")
    assert (new.text, new.n_pages, new.dropped_lines) == (old.text, old.n_pages, old.dropped_lines)


def test_private_use_bullet_and_a_character_outside_ucs2_survive() -> None:
    text = read(mapped_pdf(), IngestParams(min_chars_per_page=1)).text
    assert text.split("\n") == [
        "The school should:",
        "",
        "\uf0b7 Improve teaching.",
        "",
        "Bold A is \U0001d400 in maths.",
    ]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (pdf_factory.encrypted_pdf, "encrypted_pdf"),
        (pdf_factory.truncated_pdf, "corrupt_pdf"),
        (pdf_factory.image_only_pdf, "no_text_layer"),
        (lambda: b"%PDF-1.4\n" + bytes(range(256)) * 4, "corrupt_pdf"),
    ],
)
def test_both_readers_reject_a_bad_pdf_for_the_same_reason(make: Callable[[], bytes], reason: str) -> None:
    for reader in (read_pdf, read_pdf_pdfplumber):
        with pytest.raises(DocumentError) as err:
            read(make(), reader=reader)
        assert err.value.reason == reason


def test_utf16_units_read_one_by_one_pair_into_characters_outside_ucs2() -> None:
    codes = [ord("A"), 0xD835, 0xDC00, ord("b"), 0xDC00, 0xD835]  # a pair, then two lone halves
    assert list(pdf_module._chars_of_codes(codes)) == [
        (0, "A"),
        (1, "\U0001d400"),
        (3, "b"),
        (4, "\ufffd"),
        (5, "\ufffd"),
    ]


def test_page_count_is_checked_before_any_page_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_reading(*args: Any) -> None:
        raise AssertionError("a page was read")

    monkeypatch.setattr(pdf_module, "_pdfium_page_lines", no_reading)
    with pytest.raises(DocumentError) as err:
        read(pdf_factory.text_pdf([["one"], ["two"], ["three"]]), IngestParams(max_pages=2))
    assert err.value.reason == "too_many_pages"
    assert "3 pages" in str(err.value) and "ingest.max_pages = 2" in str(err.value)


# Where the two readers differ, PDFium's text is the better one.


def test_words_set_apart_by_a_gap_without_a_space_are_split() -> None:
    # pdfplumber joins words whose gap is 3 pt or less: "Hello worldnextword"
    data = raw_pdf(b"BT /F1 12 Tf 60 700 Td [(Hello) -500 (world) -200 (next) -250 (word)] TJ ET", HELVETICA)
    assert read(data, IngestParams(min_chars_per_page=1)).text == "Hello world next word"


def test_text_drawn_twice_for_a_bold_effect_is_read_once() -> None:
    # pdfplumber reads "Heading Heading"
    data = raw_pdf(
        b"BT /F1 12 Tf 60 700 Td (Heading) Tj ET BT /F1 12 Tf 60.3 700 Td (Heading) Tj ET "
        b"BT /F1 12 Tf 60 680 Td (Body text.) Tj ET",
        HELVETICA,
    )
    assert read(data, IngestParams(min_chars_per_page=1)).text == "Heading\n\nBody text."


def test_symbol_font_text_reads_as_the_letters_drawn() -> None:
    # pdfplumber reads the codes as Latin letters: "a + b"
    symbol = b"<< /F1 << /Type /Font /Subtype /Type1 /BaseFont /Symbol >> >>"
    data = raw_pdf(b"BT /F1 12 Tf 60 700 Td (a + b) Tj ET", symbol)
    assert read(data, IngestParams(min_chars_per_page=1)).text == "\u03b1 + \u03b2"


def test_a_soft_hyphen_ending_a_line_reads_as_the_hyphen_drawn() -> None:
    # pdfplumber drops it ("self\nesteem"), so the word break no longer shows
    data = raw_pdf(
        b"BT /F1 12 Tf 60 700 Td (confidence and self\\255) Tj ET BT /F1 12 Tf 60 686 Td (esteem of pupils) Tj ET",
        HELVETICA,
    )
    assert read(data, IngestParams(min_chars_per_page=1)).text == "confidence and self-\nesteem of pupils"


# ---------------------------------------------------------------- characters to lines, as pdfplumber groups them


def plumber_lines(chars: list[Char]) -> list[tuple[str, float, float]]:
    """pdfplumber's own grouping of the same characters (its ``extract_text_lines(use_text_flow=True)``)."""
    dicts = [
        {"text": t, "x0": x0, "x1": x1, "top": top, "bottom": bottom, "doctop": top, "upright": up}
        for t, x0, x1, top, bottom, up in chars
    ]
    if not dicts:
        return []
    lines = chars_to_textmap(dicts, use_text_flow=True).extract_text_lines(return_chars=False)
    return [(ln["text"], ln["top"], ln["bottom"]) for ln in lines]


def ours(chars: list[Char]) -> list[tuple[str, float, float]]:
    return [(ln["text"], ln["top"], ln["bottom"]) for ln in text_flow_lines(chars)]


_COORD = st.integers(0, 60).map(lambda n: n / 4)  # quarter points: gaps land on the 3 pt tolerance too
_CHAR = st.builds(
    lambda t, x0, w, top, h, up: (t, x0, x0 + w, top, top + h, up),
    st.sampled_from(["a", "B", "7", ".", "\u2013", "\uf0b7", "\ufb01", "\ufb03", " ", "\u00a0", "\t"]),
    _COORD,
    st.sampled_from([0.0, 2.0, 5.5]),
    _COORD,
    st.sampled_from([10.0, 12.0]),
    st.sampled_from([True, True, True, False]),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(_CHAR, max_size=40))
@example([("a", 0.0, 5.0, 0.0, 10.0, True), ("b", 8.0, 12.0, 0.0, 10.0, True)])  # gap of exactly 3: one word
@example([("a", 0.0, 5.0, 0.0, 10.0, True), ("b", 5.0, 9.0, 3.0, 13.0, True)])  # top exactly 3 lower: one word
@example([("a", 0.0, 5.0, 0.0, 10.0, True), ("b", 5.0, 9.0, 3.25, 13.25, True)])  # top 3.25 lower: two words
def test_text_flow_lines_groups_characters_as_pdfplumber_does(chars: list[Char]) -> None:
    assert ours(chars) == plumber_lines(chars)


def test_text_flow_lines_splits_words_at_gaps_and_jumps_and_lines_at_new_tops() -> None:
    chars: list[Char] = [
        ("H", 10, 16, 100, 111, True),
        ("i", 16, 19, 100.5, 111.5, True),  # same word: no gap, top within 3
        ("t", 23, 26, 100, 111, True),  # 4 pt gap: new word
        ("h", 26, 31, 100, 111, True),
        ("\ufb01", 31, 36, 100, 111, True),  # ligature, expanded
        ("x", 10, 15, 114, 125, True),  # back to the left, lower: new line
    ]
    assert ours(chars) == [("Hi th" + "fi", 100, 111.5), ("x", 114, 125)]


# ---------------------------------------------------------------- normalise_layout properties

_INDENT = st.sampled_from(["", "", " ", "  ", "    ", "\t"])
_GLYPH = st.sampled_from(["", "", "", "• ", "•", "– ", "- ", "o ", "* ", "\uf0b7 ", "- 3 -", "\u00a0"])
_WORD = st.sampled_from(["the", "School", "improve", "by", "a", "and", "Pupils", "3", "teaching", "x" * 12])
_END = st.sampled_from(["", "", ".", ":", ";", ",", " "])
_LINE = st.builds(lambda i, g, ws, e: i + g + " ".join(ws) + e, _INDENT, _GLYPH, st.lists(_WORD, max_size=14), _END)
LAYOUTS = st.one_of(st.text(), st.lists(st.one_of(_LINE, st.just("")), max_size=25).map("\n".join))
"""Any text, and text made of the lines extraction yields: indents, bullet glyphs, blank lines."""


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(LAYOUTS)
def test_normalise_layout_never_raises(text: str) -> None:
    assert isinstance(normalise_layout(text), str)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(LAYOUTS)
@example("• Improve teaching by\n\nmaking sure that:\no pupils read")
def test_normalise_layout_is_idempotent(text: str) -> None:
    once = normalise_layout(text)
    assert normalise_layout(once) == once
