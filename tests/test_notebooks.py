"""The notebooks run top to bottom on a freshly built warehouse, and are stored clean.

The slow tests execute each notebook headless (as a user would with "Run all")
in a kernel of this interpreter, against the scratch repository of the
``built_repo`` fixture; the fast test checks how they are stored.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
read_notebook: Callable[..., Any] = nbformat.read  # nbformat has no type hints
EXPECTED = ("01-similar-cases.ipynb", "02-recurring-weaknesses.ipynb", "03-pipeline-metrics.ipynb")


def _imported_modules(source: str) -> set[str]:
    """Top-level names of the modules a piece of Python imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_notebooks_are_stored_without_outputs_and_import_the_package() -> None:
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert {p.name for p in paths} >= set(EXPECTED)
    for path in paths:
        nb = read_notebook(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        dirty = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
        assert not dirty, f"{path.name}: code cells {dirty} have outputs; clear them before committing"
        first = code[0].source
        assert 'os.environ.get("OFSTED_WAREHOUSE"' in first and 'os.environ.get("OFSTED_ROOT"' in first, path.name
        assert "pipeline" in _imported_modules("\n".join(c.source for c in code)), f"{path.name} does not use pipeline"
    for module in (ROOT / "pipeline").rglob("*.py"):
        assert "notebooks" not in _imported_modules(module.read_text(encoding="utf-8")), module


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A "python3" kernelspec that runs this interpreter, found before any installed one."""
    from ipykernel.kernelspec import install

    install(kernel_name="python3", prefix=str(tmp_path))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    # A user's MPLBACKEND=Agg would send figures nowhere; the notebooks show theirs inline.
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return "python3"


def _execute(name: str, work: Path, kernel_name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run a notebook of the scratch repository in a fresh kernel; the kernel inherits os.environ."""
    monkeypatch.setenv("OFSTED_WAREHOUSE", str(work / "warehouse" / "ofsted.duckdb"))
    monkeypatch.setenv("OFSTED_ROOT", str(work))
    nb = read_notebook(work / "notebooks" / name, as_version=4)
    client = NotebookClient(
        nb, timeout=120, kernel_name=kernel_name, resources={"metadata": {"path": str(work / "notebooks")}}
    )
    client.execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    return nb


def _outputs(nb: Any) -> tuple[str, str, int]:
    """All text (streams and text/plain), all HTML, and the number of images a notebook printed."""
    text, html, images = [], [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                text.append(out.text)
            elif out.output_type in ("display_data", "execute_result"):
                text.append(out.data.get("text/plain", ""))
                html.append(out.data.get("text/html", ""))
                images += "image/png" in out.data
    return "\n".join(text), "\n".join(html), images


@pytest.mark.slow
def test_similar_cases_notebook(built_repo: tuple[Path, str], kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text, html, _ = _outputs(_execute("01-similar-cases.ipynb", built_repo[0], kernel, monkeypatch))
    assert "governance" in text
    assert "APP" in text
    assert "<mark>" in html and "Governors" in html
    assert "text[start:end] has the words of the result: True" in text
    assert "next outcome:" in text


@pytest.mark.slow
def test_recurring_weaknesses_notebook(
    built_repo: tuple[Path, str], kernel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, _, images = _outputs(_execute("02-recurring-weaknesses.ipynb", built_repo[0], kernel, monkeypatch))
    assert images >= 1
    assert "Hertfordshire" in text and "teaching_quality" in text
    assert "support_type" in text and "effective_action" in text


@pytest.mark.slow
def test_pipeline_metrics_notebook(built_repo: tuple[Path, str], kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    work = built_repo[0]
    text, _, images = _outputs(_execute("03-pipeline-metrics.ipynb", work, kernel, monkeypatch))
    assert images >= 1
    assert "field accuracy" in text and "macro F1" in text
    # `dvc repro` wrote every metrics file the notebook reads, search.json among them: none is missing
    assert (work / "metrics" / "search.json").is_file() and "does not exist yet" not in text
    judged = (work / "corpus" / "labels" / "search_queries.jsonl").read_text(encoding="utf-8").splitlines()
    assert f"{sum(1 for line in judged if line.strip())} judged queries, k = 10" in text
    assert "reference_rejects:" in text and "unmatched:" in text
