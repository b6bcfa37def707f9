"""The load stage: contracts become tables, loads are idempotent and atomic."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipeline.errors import PipelineError
from pipeline.readers.letter import letter_rows, parse_letter
from pipeline.readers.units import make_nlp
from pipeline.stages import classify, load, train
from pipeline.stages.ingest import IngestParams, ingest_document
from pipeline.warehouse import contracts
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


def test_the_load_keeps_to_its_memory_limit_and_gives_the_same_rows(tmp_path: Path) -> None:
    sources = write_interim(tmp_path)
    load.run(sources, tmp_path / "default.duckdb")
    load.run(sources, tmp_path / "small.duckdb", params=load.LoadParams(memory_limit="16MB"))
    assert table_rows(tmp_path / "small.duckdb") == table_rows(tmp_path / "default.duckdb")
    con = load.connect(tmp_path / "x.duckdb", load.LoadParams(memory_limit="64MB"))
    assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("61.0 MiB",)  # 64 × 10⁶ bytes
    con.close()
    for bad in ("lots", "512", "512MB; DROP TABLE documents"):
        with pytest.raises(PipelineError, match="give a size"):
            load.run(sources, tmp_path / "bad.duckdb", params=load.LoadParams(memory_limit=bad))


def test_duckdb_spills_away_from_the_warehouse_and_leftovers_beside_it_do_not_stop_a_load(tmp_path: Path) -> None:
    import tempfile

    from pipeline.warehouse import queries

    sources, warehouse = write_interim(tmp_path), tmp_path / "w.duckdb"
    load.run(sources, warehouse)
    readers = [queries.connect_read_only(warehouse, "64MB") for _ in range(2)]
    spills = [Path(c.execute("SELECT current_setting('temp_directory')").fetchone()[0]) for c in readers]
    for c in readers:
        c.close()
    assert all(Path(tempfile.gettempdir()) in s.parents and tmp_path not in s.parents for s in spills)
    # what DuckDB's default spill folder and a killed load leave beside the warehouse
    for name in ("w.duckdb.tmp", "w.duckdb.loading"):
        (tmp_path / name).mkdir()
    load.run(sources, warehouse)
    assert table_rows(warehouse)["documents"]


# ---------------------------------------------------------------- incremental load


class Corpus:
    """Every per-document stage run for real (fake encoder, tiny tagger) on a folder of letters."""

    def __init__(self, tmp: Path) -> None:
        from tests.test_incremental import make_raw

        self.tmp, self.raw = tmp, tmp / "raw"
        make_raw(self.raw, 5)
        enc = FakeEncoder(dim=384)
        tiny = tiny_units(1)
        self.model, _ = train.fit(
            tiny, enc.encode([u.text for u in tiny]), train.TrainParams(folds=3, min_tag_n=3), enc.name
        )
        self.enc, self.nlp = enc, make_nlp()

    def stages(self, embed_params: object = None) -> dict[str, Path]:
        from dataclasses import asdict

        from pipeline.stages import embed, ingest, link, parse
        from tests.conftest import ROOT

        t = self.tmp
        ingest.run(self.raw, t / "documents.parquet", t / "rejects.parquet", asdict(IngestParams()),
                   manifest=t / "manifest.parquet")  # fmt: skip
        parse.run(t / "documents.parquet", t / "parsed")
        link.run(t / "parsed", ROOT / "corpus" / "reference", t / "linked", link.LinkParams())
        embed.run(t / "documents.parquet", None, t / "cache.parquet", t / "embedded", self.enc, self.nlp,
                  embed_params or embed.EmbedParams())  # type: ignore[arg-type]  # fmt: skip
        classify.run(t / "embedded" / "unit_spans.parquet", t / "embedded" / "unit_embeddings.parquet", self.model,
                     t / "classified")  # fmt: skip
        sources = {"documents": t / "documents.parquet", "rejects": t / "rejects.parquet"}
        sources.update({n: t / "parsed" / f"{n}.parquet" for n in load.PARSE_TABLES})
        sources.update({n: t / "embedded" / f"{n}.parquet" for n in load.EMBED_TABLES})
        sources.update({n: t / "classified" / f"{n}.parquet" for n in load.CLASSIFY_TABLES})
        sources.update({n: t / "linked" / f"{n}.parquet" for n in load.LINK_TABLES})
        return sources


def all_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = (*load.WAREHOUSE_TABLES, "load_state")
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}
    finally:
        con.close()


def test_incremental_load_replaces_only_changed_documents_and_equals_a_full_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.stages import embed
    from tests.test_incremental import make_raw

    corpus = Corpus(tmp_path)
    warehouse, full = tmp_path / "w.duckdb", tmp_path / "full.duckdb"
    load.run(corpus.stages(), warehouse)
    real_build = load.build

    def step(expected: int, embed_params: object = None) -> None:
        sources = corpus.stages(embed_params)
        monkeypatch.setattr(load, "build", lambda *a: pytest.fail("the load rebuilt the warehouse whole"))
        capsys.readouterr()
        load.run(sources, warehouse)
        assert f"load: {expected} documents' rows replaced" in capsys.readouterr().err
        monkeypatch.setattr(load, "build", real_build)
        load.run(sources, full, full=True)
        assert all_rows(warehouse) == all_rows(full)

    step(0)  # nothing changed
    make_raw(corpus.raw, 2, start=5)  # two letters added
    step(2)
    (corpus.raw / "letter_0001.txt").unlink()  # one deleted
    step(1)
    changed = corpus.raw / "letter_0002.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\nGovernors must act.\n", encoding="utf-8")
    step(2)  # a changed file is a new document, and its old one is gone
    step(6, embed.EmbedParams(batch_units=7))  # the embed fingerprint changed: every document's units again
    con = duckdb.connect(str(warehouse), read_only=True)
    assert (
        con.execute("SELECT count(*) FROM unit_embeddings").fetchone()
        == con.execute("SELECT count(*) FROM units").fetchone()
    )
    con.close()


def test_load_rebuilds_whole_when_the_last_warehouse_cannot_be_trusted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = Corpus(tmp_path)
    sources = corpus.stages()
    warehouse, full = tmp_path / "w.duckdb", tmp_path / "full.duckdb"
    load.run(sources, full, full=True)
    load.run(sources, warehouse)
    expected = all_rows(full)

    def tamper(sql: str) -> str:
        con = duckdb.connect(str(warehouse))
        con.execute(sql)
        con.close()
        capsys.readouterr()
        load.run(sources, warehouse)
        assert all_rows(warehouse) == expected
        return capsys.readouterr().err

    code_changed = tamper("UPDATE load_state SET fingerprint = 'x' WHERE stage = 'load'")
    assert "the load code or the contracts changed" in code_changed
    assert "rows, its Parquet file" in tamper("DELETE FROM issues WHERE unit_id IN (SELECT min(unit_id) FROM issues)")
    one_parse_doc = "SELECT min(doc_id) FROM load_state WHERE stage = 'parse'"
    assert "a key would be duplicated" in tamper(
        f"DELETE FROM load_state WHERE stage = 'parse' AND doc_id IN ({one_parse_doc})"
    )
    assert "no load_state" in tamper("DROP TABLE load_state")
