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

import hashlib
import importlib.util
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

DONE = "_done.parquet"
T = TypeVar("T")
R = TypeVar("R")


def fingerprint(modules: Sequence[str], params: Mapping[str, Any] | None = None, *extra: str) -> str:
    """A hash of the source of ``modules`` (dotted names), of ``params`` and of ``extra`` strings.

    Changing any of them makes every document's earlier result stale.
    """
    h = hashlib.sha256()
    for name in sorted(modules):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise PipelineError(f"no source for module {name!r}")
        h.update(name.encode())
        h.update(Path(spec.origin).read_bytes())
    h.update(json.dumps(params or {}, sort_keys=True, default=str).encode())
    for e in extra:
        h.update(e.encode())
    return h.hexdigest()[:16]


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
        wanted, and those documents; nothing when the folder is missing or
        incomplete.
    """
    import pandas as pd

    done_path = out_dir / DONE
    if not done_path.exists() or not all((out_dir / f"{t}.parquet").exists() for t in tables):
        return {}, set()
    done = pd.read_parquet(done_path)
    kept = set(done.loc[done["fingerprint"] == fp, "doc_id"]) & wanted
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
    import pandas as pd

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    old = out_dir.with_name(out_dir.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, df in frames.items():
        if callable(df):
            df(tmp / f"{name}.parquet")
        else:
            df.to_parquet(tmp / f"{name}.parquet", index=False)
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
