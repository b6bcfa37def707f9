"""Merge the interim tables of shards (``--shard k/n`` runs) into one interim folder for the load stage.

Each shard folder has the layout the stages write (``documents.parquet``,
``rejects.parquet``, ``parsed/``, ``linked/``, ``embedded/``, ``classified/``;
a missing subfolder is skipped). Tables are concatenated. A document that two
shards both hold (the same bytes under two paths that hash to different
shards) is kept once, under the first path in sorted order, as ingest would;
the other copy becomes a ``duplicate`` reject and its rows are dropped. Rows
with no ``doc_id`` (reference tables, query vectors) are the same in every
shard and kept once. The tables replace those of an earlier run in ``out``,
and its ``_done`` lists there are removed: they do not describe the merged
rows, so the load reloads them.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    import pandas as pd

FOLDERS = ("parsed", "linked", "embedded", "classified")
"""The stage folders merged table by table (every ``*.parquet`` in them but ``_done``)."""
_KEYS = {"unit_embeddings": ["unit_id"], "query_embeddings": ["query_id"]}
"""Tables without ``doc_id`` whose rows hold vectors (lists): made distinct by these keys."""


def merge_documents(frames: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """The merged ``documents``, the ``duplicate`` rejects it adds, and which shard keeps each document."""
    import pandas as pd

    from pipeline.stages.ingest import duplicate

    tagged = pd.concat([df.assign(_shard=i) for i, df in enumerate(frames)], ignore_index=True).sort_values("source")
    first = tagged.drop_duplicates("doc_id", keep="first")
    repeats = tagged[tagged.duplicated("doc_id", keep="first")]
    kept_at = dict(zip(first["doc_id"], first["source"], strict=True))
    rejects = pd.DataFrame(
        [asdict(duplicate(s, d, kept_at[d])) for s, d in zip(repeats["source"], repeats["doc_id"], strict=True)],
        columns=["source", "doc_id", "stage", "reason", "message"],
    )
    owner = dict(zip(first["doc_id"], first["_shard"].astype(int), strict=True))
    return first.drop(columns="_shard").reset_index(drop=True), rejects, owner


def merge_table(name: str, frames: Sequence[tuple[int, pd.DataFrame]], owner: dict[str, int]) -> pd.DataFrame:
    """One table of all shards (``(shard, rows)`` pairs): a document's rows from the shard keeping it; the rest once."""
    import pandas as pd

    parts = []
    for i, df in frames:
        if "doc_id" in df.columns:
            mine = df["doc_id"].map(owner).eq(i) | df["doc_id"].isna()
            parts.append(df[mine])
        else:
            parts.append(df)
    merged = pd.concat(parts, ignore_index=True)
    if name in _KEYS:
        return merged.drop_duplicates(_KEYS[name]).reset_index(drop=True)
    no_doc = merged["doc_id"].isna() if "doc_id" in merged.columns else pd.Series(True, index=merged.index)
    shared = merged[no_doc]
    # lists (e.g. support_given) cannot be hashed: compare them as text
    distinct = shared.astype(str).drop_duplicates().index
    return pd.concat([merged[~no_doc], shared.loc[distinct]], ignore_index=True)


def run(shards: Sequence[Path], out: Path) -> dict[str, int]:
    """Merge shard folders into ``out`` (same layout). Returns rows per table written.

    Raises:
        PipelineError: a shard folder has no ``documents.parquet``.
    """
    import pandas as pd

    from pipeline import incremental

    for s in shards:
        if not (s / "documents.parquet").is_file():
            raise PipelineError(f"{s} has no documents.parquet: pass the interim folders of the shard runs")
    docs, dup_rejects, owner = merge_documents([pd.read_parquet(s / "documents.parquet") for s in shards])
    rejects = pd.concat([pd.read_parquet(s / "rejects.parquet") for s in shards] + [dup_rejects], ignore_index=True)
    counts = {"documents": len(docs), "rejects": len(rejects)}
    incremental.write_file(out / "documents.parquet", docs)
    incremental.write_file(out / "rejects.parquet", rejects.sort_values("source").reset_index(drop=True))
    for folder in FOLDERS:
        names = sorted({p.stem for s in shards for p in (s / folder).glob("*.parquet") if not p.stem.startswith("_")})
        if names:
            # an earlier run's done list in ``out`` does not describe the merged rows: without one, load reloads them
            (out / folder / incremental.DONE).unlink(missing_ok=True)
        for name in names:
            paths = [(i, s / folder / f"{name}.parquet") for i, s in enumerate(shards)]
            frames = [(i, pd.read_parquet(p)) for i, p in paths if p.exists()]
            merged = merge_table(name, frames, owner)
            target = out / folder / f"{name}.parquet"
            if target.is_dir():  # an earlier embed run's vectors, a folder of parts
                shutil.rmtree(target)
            incremental.write_file(target, merged)
            counts[f"{folder}/{name}"] = len(merged)
    return counts
