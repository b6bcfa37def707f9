"""Incremental stages: a run reads and parses only what is new, forgets what is gone, and survives being killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline import incremental
from pipeline.errors import PipelineError
from pipeline.stages import ingest, parse
from pipeline.stages.ingest import IngestParams
from tests.conftest import RAW

PARAMS = asdict(IngestParams())
LETTERS = sorted(p for p in RAW.glob("00[0-2]_*.txt"))


def make_raw(folder: Path, n: int, start: int = 0) -> list[Path]:
    """``n`` distinct letters: the sample letters with a numbered line added, so each has its own bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        text = LETTERS[i % len(LETTERS)].read_text(encoding="utf-8") + f"\nReference {i}\n"
        path = folder / f"letter_{i:04d}.txt"
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


class Counting:
    """Wraps a per-item function and counts the items it is given."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.items = fn, []  # type: list[Any]

    def __call__(self, item: Any) -> Any:
        self.items.append(item)
        return self.fn(item)


def run_ingest(tmp: Path, raw: Path, **kw: Any) -> tuple[int, int]:
    return ingest.run(
        raw, tmp / "documents.parquet", tmp / "rejects.parquet", PARAMS, manifest=tmp / "manifest.parquet", **kw
    )


def table(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values(list(pd.read_parquet(path).columns[:2])).reset_index(drop=True)


# ---------------------------------------------------------------- ingest


def test_ingest_reads_only_new_and_changed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 6)
    assert run_ingest(tmp_path, raw) == (6, 0)
    counter = Counting(ingest._ingest_file)
    monkeypatch.setattr(ingest, "_ingest_file", counter)
    make_raw(raw, 2, start=6)
    assert run_ingest(tmp_path, raw) == (8, 0)
    assert [Path(src).name for src, _, _ in counter.items] == ["letter_0006.txt", "letter_0007.txt"]
    counter.items.clear()
    changed = raw / "letter_0001.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\nAmended\n", encoding="utf-8")
    assert run_ingest(tmp_path, raw) == (8, 0)
    assert [Path(src).name for src, _, _ in counter.items] == ["letter_0001.txt"]
    docs = pd.read_parquet(tmp_path / "documents.parquet")
    assert docs.loc[docs["source"].str.endswith("letter_0001.txt"), "text"].iloc[0].rstrip().endswith("Amended")


def test_incremental_ingest_equals_a_fresh_one(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 5)
    run_ingest(tmp_path / "a", raw)
    make_raw(raw, 3, start=5)
    (raw / "letter_0002.txt").unlink()
    (raw / "empty.txt").write_bytes(b"")
    shutil.copy(raw / "letter_0004.txt", raw / "copy_of_4.txt")
    run_ingest(tmp_path / "a", raw)
    run_ingest(tmp_path / "b", raw)  # from nothing
    for name in ("documents.parquet", "rejects.parquet"):
        pd.testing.assert_frame_equal(table(tmp_path / "a" / name), table(tmp_path / "b" / name))
    docs = pd.read_parquet(tmp_path / "a" / "documents.parquet")
    assert len(docs) == 7 and not docs["source"].str.endswith("letter_0002.txt").any()  # deleted: its row is gone
    rejects = pd.read_parquet(tmp_path / "a" / "rejects.parquet")
    assert sorted(rejects["reason"]) == ["duplicate", "empty_file"]


def test_deleting_the_first_copy_keeps_the_document_under_the_second(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 2)
    shutil.copy(raw / "letter_0001.txt", raw / "zz_copy.txt")
    assert run_ingest(tmp_path, raw) == (2, 1)
    (raw / "letter_0001.txt").unlink()
    assert run_ingest(tmp_path, raw) == (2, 0)
    docs = pd.read_parquet(tmp_path / "documents.parquet")
    assert sorted(Path(s).name for s in docs["source"]) == ["letter_0000.txt", "zz_copy.txt"]


def test_a_changed_param_reads_every_file_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 3)
    run_ingest(tmp_path, raw)
    counter = Counting(ingest._ingest_file)
    monkeypatch.setattr(ingest, "_ingest_file", counter)
    ingest.run(
        raw,
        tmp_path / "documents.parquet",
        tmp_path / "rejects.parquet",
        {**PARAMS, "max_pages": 299},
        manifest=tmp_path / "manifest.parquet",
    )
    assert len(counter.items) == 3


def test_parallel_ingest_gives_the_same_tables(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 40)
    run_ingest(tmp_path / "one", raw, jobs=1)
    run_ingest(tmp_path / "two", raw, jobs=2)
    for name in ("documents.parquet", "rejects.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "one" / name), pd.read_parquet(tmp_path / "two" / name)
        )


def test_shards_split_the_files_and_together_cover_them(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 12)
    counts = [run_ingest(tmp_path / f"s{k}", raw, shard=(k, 3))[0] for k in range(3)]
    assert sum(counts) == 12 and all(counts)
    sources = [set(pd.read_parquet(tmp_path / f"s{k}" / "documents.parquet")["source"]) for k in range(3)]
    assert not (sources[0] & sources[1]) and not (sources[1] & sources[2])
    assert incremental.parse_shard("2/3") == (1, 3)
    for bad in ("3/2", "0/2", "x"):
        with pytest.raises(PipelineError, match="--shard"):
            incremental.parse_shard(bad)


# ---------------------------------------------------------------- parse


def test_parse_parses_only_new_documents_and_drops_gone_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 4)
    run_ingest(tmp_path, raw)
    parse.run(tmp_path / "documents.parquet", tmp_path / "parsed")
    counter = Counting(parse._parse_one)
    monkeypatch.setattr(parse, "_parse_one", counter)
    make_raw(raw, 1, start=4)
    (raw / "letter_0000.txt").unlink()
    run_ingest(tmp_path, raw)
    counts = parse.run(tmp_path / "documents.parquet", tmp_path / "parsed")
    assert len(counter.items) == 1 and counts["letters"] == 4
    letters = pd.read_parquet(tmp_path / "parsed" / "letters.parquet")
    docs = pd.read_parquet(tmp_path / "documents.parquet")
    assert sorted(letters["doc_id"]) == sorted(docs["doc_id"])  # the deleted letter's rows are gone
    # the same as parsing from nothing
    monkeypatch.undo()
    parse.run(tmp_path / "documents.parquet", tmp_path / "fresh")
    for name in parse.OUTPUTS:
        a = pd.read_parquet(tmp_path / "parsed" / f"{name}.parquet")
        b = pd.read_parquet(tmp_path / "fresh" / f"{name}.parquet")
        key = [c for c in ("doc_id", "n", "field", "area") if c in a.columns]
        pd.testing.assert_frame_equal(
            a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True), check_dtype=False
        )


def test_changed_parse_code_reparses_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 3)
    run_ingest(tmp_path, raw)
    parse.run(tmp_path / "documents.parquet", tmp_path / "parsed")
    counter = Counting(parse._parse_one)
    monkeypatch.setattr(parse, "_parse_one", counter)
    code_of = incremental.code_of
    monkeypatch.setattr(
        incremental, "code_of", lambda m: (*code_of(m), "pipeline.readers.units")
    )  # a different fingerprint
    parse.run(tmp_path / "documents.parquet", tmp_path / "parsed")
    assert len(counter.items) == 3


def test_ingest_and_parse_hold_a_batch_of_new_text_at_a_time_and_write_the_same_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 7)
    run_ingest(tmp_path, raw)
    parse.run(tmp_path / "documents.parquet", tmp_path / "whole")
    batches: list[int] = []
    real = incremental.parallel_map

    def spy(fn: Any, items: Any, jobs: int, chunk: int = 16) -> Any:
        batches.append(len(items))
        return real(fn, items, jobs, chunk)

    monkeypatch.setattr(parse, "_DOC_ROWS", 3)
    monkeypatch.setattr(ingest, "_DOC_ROWS", 3)
    monkeypatch.setattr(incremental, "parallel_map", spy)
    parse.run(tmp_path / "documents.parquet", tmp_path / "batched")
    assert batches == [3, 3, 1]
    for name in parse.OUTPUTS:
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "whole" / f"{name}.parquet"),
            pd.read_parquet(tmp_path / "batched" / f"{name}.parquet"),
        )
    before = pd.read_parquet(tmp_path / "documents.parquet")
    make_raw(raw, 1, start=7)  # the 7 known documents are read back 3 at a time
    run_ingest(tmp_path, raw)
    after = pd.read_parquet(tmp_path / "documents.parquet")
    pd.testing.assert_frame_equal(after[after["doc_id"].isin(before["doc_id"])].reset_index(drop=True), before)


def test_write_rows_writes_in_chunks_with_the_contract_types_and_empties_the_lists(tmp_path: Path) -> None:
    from pipeline.warehouse import contracts

    rows = [
        {"source": f"f{i}", "doc_id": None, "stage": "ingest", "reason": "empty_file", "message": "m"} for i in range(5)
    ]
    frame = contracts.frame(contracts.REJECTS, rows[:2])
    new = rows[2:]
    assert incremental.write_rows(tmp_path / "r.parquet", contracts.REJECTS, [frame, new], chunk=2) == 5
    assert new == []  # written rows leave memory
    import pyarrow.parquet as pq

    f = pq.ParquetFile(tmp_path / "r.parquet")
    assert f.metadata.num_row_groups == 3 and str(f.schema_arrow.field("doc_id").type) == "large_string"
    assert pd.read_parquet(tmp_path / "r.parquet")["source"].tolist() == [f"f{i}" for i in range(5)]
    with pytest.raises(contracts.ContractError, match="reason"):
        incremental.write_rows(tmp_path / "bad.parquet", contracts.REJECTS, [[{**rows[0], "reason": None}]])


def test_parallel_parse_gives_the_same_tables(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 40)
    run_ingest(tmp_path, raw)
    parse.run(tmp_path / "documents.parquet", tmp_path / "one", jobs=1)
    parse.run(tmp_path / "documents.parquet", tmp_path / "two", jobs=2)
    for name in parse.OUTPUTS:
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "one" / f"{name}.parquet"), pd.read_parquet(tmp_path / "two" / f"{name}.parquet")
        )


def test_a_run_killed_between_the_renames_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 3)
    run_ingest(tmp_path, raw)
    parse.run(tmp_path / "documents.parquet", tmp_path / "parsed")
    before = pd.read_parquet(tmp_path / "parsed" / "letters.parquet")
    calls: list[tuple[str, str]] = []
    real_rename = os.rename

    def dies_on_second_rename(a: Any, b: Any) -> None:
        calls.append((str(a), str(b)))
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")  # the old folder is moved away, the new one not yet in place
        real_rename(a, b)

    monkeypatch.setattr(incremental.os, "rename", dies_on_second_rename)
    make_raw(raw, 1, start=3)
    run_ingest(tmp_path, raw)
    with pytest.raises(KeyboardInterrupt):
        parse.run(tmp_path / "documents.parquet", tmp_path / "parsed")
    assert not (tmp_path / "parsed").exists()
    monkeypatch.undo()
    parse.run(tmp_path / "documents.parquet", tmp_path / "parsed")
    after = pd.read_parquet(tmp_path / "parsed" / "letters.parquet")
    assert len(after) == len(before) + 1 and after["doc_id"].is_unique


# ---------------------------------------------------------------- link


def test_link_links_only_new_documents_until_the_reference_files_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.stages import link
    from tests.conftest import ROOT

    reference = tmp_path / "reference"
    shutil.copytree(ROOT / "corpus" / "reference", reference)
    raw = tmp_path / "raw"
    make_raw(raw, 3)
    run_ingest(tmp_path, raw)
    parse.run(tmp_path / "documents.parquet", tmp_path / "parsed")
    first = link.run(tmp_path / "parsed", reference, tmp_path / "linked", link.LinkParams())
    seen: list[int] = []
    real = link.link_documents

    def counting(docs: Any, *args: Any) -> Any:
        seen.append(len(docs))
        return real(docs, *args)

    monkeypatch.setattr(link, "link_documents", counting)
    make_raw(raw, 1, start=3)
    run_ingest(tmp_path, raw)
    parse.run(tmp_path / "documents.parquet", tmp_path / "parsed")
    second = link.run(tmp_path / "parsed", reference, tmp_path / "linked", link.LinkParams())
    assert seen == [1]
    assert second["letter_school"] + second["unmatched"] == first["letter_school"] + first["unmatched"] + 1
    with (reference / "links_sample.csv").open("a", encoding="utf-8") as f:
        f.write("\n")  # any change to a reference file
    link.run(tmp_path / "parsed", reference, tmp_path / "linked", link.LinkParams())
    assert seen == [1, 4]


# ---------------------------------------------------------------- killed with SIGKILL, read while loading


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from pipeline.cli import main; sys.exit(main(sys.argv[1:]))", *args]


def _killed_at(cmd: list[str], delay: float) -> int | None:
    """Start ``cmd``, SIGKILL it after ``delay`` seconds (if still running); its return code."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc.returncode


