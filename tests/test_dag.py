"""The DVC pipeline: every stage depends on the code it runs, and the whole pipeline runs end to end."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline import cli
from pipeline.incremental import code_of
from pipeline.warehouse import queries
from tests.conftest import ROOT, dvc


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
    assert summary["tagger"]["n_test_units"] == 158 and summary["extraction"]["field_accuracy"] == 1.0
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


def readme_commands(page: str) -> list[tuple[list[str], str]]:
    """A page's ``ofsted-nlp`` query, search, sql and classify commands as CLI arguments, with what it shows.

    Only ``console`` blocks count. Other commands in them (``make``, ``dvc``, the stages, such as the sketch of a
    sharded run in docs/scaling.md) are left out: they write files rather than print an answer.
    """
    blocks = re.findall(r"```console\n(.*?)```", page, re.S)
    wanted = r"ofsted-nlp (?:query|search|sql|classify)\b|printf .*\| *ofsted-nlp classify\b"
    found = [m for block in blocks for m in re.findall(rf"^\$ ((?:{wanted}).*)\n((?:(?!\$ ).*\n)*)", block, re.M)]
    out = []
    for line, shown in found:
        words = shlex.split(line, comments=True)
        if words[:2] == ["ofsted-nlp", "classify"] and "--embedded" not in words:  # not the stage's form
            out.append((words[1:], shown))
        elif words[0] == "printf" and words[2:5] == ["|", "ofsted-nlp", "classify"]:  # stdin lines as TEXT
            out.append((words[4:] + words[1].encode().decode("unicode_escape").splitlines(), shown))
        elif words[0] == "ofsted-nlp" and words[1] in ("query", "search", "sql"):
            out.append((words[1:], shown))
    return out


@pytest.mark.slow
def test_the_readme_shows_what_the_commands_print(
    built_repo: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # README.md and every docs page; a block may show the first rows only, but all it shows must be what is printed
    work, _ = built_repo
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    commands = {page.relative_to(ROOT).as_posix(): readme_commands(page.read_text(encoding="utf-8")) for page in pages}
    assert {args[0] for args, _ in commands["README.md"]} >= {"query", "search", "classify"}
    everywhere = [(page, args, shown) for page, found in commands.items() for args, shown in found]
    assert {args[0] for _, args, _ in everywhere} == {"query", "search", "sql", "classify"} and len(everywhere) >= 11
    for page, args, shown in everywhere:
        where = ["--model", str(work / "models" / "tagger")] if args[0] == "classify" else []
        where = where or ["--warehouse", str(work / "warehouse" / "ofsted.duckdb")]
        capsys.readouterr()
        assert cli.main([*args, *where]) == 0, (page, args)
        assert capsys.readouterr().out.startswith(shown), (page, args)


def test_every_stage_depends_on_all_the_code_it_runs() -> None:
    # a change to a module a stage imports (even inside a function) must rerun the stage
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    code = {name: [m.replace(".", "/") + ".py" for m in code_of(f"pipeline.stages.{name}")] for name in stages}
    missing = {name: [path for path in code[name] if path not in stage["deps"]] for name, stage in stages.items()}
    assert {name: paths for name, paths in missing.items() if paths} == {}
