"""The README and docs/: a short front door, links that resolve, contracts and set-up kept in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import cli
from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
CONTRACTS_START, CONTRACTS_END = "<!-- contracts:start -->\n", "<!-- contracts:end -->"


def prose(text: str) -> str:
    """The page without its fenced code blocks (a ``#`` or ``[x](y)`` inside one is not Markdown)."""
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        marker = re.match(r"\s*(```|~~~)", line)
        if marker and fence is None:
            fence = marker.group(1)
        elif marker and line.strip().startswith(fence or ""):
            fence = None
        elif fence is None:
            out.append(line)
    return "\n".join(out)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation gone, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").replace("*", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor on a page; a repeated heading gets -1, -2, … as on GitHub."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", prose(text), re.M):
        base = slug(heading)
        found.add(base if base not in seen else f"{base}-{seen[base]}")
        seen[base] = seen.get(base, 0) + 1
    return found


def relative_links(text: str) -> list[str]:
    """The targets of a page's Markdown links and images that are not web addresses."""
    body = re.sub(r"`[^`\n]*`", "", prose(text))  # a link written as code is not one
    targets = re.findall(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", body)
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t, re.I)]


def section(text: str, title: str) -> str:
    """The body of the ``## title…`` section of a page, up to the next ``##`` heading."""
    m = re.search(rf"^## {re.escape(title)}.*?\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"no section '## {title}…'"
    return m.group(1)


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines (at most 250): move the detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in relative_links(page.read_text(encoding="utf-8")):
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        if not where.exists():
            broken.append(f"{target}: no file {where.relative_to(ROOT) if where.is_relative_to(ROOT) else where}")
        elif anchor and where.suffix == ".md" and anchor not in anchors(where.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading with anchor #{anchor} in {where.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)


def test_docs_warehouse_shows_the_contracts_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["contracts"]) == 0
    printed = capsys.readouterr().out
    page = (ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    assert page.count(CONTRACTS_START) == 1 and page.count(CONTRACTS_END) == 1
    block = page.split(CONTRACTS_START)[1].split(CONTRACTS_END)[0]
    assert block == printed, (
        "docs/warehouse.md is out of date: replace the lines between the contracts markers "
        "with the output of `ofsted-nlp contracts`"
    )


def test_the_readme_sets_up_with_two_commands() -> None:
    setup = section(README.read_text(encoding="utf-8"), "Set-up")
    shell = "".join(re.findall(r"```console\n(.*?)```", setup, re.S))
    commands = [line[2:].split("#")[0].strip() for line in shell.splitlines() if line.startswith("$ ")]
    assert commands == ["make run", "make test"]


def test_the_link_checker_knows_github_anchors() -> None:
    page = "# ofsted-nlp\n## Set-up: two commands\n```\n# not a heading\n```\n"
    page += "#### `documents` (key: doc_id)\n## A\n## A\n"
    assert anchors(page) == {"ofsted-nlp", "set-up-two-commands", "documents-key-doc_id", "a", "a-1"}
    assert relative_links("[a](docs/x.md#y) ![b](p.png) [c](https://e.org) `[d](e.md)`") == ["docs/x.md#y", "p.png"]
