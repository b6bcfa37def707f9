"""Stage ``load``: the interim Parquet tables become the DuckDB warehouse.

The warehouse is rebuilt whole from the interim tables into a temporary file
beside the target and moved over it in one rename: a crash mid-load leaves the
previous warehouse intact, and running the load twice gives the same rows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import contracts, link, parse, queries
from pipeline.errors import PipelineError

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


def build(con: duckdb.DuckDBPyConnection, sources: dict[str, Path]) -> dict[str, int]:
    """Create every warehouse table from its contract and fill it from Parquet.

    Args:
        con: an open DuckDB connection (to the temporary file).
        sources: table name → Parquet file.

    Returns:
        Rows loaded per table.
    """
    counts: dict[str, int] = {}
    for name in WAREHOUSE_TABLES:
        table = contracts.TABLES[name]
        path = sources.get(name)
        if path is None or not path.exists():
            raise PipelineError(
                f"load: no Parquet file for table {name!r} (expected {path}); run the stages before load"
            )
        con.execute(contracts.ddl(table))
        cols = ", ".join(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"' for c in table.columns)
        con.execute(f'INSERT INTO "{name}" SELECT {cols} FROM read_parquet(?)', [str(path)])
        row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
        counts[name] = int(row[0]) if row else 0
    queries.create_views(con)
    return counts


def run(sources: dict[str, Path], warehouse: Path) -> dict[str, int]:
    """The ``load`` shell: build into ``<warehouse>.tmp``, then replace atomically."""
    import duckdb

    warehouse.parent.mkdir(parents=True, exist_ok=True)
    tmp = warehouse.with_name(warehouse.name + ".tmp")
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        counts = build(con, sources)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, warehouse)
    return counts
