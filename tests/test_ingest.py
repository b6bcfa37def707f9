"""The ingest stage: every bad input becomes a reject with an actionable message, and the run goes on."""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pypdfium2 as pdfium
import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.errors import REJECT_REASONS, DocumentError, PipelineError, RejectRateError
from pipeline.stages.ingest import Document, IngestParams, Reject, doc_id_of, ingest, ingest_document, reader, run
from pipeline.text.common import decode
from pipeline.warehouse import contracts
from tests import pdf_factory
from tests.conftest import RAW, ROOT, shared_report

PARAMS = IngestParams()
LETTER = RAW / "000_9679ccaa734ab79b.txt"

# Long enough for its six cp1252-only characters to stay under ingest.max_non_ascii_share (2%).
CP1252_TEXT = (
    "Dear Mrs Smith\n\n"
    "Following my visit to your school on 12 December 2012, I write on behalf of Her Majesty’s Chief "
    "Inspector to confirm the inspection findings. Leaders have spent £12,000 on “catch-up” reading books, "
    "and pupils told me that reading is ‘much better’ now. The school’s plans are fit for purpose, and "
    "governors check that the money is well spent. Teaching is improving, although some lessons still move "
    "too slowly for the most able pupils, and assessment is not yet accurate in every class.\n"
)
NOT_A_LETTER = "Minutes of the summer fair committee\n\nWe sold 40 cakes and raised enough for new goal posts.\n"


