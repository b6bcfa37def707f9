"""Similar cases: hybrid semantic + lexical search over every unit in the warehouse.

`SearchIndex` holds one row per unit (its text, document, school, LA, date,
letter kind, tags, the school's next outcome), the unit vectors the ``embed``
stage made, and a BM25 index of the texts. A query is ranked by
``alpha × cosine + (1 − alpha) × BM25 / max BM25`` over the units that pass the
filters (filters first, then ranking), so exact terms such as "APP" or "NLE"
count as well as meaning. Results are grouped: at most ``per_doc`` units of one
document, so one long report cannot fill the page. The cosine is an exact
matrix product in numpy (about 9 ms over 100k × 384 in `bench/bench_search.py`;
the workplace's notes give about 70 ms for the same in DuckDB, not measured here).

The encoder is an argument (tests pass a fake); `open_index` reads a warehouse.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from pipeline.search.encoder import Encoder


@dataclass(frozen=True)
class SearchParams:
    """``params.yaml: search``."""

    alpha: float = 0.5
    per_doc: int = 2
    k1: float = 1.2
    b: float = 0.75
    memory_limit: str = "512MB"
    """DuckDB's memory while the index is read (`open_index`, evaluate); past it, it spills to disk."""


STOPWORDS = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "not",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "were",
        "which",
        "who",
        "will",
        "with",
    )
)
_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords ("APP" → "app"; "pupils'" → "pupils")."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


