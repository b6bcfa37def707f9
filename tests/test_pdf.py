"""PDF text extraction: a golden real report, and PDFs built at test time for each layout case."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.ingest import IngestParams
from pipeline.pdf import PdfText, read_pdf
from pipeline.text import fold, normalise_layout
from tests import pdf_factory
from tests.conftest import RAW

REPORT = RAW / "103980__5.pdf"


def read(data: bytes, params: IngestParams | None = None) -> PdfText:
    p = params or IngestParams()
    return read_pdf(data, max_pages=p.max_pages, margin=p.pdf_margin, min_chars_per_page=p.min_chars_per_page)


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
    pdf = read(REPORT.read_bytes())
    return pdf, normalise_layout(pdf.text)


def test_report_has_13_pages_and_one_footer_dropped_per_page_after_the_first(report: tuple[PdfText, str]) -> None:
    pdf, _ = report
    assert pdf.n_pages == 13
    assert pdf.dropped_lines == 12
    assert pdf.extractor.startswith("pdfplumber-")


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