def const(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def ingest_all(files: list[tuple[str, bytes]], params: IngestParams = PARAMS) -> list[Document | Reject]:
    return list(ingest(((name, const(data)) for name, data in files), params))


def only_reject(items: list[Document | Reject], source: str) -> Reject:
    found = [i for i in items if i.source == source]
    assert len(found) == 1 and isinstance(found[0], Reject), found
    return found[0]


def text_pdf() -> bytes:
    return pdf_factory.text_pdf(
        [["School report", "", "Inspection dates 9–10 November 2016", "", "Overall effectiveness Good"]],
        footer="Page {page} of {pages}",
    )


# ---------------------------------------------------------------- bad inputs become rejects

BAD: list[tuple[str, Callable[[], bytes], str, list[str]]] = [
    ("empty.txt", lambda: b"", "empty_file", ["empty", "remove it or replace it"]),
    ("blank.txt", lambda: b"  \r\n\t\n  ", "empty_file", ["empty"]),
    ("noise.pdf", lambda: random.Random(0).randbytes(4096), "corrupt_pdf", ["not a PDF", "download the file again"]),
    ("cut.pdf", pdf_factory.truncated_pdf, "corrupt_pdf", ["truncated or damaged", "download it again"]),
    ("locked.pdf", pdf_factory.encrypted_pdf, "encrypted_pdf", ["password", "unencrypted copy"]),
    ("scan.pdf", pdf_factory.image_only_pdf, "no_text_layer", ["no text layer — needs OCR", "0 characters"]),
    (
        "sjis.txt",
        lambda: "学校の報告書です。これは日本語の文章です。".encode("shift_jis"),
        "unknown_encoding",
        ["not UTF-8", "re-save the file as UTF-8"],
    ),
    (
        "koi8.txt",
        lambda: "Отчёт об инспекции школы. Школа хорошая.".encode("koi8_r"),
        "unknown_encoding",
        ["Windows-1252", "limit 2%", "re-save the file as UTF-8"],
    ),
    ("letter.docx", lambda: b"PK\x03\x04" + b"word/document.xml" * 10, "unsupported_type", [".docx", "convert to PDF"]),
]


@pytest.mark.parametrize(("name", "make", "reason", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_file_is_rejected_with_reason_and_message_and_the_run_goes_on(
    name: str, make: Callable[[], bytes], reason: str, words: list[str]
) -> None:
    data = make()
    out = ingest_all([("first.txt", LETTER.read_bytes()), (name, data), ("last.pdf", text_pdf())])
    assert [type(i).__name__ for i in out] == ["Document", "Reject", "Document"]
    rej = only_reject(out, name)
    assert (rej.reason, rej.stage) == (reason, "ingest")
    assert rej.reason in REJECT_REASONS
    assert rej.doc_id == doc_id_of(data)
    for word in words:
        assert word in rej.message
    assert out[2].doc_type == "inspection_report"  # type: ignore[union-attr]


def test_a_mix_of_good_and_bad_files_keeps_every_good_one_in_order() -> None:
    files = [("good1.txt", LETTER.read_bytes())] + [(b[0], b[1]()) for b in BAD] + [("good2.pdf", text_pdf())]
    out = ingest_all(files)
    assert [i.source for i in out] == [f[0] for f in files]
    assert [i.source for i in out if isinstance(i, Document)] == ["good1.txt", "good2.pdf"]
    assert [i.reason for i in out if isinstance(i, Reject)] == [b[2] for b in BAD]


def test_pdf_with_too_many_pages_names_the_count_and_the_limit() -> None:
    data = pdf_factory.text_pdf([["Page one of the report."], ["Page two of the report."]])
    [rej] = ingest_all([("long.pdf", data)], IngestParams(max_pages=1))
    assert isinstance(rej, Reject) and rej.reason == "too_many_pages"
    assert "2 pages" in rej.message and "ingest.max_pages = 1" in rej.message


def test_a_50_mb_file_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as f:
        f.truncate(50_000_000)  # sparse: nothing is written or read
    out = list(ingest([("huge.pdf", reader(huge, PARAMS.max_bytes)), ("b.txt", lambda: LETTER.read_bytes())], PARAMS))
    rej = only_reject(out, "huge.pdf")
    assert rej.reason == "too_large"
    assert rej.doc_id is None  # refused before the bytes were read and hashed
    assert "50,000,000 bytes" in rej.message and "ingest.max_bytes = 25,000,000 bytes" in rej.message
    assert "raise the limit in params.yaml" in rej.message
    assert isinstance(out[1], Document)


def test_too_large_in_memory() -> None:
    with pytest.raises(DocumentError) as err:
        ingest_document("big.txt", b"a" * 2_000, IngestParams(max_bytes=1_000))
    assert err.value.reason == "too_large"
    assert "ingest.max_bytes" in err.value.message


@pytest.mark.parametrize(("size", "limit"), [(2_000, 1_000), (25_000_001, 25_000_000)])
def test_too_large_message_tells_the_size_from_the_limit(tmp_path: Path, size: int, limit: int) -> None:
    path = tmp_path / "big.txt"
    with path.open("wb") as f:
        f.truncate(size)
    with pytest.raises(DocumentError) as err:
        reader(path, limit)()
    numbers = re.findall(r"\d[\d,.]*\d|\d", err.value.message)
    assert numbers[0] != numbers[1], err.value.message


def test_missing_and_unreadable_paths_are_rejected(tmp_path: Path) -> None:
    def denied() -> bytes:
        raise PermissionError(13, "Permission denied", "locked.txt")

    folder = tmp_path / "a-folder.txt"
    folder.mkdir()
    out = list(
        ingest(
            [
                ("gone.txt", reader(tmp_path / "gone.txt", PARAMS.max_bytes)),
                ("a-folder.txt", reader(folder, PARAMS.max_bytes)),
                ("locked.txt", denied),
                ("ok.txt", lambda: LETTER.read_bytes()),
            ],
            PARAMS,
        )
    )
    messages = {i.source: i.message for i in out if isinstance(i, Reject) and i.reason == "unreadable"}
    assert messages == {
        "gone.txt": "cannot read the file: No such file or directory",
        "a-folder.txt": "cannot read the file: Is a directory",
        "locked.txt": "cannot read the file: Permission denied",
    }
    assert isinstance(out[-1], Document)


def test_second_copy_of_the_same_bytes_is_a_duplicate_naming_the_first() -> None:
    data = LETTER.read_bytes()
    out = ingest_all([("a/letter.txt", data), ("b/copy.txt", data), ("c.txt", CP1252_TEXT.encode("utf-8"))])
    assert isinstance(out[0], Document) and isinstance(out[2], Document)
    rej = only_reject(out, "b/copy.txt")
    assert rej.reason == "duplicate" and rej.doc_id == out[0].doc_id
    assert "a/letter.txt" in rej.message and out[0].doc_id in rej.message


def test_a_document_that_is_not_a_letter_is_kept_as_unknown_with_a_problem() -> None:
    doc = ingest_document("minutes.txt", NOT_A_LETTER.encode(), PARAMS)
    assert (doc.doc_type, doc.doc_type_evidence) == ("unknown", None)
    assert doc.problems is not None and "not recognised" in doc.problems and "kept as unknown" in doc.problems


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("data", "extractor"),
    [
        (CP1252_TEXT.encode("utf-8"), "text/utf-8"),
        (b"\xef\xbb\xbf" + CP1252_TEXT.encode("utf-8"), "text/utf-8-sig"),
        (CP1252_TEXT.encode("cp1252"), "text/cp1252"),
        (CP1252_TEXT.replace("\n", "\r\n").encode("utf-8"), "text/utf-8"),
        (CP1252_TEXT.encode("utf-16"), "text/utf-16"),
    ],
    ids=["utf-8", "utf-8-bom", "cp1252", "crlf", "utf-16-bom"],
)
def test_accepted_encodings_decode_to_the_original_text(data: bytes, extractor: str) -> None:
    text, _ = decode(data, PARAMS.max_non_ascii_share)
    assert text == CP1252_TEXT
    doc = ingest_document("letter.txt", data, PARAMS)
    assert doc.extractor == extractor
    assert "\r" not in doc.text and "\ufeff" not in doc.text
    assert "£12,000 on “catch-up”" in doc.text and doc.doc_type == "hmi_letter"


def test_utf16_without_bom_is_read_or_called_an_encoding_problem() -> None:
    data = CP1252_TEXT.encode("utf-16-le")
    try:
        text, _ = decode(data)
    except DocumentError as exc:
        assert exc.reason == "unknown_encoding" and "UTF-8" in exc.message
    else:
        assert text == CP1252_TEXT


@pytest.mark.parametrize(
    "data",
    [b"\xef\xbb\xbf" + CP1252_TEXT.encode("cp1252"), b"\xff\xfe" + CP1252_TEXT.encode("utf-16-le") + b"!"],
    ids=["utf-8-bom-then-cp1252", "utf-16-bom-odd-length"],
)
def test_a_bom_that_lies_is_a_reject_not_a_crash(data: bytes) -> None:
    out = ingest_all([("liar.txt", data), ("ok.txt", LETTER.read_bytes())])
    assert only_reject(out, "liar.txt").reason == "unknown_encoding"
    assert isinstance(out[-1], Document)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")) | st.sampled_from("\t\n\r\x0c")))
def test_decode_round_trips_any_utf8_text(text: str) -> None:
    if text.startswith("\ufeff"):
        text = "x" + text  # a leading U+FEFF is a BOM by definition, dropped on purpose
    assert decode(text.encode("utf-8")) == (text.replace("\r\n", "\n").replace("\r", "\n"), "utf-8")


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=200))
@example(b"\xef\xbb\xbf\x92")
def test_decode_of_any_bytes_returns_text_or_raises_document_error(data: bytes) -> None:
    with contextlib.suppress(DocumentError):
        decode(data)


