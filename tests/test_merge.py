"""Merging the interim folders of shard runs (``ofsted-nlp merge``): n shards merged are the one-shard run.

The module fixture runs every per-document stage (ingest, parse, link, embed with
the fake encoder, classify with a tiny tagger) once over a whole raw folder and
once per shard, and merges the shards. Every table of every folder must come out
equal to the whole run's, list columns (visit dates, support types, vectors)
included, value for value.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipeline import cli, incremental
from pipeline.readers.units import make_nlp
from pipeline.stages import classify, embed, ingest, link, merge, parse, train
from pipeline.stages.ingest import IngestParams, duplicate
from pipeline.warehouse import contracts
from tests.conftest import RAW, ROOT
from tests.fakes import FakeEncoder
from tests.test_incremental import make_raw
from tests.test_train import tiny_units

N_SHARDS = 3
FOLDERS = ("parsed", "linked", "embedded", "classified")
"""The stage folders of an interim folder, in the order the merge writes them (not read from merge.FOLDERS)."""


def _value(v: Any) -> Any:
    """A cell as plain Python, so rows compare and sort: arrays and lists become tuples, every null None."""
    if isinstance(v, (list, tuple, np.ndarray)):
        return tuple(_value(x) for x in v)
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def rows(df: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Every row of ``df``, every value (list columns too), in a fixed order."""
    return sorted((tuple(_value(v) for v in r) for r in df.itertuples(index=False)), key=repr)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``df`` in order, as plain Python (pandas reads a null string as NaN)."""
    return [{k: _value(v) for k, v in r.items()} for r in df.to_dict("records")]


def tables(folder: Path) -> dict[str, pd.DataFrame]:
    """``documents``, ``rejects`` and every table of the stage folders (``parsed/letters``, …) of an interim folder."""
    names = ["documents", "rejects"] + [
        f"{sub}/{p.stem}"
        for sub in FOLDERS
        for p in sorted((folder / sub).glob("*.parquet"))
        if not p.stem.startswith("_")
    ]
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in names}


@dataclass(frozen=True)
class Runs:
    whole: Path
    shards: list[Path]
    merged: Path
    counts: dict[str, int]


def _stages(raw: Path, folder: Path, shard: tuple[int, int] | None, model: train.TrainedModel, queries: Path) -> None:
    ingest.run(raw, folder / "documents.parquet", folder / "rejects.parquet", asdict(IngestParams()), shard=shard)
    parse.run(folder / "documents.parquet", folder / "parsed")
    link.run(folder / "parsed", ROOT / "corpus" / "reference", folder / "linked", link.LinkParams())
    embed.run(folder / "documents.parquet", queries, folder.with_suffix(".cache.parquet"), folder / "embedded",
              FakeEncoder(dim=384), make_nlp(), embed.EmbedParams())  # fmt: skip
    classify.run(folder / "embedded" / "unit_spans.parquet", folder / "embedded" / "unit_embeddings.parquet", model,
                 folder / "classified")  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    tmp = tmp_path_factory.mktemp("merge")
    raw = tmp / "raw"
    make_raw(raw, 10)
    for other in ("003_*.txt", "004_*.txt"):  # a case study and an LA plan, for their tables
        shutil.copy(next(RAW.glob(other)), raw)
    # the same bytes under a name that falls in another shard: two shards hold one document
    copy = next(
        f"copy_{i}.txt"
        for i in range(50)
        if incremental.shard_of(f"copy_{i}.txt", N_SHARDS) != incremental.shard_of("letter_0003.txt", N_SHARDS)
    )
    shutil.copy(raw / "letter_0003.txt", raw / copy)
    queries = tmp / "queries.jsonl"
    queries.write_text(
        "".join(
            json.dumps({"query_id": q, "query": text, "relevant": []}) + "\n"
            for q, text in (("q1", "governors do not challenge leaders"), ("q2", "weak teaching of mathematics"))
        ),
        encoding="utf-8",
    )
    enc, units = FakeEncoder(dim=384), tiny_units(1)
    model, _ = train.fit(units, enc.encode([u.text for u in units]), train.TrainParams(folds=3, min_tag_n=3), enc.name)
    _stages(raw, tmp / "whole", None, model, queries)
    shards = [tmp / f"shard{k}" for k in range(N_SHARDS)]
    for k, folder in enumerate(shards):
        _stages(raw, folder, (k, N_SHARDS), model, queries)
    counts = merge.run(shards, tmp / "merged")
    return Runs(tmp / "whole", shards, tmp / "merged", counts)


def test_the_fixture_splits_the_documents_and_puts_one_in_two_shards(runs: Runs) -> None:
    # otherwise the merge tests below would not test sharding, or the duplicate rule
    held = [set(pd.read_parquet(s / "documents.parquet")["doc_id"]) for s in runs.shards]
    assert all(held) and sum(map(len, held)) == len(set().union(*held)) + 1
    assert pd.read_parquet(runs.whole / "rejects.parquet")["reason"].tolist() == ["duplicate"]


def test_shard_runs_merged_equal_one_run_in_every_table_and_every_column(runs: Runs) -> None:
    whole, merged = tables(runs.whole), tables(runs.merged)
    assert set(merged) == set(whole)
    assert {"embedded/unit_embeddings", "embedded/query_embeddings", "classified/units", "classified/issues"} <= set(
        whole
    )
    # every table has rows to compare but those of an inspection report (the raw folder has none) and the unmatched
    assert {n for n, df in whole.items() if df.empty} <= {"parsed/inspections", "parsed/judgements", "linked/unmatched"}
    for name, df in whole.items():
        assert list(merged[name].columns) == list(df.columns), name
        assert rows(merged[name]) == rows(df), name


def test_every_list_column_has_values_to_lose(runs: Runs) -> None:
    # so the comparison above fails if the merge empties or drops a list: none of them is empty throughout
    whole = tables(runs.whole)
    lists = {"parsed/letters": "visit_dates", "linked/la_categories": "support_given",
             "classified/units": "support_types", "embedded/unit_embeddings": "vector",
             "embedded/query_embeddings": "vector"}  # fmt: skip
    assert {t.name for t in contracts.TABLES.values() if any("[" in c.type for c in t.columns)} <= {
        n.split("/")[1] for n in lists
    }
    for name, column in lists.items():
        assert whole[name][column].map(len).gt(0).any(), name
    merged = tables(runs.merged)
    assert merged["embedded/unit_embeddings"]["vector"].map(len).eq(384).all()
    assert merged["embedded/query_embeddings"]["query_id"].tolist() == ["q1", "q2"]


def test_merge_returns_the_rows_written_per_table_in_folder_order(runs: Runs) -> None:
    merged = tables(runs.merged)
    assert runs.counts == {name: len(df) for name, df in tables(runs.whole).items()}
    assert list(runs.counts) == list(merged)  # documents, rejects, then parsed/…, linked/…, embedded/…, classified/…


def test_merge_over_an_earlier_run_replaces_its_tables_and_its_done_lists(
    runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the command's example, `--out corpus/interim`, holds the last run's tables: vectors in parts, done lists
    interim = tmp_path / "interim"
    shutil.copytree(runs.whole, interim)
    assert (interim / "embedded" / "unit_embeddings.parquet").is_dir()
    assert cli.main(["merge", *map(str, runs.shards), "--out", str(interim)]) == 0
    assert capsys.readouterr().out.endswith(f" -> {interim}/\n")
    got, fresh = tables(interim), tables(runs.merged)
    assert set(got) == set(fresh)
    for name, df in fresh.items():
        assert rows(got[name]) == rows(df), name
    # a done list says which documents a folder's rows were made for, and by what code: not these rows
    assert sorted(interim.glob("*/_done.parquet")) == []
    assert sorted(interim.glob("*/*.tmp")) == []


# ---------------------------------------------------------------- the command, on two hand-made shards


def _doc(doc_id: str, source: str) -> dict[str, Any]:
    text = f"text of {doc_id}"
    return {"doc_id": doc_id, "source": source, "doc_type": "hmi_letter", "doc_type_evidence": None, "text": text,
            "n_chars": len(text), "n_pages": None, "n_bytes": len(text), "extractor": "text/utf-8",
            "problems": None}  # fmt: skip


def _span(doc_id: str) -> dict[str, Any]:
    return {"unit_id": f"u-{doc_id}", "doc_id": doc_id, "n": 1, "kind": "sentence", "text": f"text of {doc_id}",
            "start": 0, "end": 10}  # fmt: skip


def _vector(doc_id: str) -> dict[str, Any]:
    # the vector of a document's unit is the same in every shard that holds the document
    return {"unit_id": f"u-{doc_id}", "model": "fake", "vector": [float(doc_id[1:])] + [0.5] * 383}


def _shard(folder: Path, docs: list[tuple[str, str]], rejects: list[dict[str, Any]]) -> Path:
    (folder / "embedded").mkdir(parents=True)
    contracts.frame(contracts.DOCUMENTS, [_doc(d, s) for d, s in docs]).to_parquet(folder / "documents.parquet")
    contracts.frame(contracts.REJECTS, rejects).to_parquet(folder / "rejects.parquet")
    contracts.frame(contracts.UNIT_SPANS, [_span(d) for d, _ in docs]).to_parquet(
        folder / "embedded" / "unit_spans.parquet"
    )
    contracts.frame(contracts.UNIT_EMBEDDINGS, [_vector(d) for d, _ in docs]).to_parquet(
        folder / "embedded" / "unit_embeddings.parquet"
    )
    # what a stage run leaves beside its tables: not a table, never merged
    pd.DataFrame({"doc_id": [d for d, _ in docs], "fingerprint": "f"}).to_parquet(folder / "embedded" / "_done.parquet")
    return folder


@pytest.fixture()
def two_shards(tmp_path: Path) -> tuple[Path, Path]:
    """Shard 1 holds d1 (a.txt) and d2 (c.txt); shard 2 holds d2 again (b.txt, first in path order) and d3."""
    encrypted = {"source": "x.pdf", "doc_id": None, "stage": "ingest", "reason": "encrypted", "message": "locked"}
    return (
        _shard(tmp_path / "s1", [("d1", "a.txt"), ("d2", "c.txt")], [encrypted]),
        _shard(tmp_path / "s2", [("d2", "b.txt"), ("d3", "d.txt")], []),
    )


def test_merge_command_prints_the_rows_of_each_table(
    two_shards: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "merged"
    assert cli.main(["merge", *map(str, two_shards), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        f"merge: 3 documents, 2 rejects, 3 embedded/unit_embeddings, 3 embedded/unit_spans -> {out}/\n"
    )
    assert captured.err == ""
    docs = pd.read_parquet(out / "documents.parquet")
    assert docs[["doc_id", "source"]].values.tolist() == [["d1", "a.txt"], ["d2", "b.txt"], ["d3", "d.txt"]]
    assert records(pd.read_parquet(out / "rejects.parquet")) == [
        asdict(duplicate("c.txt", "d2", "b.txt")),
        {"source": "x.pdf", "doc_id": None, "stage": "ingest", "reason": "encrypted", "message": "locked"},
    ]
    # one row per unit, d2's from shard 2, which keeps it; vectors whole
    spans = pd.read_parquet(out / "embedded" / "unit_spans.parquet")
    assert sorted(spans["unit_id"]) == ["u-d1", "u-d2", "u-d3"]
    vectors = pd.read_parquet(out / "embedded" / "unit_embeddings.parquet")
    assert rows(vectors) == rows(pd.DataFrame([_vector(d) for d in ("d1", "d2", "d3")]))
    assert sorted(p.name for p in (out / "embedded").iterdir()) == ["unit_embeddings.parquet", "unit_spans.parquet"]


def test_merge_command_refuses_a_folder_that_is_not_a_shard_run(
    two_shards: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, wrong = tmp_path / "merged", tmp_path / "s1" / "embedded"
    assert cli.main(["merge", str(two_shards[0]), str(wrong), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"ofsted-nlp merge: error: {wrong} has no documents.parquet: pass the interim folders of the shard runs\n"
    )
    assert not out.exists()  # nothing written


def test_merge_command_needs_an_out_folder(two_shards: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["merge", *map(str, two_shards)])
    assert exc.value.code == 2
    assert "ofsted-nlp merge: error: the following arguments are required: --out" in capsys.readouterr().err


# ---------------------------------------------------------------- the core


def test_merge_table_keeps_a_document_s_rows_from_its_owner_and_shared_rows_once() -> None:
    owner = {"d1": 0, "d2": 1}
    la = {"urn": 1, "support_given": ["partner_school", "diocese"]}  # a reference row: no doc_id, a list
    first = [{"doc_id": "d1", "v": ["a"]}, {"doc_id": "d2", "v": ["stale"]}, {"doc_id": None, "v": ["x"]}]
    second = [{"doc_id": "d2", "v": ["b", "c"]}, {"doc_id": None, "v": ["x"]}, {"doc_id": None, "v": []}]
    frames = [(0, pd.DataFrame(first)), (1, pd.DataFrame(second))]
    assert records(merge.merge_table("t", frames, owner)) == [
        {"doc_id": "d1", "v": ("a",)},
        {"doc_id": "d2", "v": ("b", "c")},
        {"doc_id": None, "v": ("x",)},
        {"doc_id": None, "v": ()},
    ]
    refs = merge.merge_table("la_categories", [(0, pd.DataFrame([la])), (1, pd.DataFrame([la]))], owner)
    assert records(refs) == [{"urn": 1, "support_given": ("partner_school", "diocese")}]


def test_merge_table_keeps_one_vector_per_key() -> None:
    def vectors(*keys: str) -> pd.DataFrame:
        return pd.DataFrame({"query_id": list(keys), "model": "m", "vector": [[float(len(k)), 1.0] for k in keys]})

    got = merge.merge_table("query_embeddings", [(0, vectors("q1", "q22")), (1, vectors("q1", "q333"))], {})
    assert records(got) == [
        {"query_id": "q1", "model": "m", "vector": (2.0, 1.0)},
        {"query_id": "q22", "model": "m", "vector": (3.0, 1.0)},
        {"query_id": "q333", "model": "m", "vector": (4.0, 1.0)},
    ]


def test_merge_documents_keeps_the_first_path_and_rejects_the_other() -> None:
    a = pd.DataFrame({"doc_id": ["d1", "d2"], "source": ["z/late.txt", "m.txt"]})
    b = pd.DataFrame({"doc_id": ["d1"], "source": ["a/early.txt"]})
    docs, rejects, owner = merge.merge_documents([a, b])
    assert records(docs) == [{"doc_id": "d1", "source": "a/early.txt"}, {"doc_id": "d2", "source": "m.txt"}]
    assert records(rejects) == [asdict(duplicate("z/late.txt", "d1", "a/early.txt"))]
    assert owner == {"d1": 1, "d2": 0}
