"""Stage ``load``: the interim Parquet tables become the DuckDB warehouse.

The warehouse is written into a temporary file beside the target and moved over
it in one rename: a crash mid-load leaves the previous warehouse intact, and
running the load twice gives the same rows.

A load is incremental when it can be. The stages that work document by
document (parse, link, embed, classify) list in ``_done.parquet`` every
document they processed and the fingerprint of the code and params that
processed it; the warehouse keeps those lists in ``load_state``. The next load
copies the warehouse, deletes the rows of documents gone or processed again,
inserts the rows of documents new or processed again, and reloads the small
whole-corpus tables. Every table's row count must then equal its Parquet
file's, or the load starts again from nothing. A change to the load code or the
contracts, a warehouse without ``load_state`` or ``full=True`` also rebuild it
whole.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import incremental
from pipeline.errors import PipelineError
from pipeline.stages import link, parse
from pipeline.warehouse import contracts, queries

if TYPE_CHECKING:
    import duckdb

PARSE_TABLES = parse.OUTPUTS
"""Tables the parse stage writes."""
EMBED_TABLES = ("unit_embeddings",)
"""Tables of the embed stage that the warehouse holds."""
CLASSIFY_TABLES = ("units", "issues")
"""Tables the classify stage writes."""
LINK_TABLES = link.OUTPUTS
"""Tables the link stage writes."""
WAREHOUSE_TABLES = ("documents", "rejects", *PARSE_TABLES, *EMBED_TABLES, *CLASSIFY_TABLES, *LINK_TABLES)

STAGE_OF: dict[str, str] = {
    **{t: "parse" for t in PARSE_TABLES},
    **{t: "link" for t in link.DOC_TABLES},
    **{t: "embed" for t in EMBED_TABLES},
    **{t: "classify" for t in CLASSIFY_TABLES},
}
"""Tables of per-document rows, and the stage whose done list says which documents they hold.

Stages in the order a load updates them: ``unit_embeddings`` rows are found
through the ``units`` rows of the same documents, so embed goes before classify.
"""


@dataclass(frozen=True)
class LoadParams:
    """``params.yaml: load``."""

    memory_limit: str = "512MB"
    """DuckDB's memory limit while loading: past it DuckDB spills to disk, so a load's memory does not grow
    with the corpus (a full load at 50,000 letters: 4.3 GB and 74 s without a limit, 0.7 GB and 73 s with 512MB)."""


def connect(path: Path, params: LoadParams) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file ``path`` that keeps to ``params.memory_limit``.

    Raises:
        PipelineError: a memory limit DuckDB would not read (e.g. ``512MB``, ``2GiB``).
    """
    import duckdb

    con = duckdb.connect(str(path))
    try:
        queries.set_memory_limit(con, params.memory_limit)
    except PipelineError:
        con.close()
        raise
    return con


class _Stale(Exception):
    """The incremental update cannot be trusted: the caller rebuilds the warehouse whole."""