# ---------------------------------------------------------------- identity and doc_type


@pytest.mark.parametrize(
    ("name", "doc_type"),
    [
        ("000_9679ccaa734ab79b.txt", "hmi_letter"),
        ("001_7962ccb6ef7c9504.txt", "hmi_letter"),
        ("002_ac7e3850505a210e.txt", "hmi_letter"),
        ("003_73e813e566bb7302.txt", "case_study"),
        ("004_a596cbc933efc5c6.txt", "la_plan"),
        ("900411_section5_synthetic.pdf", "inspection_report"),
    ],
)
def test_doc_type_of_each_sample_document(name: str, doc_type: str) -> None:
    path = RAW / name
    doc = ingest_document(str(path), path.read_bytes(), PARAMS)
    assert doc.doc_type == doc_type
    assert doc.doc_type_evidence and doc.problems is None
    assert doc.n_chars == len(doc.text) and doc.n_bytes == path.stat().st_size
    assert doc.n_pages == (len(pdfium.PdfDocument(path.read_bytes())) if name.endswith(".pdf") else None)


def test_a_doc_type_needs_cues_worth_three_points() -> None:
    from pipeline.readers.doctype import MIN_SCORE, classify_doc_type

    assert MIN_SCORE == 3
    assert classify_doc_type("Following my visit to the school.") == ("unknown", None)  # 2 points
    assert classify_doc_type("Following my visit to the school.\nYours sincerely") == (
        "hmi_letter",
        "Yours sincerely; Following my visit",
    )


