"""``ofsted-nlp sql``: reads the warehouse, and nothing else (no files, ATTACH or extensions; the lock holds)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline import cli
from pipeline.warehouse import queries

REFUSED = (
    "ofsted-nlp sql: error: this command reads the warehouse only: file access, ATTACH and extensions are disabled ("
)
HINT = "); to keep a result, write it with --format csv (or json) > FILE\n"


def sql(warehouse: Path, query: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``ofsted-nlp sql QUERY --format csv``."""
    code = cli.main(["sql", query, "--warehouse", str(warehouse), "--format", "csv"])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(result: tuple[int, str, str], detail: str) -> None:
    code, out, err = result
    assert code == 2
    assert out == ""
    assert err.startswith(REFUSED) and err.endswith(HINT)
    assert detail in err


def test_copy_to_a_file_is_refused_and_writes_nothing(
    sample_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "x.csv"
    code, out, err = sql(sample_warehouse, f"COPY (SELECT 1) TO '{target}'", capsys)
    assert (code, out) == (2, "")
    assert err == (
        f'{REFUSED}Permission Error: Cannot access file "{target}" - file system operations are disabled by '
        f"configuration{HINT}"
    )
    assert not target.exists()


def test_export_database_is_refused_and_writes_nothing(
    sample_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "export"
    assert_refused(sql(sample_warehouse, f"EXPORT DATABASE '{target}'", capsys), "file system operations are disabled")
    assert not target.exists()


def test_read_csv_of_a_real_file_is_refused(
    sample_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("word\nswordfish\n")
    for query in (f"SELECT * FROM read_csv('{secret}')", f"SELECT * FROM '{secret}'"):
        result = sql(sample_warehouse, query, capsys)
        assert_refused(result, f'Cannot access file "{secret}" - file system operations are disabled')
        assert "swordfish" not in result[2]


def test_read_parquet_of_a_real_file_is_refused(
    sample_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data.parquet"
    pd.DataFrame({"word": ["swordfish"]}).to_parquet(data)
    result = sql(sample_warehouse, f"SELECT * FROM read_parquet('{data}')", capsys)
    assert_refused(result, f'Cannot access file "{data}" - file system operations are disabled')


def test_read_text_and_glob_of_a_path_are_refused(
    sample_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "note.txt").write_text("swordfish")
    for query in (f"SELECT content FROM read_text('{tmp_path / 'note.txt'}')", f"SELECT * FROM glob('{tmp_path}/*')"):
        assert_refused(sql(sample_warehouse, query, capsys), "file system operations are disabled")


@pytest.mark.parametrize("target", ["{other}", ":memory:"])
def test_attach_is_refused(
    sample_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    query = f"ATTACH '{target.format(other=other)}' AS other; SELECT 1 AS one"
    assert_refused(sql(sample_warehouse, query, capsys), "(ATTACH is refused)")


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("INSTALL httpfs", "file system operations are disabled"),
        ("LOAD httpfs", "Loading external extensions is disabled"),
        ("LOAD '/tmp/evil.duckdb_extension'", "Loading external extensions is disabled"),
    ],
)
def test_install_and_load_of_extensions_are_refused(
    sample_warehouse: Path, capsys: pytest.CaptureFixture[str], query: str, detail: str
) -> None:
    assert_refused(sql(sample_warehouse, query, capsys), detail)


@pytest.mark.parametrize(
    "query",
    [
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        "SET GLOBAL enable_external_access = true",
        "SET enable_external_access = true; SELECT * FROM read_csv('{file}')",
    ],
)
def test_the_lock_cannot_be_undone(
    sample_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    file = tmp_path / "secret.csv"
    file.write_text("word\nswordfish\n")
    result = sql(sample_warehouse, query.format(file=file), capsys)
    assert_refused(result, "the configuration has been locked")
    assert "swordfish" not in result[1] + result[2]


def test_a_select_over_a_table_and_a_named_view_still_works(
    sample_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sql(sample_warehouse, "SELECT count(*) AS n FROM letters", capsys) == (0, "n\n3\n", "")
    assert sql(sample_warehouse, "SELECT letters, reports, las FROM headline", capsys) == (
        0,
        "letters,reports,las\n3,1,4\n",
        "",
    )
    # every named view answers, with a macro (grade_label) inside
    union = " UNION ALL ".join(f"SELECT '{name}' AS view, count(*) AS n FROM \"{name}\"" for name in queries.QUERIES)
    code, out, err = sql(sample_warehouse, f"SELECT count(*) AS views FROM ({union})", capsys)
    assert (code, out, err) == (0, f"views\n{len(queries.QUERIES)}\n", "")


def test_the_lock_does_not_reach_another_connection_of_the_process(
    sample_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A notebook holding the warehouse open keeps its file access and its settings after an `sql` command."""
    held = queries.connect_read_only(sample_warehouse)
    try:
        assert sql(sample_warehouse, "SELECT count(*) AS n FROM letters", capsys) == (0, "n\n3\n", "")
        assert held.execute("SELECT current_setting('enable_external_access')").fetchone() == (True,)
        queries.set_memory_limit(held, "256MB")  # a locked configuration would refuse it
        held.execute(f"COPY (SELECT 1 AS one) TO '{tmp_path / 'kept.csv'}'")
    finally:
        held.close()
    assert (tmp_path / "kept.csv").read_text() == "one\n1\n"


def test_a_file_that_is_not_a_warehouse_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.sqlite"
    other.write_bytes(b"SQLite format 3\x00" + bytes(84))  # a SQLite header: DuckDB would load an extension to read it
    code, out, err = sql(other, "SELECT 1", capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"ofsted-nlp sql: error: cannot open the warehouse {other} read-only: ")
    missing = tmp_path / "none.duckdb"
    code, out, err = sql(missing, "SELECT 1", capsys)
    assert (code, out) == (2, "")
    assert err == f"ofsted-nlp sql: error: no warehouse at {missing}; build it with `dvc repro` (or `make run`)\n"
