"""The ``extract`` command: records as in spec/records.md, exact output, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.stages.extract import RECORD_KEYS
from tests.conftest import RAW

SEED = RAW / "000_9679ccaa734ab79b.txt"


def test_jsonl_record_has_every_key_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(SEED), "--format", "jsonl"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    rec = json.loads(out[0])
    assert tuple(rec) == RECORD_KEYS
    assert rec["status"] == "ok" and rec["error"] is None
    assert rec["school_name"] == "Wigmore Primary School"
    assert rec["issues"] == []
    assert set(rec["sections"]) == {"Evidence", "Context", "Main findings", "External support"}
    assert {s["support_type"] for s in rec["external_support"]} == {
        "la_adviser_consultant",
        "national_leader_of_governance",
    }
    start, end = rec["evidence"]["postcode"]
    assert SEED.read_text()[start:end] == "LU2 9TB"


def test_records_come_in_input_order_with_rejects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    paths = [str(RAW / "002_ac7e3850505a210e.txt"), str(empty), str(SEED), str(tmp_path / "nope.pdf")]
    assert main(["extract", *paths]) == 0
    captured = capsys.readouterr()
    recs = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["source"] for r in recs] == paths
    assert [r["status"] for r in recs] == ["ok", "rejected", "ok", "rejected"]
    assert recs[1]["error"] == "the file is empty (0 bytes of content); remove it or replace it"
    assert recs[3]["error"].startswith("cannot read the file: No such file or directory")
    assert f"extract: rejected {empty}: the file is empty" in captured.err


def test_strict_exits_1_when_anything_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"\x00\x01garbage")
    assert main(["extract", "--strict", str(SEED), str(bad)]) == 1
    assert main(["extract", "--strict", str(SEED)]) == 0
    err = capsys.readouterr().err
    assert "named .pdf but is not a PDF" in err


def test_table_format_exact(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", "--format", "table", *sorted(map(str, RAW.glob("00[0-2]_*.txt")))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "source", "doc_type", "status", "letter_kind", "letter_date", "school_name", "postcode",
        "local_authority", "effective", "recs",
    ]  # fmt: skip
    assert lines[2].split() == [
        "000_9679ccaa734ab79b.txt", "hmi_letter", "ok", "ri_monitoring", "2012-12-13", "Wigmore", "Primary",
        "School", "LU2", "9TB", "Luton", "True", "3",
    ]  # fmt: skip
    assert len(lines) == 5


def test_folder_is_expanded_and_documents_typed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(RAW)]) == 0
    recs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["doc_type"] for r in recs] == [
        "hmi_letter", "hmi_letter", "hmi_letter", "case_study", "la_plan", "inspection_report",
    ]  # fmt: skip
    assert all(r["status"] == "ok" for r in recs)


def test_help_ends_with_an_example() -> None:
    for args in (["--help"], ["extract", "--help"], ["ingest", "--help"], ["parse", "--help"],
                 ["load", "--help"], ["evaluate", "--help"], ["contracts", "--help"], ["link", "--help"],
                 ["embed", "--help"], ["classify", "--help"], ["train", "--help"], ["query", "--help"],
                 ["sql", "--help"], ["search", "--help"]):  # fmt: skip
        out = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True, check=True
        ).stdout
        assert out.rstrip().splitlines()[-2].strip() == "Example:", args
        assert out.rstrip().splitlines()[-1].strip().startswith("ofsted-nlp "), args


def test_extract_imports_no_model_library() -> None:
    code = (
        "import sys; from pipeline.cli import main; main(['extract', sys.argv[1]]); "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'spacy', 'sklearn') if m in sys.modules]; "
        "sys.stderr.write(repr(heavy))"
    )
    run = subprocess.run([sys.executable, "-c", code, str(SEED)], capture_output=True, text=True, check=True)
    assert run.stderr.strip() == "[]"


def test_config_error_exits_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("ingest:\n  max_byts: 10\n")
    assert main(["extract", "--params", str(params), str(SEED)]) == 2
    assert capsys.readouterr().err == (
        f"ofsted-nlp extract: error: {params}: unknown ingest params ['max_byts']; valid: ['max_bytes', "
        "'max_inflated_bytes', 'max_line_chars', 'max_lines', 'max_non_ascii_share', 'max_pages', 'max_reject_rate', "
        "'min_chars_per_page', 'pdf_margin']\n"
    )
