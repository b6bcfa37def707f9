"""The embed stage: units cut and embedded once, a cache that makes re-runs encode only new text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline.readers import units as units_module
from pipeline.readers.units import make_nlp
from pipeline.stages import embed
from pipeline.warehouse import contracts
from tests.fakes import FakeEncoder
from tests.test_incremental import Counting


@pytest.fixture(scope="module")
def nlp():  # type: ignore[no-untyped-def]
    return make_nlp()


def write_docs(path: Path, texts: dict[str, str]) -> Path:
    pd.DataFrame({"doc_id": list(texts), "text": list(texts.values())}).to_parquet(path)
    return path


def test_embed_texts_encodes_each_distinct_missing_text_once() -> None:
    enc, cache = FakeEncoder(), {}
    vecs, n = embed.embed_texts(["a b c", "d e", "a b c"], enc, cache)
    assert n == 2 and enc.calls == [2] and vecs.shape == (3, enc.dim)
    assert np.array_equal(vecs[0], vecs[2])
    vecs2, n2 = embed.embed_texts(["d e", "f g"], enc, cache)
    assert n2 == 1 and enc.calls == [2, 1]
    assert np.array_equal(vecs2[0], vecs[1])


def test_rerun_encodes_only_new_texts(tmp_path: Path, nlp) -> None:  # type: ignore[no-untyped-def]
    enc = FakeEncoder(dim=384)
    cache, out = tmp_path / "cache.parquet", tmp_path / "embedded"
    docs = {"a": "Governors do not challenge leaders. Pupils read well.", "b": "- improve the teaching of mathematics"}
    counts = embed.run(write_docs(tmp_path / "d1.parquet", docs), None, cache, out, enc, nlp, embed.EmbedParams())
    assert counts == {"unit_spans": 3, "unit_embeddings": 3, "queries": 0, "encoded": 3, "documents": 2}
    first = pd.read_parquet(out / "unit_embeddings.parquet")
    contracts.check(first, contracts.UNIT_EMBEDDINGS)
    contracts.check(pd.read_parquet(out / "unit_spans.parquet"), contracts.UNIT_SPANS)
    # same documents again: nothing encoded; one new document: only its sentence
    counts = embed.run(write_docs(tmp_path / "d1.parquet", docs), None, cache, out, enc, nlp, embed.EmbedParams())
    assert counts["encoded"] == 0
    docs["c"] = "Attendance has improved this term."
    counts = embed.run(write_docs(tmp_path / "d2.parquet", docs), None, cache, out, enc, nlp, embed.EmbedParams())
    assert counts["encoded"] == 1 and counts["unit_spans"] == 4
    again = pd.read_parquet(out / "unit_embeddings.parquet").set_index("unit_id")
    for uid, vec in zip(first["unit_id"], first["vector"], strict=True):
        assert np.allclose(again.loc[uid, "vector"], vec)


def test_cache_of_another_model_is_not_used(tmp_path: Path, nlp) -> None:  # type: ignore[no-untyped-def]
    cache, docs = tmp_path / "cache.parquet", write_docs(tmp_path / "d.parquet", {"a": "Pupils read well in Year 2."})
    embed.run(docs, None, cache, tmp_path / "o", FakeEncoder(dim=384), nlp, embed.EmbedParams())
    other = FakeEncoder(dim=384)
    other.name = "another-model"
    assert embed.run(docs, None, cache, tmp_path / "o", other, nlp, embed.EmbedParams())["encoded"] == 1


def test_queries_are_embedded_for_evaluation(tmp_path: Path, nlp) -> None:  # type: ignore[no-untyped-def]
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"query_id": "q1", "query": "weak governance", "relevant": {}}) + "\n")
    docs = write_docs(tmp_path / "d.parquet", {"a": "Governors do not challenge leaders."})
    counts = embed.run(
        docs, queries, tmp_path / "c.parquet", tmp_path / "o", FakeEncoder(384), nlp, embed.EmbedParams()
    )
    assert counts["queries"] == 1
    q = pd.read_parquet(tmp_path / "o" / "query_embeddings.parquet")
    assert list(q["query_id"]) == ["q1"] and len(q["vector"][0]) == 384


# ---------------------------------------------------------------- incremental runs

SENTENCES = [
    "Governors do not challenge leaders about the progress of pupils.",
    "Leaders have improved the quality of teaching in mathematics.",
    "The headteacher checks the marking of pupils' books each week.",
    "Attendance has risen since the last inspection.",
    "Pupils read widely and often in Key Stage 2.",
]


def corpus(n: int) -> dict[str, str]:
    """``n`` small documents: shared sentences (cached once) and one of their own."""
    return {
        f"doc{i:03d}": f"{SENTENCES[i % 5]} {SENTENCES[(i + 2) % 5]}\n\n- improve the teaching of reading in class {i}"
        for i in range(n)
    }


def run(tmp: Path, docs: dict[str, str], out: str = "embedded", **kw: Any) -> dict[str, int]:
    kw.setdefault("encoder", FakeEncoder(dim=384))
    kw.setdefault("params", embed.EmbedParams())
    if "nlp" not in kw:
        kw["nlp"] = make_nlp()
    return embed.run(write_docs(tmp / f"{out}-docs.parquet", docs), None, tmp / f"{out}-cache.parquet", tmp / out, **kw)


def tables(folder: Path) -> dict[str, pd.DataFrame]:
    """unit_spans and unit_embeddings in unit_id order, vectors as tuples (comparable)."""
    spans = pd.read_parquet(folder / "unit_spans.parquet").sort_values("unit_id").reset_index(drop=True)
    vectors = pd.read_parquet(folder / "unit_embeddings.parquet").sort_values("unit_id").reset_index(drop=True)
    vectors["vector"] = vectors["vector"].map(lambda v: tuple(np.asarray(v, dtype=np.float32)))
    return {"unit_spans": spans, "unit_embeddings": vectors}


def assert_same(a: Path, b: Path) -> None:
    ta, tb = tables(a), tables(b)
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name])


@pytest.fixture
def cuts(monkeypatch: pytest.MonkeyPatch) -> Counting:
    counter = Counting(embed._cut_one)
    monkeypatch.setattr(embed, "_cut_one", counter)
    return counter


def test_second_run_cuts_and_encodes_nothing(tmp_path: Path, cuts: Counting) -> None:
    enc = FakeEncoder(dim=384)
    first = run(tmp_path, corpus(4), encoder=enc)
    assert first["documents"] == 4 and len(cuts.items) == 4 and first["unit_spans"] == 12
    before = tables(tmp_path / "embedded")
    cuts.items.clear()
    enc.calls.clear()
    again = run(tmp_path, corpus(4), encoder=enc)
    assert again["documents"] == 0 and cuts.items == [] and enc.calls == [] and again["encoded"] == 0
    after = tables(tmp_path / "embedded")
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])
    contracts.check(pd.read_parquet(tmp_path / "embedded" / "unit_embeddings.parquet"), contracts.UNIT_EMBEDDINGS)


def test_a_new_document_is_cut_alone_and_a_gone_one_loses_its_rows(tmp_path: Path, cuts: Counting) -> None:
    enc = FakeEncoder(dim=384)
    run(tmp_path, corpus(3), encoder=enc)
    cuts.items.clear()
    enc.calls.clear()
    counts = run(tmp_path, corpus(4), encoder=enc)
    assert [doc_id for doc_id, _ in cuts.items] == ["doc003"] and counts["documents"] == 1
    assert enc.calls == [1]  # its two shared sentences come from the cache
    run(tmp_path, corpus(4), out="fresh")
    assert_same(tmp_path / "embedded", tmp_path / "fresh")
    cuts.items.clear()
    gone = {k: v for k, v in corpus(4).items() if k != "doc001"}
    counts = run(tmp_path, gone, encoder=enc)
    assert cuts.items == [] and counts["unit_spans"] == 9
    assert "doc001" not in set(pd.read_parquet(tmp_path / "embedded" / "unit_spans.parquet")["doc_id"])
    run(tmp_path, gone, out="fresh2")
    assert_same(tmp_path / "embedded", tmp_path / "fresh2")
    # the cache keeps only texts still in use: doc001's own bullet is gone from it
    cache = set(pq.read_table(tmp_path / "embedded-cache.parquet").column("text_key").to_pylist())
    assert embed.text_key("improve the teaching of reading in class 1") not in cache
    assert embed.text_key("improve the teaching of reading in class 2") in cache


def test_a_changed_fingerprint_cuts_every_document_again(tmp_path: Path, cuts: Counting) -> None:
    run(tmp_path, corpus(3))
    cuts.items.clear()
    counts = run(tmp_path, corpus(3), params=embed.EmbedParams(batch_units=7))
    assert counts["documents"] == 3 and len(cuts.items) == 3 and counts["encoded"] == 0  # all from the cache
    other = FakeEncoder(dim=384)
    other.name = "another-model"
    cuts.items.clear()
    counts = run(tmp_path, corpus(3), params=embed.EmbedParams(batch_units=7), encoder=other)
    assert counts["documents"] == 3 and counts["encoded"] == 8  # 5 shared sentences, 3 bullets
    assert set(pd.read_parquet(tmp_path / "embedded" / "unit_embeddings.parquet")["model"]) == {"another-model"}


def test_a_kept_document_without_its_vectors_is_embedded_again(tmp_path: Path, cuts: Counting) -> None:
    run(tmp_path, corpus(3))
    path = tmp_path / "embedded" / "unit_embeddings.parquet"
    spans = pd.read_parquet(tmp_path / "embedded" / "unit_spans.parquet")
    vectors = pd.read_parquet(path)
    shutil.rmtree(path)  # a single file, as earlier versions wrote it, also reads as the table
    vectors[~vectors["unit_id"].isin(spans.loc[spans["doc_id"] == "doc002", "unit_id"])].to_parquet(path)
    cuts.items.clear()
    assert run(tmp_path, corpus(3))["documents"] == 1 and [d for d, _ in cuts.items] == ["doc002"]
    run(tmp_path, corpus(3), out="fresh")
    assert_same(tmp_path / "embedded", tmp_path / "fresh")


def test_two_processes_cut_the_same_units_as_one(tmp_path: Path) -> None:
    docs = corpus(40)  # parallel_map works in processes from 32 items
    one = run(tmp_path, docs, out="one")
    two = run(tmp_path, docs, out="two", jobs=2)
    assert one == two
    assert_same(tmp_path / "one", tmp_path / "two")


def test_vectors_are_stored_as_float32_and_an_old_double_cache_is_read(tmp_path: Path) -> None:
    enc = FakeEncoder(dim=384)
    texts = ["Governors do not challenge leaders.", "Pupils read well in Year 2."]
    old = pd.DataFrame(
        {
            "text_key": [embed.text_key(t) for t in texts],
            "model": enc.name,
            "vector": [v.tolist() for v in enc.encode(texts)],
        }
    )
    old.to_parquet(tmp_path / "embedded-cache.parquet")  # the format of earlier runs: doubles
    enc.calls.clear()
    assert run(tmp_path, {"a": " ".join(texts)}, encoder=enc)["encoded"] == 0 and enc.calls == []
    schema = pq.read_schema(next((tmp_path / "embedded" / "unit_embeddings.parquet").glob("part-*.parquet")))
    assert str(schema.field("vector").type) == "list<element: float>"
    cache = embed.read_cache(tmp_path / "embedded-cache.parquet", enc.name)
    assert set(cache) == {embed.text_key(t) for t in texts} and all(v.dtype == np.float32 for v in cache.values())
    assert np.allclose(cache[embed.text_key(texts[0])], enc.encode(texts[:1])[0])


def test_without_a_pipeline_spacy_is_built_only_when_a_document_is_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []

    def make() -> Any:
        built.append(1)
        return make_nlp()

    monkeypatch.setattr(units_module, "make_nlp", make)
    monkeypatch.setattr(embed, "_NLP", None)
    run(tmp_path, corpus(3), nlp=None)
    assert built == [1]
    monkeypatch.setattr(embed, "_NLP", None)  # as in a new process
    assert run(tmp_path, corpus(3), nlp=None)["documents"] == 0 and built == [1]
    run(tmp_path, corpus(3), out="given")
    assert_same(tmp_path / "embedded", tmp_path / "given")


def test_vectors_are_parts_and_an_added_document_writes_only_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "embedded" / "unit_embeddings.parquet"

    def parts() -> list[tuple[str, int]]:
        return [(p.name, p.stat().st_ino) for p in sorted(folder.glob("*.parquet"))]

    run(tmp_path, corpus(4))
    (base,) = parts()
    run(tmp_path, corpus(6))  # two documents added: the old part is linked, the new vectors are a part
    assert parts()[0][1] == base[1] and len(parts()) == 2
    assert len(pd.read_parquet(folder / parts()[1][0])) == 6  # 3 units each
    docs = corpus(6)
    del docs["doc001"]  # a document deleted: only the part that held it is rewritten
    linked = parts()[1][1]
    run(tmp_path, docs)
    assert parts()[0][1] != base[1] and parts()[1][1] == linked
    run(tmp_path, docs, out="fresh")
    assert_same(tmp_path / "embedded", tmp_path / "fresh")
    monkeypatch.setattr(embed, "MAX_PARTS", 2)
    docs.update(corpus(8))
    run(tmp_path, docs)  # a third part would pass MAX_PARTS: one part
    assert len(parts()) == 1
    run(tmp_path, docs, out="fresh2")
    assert_same(tmp_path / "embedded", tmp_path / "fresh2")


def test_the_cache_adds_a_part_of_new_texts_and_drops_texts_no_longer_used(tmp_path: Path) -> None:
    cache = tmp_path / "embedded-cache.parquet"

    def parts() -> list[tuple[str, int]]:
        return [(p.name, p.stat().st_ino) for p in sorted(cache.glob("*.parquet"))]

    run(tmp_path, corpus(3))  # 5 shared sentences and 3 bullets
    (base,) = parts()
    enc = FakeEncoder(dim=384)
    assert run(tmp_path, corpus(5), encoder=enc)["encoded"] == 2  # two new bullets
    assert parts()[0] == base and len(parts()) == 2 and len(pd.read_parquet(cache / parts()[1][0])) == 2
    assert len(pd.read_parquet(cache)) == 10
    run(tmp_path, {k: v for k, v in corpus(5).items() if k != "doc004"})  # its bullet is no longer used
    assert len(pd.read_parquet(cache)) == 9 and parts()[0] == base


def test_a_cache_left_aside_by_a_killed_write_is_put_back(tmp_path: Path) -> None:
    run(tmp_path, corpus(3))
    cache = tmp_path / "embedded-cache.parquet"
    cache.rename(cache.with_name(cache.name + ".old"))  # killed between the two renames
    shutil.rmtree(tmp_path / "embedded")  # every document is cut again and looks its texts up
    enc = FakeEncoder(dim=384)
    assert run(tmp_path, corpus(3), encoder=enc)["encoded"] == 0 and cache.is_dir()


# ---------------------------------------------------------------- memory: one batch of documents at a time


def test_documents_are_embedded_a_batch_at_a_time_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(tmp_path, corpus(7), out="whole")
    monkeypatch.setattr(embed, "_DOC_ROWS", 2)
    enc = FakeEncoder(dim=384)
    counts = run(tmp_path, corpus(7), out="batched", encoder=enc)
    # 4 batches of documents, each encoding only what no earlier batch encoded: the 5 shared sentences once
    assert len(enc.calls) == 4 and counts["encoded"] == sum(enc.calls) == 5 + 7
    assert_same(tmp_path / "whole", tmp_path / "batched")
    cache = tmp_path / "batched-cache.parquet"
    assert len(list(cache.glob("*.parquet"))) == 1 and len(pd.read_parquet(cache)) == 12  # this run's texts: one part
    assert not cache.with_name(cache.name + ".new").exists()  # the staged parts are gone
    (part,) = (tmp_path / "batched" / "unit_embeddings.parquet").glob("*.parquet")
    assert pq.ParquetFile(part).metadata.num_row_groups == 4  # written batch by batch


def test_a_run_that_fails_mid_way_leaves_the_last_tables_and_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(tmp_path, corpus(3))
    before = tables(tmp_path / "embedded")
    cache = tmp_path / "embedded-cache.parquet"
    cached = pd.read_parquet(cache).sort_values("text_key").reset_index(drop=True)
    monkeypatch.setattr(embed, "_DOC_ROWS", 2)

    class Failing(FakeEncoder):
        def encode(self, texts: Any) -> np.ndarray:
            if len(self.calls) == 1:  # the second batch of documents
                raise RuntimeError("killed")
            return super().encode(texts)

    with pytest.raises(RuntimeError):
        run(tmp_path, corpus(7), encoder=Failing(dim=384))
    after = tables(tmp_path / "embedded")
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])
    pd.testing.assert_frame_equal(cached, pd.read_parquet(cache).sort_values("text_key").reset_index(drop=True))
    assert not (tmp_path / "embedded.tmp").exists()
    run(tmp_path, corpus(7))  # the next run completes, staged parts of the failed one ignored
    run(tmp_path, corpus(7), out="fresh")
    assert_same(tmp_path / "embedded", tmp_path / "fresh")


def test_tables_rewritten_by_pandas_are_still_kept(tmp_path: Path, cuts: Counting) -> None:
    """pandas writes strings as large_string: the stage reads its own tables whatever string type they have."""
    run(tmp_path, corpus(3))
    for name in ("unit_spans.parquet", "embedded-cache.parquet"):
        folder = tmp_path / "embedded" / name if name.startswith("unit") else tmp_path / name
        df = pd.read_parquet(folder)
        shutil.rmtree(folder) if folder.is_dir() else folder.unlink()
        df.to_parquet(folder)
    cuts.items.clear()
    enc = FakeEncoder(dim=384)
    assert run(tmp_path, corpus(4), encoder=enc)["documents"] == 1 and [d for d, _ in cuts.items] == ["doc003"]
    assert enc.calls == [1]  # only doc003's bullet is new: the shared sentences come from the rewritten cache
    run(tmp_path, corpus(4), out="fresh")
    assert_same(tmp_path / "embedded", tmp_path / "fresh")
