"""Shared fixtures; slow tests (the whole DAG, real models) run only with --slow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from pipeline.stages import ingest, link, load, parse
from pipeline.stages.ingest import IngestParams
from pipeline.warehouse import contracts
from tests.pdf_factory import SHARED_REPORT

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "corpus" / "raw"
GOLD = ROOT / "corpus" / "gold"


def shared_report() -> Path:
    """`SHARED_REPORT`, or a skip that says why when ``../shared`` is not beside the checkout."""
    if not SHARED_REPORT.is_file():
        pytest.skip(f"the real report PDF is read from {SHARED_REPORT}, which is not here (CI and the team have it)")
    return SHARED_REPORT


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
    """units / issues / unit_embeddings from the hand labels of the sample corpus's units (corpus/raw)."""
    units, issues = [], []
    for line in (ROOT / "corpus" / "labels" / "units.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if not r["source"].startswith("corpus/raw/"):  # the real documents and the synthetic section 5 report
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
    # vectors of a fake encoder (tests/fakes.py), so search runs without the model
    from tests.fakes import FakeEncoder

    vectors = FakeEncoder(dim=384).encode([u["text"] for u in units])
    embeddings = [
        {"unit_id": u["unit_id"], "model": "fake-bag-of-words", "vector": v.tolist()} for u, v in zip(units, vectors)
    ]
    contracts.frame(contracts.UNIT_EMBEDDINGS, embeddings).to_parquet(out / "unit_embeddings.parquet", index=False)


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


def dvc(work: Path, *args: str) -> str:
    """Run dvc in a scratch repository with this venv's tools on PATH; fail with its output."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(["dvc", *args], cwd=work, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


@pytest.fixture(scope="session")
def built_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A scratch copy of the repository after `dvc repro` (slow: embeds and trains): its path and the output."""
    work = tmp_path_factory.mktemp("repo")
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, work / name)
    for name in ("pipeline", "corpus/raw", "corpus/gold", "corpus/labels", "corpus/reference", "notebooks"):
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    dvc(work, "init", "--no-scm", "-q")
    return work, dvc(work, "repro")