@dataclass
class BM25:
    """Okapi BM25 over a fixed set of texts, as one sparse weight matrix (units × terms)."""

    vocabulary: dict[str, int]
    weights: Any  # scipy.sparse.csr_matrix

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> BM25:
        """Index ``texts``."""
        import scipy.sparse as sp

        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        lengths = np.zeros(len(texts))
        for i, text in enumerate(texts):
            toks = tokens(text)
            lengths[i] = len(toks)
            for t in toks:
                rows.append(i)
                cols.append(vocab.setdefault(t, len(vocab)))
        tf = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocab)))
        tf.sum_duplicates()
        n = max(len(texts), 1)
        df = np.bincount(tf.indices, minlength=len(vocab))
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        avg = lengths.mean() if len(texts) else 1.0
        tf = tf.tocoo()
        norm = k1 * (1 - b + b * lengths[tf.row] / max(avg, 1e-9))
        data = idf[tf.col] * tf.data * (k1 + 1) / (tf.data + norm)
        weights = sp.csr_matrix((data, (tf.row, tf.col)), shape=tf.shape).tocsc()
        return cls(vocab, weights)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query``."""
        cols = sorted({self.vocabulary[t] for t in tokens(query) if t in self.vocabulary})
        if not cols:
            return np.zeros(self.weights.shape[0])
        return np.asarray(self.weights[:, cols].sum(axis=1)).ravel()


META_COLUMNS = (
    "unit_id",
    "doc_id",
    "doc_type",
    "text",
    "start",
    "end",
    "section",
    "polarity",
    "school",
    "la",
    "date",
    "letter_kind",
    "phase",
    "tags",
    "next_outcome",
)
"""What the index knows of each unit (one row each, aligned with the vectors)."""


@dataclass
class SearchIndex:
    """Units, their vectors and a BM25 index; `search` ranks them for a query."""

    meta: pd.DataFrame
    vectors: np.ndarray
    params: SearchParams = field(default_factory=SearchParams)
    bm25: BM25 | None = None

    def __post_init__(self) -> None:
        if len(self.meta) != len(self.vectors):
            raise PipelineError(f"search index: {len(self.meta)} units but {len(self.vectors)} vectors")
        if self.bm25 is None:
            self.bm25 = BM25.build(list(self.meta["text"]), self.params.k1, self.params.b)
        self._row = {u: i for i, u in enumerate(self.meta["unit_id"])}
        self._columns = self._filter_columns()

    def mask(
        self,
        la: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        doc_type: str | None = None,
        phase: str | None = None,
        polarity: str | None = None,
    ) -> np.ndarray:
        """Which units pass the filters (each None is no filter; LA and phase ignore case)."""
        c = self._columns
        keep = np.ones(len(self.meta), dtype=bool)
        for value, column in (
            (la, "la"),
            (kind, "letter_kind"),
            (doc_type, "doc_type"),
            (phase, "phase"),
            (polarity, "polarity"),
        ):
            if value is not None:
                code = self._codes[column].get(value.lower() if column in ("la", "phase") else value, -2)
                keep &= c[column] == code
        if tag is not None:
            keep &= c["tag:" + tag] if "tag:" + tag in c else np.zeros(len(keep), dtype=bool)
        if since is not None:
            keep &= c["date"] >= since.toordinal()
        if until is not None:
            keep &= (c["date"] <= until.toordinal()) & (c["date"] > 0)
        return keep

    def _filter_columns(self) -> dict[str, np.ndarray]:
        """The filterable columns as integer codes and flags, built once, so a filter is one vector comparison."""
        import pandas as pd

        m = self.meta
        cols: dict[str, np.ndarray] = {}
        self._codes: dict[str, dict[str, int]] = {}
        for name in ("la", "phase", "letter_kind", "doc_type", "polarity"):
            values = m[name].where(m[name].notna(), None)
            if name in ("la", "phase"):
                values = values.map(lambda v: v.lower() if isinstance(v, str) else None)
            codes, uniques = pd.factorize(values)  # a missing value gets -1
            cols[name] = np.asarray(codes)
            self._codes[name] = {str(u): i for i, u in enumerate(uniques)}
        cols["date"] = np.array([d.toordinal() if isinstance(d, dt.date) else 0 for d in m["date"]], dtype=np.int64)
        exploded = m["tags"].explode()
        for tag, rows in exploded.groupby(exploded, sort=False).groups.items():
            flags = np.zeros(len(m), dtype=bool)
            flags[np.asarray(rows, dtype=np.int64)] = True
            cols["tag:" + str(tag)] = flags
        cols["doc"] = np.asarray(pd.factorize(m["doc_id"])[0])
        return cols

    def scores(
        self,
        query: str,
        query_vector: np.ndarray | None,
        alpha: float | None = None,
        keep: np.ndarray | None = None,
        bm25: np.ndarray | None = None,
    ) -> np.ndarray:
        """Hybrid score of every unit (``alpha`` 1 = cosine only, 0 = BM25 only).

        With ``keep``, the cosine is computed for the kept units only (the others
        score as if their cosine were 0): a narrow filter makes the query cheap.
        """
        a = self.params.alpha if alpha is None else alpha
        dense = np.zeros(len(self.meta))
        if query_vector is not None and a > 0:
            if keep is not None and keep.sum() < len(keep) // 2:
                rows = np.flatnonzero(keep)
                dense[rows] = self.vectors[rows] @ query_vector
            else:
                dense = self.vectors @ query_vector
        assert self.bm25 is not None
        if bm25 is None:
            bm25 = self.bm25.scores(query) if a < 1 else np.zeros(len(self.meta))
        lexical = bm25 if a < 1 else np.zeros(len(self.meta))
        top = lexical.max() if len(lexical) else 0.0
        lexical = lexical / top if top > 0 else lexical
        return np.asarray(a * dense + (1 - a) * lexical)

    def rank(self, scores: np.ndarray, keep: np.ndarray, k: int, per_doc: int | None) -> list[int]:
        """Row numbers of the best ``k`` kept units, at most ``per_doc`` from one document."""
        idx = np.flatnonzero(keep)
        if not len(idx):
            return []
        # sort only the best few hundred; widen to a full sort only if grouping leaves fewer than k
        pool = max(200, 10 * k * (per_doc or 1))
        if len(idx) > pool:
            top = idx[np.argpartition(-scores[idx], pool)[:pool]]
            out = self._take(top[np.lexsort((top, -scores[top]))], k, per_doc)
            if len(out) == k:
                return out
        return self._take(idx[np.lexsort((idx, -scores[idx]))], k, per_doc)

    def _take(self, order: np.ndarray, k: int, per_doc: int | None) -> list[int]:
        if per_doc is None:
            return [int(i) for i in order[:k]]
        out: list[int] = []
        seen: dict[int, int] = {}
        docs = self._columns["doc"]
        for i in order:
            d = int(docs[i])
            if seen.get(d, 0) >= per_doc:
                continue
            seen[d] = seen.get(d, 0) + 1
            out.append(int(i))
            if len(out) == k:
                break
        return out

    def search(
        self,
        query: str,
        query_vector: np.ndarray | None,
        k: int = 10,
        alpha: float | None = None,
        per_doc: int | None = -1,
        exclude_doc: str | None = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """The ``k`` best units for a query, with score, cosine, lexical score and ``why``.

        Args:
            query: the query text (for BM25 and ``why``).
            query_vector: its embedding (None: lexical only).
            k: results wanted.
            alpha: weight of the cosine (default ``params.alpha``).
            per_doc: at most this many units per document (-1: ``params.per_doc``; None: no grouping).
            exclude_doc: leave this document out (for "cases like this letter").
            **filters: see `mask`.
        """
        keep = self.mask(**filters)
        if exclude_doc is not None:
            keep &= (self.meta["doc_id"] != exclude_doc).to_numpy()
        assert self.bm25 is not None
        bm25 = self.bm25.scores(query)
        scores = self.scores(query, query_vector, alpha, keep, bm25)
        rows = self.rank(scores, keep, k, self.params.per_doc if per_doc == -1 else per_doc)
        out = self.meta.iloc[rows].copy()
        qv = query_vector
        out.insert(0, "score", np.round(scores[rows], 4))
        out.insert(1, "cosine", np.round(self.vectors[rows] @ qv, 4) if qv is not None else np.nan)
        out.insert(2, "lexical", np.round(bm25[rows], 3))
        qt = set(tokens(query))
        out["why"] = [_why(qt, text, tags) for text, tags in zip(out["text"], out["tags"], strict=True)]
        return out.reset_index(drop=True)

    def vector_of(self, unit_id: str) -> np.ndarray:
        """The stored vector of a unit."""
        if unit_id not in self._row:
            raise PipelineError(f"no unit {unit_id!r} in the index")
        return np.asarray(self.vectors[self._row[unit_id]])


def _why(query_tokens: set[str], text: str, tags: Sequence[str]) -> str:
    words = sorted(query_tokens & set(tokens(text)))
    parts = []
    if words:
        parts.append("words: " + ", ".join(words))
    if len(tags):
        parts.append("tags: " + ", ".join(tags))
    return "; ".join(parts) or "meaning only"


_META_SQL = """
SELECT u.unit_id, u.doc_id, d.doc_type, u.text, u.start, u."end",
       COALESCE(
           (SELECT s.heading FROM sections s WHERE s.doc_id = u.doc_id AND u.start >= s.start AND u.start < s."end"
            ORDER BY s.start DESC LIMIT 1),
           (SELECT c.part FROM case_study_items c WHERE c.doc_id = u.doc_id AND u.start >= c.start AND u.start < c."end"
            LIMIT 1),
           (SELECT o.heading FROM la_support_offer o WHERE o.doc_id = u.doc_id AND u.start >= o.start
                AND u.start < o."end" LIMIT 1),
           CASE WHEN EXISTS (SELECT 1 FROM recommendations r WHERE r.doc_id = u.doc_id AND u.start >= r.start
                AND u.start < r."end") THEN 'recommendations' END
       ) AS section,
       u.polarity, f.school, COALESCE(f.la, p.local_authority) AS la, f.date, f.letter_kind, sc.phase,
       COALESCE((SELECT list(i.tag ORDER BY i.score DESC) FROM issues i WHERE i.unit_id = u.unit_id), [])
           AS tags,
       n.next_outcome
