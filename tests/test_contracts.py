"""Table contracts: checks that catch bad frames, and the README kept in step."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from pipeline.errors import ContractError
from pipeline.warehouse import contracts
from tests.conftest import ROOT


def good_reject() -> dict[str, object]:
    return {"source": "a.pdf", "doc_id": None, "stage": "ingest", "reason": "empty_file", "message": "empty"}


def test_a_good_frame_passes() -> None:
    df = contracts.frame(contracts.REJECTS, [good_reject()])
    assert list(df.columns) == contracts.REJECTS.names


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": None}, "column 'source' is null in row 0"),
        ({"stage": 3}, "column 'stage' row 0 holds 3 (int); the contract says VARCHAR"),
    ],
)
def test_bad_values_are_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(ContractError, match=re.escape(message)):
        contracts.frame(contracts.REJECTS, [{**good_reject(), **change}])


def test_duplicate_key_and_wrong_columns() -> None:
    with pytest.raises(ContractError, match=r"key .* is not unique"):
        contracts.frame(contracts.REJECTS, [good_reject(), good_reject()])
    with pytest.raises(ContractError, match="has columns"):
        contracts.check(pd.DataFrame({"source": ["x"]}), contracts.REJECTS)


def test_allowed_values_and_lists() -> None:
    row = {c: None for c in contracts.LETTERS.names}
    row.update(doc_id="d", status="ok", visit_dates=[dt.date(2016, 3, 4)], letter_kind="ri_monitoring")
    contracts.frame(contracts.LETTERS, [row])
    with pytest.raises(ContractError, match="valid values"):
        contracts.frame(contracts.LETTERS, [{**row, "letter_kind": "monitoring"}])
    with pytest.raises(ContractError, match="the contract says DATE"):
        contracts.frame(contracts.LETTERS, [{**row, "visit_dates": ["2016-03-04"]}])


def test_readme_shows_the_contracts_as_they_are() -> None:
    readme = (ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    assert contracts.markdown() in readme, "docs/warehouse.md is out of date: paste `ofsted-nlp contracts` into it"
