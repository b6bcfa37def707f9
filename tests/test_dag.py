"""End to end: the whole DVC pipeline on the sample corpus, in a scratch copy."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipeline import queries
from tests.conftest import dvc


@pytest.mark.slow
def test_dvc_repro_builds_the_warehouse(built_repo: tuple[Path, str]) -> None:
    work, out = built_repo
    for stage in ("ingest", "parse", "link", "embed", "train", "classify", "load", "evaluate", "report"):
        assert f"Running stage '{stage}'" in out
    assert "ingest: 6 documents, 0 rejects" in out
    con = duckdb.connect(str(work / "warehouse" / "ofsted.duckdb"), read_only=True)
    tables = ("documents", "letters", "inspections", "case_study_items", "la_plans", "letter_school", "unmatched")
    counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # type: ignore[index]
    answered = {q: len(con.execute(f'SELECT * FROM "{q}"').fetchall()) for q in queries.QUERIES}
    unclassified = con.execute(
        "SELECT count(*) FROM units u JOIN unit_embeddings e USING (unit_id) WHERE u.model_version IS NULL"
    ).fetchone()
    tagged_docs = con.execute("SELECT count(DISTINCT doc_id) FROM issues").fetchone()
    assert unclassified == (0,) and tagged_docs == (6,)
    kinds = con.execute("SELECT doc_type, count(*) FROM documents GROUP BY ALL ORDER BY ALL").fetchall()
    con.close()
    assert counts == {
        "documents": 6,
        "letters": 3,
        "inspections": 1,
        "case_study_items": 25,
        "la_plans": 1,
        "letter_school": 4,
        "unmatched": 0,
    }
    assert [q for q, n in answered.items() if not n] == ["unmatched_documents"], answered  # every letter links
    assert kinds == [("case_study", 1), ("hmi_letter", 3), ("inspection_report", 1), ("la_plan", 1)]
    metrics = json.loads((work / "metrics" / "extraction.json").read_text())
    assert metrics["n_letters"] == 3 and metrics["field_accuracy"] == 1.0
    summary = json.loads((work / "metrics" / "summary.json").read_text())
    assert set(summary) == {"extraction", "tagger", "search"} and summary["search"]["n_queries"] == 20
    assert summary["tagger"]["n_test_units"] == 185 and summary["extraction"]["field_accuracy"] == 1.0
    assert "summary.json" in dvc(work, "metrics", "show")
    tagger = json.loads((work / "metrics" / "tagger.json").read_text())
    assert tagger["n_test_units"] > 0 and set(tagger["models"]) == {
        "keyword",
        "embedding",
        "embedding+keywords",
        "embedding+keywords+ngrams",
    }
    pages = sorted(p.name for p in (work / "reports").iterdir())
    assert pages == ["all.html", "derbyshire.html", "hertfordshire.html", "luton.html", "sandwell.html"]
    luton = (work / "reports" / "luton.html").read_text(encoding="utf-8")
    assert f"macro-F1 {summary['tagger']['macro_f1']}" in luton and "Wigmore Primary School" in luton
    assert "up to date" in dvc(work, "repro")
