"""Per-document work done once: what a stage made last time is kept for documents it has seen.

A stage that works document by document writes its tables into one folder,
with ``_done.parquet`` listing the documents it processed and the fingerprint
of the code and params that processed them. The next run keeps the rows of
every document still wanted under the same fingerprint and processes only the
others; a document no longer wanted loses its rows. The folder is written
aside and swapped in, so a run killed at any point leaves the last complete
folder (or, between the two renames, none, and the next run redoes the work):
never a mix, never a row twice.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd
    import pyarrow as pa

    from pipeline.warehouse.contracts import Table

DONE = "_done.parquet"
T = TypeVar("T")
R = TypeVar("R")


@functools.cache
def code_of(module: str) -> tuple[str, ...]:
    """``module`` and every ``pipeline`` module it imports, directly or not, sorted.

    Imports inside functions count (stages import lazily); those under
    ``if TYPE_CHECKING:`` do not. This is the code whose change can change what
    a stage writes: its `fingerprint` hashes all of it, and ``dvc.yaml`` lists it
    as the stage's deps (a test checks).
    """
    seen, todo = {module}, [module]
    while todo:
        for name in _pipeline_imports(todo.pop()) - seen:
            seen.add(name)
            todo.append(name)
    return tuple(sorted(seen))


def _source(module: str) -> Path:
    """The source file of a module (dotted name)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise PipelineError(f"no source for module {module!r}")
    return Path(spec.origin)


def _pipeline_imports(module: str) -> set[str]:
    return pipeline_imports_in(_source(module).read_text(encoding="utf-8"))


def _is_module(name: str) -> bool:
    """Whether a dotted ``pipeline`` name is a module file (not a package, a class or a function)."""
    return Path(__file__).parent.joinpath(*name.split(".")[1:]).with_suffix(".py").is_file()


def pipeline_imports_in(source: str) -> set[str]:
    """The ``pipeline`` modules a module's source imports anywhere, except under ``if TYPE_CHECKING:``.

    ``from pipeline.stages import parse`` counts ``pipeline.stages.parse``;
    packages count for nothing (their ``__init__`` holds only a docstring).
    """
    import ast

    tree = ast.parse(source)
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    named: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pipeline":
            named.add(node.module)
            named.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            named.update(a.name for a in node.names if a.name.startswith("pipeline."))
    return {name for name in named if _is_module(name)}


def fingerprint(modules: Sequence[str], params: Mapping[str, Any] | None = None, *extra: str) -> str:
    """A hash of the source of ``modules`` (dotted names), of ``params`` and of ``extra`` strings.

    Changing any of them makes every document's earlier result stale.
    """
    h = hashlib.sha256()
    for name in sorted(modules):
        h.update(name.encode())
        h.update(_source(name).read_bytes())
    h.update(json.dumps(params or {}, sort_keys=True, default=str).encode())
    for e in extra:
        h.update(e.encode())
    return h.hexdigest()[:16]


def done_before(out_dir: Path, tables: Sequence[str], fp: str, wanted: set[str]) -> set[str]:
    """The documents the last run did under ``fp`` and still wanted (none if the folder is missing or incomplete)."""
    import pandas as pd

    done_path = out_dir / DONE
    if not done_path.exists() or not all((out_dir / f"{t}.parquet").exists() for t in tables):
        return set()
    done = pd.read_parquet(done_path)
    return set(done.loc[done["fingerprint"] == fp, "doc_id"]) & wanted


def previous(
    out_dir: Path, tables: Sequence[str], fp: str, wanted: set[str]
) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """The rows kept from the last run, and the documents they cover.

    Args:
        out_dir: the stage's output folder.
        tables: the tables keyed by ``doc_id`` that the stage writes there.
        fp: the current fingerprint.
        wanted: the documents this run must cover.

    Returns:
        Each table's rows for the documents done before under ``fp`` and still
        wanted (`done_before`), and those documents.
    """
    import pandas as pd

    kept = done_before(out_dir, tables, fp, wanted)
    if not kept:
        return {}, set()
    frames = {}
    for t in tables:
        df = pd.read_parquet(out_dir / f"{t}.parquet")
        frames[t] = df[df["doc_id"].isin(kept)]
    return frames, kept


def write_folder(
    out_dir: Path, frames: Mapping[str, pd.DataFrame | Callable[[Path], None]], done: Iterable[str], fp: str
) -> None:
    """Write every table and the done list into a fresh folder, then swap it in for ``out_dir``.

    A table is a frame, or a function that writes it to the path it is given
    (so a table too large to hold, such as the unit vectors, can be streamed).
    """
    with staged_folder(out_dir, done, fp) as tmp:
        for name, df in frames.items():
            if callable(df):
                df(tmp / f"{name}.parquet")
            else:
                df.to_parquet(tmp / f"{name}.parquet", index=False)


