"""Stage ``link``: reference data in, letters and reports linked to their schools.

Core: `match_school` links one document to a school by URN, postcode and
normalised name, with a confidence; `link_documents` does it for every letter
and report and sends the doubtful ones to ``unmatched`` (for a person, never a
silent wrong link); `report_outcomes` turns parsed section 5 reports into
outcome rows. The shell `run` reads the reference files (`pipeline.readers.reference`)
and the parse tables and writes the link tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz.distance import LCSseq

from pipeline.errors import PipelineError


@dataclass(frozen=True)
class LinkParams:
    """``params.yaml: link``."""

    min_confidence: float = 0.85
    margin: float = 0.05
    schools: str = "edubasealldata*.csv"
    links: str = "links*.csv"
    outcomes: str = "inspection_outcomes*.csv"
    la_categories: str = "la_categories*.csv"


@dataclass(frozen=True)
class DocRef:
    """What a document says about its school."""

    doc_id: str
    school_name: str | None
    postcode: str | None
    local_authority: str | None
    urn: int | None
    date: dt.date | None


@dataclass(frozen=True)
class Match:
    """A candidate school for a document."""

    urn: int
    name: str
    la_name: str
    confidence: float
    method: str


_APOSTROPHES = re.compile(r"['\u2019\u2018\u02bc`]")
_GENERIC = re.compile(r"\b(?:the|schools?|academy|and|voluntary (?:aided|controlled)|va|vc)\b")
_SYNONYMS = (
    (re.compile(r"\bchurch of england\b|\bc of e\b|\bcofe\b|\bc ?e\b"), "ce"),
    (re.compile(r"\broman catholic\b|\br ?c\b|\bcatholic\b"), "rc"),
    (re.compile(r"\bst\b|\bsaint\b"), "st"),
    (re.compile(r"\binfants\b"), "infant"),
    (re.compile(r"\bjuniors\b"), "junior"),
    # A "junior and infant" school is a primary school, however it is written.
    (re.compile(r"\bjunior and infant\b|\binfant and junior\b|\bj ?i\b|\bj and i\b"), "primary"),
)
_PHASES = frozenset({"nursery", "infant", "junior", "primary", "secondary"})
_CLOSED_FACTOR = 0.75
"""Confidence kept by a school that was closed, or not yet open, on the document's date."""


@lru_cache(maxsize=200_000)
def normalise_name(name: str) -> str:
    """A school name folded for comparison.

    Case, punctuation and apostrophes (straight or curly) are dropped, ``&`` is
    ``and``, religious and saint abbreviations are unified (``C of E`` = ``Church
    of England`` = ``ce``; ``St.`` = ``Saint``), and words that do not tell
    schools apart (the, school, academy, and, voluntary aided) are removed.
    Phase words (nursery, infant, junior, primary) are kept: they do.

    Args:
        name: the name as written.

    Returns:
        The folded name, e.g. "St. Mary's C of E Primary School" → "st marys ce primary".
    """
    s = _APOSTROPHES.sub("", name.lower().replace("&", " and "))
    s = " ".join(re.sub(r"[^a-z0-9]+", " ", s).split())
    for _ in range(4):  # removing a word can make a new synonym ("c and e" → "c e" → "ce"): run to a fixpoint
        before = s
        for pattern, repl in _SYNONYMS:
            s = pattern.sub(repl, s)
        s = " ".join(_GENERIC.sub(" ", s).split())
        if s == before:
            break
    return s


def normalise_la(name: str) -> str:
    """An LA name folded for comparison.

    Args:
        name: as a document or GIAS writes it.

    Returns:
        e.g. "Luton Borough Council" → "luton", "London Borough of Camden" →
        "camden", "Brighton & Hove City Council" → "brighton hove".
    """
    s = re.sub(r"[^a-z ]+", " ", name.lower().replace("&", " and "))
    s = re.sub(r"\blondon borough of\b", " ", s)
    s = re.sub(r"\b(?:council|county|city|of|borough|metropolitan|district|royal|the|and|unitary|authority)\b", " ", s)
    return " ".join(s.split())


