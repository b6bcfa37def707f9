"""The layout a newcomer relies on: every reader and every stage is where its name says it is."""

from __future__ import annotations

import shlex

import pytest
import yaml

from pipeline import cli
from pipeline.stages import parse
from pipeline.warehouse import contracts
from tests.conftest import ROOT

STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("doc_type", sorted(contracts.DOC_TYPES - {"unknown"}))
def test_each_document_type_has_its_reader_in_one_step(doc_type: str) -> None:
    # parse.READERS names the module; the module is pipeline/readers/<name>.py and has read()
    name = parse.READERS[doc_type]
    assert (ROOT / "pipeline" / "readers" / f"{name}.py").is_file()
    read = parse.reader_of(doc_type)
    assert read is not None and read.__module__ == f"pipeline.readers.{name}" and read.__name__ == "read"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_stage_has_one_name_everywhere(stage: str) -> None:
    spec = STAGES[stage]
    # the module, the DVC command, the CLI subcommand and its shell function, the tests
    assert (ROOT / "pipeline" / "stages" / f"{stage}.py").is_file()
    assert shlex.split(spec["cmd"])[:2] == ["ofsted-nlp", stage]
    args = cli.build_parser().parse_args(shlex.split(spec["cmd"])[1:])
    assert args.func.__name__ == f"cmd_{stage}"
    assert (ROOT / "tests" / f"test_{stage}.py").is_file()
    assert f"pipeline/stages/{stage}.py" in spec["deps"]
    # a stage that reads params reads its own section (evaluate also reads search's, for its search metrics)
    sections = spec.get("params", [])
    assert not sections or stage in sections
    assert all(s in PARAMS for s in sections)


def test_every_params_section_belongs_to_a_stage_or_a_command() -> None:
    commands = set(cli.build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert set(PARAMS) <= set(STAGES) | commands | {"labels"}