def _insert(con: duckdb.DuckDBPyConnection, name: str, path: Path, where: str = "") -> None:
    table = contracts.TABLES[name]
    cols = ", ".join(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"' for c in table.columns)
    con.execute(f'INSERT INTO "{name}" SELECT {cols} FROM read_parquet(?) {where}', [incremental.parquet_glob(path)])


def _source(sources: Mapping[str, Path], name: str) -> Path:
    path = sources.get(name)
    if path is None or not path.exists():
        raise PipelineError(f"load: no Parquet file for table {name!r} (expected {path}); run the stages before load")
    return path


def done_lists(sources: Mapping[str, Path]) -> dict[str, Path]:
    """Stage → its ``_done.parquet``, for each stage whose tables all come from one folder that has one."""
    out = {}
    for stage in dict.fromkeys(STAGE_OF.values()):
        folders = {_source(sources, t).parent for t, s in STAGE_OF.items() if s == stage}
        if len(folders) == 1 and (done := next(iter(folders)) / incremental.DONE).exists():
            out[stage] = done
    return out


def _write_state(con: duckdb.DuckDBPyConnection, dones: Mapping[str, Path], fp: str) -> None:
    con.execute("DELETE FROM load_state")
    con.execute("INSERT INTO load_state VALUES ('load', '', ?)", [fp])
    for stage, done in dones.items():
        con.execute("INSERT INTO load_state SELECT ?, doc_id, fingerprint FROM read_parquet(?)", [stage, str(done)])


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts = {}
    for name in WAREHOUSE_TABLES:
        row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


def build(con: duckdb.DuckDBPyConnection, sources: Mapping[str, Path], fp: str = "") -> dict[str, int]:
    """Create every warehouse table from its contract and fill it from Parquet.

    Args:
        con: an open DuckDB connection (to the temporary file).
        sources: table name → Parquet file (or folder of parts).
        fp: the load code's fingerprint, kept in ``load_state``.

    Returns:
        Rows loaded per table.
    """
    for name in WAREHOUSE_TABLES:
        path = _source(sources, name)
        con.execute(contracts.ddl(contracts.TABLES[name]))
        _insert(con, name, path)
    con.execute(contracts.ddl(contracts.LOAD_STATE))
    _write_state(con, done_lists(sources), fp)
    queries.create_views(con)
    return _counts(con)


def update(con: duckdb.DuckDBPyConnection, sources: Mapping[str, Path], fp: str) -> tuple[dict[str, int], int]:
    """Bring a copy of the last warehouse up to date, replacing only the rows of changed documents.

    Returns:
        Rows per table, and the number of documents whose rows were deleted or inserted.

    Raises:
        _Stale: when the copy was built by other load code, has no ``load_state``,
            or ends with a table whose row count differs from its Parquet file's.
    """
    import duckdb

    try:
        row = con.execute("SELECT fingerprint FROM load_state WHERE stage = 'load'").fetchone()
    except duckdb.CatalogException:
        raise _Stale("the warehouse has no load_state") from None
    if row is None or row[0] != fp:
        raise _Stale("the load code or the contracts changed")
    dones = done_lists(sources)
    touched: set[str] = set()
    try:
        for stage, done in dones.items():
            con.execute("CREATE OR REPLACE TEMP TABLE new_state AS SELECT doc_id, fingerprint FROM read_parquet(?)",
                        [str(done)])  # fmt: skip
            old = "SELECT doc_id, fingerprint FROM load_state WHERE stage = $stage"
            con.execute(f"CREATE OR REPLACE TEMP TABLE stale AS SELECT doc_id FROM ({old} EXCEPT "
                        "SELECT doc_id, fingerprint FROM new_state)", {"stage": stage})  # fmt: skip
            con.execute(f"CREATE OR REPLACE TEMP TABLE fresh AS SELECT doc_id FROM (SELECT doc_id, fingerprint "
                        f"FROM new_state EXCEPT {old})", {"stage": stage})  # fmt: skip
            for name in (t for t, s in STAGE_OF.items() if s == stage):
                if name == "unit_embeddings":  # keyed by unit: its documents are in units
                    con.execute("DELETE FROM unit_embeddings WHERE unit_id IN "
                                "(SELECT unit_id FROM units WHERE doc_id IN (SELECT doc_id FROM stale))")  # fmt: skip
                    units = incremental.parquet_glob(_source(sources, "units")).replace("'", "''")
                    where = (f"WHERE unit_id IN (SELECT unit_id FROM read_parquet('{units}') "
                             "WHERE doc_id IN (SELECT doc_id FROM fresh))")  # fmt: skip
                else:
                    con.execute(f'DELETE FROM "{name}" WHERE doc_id IN (SELECT doc_id FROM stale)')
                    where = "WHERE doc_id IN (SELECT doc_id FROM fresh)"
                _insert(con, name, _source(sources, name), where)
            touched |= {r[0] for r in con.execute("SELECT doc_id FROM stale UNION SELECT doc_id FROM fresh").fetchall()}
        for name in WAREHOUSE_TABLES:  # the rest is small: reloaded whole
            if STAGE_OF.get(name) not in dones:
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
                con.execute(contracts.ddl(contracts.TABLES[name]))
                _insert(con, name, _source(sources, name))
    except duckdb.ConstraintException as e:  # a key inserted twice: the done lists do not match the rows
        raise _Stale(f"a key would be duplicated ({e})") from None
    _write_state(con, dones, fp)
    queries.create_views(con)
    counts = _counts(con)
    for name, n in counts.items():
        row = con.execute(
            "SELECT count(*) FROM read_parquet(?)", [incremental.parquet_glob(_source(sources, name))]
        ).fetchone()
        if row is None or int(row[0]) != n:
            raise _Stale(f"table {name!r} has {n} rows, its Parquet file {row[0] if row else 0}")
    return counts, len(touched)


def run(
    sources: Mapping[str, Path], warehouse: Path, full: bool = False, params: LoadParams | None = None
) -> dict[str, int]:
    """The ``load`` shell: update a copy of the warehouse (or build one), then replace it atomically.

    Args:
        sources: table name → Parquet file (or folder of parts).
        warehouse: the DuckDB file.
        full: rebuild the warehouse whole even when an update would do.
        params: the load's params (DuckDB's memory limit); the defaults when None.
    """
    params = params or LoadParams()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    tmp = warehouse.with_name(warehouse.name + ".loading")
    fp = incremental.fingerprint(incremental.code_of(__name__))

    def fresh_tmp() -> None:
        for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
            if stale.is_dir():
                shutil.rmtree(stale)
            stale.unlink(missing_ok=True)

    fresh_tmp()
    counts = None
    if not full and warehouse.exists() and not warehouse.with_name(warehouse.name + ".wal").exists():
        shutil.copyfile(warehouse, tmp)
        con = connect(tmp, params)
        try:
            counts, touched = update(con, sources, fp)
            con.execute("CHECKPOINT")
            print(f"load: {touched} documents' rows replaced, the rest kept from the last load", file=sys.stderr)
        except _Stale as why:
            print(f"load: rebuilding the warehouse whole: {why}", file=sys.stderr)
        finally:
            con.close()
        if counts is None:
            fresh_tmp()
    if counts is None:
        con = connect(tmp, params)
        try:
            counts = build(con, sources, fp)
            con.execute("CHECKPOINT")
        finally:
            con.close()
    os.replace(tmp, warehouse)
    return counts