def _token_found(token: str, others: Sequence[str]) -> bool:
    if token in others:
        return True
    # A typo in a long word ("Pixmoor" for "Pixmore") still counts; short words must agree exactly.
    return len(token) >= 5 and any(_close(token, o) for o in others)


def _ratio(a: str, b: str, cutoff: float = 0.0) -> float:
    """The character similarity of two strings: 2 × their longest common subsequence / their total length (0–1).

    Below ``cutoff`` it may be 0 instead: rapidfuzz then stops early. It is
    never less than difflib's ``SequenceMatcher.ratio``, which counts the
    characters of a greedy chain of longest matching blocks, a common
    subsequence that can be shorter than the longest one.
    """
    total = len(a) + len(b)
    if not total:
        return 1.0
    # one below the least LCS that reaches the cutoff: float rounding at the boundary cannot drop a pair
    lcs = LCSseq.similarity(a, b, score_cutoff=max(0, math.ceil(cutoff * total / 2) - 1))
    return 2 * lcs / total


@lru_cache(maxsize=1 << 18)
def _close(a: str, b: str) -> bool:
    """Two words of five letters or more at a character ratio of 0.85 (cached: names repeat their words)."""
    if len(a) < 5 or len(b) < 5 or 2 * min(len(a), len(b)) < 0.85 * (len(a) + len(b)):  # the ratio's length bound
        return False
    return _ratio(a, b, 0.85) >= 0.85


def name_similarity(a: str, b: str) -> float:
    """0–1 similarity of two normalised names (`normalise_name`).

    The character similarity of the two names (twice their longest common
    subsequence over their total length, by rapidfuzz), scaled down by the
    share of the shorter name's words missing from the longer one ("St Mary"
    and "St Mark" differ in the word that matters) and halved when both name a
    phase and no phase agrees (an infant school is not the junior school next
    door).

    Args:
        a: one normalised name.
        b: the other.
    """
    return _similarity(a, b, 0.0)


