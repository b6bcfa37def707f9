"""Search: BM25, hybrid ranking, filters before ranking, grouping, why, cases like this, what worked, metrics."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipeline import cli
from pipeline.search import encoder
from pipeline.search import index as search
from pipeline.search.index import BM25, Searcher, SearchIndex, SearchParams, ndcg_at, reciprocal_rank, tokens
from tests.fakes import FakeEncoder

UNITS = [
    # unit_id, doc_id, doc_type, text, section, polarity, la, date, kind, tags
    ("u1", "d1", "hmi_letter", "Governors do not challenge leaders about pupils' progress.", "Main findings",
     "weakness", "Luton", dt.date(2012, 12, 12), "ri_monitoring", ["governance"]),
    ("u2", "d1", "hmi_letter", "Governors do not hold leaders to account for the school's results.", "Main findings",
     "weakness", "Luton", dt.date(2012, 12, 12), "ri_monitoring", ["governance"]),
    ("u3", "d1", "hmi_letter", "Governors rarely question the headteacher about data.", "Main findings",
     "weakness", "Luton", dt.date(2012, 12, 12), "ri_monitoring", ["governance"]),
    ("u4", "d2", "hmi_letter", "The governing body does not challenge senior leaders.", "Main findings",
     "weakness", "Derbyshire", dt.date(2013, 5, 1), "special_measures_monitoring", ["governance"]),
    ("u5", "d3", "case_study", "Teachers attended APP training and now assess writing accurately.", "actions",
     "neutral", None, None, None, ["assessment_tracking", "professional_development"]),
    ("u6", "d3", "case_study", "Assessment is accurate and moderated across the school.", "impact",
     "strength", None, None, None, ["assessment_tracking"]),
    ("u7", "d4", "hmi_letter", "Teachers' assessments of pupils' work are not accurate.", "Main findings",
     "weakness", "Luton", dt.date(2014, 1, 9), "ri_monitoring", ["assessment_tracking"]),
    ("u8", "d5", "la_plan", "Consultant governors to work with the governing body.", "For schools that are Inadequate",
     "neutral", "Wiltshire", None, None, ["governance"]),
]  # fmt: skip


def make_index(params: SearchParams | None = None) -> tuple[SearchIndex, FakeEncoder]:
    enc = FakeEncoder(dim=64)
    cols = ["unit_id", "doc_id", "doc_type", "text", "section", "polarity", "la", "date", "letter_kind", "tags"]
    meta = pd.DataFrame(UNITS, columns=cols)
    meta["start"], meta["end"] = 0, meta["text"].str.len()
    meta["school"], meta["phase"], meta["next_outcome"] = "School", "Primary", None
    meta = meta[list(search.META_COLUMNS)]
    return SearchIndex(meta, enc.encode(list(meta["text"])), params or SearchParams()), enc


def test_tokens_drop_stopwords_and_fold_case() -> None:
    assert tokens("The APP of pupils' writing, e.g. KS2") == ["app", "pupils", "writing", "e", "g", "ks2"]


def test_bm25_prefers_rare_terms_and_shorter_texts() -> None:
    bm = BM25.build(["app app training", "training for staff", "training", "assessment of app in the school today"])
    s = bm.scores("APP training")
    assert s[0] > s[3] > 0 and s[0] > s[1]
    assert s[2] > s[1]  # same single term, shorter text
    assert bm.scores("nothing matches").tolist() == [0, 0, 0, 0]


def test_filters_apply_before_ranking_and_results_are_grouped_by_document() -> None:
    index, enc = make_index()
    q = "governors do not challenge leaders"
    top = index.search(q, enc.encode([q])[0], k=3)
    assert top["doc_id"].tolist().count("d1") == 2  # per_doc = 2: the third d1 sentence is held back
    assert "u4" in top["unit_id"].tolist()
    luton = index.search(q, enc.encode([q])[0], k=10, la="luton", since=dt.date(2013, 1, 1))
    assert luton["unit_id"].tolist() == ["u7"]  # the only Luton unit from 2013 on, however weak its match
    assert index.search(q, enc.encode([q])[0], k=10, kind="special_measures_monitoring")["unit_id"].tolist() == ["u4"]
    assert index.search(q, None, k=10, tag="assessment_tracking", per_doc=None)["unit_id"].tolist()[:1] in (
        ["u5"],
        ["u6"],
        ["u7"],
    )
    assert len(index.search(q, enc.encode([q])[0], k=10, doc_type="case_study")) == 2


def test_hybrid_counts_exact_terms_and_explains_why() -> None:
    index, enc = make_index()
    dense_only = index.search("APP", enc.encode(["APP"])[0], k=1, alpha=1.0)
    hybrid = index.search("APP", enc.encode(["APP"])[0], k=1)
    assert hybrid["unit_id"].tolist() == ["u5"]
    assert hybrid["why"].iloc[0] == "words: app; tags: assessment_tracking, professional_development"
    assert hybrid["lexical"].iloc[0] > 0 and dense_only["score"].iloc[0] == pytest.approx(dense_only["cosine"].iloc[0])


def test_similar_to_a_unit_or_a_letter_leaves_out_its_own_document() -> None:
    index, enc = make_index()
    s = Searcher(index, enc)
    like_unit = s.similar_to("u1", k=5)
    assert "d1" not in set(like_unit["doc_id"]) and like_unit["unit_id"].iloc[0] == "u4"
    like_doc = s.similar_to("d1", k=3)
    assert "d1" not in set(like_doc["doc_id"]) and "u4" in set(like_doc["unit_id"])
    with pytest.raises(search.PipelineError, match="no unit or document 'nope'"):
        s.similar_to("nope")


def test_what_worked_finds_actions_and_offers_with_the_same_tags() -> None:
    index, enc = make_index()
    worked = Searcher(index, enc).what_worked("u7")
    assert worked["unit_id"].tolist() == ["u6", "u5"] or worked["unit_id"].tolist() == ["u5", "u6"]
    assert all(t == ["assessment_tracking"] for t in worked["shared_tags"])
    governance = Searcher(index, enc).what_worked("u1")
    assert governance["unit_id"].tolist() == ["u8"]  # the LA plan's consultant governors
    assert Searcher(index, enc).what_worked("u6").empty is False


def test_metrics_by_hand() -> None:
    rel = {"a": 2, "b": 1}
    assert reciprocal_rank(["x", "b", "a"], rel) == 0.5
    assert reciprocal_rank(["x", "y"], rel) == 0.0
    assert ndcg_at(["a", "b"], rel) == pytest.approx(1.0)
    # ideal (2^2-1)/log2(2) + (2^1-1)/log2(3) = 3 + 0.6309; got b then a: 1/1 + 3/log2(3)
    assert ndcg_at(["b", "a"], rel) == pytest.approx((1 + 3 / np.log2(3)) / (3 + 1 / np.log2(3)))
    assert ndcg_at(["x"] * 10 + ["a"], rel, k=10) == 0.0


def test_evaluate_search_reports_each_half() -> None:
    index, enc = make_index()
    queries = [{"query_id": "q1", "query": "APP", "relevant": {"u5": 2}}]
    m = search.evaluate_search(index, queries, {"q1": enc.encode(["APP"])[0]})
    assert set(m) >= {"hybrid", "dense", "lexical", "per_query"} and m["lexical"]["mrr"] == 1.0


@pytest.fixture
def fake_encoder(monkeypatch: pytest.MonkeyPatch) -> FakeEncoder:
    enc = FakeEncoder(dim=384)  # the sample warehouse's vectors come from the same fake encoder
    monkeypatch.setattr(encoder, "LazyEncoder", lambda batch_size=64: enc)
    return enc


def test_cli_search_table_and_json(
    sample_warehouse: Path, fake_encoder: FakeEncoder, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["search", "governors challenge leaders", "--warehouse", str(sample_warehouse), "--k", "3"]
    assert cli.main([*args, "--format", "json"]) == 0
    got: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    assert len(got) == 3 and "governors" in got[0]["why"]
    assert cli.main([*args, "--doc-type", "hmi_letter"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(" 1. ") and "hmi_letter" in out and "inspection_report" not in out
    assert cli.main([*args, "--la", "Nowhere"]) == 0
    assert capsys.readouterr().out == "(no results: loosen the filters)\n"
    assert cli.main([*args, "--since", "2012-99-01"]) == 2
    assert "--since '2012-99-01' is not a date" in capsys.readouterr().err


@pytest.mark.slow
def test_real_model_search_on_the_sample(built_repo: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    work, _ = built_repo
    warehouse = ["--warehouse", str(work / "warehouse" / "ofsted.duckdb"), "--format", "json"]
    assert cli.main(["search", "governors do not challenge leaders", "--k", "5", *warehouse]) == 0
    gov = json.loads(capsys.readouterr().out)
    assert "governance" in gov[0]["tags"] and gov[0]["polarity"] == "weakness"
    assert cli.main(["search", "APP", "--k", "5", *warehouse]) == 0
    app = json.loads(capsys.readouterr().out)
    assert all("APP" in r["text"] or "ssessing pupils" in r["text"] for r in app[:3])
    metrics = json.loads((work / "metrics" / "search.json").read_text())
    assert metrics["n_queries"] == 20 and metrics["n_judged_units_not_in_warehouse"] == 0


def test_rank_with_a_candidate_pool_equals_a_full_sort() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    meta = pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(n)],
            "doc_id": [f"d{i // 40}" for i in range(n)],  # long documents: grouping must skip many
            "doc_type": "hmi_letter",
            "text": "text",
            "start": 0,
            "end": 4,
            "section": None,
            "polarity": "neutral",
            "school": None,
            "la": None,
            "date": None,
            "letter_kind": None,
            "phase": None,
            "tags": [[] for _ in range(n)],
            "next_outcome": None,
        }
    )
    index = SearchIndex(meta[list(search.META_COLUMNS)], np.zeros((n, 4), dtype=np.float32))
    scores = np.round(rng.random(n), 2)  # many ties
    keep = rng.random(n) > 0.3
    for k, per_doc in ((10, 2), (10, None), (300, 1), (5, 40)):
        order = sorted(np.flatnonzero(keep), key=lambda i: (-scores[i], i))
        want: list[int] = []
        seen: dict[str, int] = {}
        for i in order:
            d = meta["doc_id"][i]
            if per_doc is not None and seen.get(d, 0) >= per_doc:
                continue
            seen[d] = seen.get(d, 0) + 1
            want.append(int(i))
            if len(want) == k:
                break
        assert index.rank(scores, keep, k, per_doc) == want, (k, per_doc)


def test_index_of_a_warehouse_with_a_unit_without_vector_says_so() -> None:
    import duckdb

    from pipeline.warehouse import contracts, queries

    con = duckdb.connect()
    for table in contracts.TABLES.values():
        con.execute(contracts.ddl(table))
    queries.create_views(con)
    con.execute("INSERT INTO documents VALUES ('d', 'd', 'case_study', NULL, 'x', 1, NULL, 1, 'test', NULL)")
    for n, uid in enumerate(("u1", "u2"), 1):
        con.execute(
            "INSERT INTO units VALUES (?, 'd', ?, 'sentence', 'Pupils read well.', 0, 17, 'strength', [], 'm')",
            [uid, n],
        )
    con.execute("INSERT INTO unit_embeddings VALUES ('u1', 'fake', ?::FLOAT[384])", [[0.0] * 384])
    with pytest.raises(search.PipelineError, match=r"1 units have no embedding \(e.g. u2\)"):
        search.load_index(con)
    con.execute("INSERT INTO unit_embeddings VALUES ('u2', 'fake', ?::FLOAT[384])", [[1.0] + [0.0] * 383])
    index = search.load_index(con)
    assert index.vectors.shape == (2, 384) and index.vectors[1, 0] == 1.0


def test_vectors_are_streamed_into_the_units_order_whatever_order_they_are_stored_in() -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE unit_embeddings (unit_id VARCHAR, model VARCHAR, vector FLOAT[4])")
    stored = {"u3": [0, 0, 1, 0], "orphan": [9, 9, 9, 9], "u1": [1, 0, 0, 0], "u2": [0, 1, 0, 0]}
    for uid, vec in stored.items():  # not in the units' order, and one vector of no unit
        con.execute("INSERT INTO unit_embeddings VALUES (?, 'fake', ?::FLOAT[4])", [uid, vec])
    vectors = search._vectors(con, ["u1", "u2", "u3"], rows=1)  # a batch per row
    assert vectors.tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] and vectors.dtype == np.float32