def test_the_real_report_from_shared_is_typed_and_paged() -> None:
    report = shared_report()
    doc = ingest_document(str(report), report.read_bytes(), PARAMS)
    assert (doc.doc_type, doc.n_pages) == ("inspection_report", 13)


def test_the_sample_report_is_the_synthetic_one_the_factory_draws() -> None:
    # corpus/raw keeps no third-party PDF: its section 5 report is drawn by tests/pdf_factory.py from a fixture
    assert (RAW / pdf_factory.SAMPLE_REPORT_PDF).read_bytes() == pdf_factory.sample_report_pdf()
    assert not list(RAW.glob("103980*")), "the third-party report must stay in ../shared, out of the project"


def test_doc_id_is_stable_and_tells_different_bytes_apart() -> None:
    data = LETTER.read_bytes()
    a = ingest_document("a.txt", data, PARAMS)
    b = ingest_document("elsewhere/b.txt", bytes(data), PARAMS)
    c = ingest_document("a.txt", data + b"\n", PARAMS)
    assert a.doc_id == b.doc_id == doc_id_of(data)
    assert re.fullmatch(r"[0-9a-f]{16}", a.doc_id)
    assert c.doc_id != a.doc_id
    assert pdf_factory.text_pdf([["same"]]) == pdf_factory.text_pdf([["same"]])  # built PDFs are reproducible


# ---------------------------------------------------------------- the shell


def params_yaml() -> dict[str, object]:
    section: dict[str, object] = yaml.safe_load((ROOT / "params.yaml").read_text())["ingest"]
    return section


def test_params_yaml_matches_the_defaults() -> None:
    assert params_yaml() == asdict(PARAMS)


def test_run_writes_tables_that_meet_their_contracts(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    (raw / "a.txt").write_bytes(LETTER.read_bytes())
    (raw / "sub" / "b.pdf").write_bytes(text_pdf())
    (raw / "sub" / "copy.txt").write_bytes(LETTER.read_bytes())
    (raw / "c.txt").write_text(NOT_A_LETTER)
    (raw / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: skipped, not rejected
    with (raw / "huge.txt").open("wb") as f:
        f.truncate(50_000_000)
    docs_out, rejects_out = tmp_path / "out" / "documents.parquet", tmp_path / "out" / "rejects.parquet"

    assert run(raw, docs_out, rejects_out, params_yaml()) == (3, 2)

    docs, rejects = pd.read_parquet(docs_out), pd.read_parquet(rejects_out)
    contracts.check(docs, contracts.DOCUMENTS)
    contracts.check(rejects, contracts.REJECTS)
    assert sorted(Path(s).name for s in docs["source"]) == ["a.txt", "b.pdf", "c.txt"]
    assert dict(zip(docs["source"].map(lambda s: Path(s).name), docs["doc_type"])) == {
        "a.txt": "hmi_letter",
        "b.pdf": "inspection_report",
        "c.txt": "unknown",
    }
    assert dict(zip(rejects["source"].map(lambda s: Path(s).name), rejects["reason"])) == {
        "copy.txt": "duplicate",
        "huge.txt": "too_large",
    }


def test_run_fails_past_the_reject_rate_but_still_writes_both_tables(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "good.txt").write_bytes(LETTER.read_bytes())
    (raw / "empty.txt").write_bytes(b"")
    (raw / "scan.pdf").write_bytes(pdf_factory.image_only_pdf())
    docs_out, rejects_out = tmp_path / "documents.parquet", tmp_path / "rejects.parquet"

    with pytest.raises(RejectRateError) as err:
        run(raw, docs_out, rejects_out, params_yaml())

    assert "2 of 3 files rejected (67%)" in str(err.value)
    assert "ingest.max_reject_rate = 50%" in str(err.value) and str(rejects_out) in str(err.value)
    assert len(pd.read_parquet(docs_out)) == 1
    assert sorted(pd.read_parquet(rejects_out)["reason"]) == ["empty_file", "no_text_layer"]


def test_run_at_the_reject_rate_does_not_fail(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "good.txt").write_bytes(LETTER.read_bytes())
    (raw / "empty.txt").write_bytes(b"")
    assert run(raw, tmp_path / "d.parquet", tmp_path / "r.parquet", params_yaml()) == (1, 1)


def test_run_on_a_missing_raw_folder_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="does not exist"):
        run(tmp_path / "nowhere", tmp_path / "d.parquet", tmp_path / "r.parquet", params_yaml())