def _similarity(a: str, b: str, floor: float) -> float:
    """`name_similarity`, or 0 as soon as it is sure to fall below ``floor`` (the costly ratio is skipped then)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ta, tb = a.split(), b.split()
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    found = sum(_token_found(t, long_) for t in short) / len(short)
    pa, pb = _PHASES.intersection(ta), _PHASES.intersection(tb)
    phase_clash = bool(pa and pb and not pa & pb)
    scale = found * (0.5 if phase_clash else 1.0)
    if not scale:
        return 0.0
    sim = _ratio(a, b, floor / scale) * found
    return sim * 0.5 if phase_clash else sim


def _open_at(school: dict[str, Any], date: dt.date | None) -> bool:
    if date is None:
        return True
    opened, closed = school.get("opened"), school.get("closed")
    return (opened is None or opened <= date) and (closed is None or date <= closed)


def _compact_postcode(value: str | None) -> str | None:
    compact = re.sub(r"\s+", "", value or "").upper()
    return compact or None


@dataclass
class SchoolIndex:
    """The ``schools`` rows with their folded names, postcodes and LAs, and lookups that find name candidates fast.

    A school reaches a name similarity of 0.5 only when more than half of the
    words of the shorter name are found in the other (`name_similarity`: the
    character ratio times that share; a share of exactly half would need a
    ratio of 1, i.e. equal names). A word is found when it is the same word,
    or both have five letters or more at a ratio of 0.85 (looked up through
    the trigrams of the index's vocabulary). So only schools that pass that
    count, or share the postcode, are scored; the counts are upper bounds, so
    the result equals scoring every school (a property test checks this).
    """

    rows: Sequence[dict[str, Any]]
    names: list[str]
    postcodes: list[str | None]
    las: list[str]
    n_words: np.ndarray
    by_urn: dict[int, int]
    by_postcode: dict[str, list[int]]
    by_word: dict[str, tuple[np.ndarray, np.ndarray]]
    by_trigram: dict[str, set[str]]
    _near_words: dict[str, set[str]]

    @classmethod
    def build(cls, schools: Sequence[dict[str, Any]]) -> SchoolIndex:
        """Fold every school once and index it by URN, postcode, word (with its count in the name) and trigram."""
        names = [normalise_name(s["name"]) for s in schools]
        postcodes = [_compact_postcode(s.get("postcode")) for s in schools]
        by_postcode: dict[str, list[int]] = {}
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, (name, pc) in enumerate(zip(names, postcodes)):
            if pc is not None:
                by_postcode.setdefault(pc, []).append(i)
            for w, n in Counter(name.split()).items():
                rows, counts = postings.setdefault(w, ([], []))
                rows.append(i)
                counts.append(n)
        by_trigram: dict[str, set[str]] = {}
        for w in postings:
            if len(w) >= 5:
                for g in _trigrams(w):
                    by_trigram.setdefault(g, set()).add(w)
        return cls(
            rows=schools,
            names=names,
            postcodes=postcodes,
            las=[normalise_la(s["la_name"]) for s in schools],
            n_words=np.array([len(n.split()) for n in names], dtype=np.int64),
            by_urn={int(s["urn"]): i for i, s in enumerate(schools)},
            by_postcode=by_postcode,
            by_word={w: (np.array(r, dtype=np.int64), np.array(c, dtype=np.int64)) for w, (r, c) in postings.items()},
            by_trigram=by_trigram,
            _near_words={},
        )

    def _near(self, word: str) -> set[str]:
        """Index words that `_token_found` matches with ``word`` (either way round: `_close` is symmetric)."""
        if word in self._near_words:
            return self._near_words[word]
        near = {word} if word in self.by_word else set()
        if len(word) >= 5:
            for w in {w for g in _trigrams(word) for w in self.by_trigram.get(g, ())}:
                if w not in near and _close(word, w):
                    near.add(w)
        self._near_words[word] = near
        return near

    def near(self, name: str, postcode: str | None) -> list[int]:
        """Row numbers of the schools worth scoring for a folded name and compact postcode, in row order."""
        return self.near_bounds(name, postcode)[0]

    def near_bounds(self, name: str, postcode: str | None) -> tuple[list[int], np.ndarray]:
        """`near`, and for each row an upper bound on the share of words `name_similarity` finds (0–1)."""
        n = len(self.rows)
        found: set[int] = set(self.by_postcode.get(postcode, ())) if postcode else set()
        words = name.split()
        if not words or not n:
            return sorted(found), np.ones(len(found))
        # k_doc: how many of the document's words (with repeats) have a near word in each school
        per_word = {w: self._near(w) for w in set(words)}
        hit_rows = {
            w: np.unique(np.concatenate([self.by_word[v][0] for v in near])) if near else np.empty(0, np.int64)
            for w, near in per_word.items()
        }
        k_doc = np.bincount(np.concatenate([hit_rows[w] for w in words]), minlength=n)
        # k_school: how many of each school's words (with repeats) are near a word of the document
        all_near = set().union(*per_word.values())
        if all_near:
            rows = np.concatenate([self.by_word[v][0] for v in all_near])
            weights = np.concatenate([self.by_word[v][1] for v in all_near])
            k_school: np.ndarray = np.bincount(rows, weights=weights, minlength=n)
        else:
            k_school = np.zeros(n)
        doc_shorter = len(words) <= self.n_words
        passes = np.where(doc_shorter, 2 * k_doc > len(words), 2 * k_school > self.n_words)
        found.update(int(i) for i in np.flatnonzero(passes))
        picked = sorted(found)
        share = np.where(doc_shorter, k_doc / len(words), k_school / np.maximum(self.n_words, 1))[picked]
        return picked, np.minimum(share, 1.0)


def _trigrams(word: str) -> set[str]:
    return {word[i : i + 3] for i in range(len(word) - 2)}


def candidates(doc: DocRef, schools: Sequence[dict[str, Any]] | SchoolIndex) -> list[Match]:
    """Every plausible school for a document, best first.

    A printed URN known to ``schools`` is certain (1.0, method ``urn``).
    Otherwise a school at the document's postcode scores 0.6 + 0.4 × name
    similarity (``postcode+name``); a school elsewhere whose name is at least
    half similar scores its similarity × 0.95 when the document gives the
    school's LA (``name+la``) and × 0.8 when it gives no LA or another
    (``name``). A school closed, or not yet open, on the document's date keeps
    0.75 of its score: an open school that matches is preferred to it (a
    predecessor and its academy share a name), and on its own it stays visible
    as the best candidate without being linked.

    Args:
        doc: what the document says about its school.
        schools: ``schools`` rows (``urn``, ``name``, ``la_name``, ``postcode``,
            ``opened``, ``closed``).

    Returns:
        One match per plausible school, by confidence (then URN).
    """
    index = schools if isinstance(schools, SchoolIndex) else SchoolIndex.build(schools)
    if doc.urn is not None and doc.urn in index.by_urn:
        s = index.rows[index.by_urn[doc.urn]]
        return [Match(int(s["urn"]), s["name"], s["la_name"], 1.0, "urn")]
    if not doc.school_name:
        return []
    name = normalise_name(doc.school_name)
    postcode = _compact_postcode(doc.postcode)
    la = normalise_la(doc.local_authority) if doc.local_authority else None
    out = [m for i in index.near(name, postcode) if (m := _score(doc, index, i, name, postcode, la)) is not None]
    return sorted(out, key=lambda m: (-m.confidence, m.urn))


def _score(doc: DocRef, index: SchoolIndex, i: int, name: str, postcode: str | None, la: str | None) -> Match | None:
    """School ``i`` scored for a document (`candidates`), or None when its name is less than half similar."""
    s, other = index.rows[i], index.names[i]
    if postcode is not None and index.postcodes[i] == postcode:
        score, method = 0.6 + 0.4 * name_similarity(name, other), "postcode+name"
    else:
        sim = _similarity(name, other, 0.5)
        if sim < 0.5:
            return None
        same_la = la is not None and index.las[i] == la
        score, method = sim * (0.95 if same_la else 0.8), "name+la" if same_la else "name"
    if not _open_at(s, doc.date):
        score *= _CLOSED_FACTOR
    return Match(int(s["urn"]), s["name"], s["la_name"], score, method)


def leading(doc: DocRef, index: SchoolIndex, margin: float) -> list[Match]:
    """The best `candidates` for a document: every one within ``margin`` of the best, best first.

    Each school's score has an upper bound that costs nothing to compute: the
    share of words the index found (`SchoolIndex.near_bounds`) times the most
    its method and opening dates allow (the character ratio is at most 1).
    Schools are scored in order of that bound, and scoring stops once the bound
    falls below the best score less ``margin``: no school left could be the
    best or come within ``margin`` of it. So `match_school` decides as if every
    candidate were scored (a property test checks it), scoring a handful.
    """
    if (doc.urn is not None and doc.urn in index.by_urn) or not doc.school_name:
        return candidates(doc, index)
    name = normalise_name(doc.school_name)
    postcode = _compact_postcode(doc.postcode)
    la = normalise_la(doc.local_authority) if doc.local_authority else None
    rows, share = index.near_bounds(name, postcode)
    bounds = []
    for i, f in zip(rows, share.tolist(), strict=True):
        if postcode is not None and index.postcodes[i] == postcode:
            ub = 0.6 + 0.4 * f
        elif f < 0.5:
            continue  # its similarity is below 0.5: never a candidate
        else:
            ub = f * (0.95 if la is not None and index.las[i] == la else 0.8)
        bounds.append((ub * (1.0 if _open_at(index.rows[i], doc.date) else _CLOSED_FACTOR), i))
    bounds.sort(key=lambda b: -b[0])
    out: list[Match] = []
    best = -1.0
    for ub, i in bounds:
        if ub < best - margin:
            break
        m = _score(doc, index, i, name, postcode, la)
        if m is not None:
            out.append(m)
            best = max(best, m.confidence)
    return sorted(out, key=lambda m: (-m.confidence, m.urn))


def match_school(
    doc: DocRef, schools: Sequence[dict[str, Any]] | SchoolIndex, params: LinkParams
) -> tuple[Match | None, Match | None, str | None]:
    """The school a document is linked to, or none with the best candidate and the reason.

    A document is linked only when its best candidate reaches
    ``params.min_confidence`` and beats every other school by ``params.margin``;
    anything less goes to a person rather than becoming a silent wrong link.

    Args:
        doc: what the document says about its school.
        schools: ``schools`` rows, or their `SchoolIndex` (build it once for many documents).
        params: thresholds.

    Returns:
        ``(match, None, None)`` when linked; ``(None, best, reason)`` when not
        (``best`` is None when no school is plausible).
    """
    index = schools if isinstance(schools, SchoolIndex) else SchoolIndex.build(schools)
    unknown_urn = f"URN {doc.urn} is not in schools; " if doc.urn is not None else ""
    found = leading(doc, index, params.margin)
    if not found:
        if not doc.school_name:
            return None, None, unknown_urn + "the document names no school"
        return None, None, unknown_urn + f"no school has a name like {doc.school_name!r}"
    best = found[0]
    problems: list[str] = []
    if best.confidence < params.min_confidence:
        problems.append(
            f"low confidence: the best candidate, {best.name} ({best.urn}), scores "
            f"{best.confidence:.2f}, below {params.min_confidence}"
        )
    rival = next((m for m in found[1:] if m.urn != best.urn), None)
    if rival is not None and best.confidence - rival.confidence < params.margin:
        problems.append(
            f"ambiguous: {best.name} ({best.urn}, {best.confidence:.2f}) and "
            f"{rival.name} ({rival.urn}, {rival.confidence:.2f}) match within {params.margin}"
        )
    if not problems:
        return best, None, None
    school = index.rows[index.by_urn[best.urn]] if best.urn in index.by_urn else None
    if school is not None and not _open_at(school, doc.date):
        problems.append(f"{best.name} ({best.urn}) was not open on {doc.date}")
    return None, best, unknown_urn + "; ".join(problems)


def link_documents(
    docs: Sequence[DocRef], schools: Sequence[dict[str, Any]], current: dict[int, int], params: LinkParams
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``letter_school`` and ``unmatched`` rows for documents.

    Args:
        docs: what each letter or report says about its school.
        schools: ``schools`` rows.
        current: URN → the end of its successor chain (``school_lineage``).
        params: thresholds.
    """
    linked: list[dict[str, Any]] = []
    unmatched: list[dict[str, Any]] = []
    index = SchoolIndex.build(schools)
    for doc in docs:
        match, best, reason = match_school(doc, index, params)
        if match is not None:
            linked.append(
                {
                    "doc_id": doc.doc_id,
                    "urn": match.urn,
                    "current_urn": current.get(match.urn, match.urn),
                    "confidence": round(match.confidence, 4),
                    "method": match.method,
                    "school_name": doc.school_name or match.name,
                    "matched_name": match.name,
                    "la_name": match.la_name,
                }
            )
        else:
            unmatched.append(
                {
                    "doc_id": doc.doc_id,
                    "school_name": doc.school_name,
                    "postcode": doc.postcode,
                    "best_urn": best.urn if best else None,
                    "best_name": best.name if best else None,
                    "confidence": round(best.confidence, 4) if best else None,
                    "reason": reason or "not linked",
                }
            )
    return linked, unmatched


def _int_or_none(value: Any) -> int | None:
    # Parquet gives a nullable integer column back as floats (4.0).
    return None if value is None else int(value)


def report_outcomes(inspections: Sequence[dict[str, Any]], linked: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``outcomes`` rows of the parsed section 5 reports linked to a school (recorded under the matched URN)."""
    urn_of = {r["doc_id"]: r["urn"] for r in linked}
    out = []
    for r in inspections:
        if r["doc_id"] in urn_of and r.get("inspection_start") is not None:
            out.append(
                {
                    "urn": urn_of[r["doc_id"]],
                    "date": r["inspection_start"],
                    "kind": "section5",
                    "source": r["doc_id"],
                    "overall_effectiveness": _int_or_none(r.get("overall_effectiveness")),
                    "category_of_concern": r.get("category_of_concern"),
                    "doc_id": r["doc_id"],
                }
            )
    return out


def doc_refs(letters: Sequence[dict[str, Any]], inspections: Sequence[dict[str, Any]]) -> list[DocRef]:
    """What letters and reports say about their schools."""
    refs = []
    for r in letters:
        visits = list(r.get("visit_dates") or [])
        refs.append(
            DocRef(
                r["doc_id"],
                r.get("school_name"),
                r.get("postcode"),
                r.get("local_authority"),
                None,
                min(visits) if visits else r.get("letter_date"),
            )
        )
    for r in inspections:
        refs.append(
            DocRef(
                r["doc_id"],
                r.get("school_name"),
                r.get("postcode"),
                r.get("local_authority"),
                _int_or_none(r.get("urn")),
                r.get("inspection_start"),
            )
        )
    return refs


DOC_TABLES = ("letter_school", "unmatched")
"""The link tables with a row per document (kept between runs); the others are rebuilt from the reference files."""

OUTPUTS = (
    "schools",
    "school_links",
    "school_lineage",
    "outcomes",
    "la_categories",
    "reference_rejects",
    "letter_school",
    "unmatched",
)
"""Tables the link stage writes."""


def _records(path: Path) -> list[dict[str, Any]]:
    import pandas as pd

    df = pd.read_parquet(path)
    rows: list[dict[str, Any]] = []
    for rec in df.to_dict("records"):
        clean: dict[str, Any] = {}
        for k, v in rec.items():
            if hasattr(v, "tolist"):
                v = v.tolist()
            elif (isinstance(v, float) and v != v) or v is pd.NaT:
                v = None
            if isinstance(v, list):
                v = [x.date() if hasattr(x, "date") and not isinstance(x, dt.date) else x for x in v]
            clean[str(k)] = v
        rows.append(clean)
    return rows


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if p.is_file())


def run(parsed: Path, reference: Path, out_dir: Path, params: LinkParams) -> dict[str, int]:
    """The ``link`` shell: reference files + parse tables → the link tables (Parquet).

    Args:
        parsed: the parse stage's folder (``letters.parquet``, ``inspections.parquet``).
        reference: the folder of reference files, found by the ``params`` patterns.
        out_dir: where the tables of `OUTPUTS` are written.
        params: ``params.yaml: link``.

    Returns:
        Rows written per table.

    Raises:
        PipelineError: the reference folder, its schools file or a parse table
            is missing, or a reference file lacks a column it needs; nothing is
            written then.
    """
    from pipeline import incremental
    from pipeline.readers import reference as ref
    from pipeline.warehouse import contracts

    if not reference.is_dir():
        raise PipelineError(
            f"reference folder {reference} not found; pass --reference (see corpus/reference/README.md)"
        )
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in OUTPUTS}

    seen: dict[str, set[tuple[Any, ...]]] = {name: set() for name in OUTPUTS}

    def take(loaded: tuple[list[dict[str, Any]], list[dict[str, Any]]], table: str, file: str) -> None:
        """Keep a file's good rows (the first file read wins a key two files share) and its rejects."""
        good, bad = loaded
        key = contracts.TABLES[table].key
        for k, row in enumerate(good, 1):
            ident = tuple(row[c] for c in key)
            if ident in seen[table]:
                rows["reference_rejects"].append(
                    {
                        "file": file,
                        "row": -k,
                        "reason": "bad_value",
                        "message": f"{table} key {dict(zip(key, ident, strict=True))} is also in an earlier file; "
                        f"that one is kept (row -{k}: the {k}th row this file gave)",
                    }
                )
                continue
            seen[table].add(ident)
            rows[table].append(row)
        rows["reference_rejects"].extend(bad)

    if not _files(reference, params.schools):
        raise PipelineError(
            f"no schools file ({params.schools}) in {reference}; the link stage needs a GIAS extract "
            "(see corpus/reference/README.md) or a params.yaml link.schools pattern that finds it"
        )
    parsed_tables = {name: parsed / f"{name}.parquet" for name in ("letters", "inspections")}
    for path in parsed_tables.values():
        if not path.is_file():
            raise PipelineError(f"{path} not found; run the parse stage first (ofsted-nlp parse --out {parsed})")
    for path in _files(reference, params.schools):
        take(ref.load_schools(path.read_bytes(), path.name), "schools", path.name)
    for path in _files(reference, params.links):
        take(ref.load_school_links(path.read_bytes(), path.name), "school_links", path.name)
    for path in _files(reference, params.outcomes):
        take(ref.load_outcomes(path.read_bytes(), path.name), "outcomes", path.name)
    known_las = {s["la_name"] for s in rows["schools"]}
    urns = {s["urn"] for s in rows["schools"]}
    for path in _files(reference, params.la_categories):
        take(ref.load_la_categories(path.read_bytes(), path.name, known_las, urns), "la_categories", path.name)
    rows["school_lineage"] = ref.lineage(urns, rows["school_links"])
    current = {r["urn"]: r["current_urn"] for r in rows["school_lineage"]}

    letters = _records(parsed_tables["letters"])
    inspections = _records(parsed_tables["inspections"])
    refs = doc_refs(letters, inspections)
    # A document linked before, with the same code, params and reference files, keeps its link (incremental).
    ref_files = sorted(f for f in reference.iterdir() if f.is_file())
    ref_hash = hashlib.sha256(b"".join(f.name.encode() + f.read_bytes() for f in ref_files)).hexdigest()
    fp = incremental.fingerprint(incremental.code_of(__name__), asdict(params), ref_hash)
    wanted = {d.doc_id for d in refs}
    kept_frames, kept = incremental.previous(out_dir, DOC_TABLES, fp, wanted)
    linked, unmatched = link_documents([d for d in refs if d.doc_id not in kept], rows["schools"], current, params)
    for table, new in (("letter_school", linked), ("unmatched", unmatched)):
        rows[table] = (incremental.records(kept_frames[table]) if kept else []) + new
    rows["outcomes"].extend(report_outcomes(inspections, rows["letter_school"]))

    # Every table is checked before any is written, so a contract error leaves the last good output whole.
    frames = {name: contracts.frame(contracts.TABLES[name], rows[name]) for name in OUTPUTS}
    incremental.write_folder(out_dir, frames, wanted, fp)
    counts = {name: len(df) for name, df in frames.items()}
    print(f"link: {len(wanted) - len(kept)} documents linked, {len(kept)} kept from the last run", file=sys.stderr)
    for r in rows["reference_rejects"]:
        print(f"link: skipped {r['file']} row {r['row']} ({r['reason']}): {r['message']}", file=sys.stderr)
    for r in rows["unmatched"]:
        print(f"link: {r['doc_id']} not linked ({r['school_name']!r}): {r['reason']}", file=sys.stderr)
    return counts
