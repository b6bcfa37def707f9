"""Shared fixtures; slow tests (the whole DAG, real models) run only with --slow."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from pipeline import contracts, ingest, link, load, parse
from pipeline.ingest import IngestParams

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "corpus" / "raw"
GOLD = ROOT / "corpus" / "gold"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (make test does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _hand_labelled_units(out: Path) -> None:
    """units / issues / unit_embeddings from the hand labels of the real sample units."""
    units, issues = [], []
    for line in (ROOT / "corpus" / "labels" / "units.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["origin"] != "real":
            continue
        units.append(
            {
                "unit_id": r["unit_id"],
                "doc_id": r["doc_id"],
                "n": len(units) + 1,
                "kind": r["kind"],
                "text": r["text"],
                "start": r["start"],
                "end": r["end"],
                "polarity": r["polarity"],
                "support_types": r["support_types"],
                "model_version": "hand-labels",
            }
        )
        issues.extend(
            {
                "doc_id": r["doc_id"],
                "unit_id": r["unit_id"],
                "tag": tag,
                "polarity": r["polarity"],
                "score": 1.0,
                "start": r["start"],
                "end": r["end"],
                "model_version": "hand-labels",
            }
            for tag in r["tags"]
        )
    out.mkdir(parents=True)
    contracts.frame(contracts.UNITS, units).to_parquet(out / "units.parquet", index=False)
    contracts.frame(contracts.ISSUES, issues).to_parquet(out / "issues.parquet", index=False)
    contracts.frame(contracts.UNIT_EMBEDDINGS, []).to_parquet(out / "unit_embeddings.parquet", index=False)


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("warehouse")
    documents, rejects = tmp / "documents.parquet", tmp / "rejects.parquet"
    ingest.run(RAW, documents, rejects, asdict(IngestParams()))
    parse.run(documents, tmp / "parsed")
    link.run(tmp / "parsed", ROOT / "corpus" / "reference", tmp / "linked", link.LinkParams())
    _hand_labelled_units(tmp / "classified")
    sources = {"documents": documents, "rejects": rejects}
    sources.update({n: tmp / "parsed" / f"{n}.parquet" for n in load.PARSE_TABLES})
    sources.update({n: tmp / "classified" / f"{n}.parquet" for n in (*load.EMBED_TABLES, *load.CLASSIFY_TABLES)})
    sources.update({n: tmp / "linked" / f"{n}.parquet" for n in load.LINK_TABLES})
    path = tmp / "ofsted.duckdb"
    load.run(sources, path)
    return path
