"""The embed stage: units cut and embedded once, a cache that makes re-runs encode only new text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import contracts, embed
from pipeline.units import make_nlp
from tests.fakes import FakeEncoder


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
    assert counts == {"unit_spans": 3, "unit_embeddings": 3, "queries": 0, "encoded": 3}
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