@contextmanager
def staged_folder(out_dir: Path, done: Iterable[str], fp: str) -> Iterator[Path]:
    """A fresh folder to write a stage's tables into; on leaving the block the done list is added and it is swapped in.

    If the block raises, ``out_dir`` is left as it was (the half-written folder is removed).
    """
    import pandas as pd

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    old = out_dir.with_name(out_dir.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    ids = sorted(set(done))
    pd.DataFrame({"doc_id": ids, "fingerprint": [fp] * len(ids)}).to_parquet(tmp / DONE, index=False)
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        os.rename(out_dir, old)
    os.rename(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def write_file(path: Path, df: pd.DataFrame) -> None:
    """Write one Parquet file aside and move it over ``path`` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def parallel_map(fn: Callable[[T], R], items: Sequence[T], jobs: int, chunk: int = 16) -> Iterator[R]:
    """``map(fn, items)`` in order, across ``jobs`` processes when ``jobs`` > 1 (``fn`` must be a module function)."""
    if jobs <= 1 or len(items) < 2 * chunk:
        yield from map(fn, items)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(fn, items, chunksize=chunk)


def jobs_arg(value: int) -> int:
    """``--jobs``: 0 means every core."""
    if value < 0:
        raise PipelineError(f"--jobs {value}: give a number of processes, or 0 for every core")
    return value or (os.cpu_count() or 1)


def shard_of(key: str, n: int) -> int:
    """The shard (0 … n−1) a document or file belongs to, from a stable hash of its key."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % n


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``--shard k/n`` → ``(k - 1, n)``; None for no sharding."""
    if value is None:
        return None
    try:
        k, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise PipelineError(f"--shard {value!r}: write it as k/n, e.g. 2/4") from None
    if not 1 <= k <= n:
        raise PipelineError(f"--shard {value!r}: k must be between 1 and n")
    return k - 1, n


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as dicts, with missing values (NaN, NA, NaT) as None, as the contracts expect."""
    out: list[dict[str, Any]] = df.astype(object).where(df.notna(), None).to_dict("records")  # type: ignore[assignment]
    return out


def batches_where(
    path: Path, key: str, values: Collection[str], columns: list[str], rows: int = 10_000, **equal: str
) -> Iterator[pa.RecordBatch]:
    """The rows of a Parquet file or folder of parts whose ``key`` is one of ``values`` (and each ``equal`` its value).

    Streamed ``rows`` at a time through a 1 MiB buffer, so memory stays that of
    one batch however large the file or its row groups (a whole-file or dataset
    read of a 400k-vector file peaks near 3 GB). The key column of each row
    group is read first: a group with no wanted key costs only that column (the
    vectors of 100 new documents are found without decoding the other 10,000's).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not values:
        return
    wanted = values if isinstance(values, set | frozenset) else set(values)  # pc.is_in would hash it every batch
    for part in parquet_parts(path):
        reader = pq.ParquetFile(part, pre_buffer=False, buffer_size=1 << 20)
        for group in range(reader.num_row_groups):
            keys = reader.read_row_group(group, columns=[key], use_threads=False).column(key).to_pylist()
            if not any(v in wanted for v in keys):
                continue  # the other columns of a group without a wanted key are never read
            batches = reader.iter_batches(batch_size=rows, row_groups=[group], columns=columns, use_threads=False)
            for batch in batches:
                column = batch.column(key)
                if pa.types.is_null(column.type):  # an empty table written by pandas has untyped columns
                    continue
                mask = pa.array([v in wanted for v in column.to_pylist()], pa.bool_())
                for name, value in equal.items():
                    mask = pc.and_(mask, pc.equal(batch.column(name), value))
                hits = pc.sum(mask).as_py() or 0
                if hits == batch.num_rows:
                    yield batch  # no copy when every row is wanted
                elif hits:
                    yield batch.filter(mask)


def parquet_parts(path: Path) -> list[Path]:
    """The files of a table: the file itself, or the ``*.parquet`` parts of a folder (in name order)."""
    if path.is_dir():
        return sorted(path.glob("*.parquet"))
    return [path] if path.exists() else []


def parquet_glob(path: Path) -> str:
    """What DuckDB's ``read_parquet`` reads for a table stored as a file or as a folder of parts."""
    return str(path / "*.parquet") if path.is_dir() else str(path)


ROWS_PER_WRITE = 2_000
"""Rows turned into Arrow and written at a time by `write_rows`."""


def write_rows(
    path: Path, table: Table, parts: Iterable[pd.DataFrame | list[dict[str, Any]]], chunk: int = ROWS_PER_WRITE
) -> int:
    """Write a table's rows to Parquet ``chunk`` rows at a time, each chunk checked against its contract.

    ``parts`` are frames (the rows kept from the last run, checked when first
    written, so converted to Arrow as they are) or lists of row dicts (new
    rows: checked here). A list is emptied as it is written, so the rows are
    held once, in Python, and only a chunk at a time as Arrow. The file gets
    the contract's Arrow types whatever a chunk holds (a column of nulls stays
    typed).

    Returns:
        The number of rows written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.warehouse import contracts

    schema = contracts.arrow_schema(table)
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        for part in parts:
            if isinstance(part, list):
                while part:
                    rows = part[:chunk]
                    del part[:chunk]
                    writer.write_table(pa.Table.from_pylist(contracts.checked_rows(table, rows), schema=schema))
                    n += len(rows)
            else:  # a frame was checked when it was first written (rows kept from the last run)
                for i in range(0, len(part), 50 * chunk):
                    piece = part.iloc[i : i + 50 * chunk]
                    try:
                        writer.write_table(pa.Table.from_pandas(piece, schema=schema, preserve_index=False))
                    except (pa.ArrowInvalid, pa.ArrowTypeError):  # types Arrow will not convert: row by row
                        for j in range(0, len(piece), chunk):
                            rows = contracts.checked_rows(table, records(piece.iloc[j : j + chunk]))
                            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                    n += len(piece)
    return n