def _killed_once(cmd: list[str], started: Path, after: float = 0.0) -> int | None:
    """Start ``cmd``, SIGKILL it ``after`` seconds past the moment ``started`` appears; its return code."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(after)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc.returncode


def _frames(folder: Path, names: Any) -> dict[str, pd.DataFrame]:
    out = {}
    for name in names:
        df = pd.read_parquet(folder / f"{name}.parquet")
        out[name] = df.sort_values(list(df.columns[:3])).reset_index(drop=True)
    return out


@pytest.mark.slow
def test_ingest_and_parse_killed_at_any_point_then_rerun_lose_and_repeat_nothing(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    make_raw(raw, 300)
    clean = tmp_path / "clean"
    assert subprocess.run(_cli("ingest", "--raw", str(raw), "--documents", str(clean / "documents.parquet"),
                               "--rejects", str(clean / "rejects.parquet"))).returncode == 0  # fmt: skip
    assert subprocess.run(_cli("parse", "--documents", str(clean / "documents.parquet"),
                               "--out", str(clean / "parsed"))).returncode == 0  # fmt: skip
    expected = _frames(clean / "parsed", parse.OUTPUTS)
    work = tmp_path / "work"
    ingest_cmd = _cli(
        "ingest", "--raw", str(raw), "--documents", str(work / "documents.parquet"),
        "--rejects", str(work / "rejects.parquet"), "--manifest", str(work / "manifest.parquet"),
    )  # fmt: skip
    parse_cmd = _cli("parse", "--documents", str(work / "documents.parquet"), "--out", str(work / "parsed"))
    killed = 0
    for delay in (0.3, 0.8, 1.3, 1.8, 2.5):  # start-up, reading, writing, ...
        killed += _killed_at(ingest_cmd, delay) == -signal.SIGKILL
        if (work / "documents.parquet").exists():
            killed += _killed_at(parse_cmd, delay) == -signal.SIGKILL
    assert killed >= 3  # most runs were really interrupted
    assert subprocess.run(ingest_cmd).returncode == 0 and subprocess.run(parse_cmd).returncode == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(work / "documents.parquet"), pd.read_parquet(clean / "documents.parquet")
    )
    got = _frames(work / "parsed", parse.OUTPUTS)
    for name in parse.OUTPUTS:
        pd.testing.assert_frame_equal(got[name], expected[name], check_dtype=False)


@pytest.mark.slow
def test_load_killed_at_any_point_leaves_a_whole_warehouse_and_readers_keep_reading(sample_warehouse: Path) -> None:
    import duckdb

    src = sample_warehouse.parent
    warehouse = src / "killed" / "ofsted.duckdb"
    load_cmd = _cli(
        "load", "--documents", str(src / "documents.parquet"), "--rejects", str(src / "rejects.parquet"),
        "--parsed", str(src / "parsed"), "--embedded", str(src / "classified"), "--classified", str(src / "classified"),
        "--linked", str(src / "linked"), "--warehouse", str(warehouse),
    )  # fmt: skip
    assert subprocess.run(load_cmd).returncode == 0
    reader = duckdb.connect(str(warehouse), read_only=True)  # a notebook holding the warehouse open
    loading = warehouse.with_name(warehouse.name + ".loading")  # the copy a load writes before its rename

    def still_whole() -> None:
        fresh = duckdb.connect(str(warehouse), read_only=True)
        assert fresh.execute("SELECT count(*) FROM documents").fetchone() == (6,)  # never half-written
        assert len(fresh.execute("SELECT * FROM recurring_weaknesses").fetchall()) > 0
        fresh.close()
        assert reader.execute("SELECT count(*) FROM units").fetchone()[0] > 0  # type: ignore[index]

    killed = 0
    for delay in (0.2, 0.5, 0.9, 1.4, 2.0):
        killed += _killed_at(load_cmd, delay) == -signal.SIGKILL
        still_whole()
    assert killed >= 3  # most runs were really interrupted, not finished before the signal
    # and for certain while writing: an update, and a full rebuild, killed once their copy exists
    for cmd, after in ((load_cmd, 0.0), ([*load_cmd, "--full"], 0.0), ([*load_cmd, "--full"], 0.05)):
        loading.unlink(missing_ok=True)
        assert _killed_once(cmd, loading, after) == -signal.SIGKILL
        assert loading.exists()  # the kill landed mid-load: its unfinished copy is left behind
        still_whole()
    reader.close()
    assert subprocess.run(load_cmd).returncode == 0
    assert not loading.exists()


# ---------------------------------------------------------------- shards: merged in tests/test_merge.py


def test_the_code_of_a_stage_follows_imports_inside_functions_but_not_typing_ones() -> None:
    source = """