FROM units u
JOIN documents d USING (doc_id)
LEFT JOIN document_facts f USING (doc_id)
LEFT JOIN la_plans p USING (doc_id)
LEFT JOIN schools sc ON sc.urn = f.urn
LEFT JOIN next_outcome n USING (doc_id)
ORDER BY u.doc_id, u.n
"""


def load_index(con: duckdb.DuckDBPyConnection, params: SearchParams | None = None) -> SearchIndex:
    """The search index of a warehouse (units joined to their documents, schools and outcomes)."""
    meta = con.execute(_META_SQL).df()
    meta["tags"] = meta["tags"].map(list)
    meta["date"] = meta["date"].map(lambda d: d.date() if hasattr(d, "date") and d == d else None)
    vectors = _vectors(con, meta["unit_id"].tolist())
    return SearchIndex(meta[list(META_COLUMNS)], vectors, params or SearchParams())


def _vectors(con: duckdb.DuckDBPyConnection, unit_ids: list[str], rows: int = 50_000) -> np.ndarray:
    """The vectors of ``unit_ids``, in that order (``len × dim`` float32).

    Streamed from ``unit_embeddings`` in Arrow batches into one array, with no
    sort and no Python float per number: DuckDB never holds the whole result
    (at 430,000 units a sorted, materialised result took 1.2 GB more).

    Raises:
        PipelineError: a unit has no vector.
    """
    import pandas as pd
    import pyarrow.compute as pc

    position = pd.Index(unit_ids)
    vectors: np.ndarray | None = None
    filled = np.zeros(len(unit_ids), dtype=bool)
    with con.sql("SELECT unit_id, vector FROM unit_embeddings").to_arrow_reader(batch_size=rows) as reader:
        for batch in reader:
            where = position.get_indexer(batch.column("unit_id").to_pylist())
            keep = where >= 0  # vectors of units the index does not hold are skipped
            if not keep.any():
                continue
            column = batch.column("vector")
            flat = np.asarray(pc.list_flatten(column).to_numpy(zero_copy_only=False), dtype=np.float32)
            block = flat.reshape(len(column), -1)
            if vectors is None:
                vectors = np.zeros((len(unit_ids), block.shape[1]), dtype=np.float32)
            vectors[where[keep]] = block[keep]
            filled[where[keep]] = True
    if not filled.all():
        missing = int((~filled).sum())
        first = unit_ids[int(np.argmin(filled))]
        raise PipelineError(f"{missing} units have no embedding (e.g. {first}); rebuild with `dvc repro`")
    return vectors if vectors is not None else np.zeros((0, 384), dtype=np.float32)


def open_index(warehouse: Path | str, params: SearchParams | None = None) -> SearchIndex:
    """`load_index` on a read-only connection to a warehouse file."""
    from pipeline.warehouse.queries import connect_read_only

    params = params or SearchParams()
    con = connect_read_only(warehouse, params.memory_limit)
    try:
        return load_index(con, params)
    finally:
        con.close()


class Searcher:
    """What notebooks and the CLI use: an index, an encoder, and the three questions.

    Args:
        index: the units.
        encoder: embeds queries (None: the real model, loaded on first use).
    """

    def __init__(self, index: SearchIndex, encoder: Encoder | None = None) -> None:
        self.index = index
        if encoder is None:
            from pipeline.search.encoder import LazyEncoder

            encoder = LazyEncoder()
        self.encoder = encoder

    @classmethod
    def open(cls, warehouse: Path | str = "warehouse/ofsted.duckdb", encoder: Encoder | None = None) -> Searcher:
        """A searcher over a warehouse file."""
        return cls(open_index(warehouse), encoder)

    def similar(self, query: str, k: int = 10, **filters: Any) -> pd.DataFrame:
        """The units most like ``query`` (hybrid ranking; filters as `SearchIndex.mask`)."""
        vec = self.encoder.encode([query])[0]
        return self.index.search(query, vec, k=k, **filters)

    def similar_to(self, key: str, k: int = 10, **filters: Any) -> pd.DataFrame:
        """Cases like a unit (by ``unit_id``) or a document (by ``doc_id``), from other documents.

        A document is represented by the mean vector of its weakness units (all
        its units if none is a weakness) and the words of those units.
        """
        m = self.index.meta
        if key in set(m["unit_id"]):
            row = m[m["unit_id"] == key].iloc[0]
            return self.index.search(row["text"], self.index.vector_of(key), k=k, exclude_doc=row["doc_id"], **filters)
        rows = m[m["doc_id"] == key]
        if not len(rows):
            raise PipelineError(f"no unit or document {key!r} in the warehouse")
        weak = rows[rows["polarity"] == "weakness"]
        rows = weak if len(weak) else rows
        vec = np.mean([self.index.vector_of(u) for u in rows["unit_id"]], axis=0)
        vec = vec / (np.linalg.norm(vec) or 1.0)
        return self.index.search(" ".join(rows["text"]), vec, k=k, exclude_doc=key, alpha=1.0, **filters)

    def what_worked(self, unit_id: str, k: int = 10) -> pd.DataFrame:
        """Case-study actions and impact, and LA support offers, that tackle the same issue tags as a unit.

        Ranked by the share of the unit's tags they share, then by cosine
        similarity; the bridge from "this is the weakness" to "this is what
        helped elsewhere".
        """
        import pandas as pd

        m = self.index.meta
        if unit_id not in set(m["unit_id"]):
            raise PipelineError(f"no unit {unit_id!r} in the warehouse")
        tags = set(m.loc[m["unit_id"] == unit_id, "tags"].iloc[0])
        vec = self.index.vector_of(unit_id)
        helpful = (m["doc_type"].eq("case_study") & m["section"].isin(["actions", "impact"])) | m["doc_type"].eq(
            "la_plan"
        ) & m["section"].notna()
        cand = m[helpful.to_numpy()]
        shared = cand["tags"].map(lambda ts: sorted(tags & set(ts)))
        cand = cand.assign(shared_tags=shared, tag_overlap=shared.map(len) / max(len(tags), 1))
        cand = cand[cand["tag_overlap"] > 0]
        if not len(cand):
            return pd.DataFrame(
                columns=["score", "tag_overlap", "cosine", "shared_tags", "doc_type", "section", "text"]
            )
        cos = np.array([float(self.index.vector_of(u) @ vec) for u in cand["unit_id"]])
        cand = cand.assign(cosine=np.round(cos, 4), score=np.round(cand["tag_overlap"].to_numpy() + 0.5 * cos, 4))
        cols = ["score", "tag_overlap", "cosine", "shared_tags", "doc_type", "section", "text", "doc_id", "unit_id"]
        return cand.sort_values(["score", "unit_id"], ascending=[False, True])[cols].head(k).reset_index(drop=True)


def reciprocal_rank(ranked: Sequence[str], relevant: dict[str, int]) -> float:
    """1 / rank of the first relevant unit (0 when none is ranked)."""
    for i, u in enumerate(ranked, 1):
        if relevant.get(u, 0) > 0:
            return 1.0 / i
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain at ``k`` with graded gains ``2^rel − 1``."""
    dcg = sum((2 ** relevant.get(u, 0) - 1) / np.log2(i + 1) for i, u in enumerate(ranked[:k], 1))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**r - 1) / np.log2(i + 1) for i, r in enumerate(ideal, 1))
    return float(dcg / idcg) if idcg else 0.0


def evaluate_search(
    index: SearchIndex, queries: Sequence[dict[str, Any]], vectors: dict[str, np.ndarray], k: int = 10
) -> dict[str, Any]:
    """MRR and nDCG@k of the hybrid and of each half alone on judged queries (no filters, no grouping)."""
    methods = {"hybrid": index.params.alpha, "dense": 1.0, "lexical": 0.0}
    out: dict[str, Any] = {"n_queries": len(queries), "k": k, "alpha": index.params.alpha}
    per_query: dict[str, dict[str, float]] = {}
    for name, alpha in methods.items():
        rr, nd = [], []
        for q in queries:
            ranked = index.search(q["query"], vectors[q["query_id"]], k=k, alpha=alpha, per_doc=None)["unit_id"]
            rr.append(reciprocal_rank(list(ranked), q["relevant"]))
            nd.append(ndcg_at(list(ranked), q["relevant"], k))
            per_query.setdefault(q["query_id"], {})[f"{name}_ndcg"] = round(nd[-1], 4)
        out[name] = {"mrr": round(float(np.mean(rr)), 4), f"ndcg@{k}": round(float(np.mean(nd)), 4)}
    out["per_query"] = per_query
    return out
