"""The load stage: contracts become tables, loads are idempotent and atomic."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipeline import classify, contracts, load, train
from pipeline.errors import PipelineError
from pipeline.ingest import IngestParams, ingest_document
from pipeline.parse import letter_rows, parse_letter
from pipeline.units import make_nlp
from tests.conftest import RAW
from tests.fakes import FakeEncoder
from tests.test_train import tiny_units


def write_interim(tmp_path: Path) -> dict[str, Path]:
    docs, rows = [], {name: [] for name in load.WAREHOUSE_TABLES[2:]}
    for path in sorted(RAW.glob("00[0-2]_*.txt")):
        doc = ingest_document(str(path), path.read_bytes(), IngestParams())
        docs.append(doc.__dict__)
        for name, table_rows in letter_rows(parse_letter(doc.doc_id, doc.text)).items():
            rows[name].extend(table_rows)
    enc = FakeEncoder(dim=384)
    tiny = tiny_units(1)
    model, _ = train.fit(tiny, enc.encode([u.text for u in tiny]), train.TrainParams(folds=3, min_tag_n=3), enc.name)
    units, issues, embeddings = classify.classify_documents(
        ((d["doc_id"], d["text"]) for d in docs), make_nlp(), enc, model
    )
    rows.update(units=units, issues=issues, unit_embeddings=embeddings)
    sources = {}
    frames = {"documents": docs, "rejects": [], **rows}
    for name, table_rows in frames.items():
        sources[name] = tmp_path / f"{name}.parquet"
        contracts.frame(contracts.TABLES[name], table_rows).to_parquet(sources[name], index=False)
    return sources


def table_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in load.WAREHOUSE_TABLES}
    finally:
        con.close()


def test_load_builds_every_table_with_its_contract(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    counts = load.run(write_interim(tmp_path), warehouse)
    assert counts["documents"] == 3 and counts["letters"] == 3 and counts["recommendations"] == 9
    con = duckdb.connect(str(warehouse), read_only=True)
    cols = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'letters' "
        "ORDER BY ordinal_position"
    ).fetchall()
    assert [c for c, _ in cols] == contracts.LETTERS.names
    assert dict(cols)["visit_dates"] == "DATE[]"
    row = con.execute("SELECT school_name, letter_date, visit_dates FROM letters WHERE postcode = 'LU2 9TB'").fetchone()
    assert row is not None and row[0] == "Wigmore Primary School" and str(row[1]) == "2012-12-13"
    # evidence offsets point into documents.text
    school = con.execute(
        'SELECT substr(d.text, e.start + 1, e."end" - e.start) FROM field_evidence e '
        "JOIN documents d USING (doc_id) WHERE e.field = 'school_name' AND e.value = 'Leys Junior School'"
    ).fetchone()
    con.close()
    assert school is not None and "Leys Junior School" in school[0]


def test_load_twice_gives_the_same_rows(tmp_path: Path) -> None:
    sources = write_interim(tmp_path)
    warehouse = tmp_path / "w.duckdb"
    load.run(sources, warehouse)
    first = table_rows(warehouse)
    load.run(sources, warehouse)
    assert table_rows(warehouse) == first


def test_failed_load_leaves_previous_warehouse_intact(tmp_path: Path) -> None:
    sources = write_interim(tmp_path)
    warehouse = tmp_path / "w.duckdb"
    load.run(sources, warehouse)
    before = table_rows(warehouse)
    broken = dict(sources)
    broken["sections"] = tmp_path / "missing.parquet"
    with pytest.raises(PipelineError, match="no Parquet file for table 'sections'"):
        load.run(broken, warehouse)
    assert table_rows(warehouse) == before
    # a corrupt input fails inside DuckDB, after some tables were written to the temporary file
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    broken["sections"] = tmp_path / "bad.parquet"
    with pytest.raises(duckdb.Error):
        load.run(broken, warehouse)
    assert table_rows(warehouse) == before