from typing import TYPE_CHECKING
import pipeline.text.common
from pipeline import errors
from pipeline.warehouse import contracts
if TYPE_CHECKING:
    from pipeline.stages.train import TrainedModel
def run() -> None:
    from pipeline.readers.support import find_support
"""
    found = incremental.pipeline_imports_in(source)
    assert found == {
        "pipeline.text.common",
        "pipeline.warehouse.contracts",
        "pipeline.errors",
        "pipeline.readers.support",
    }
    # train imports pipeline.readers.support only inside support_choice
    assert {"pipeline.readers.support", "pipeline.errors", "pipeline.tagging.tagger"} <= set(
        incremental.code_of("pipeline.stages.train")
    )
    # classify's fingerprint covers the contracts and the unit cutting it runs through embed and train
    assert {"pipeline.warehouse.contracts", "pipeline.stages.embed", "pipeline.readers.units"} <= set(
        incremental.code_of("pipeline.stages.classify")
    )


def test_the_code_of_a_stage_counts_modules_imported_from_a_subpackage() -> None:
    # 'from pipeline.stages import parse' imports the module parse, not the package
    found = incremental.pipeline_imports_in("from pipeline.stages import parse, embed\nfrom pipeline import errors\n")
    assert found == {"pipeline.stages.parse", "pipeline.stages.embed", "pipeline.errors"}


def test_subpackages_hold_no_code_in_their_init() -> None:
    # code_of counts modules, not packages: an __init__ with code would escape every fingerprint
    import ast
    from pathlib import Path

    import pipeline

    for init in Path(pipeline.__file__).parent.glob("*/__init__.py"):
        body = ast.parse(init.read_text(encoding="utf-8")).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr), f"{init} holds code"
