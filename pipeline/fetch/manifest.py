"""The fetch manifest: its contract (`MANIFEST`), and `Manifest`, which reads, appends to and compacts it.

One row per school page read and per file asked for (or per reference file),
appended and flushed as a run goes, before the file it describes is moved into
place; the last row for a key wins.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.warehouse.contracts import Column, Table

MANIFEST_NAME = ".manifest.csv"
"""The manifest's file name in the output folder (hidden: ingest skips it, as it skips ``.partial/``)."""

# ---------------------------------------------------------------- the manifest's contract

OK_OUTCOMES = frozenset({"listed", "downloaded", "not_modified", "held"})
FAILED_OUTCOMES = frozenset(
    {
        "http_error",
        "timeout",
        "connection_error",
        "truncated",
        "incomplete",
        "wrong_type",
        "too_large",
        "redirect_loop",
        "robots_disallowed",
        "page_changed",
    }
)
OUTCOMES: dict[str, str] = {
    "listed": "a school's page was read; `message` says how many files it lists",
    "downloaded": "the file was downloaded, checked and saved at `path`",
    "not_modified": "asked again with If-None-Match / If-Modified-Since, the server said it is unchanged (304)",
    "held": "the same URL is held already for another school's row; no request made",
    "http_error": "the server answered with an error status (after retries for 5xx and 429)",
    "timeout": "no answer within fetch.timeout_s, or the file took over fetch.max_download_s (after retries)",
    "connection_error": "the connection failed (after retries)",
    "truncated": "the connection closed before the whole body came (after retries)",
    "incomplete": "a PDF without %%EOF at its end, or an empty file: cut short at the source",
    "wrong_type": "not the type listed: an HTML page served as a PDF or CSV, or bytes that are not a PDF",
    "too_large": "larger than fetch.max_bytes (fetch.reference_max_bytes for reference files)",
    "redirect_loop": "redirects that come back to a URL already visited, or more than fetch.max_redirects",
    "robots_disallowed": "the site's robots.txt does not allow this URL for ofsted-nlp",
    "page_changed": "a page lacks an element the reader needs; `message` names it and the URL",
}
"""Every outcome a manifest row may carry, with what it means."""

MANIFEST = Table(
    "fetch_manifest",
    "One row per school page read and per file asked for or found held for another school (fetch), or per "
    "reference file (fetch-reference): what was asked for, when, and what came of it. Appended as the run goes; "
    "the last row for a key wins.",
    (
        Column("item", "VARCHAR", "page (a school's page) or file"),
        Column("urn", "BIGINT", "the school's URN (null for reference files)", True),
        Column("school", "VARCHAR", "the school's name as its page lists it", True),
        Column("event", "VARCHAR", "the event name as listed, e.g. Monitoring inspection report", True),
        Column("event_date", "DATE", "the event's date as listed (null when the page gives none it can read)", True),
        Column("listed_as", "VARCHAR", "the link's description as on the page", True),
        Column("kind", "VARCHAR", "document kind from fetch.kinds (unknown when no pattern matches)", True),
        Column("url", "VARCHAR", "the file's URL as the page gives it (a page row: the page's URL)"),
        Column("page_url", "VARCHAR", "the page that listed the file", True),
        Column("retrieved_at", "VARCHAR", "when the request was made, UTC, ISO 8601"),
        Column("http_status", "INTEGER", "the last HTTP status (null when there was no answer)", True),
        Column("bytes", "BIGINT", "size of the saved file", True),
        Column("sha256", "VARCHAR", "sha256 of the saved file, hex", True),
        Column("path", "VARCHAR", "the saved file, relative to the manifest's folder", True),
        Column("etag", "VARCHAR", "the server's ETag, for conditional requests", True),
        Column("last_modified", "VARCHAR", "the server's Last-Modified, for conditional requests", True),
        Column("outcome", "VARCHAR", "what came of it (docs/fetch.md lists each)"),
        Column("message", "VARCHAR", "for a failure: what happened, the likely cause and what to do", True),
    ),
    ("item", "urn", "url"),
    {"item": frozenset({"page", "file"}), "outcome": frozenset(OUTCOMES)},
)

Row = dict[str, Any]


# ---------------------------------------------------------------- the manifest on disk

_INT_COLUMNS = ("urn", "http_status", "bytes")


def utc(now: dt.datetime) -> str:
    """A time as the manifest writes it: UTC, ISO 8601, to the second."""
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key(row: Mapping[str, Any]) -> tuple[str, int | None, str]:
    return (row["item"], row["urn"], row["url"])


def _from_csv(cells: dict[str, str]) -> Row:
    row: Row = {c: (v if v != "" else None) for c, v in cells.items()}
    for c in _INT_COLUMNS:
        if row[c] is not None:
            row[c] = int(row[c])
    if row["event_date"] is not None:
        row["event_date"] = dt.date.fromisoformat(row["event_date"])
    return row


def _to_csv(row: Mapping[str, Any]) -> list[str]:
    out = []
    for c in MANIFEST.names:
        v = row.get(c)
        out.append("" if v is None else v.isoformat() if isinstance(v, dt.date) else str(v))
    return out


_TYPES: dict[str, tuple[type, ...]] = {"VARCHAR": (str,), "BIGINT": (int,), "INTEGER": (int,), "DATE": (dt.date,)}


def check_row(row: Mapping[str, Any]) -> Row:
    """A manifest row with exactly the contract's columns, checked against `MANIFEST`.

    (The rules of `pipeline.warehouse.contracts.check`, for one row, without building a frame.)

    Raises:
        ContractError: an unknown column, a null where the contract allows none, a value of the
            wrong type, or an item or outcome not among the contract's values.
    """
    from pipeline.errors import ContractError

    unknown = sorted(set(row) - set(MANIFEST.names))
    if unknown:
        raise ContractError(f"table {MANIFEST.name!r}: unknown columns {unknown}; its contract says {MANIFEST.names}")
    out: Row = {}
    for col in MANIFEST.columns:
        value = row.get(col.name)
        if value is None:
            if not col.nullable:
                raise ContractError(f"table {MANIFEST.name!r}: column {col.name!r} is null; it may not be")
        elif not isinstance(value, _TYPES[col.type]) or isinstance(value, bool):
            raise ContractError(
                f"table {MANIFEST.name!r}: column {col.name!r} holds {value!r} ({type(value).__name__}); "
                f"the contract says {col.type}"
            )
        elif col.name in MANIFEST.values and value not in MANIFEST.values[col.name]:
            raise ContractError(
                f"table {MANIFEST.name!r}: column {col.name!r} holds {value!r}; "
                f"valid values: {sorted(MANIFEST.values[col.name])}"
            )
        out[col.name] = value
    return out


class Manifest:
    """The manifest: read once at the start of a run, then appended to, a row at a time.

    Each row is written and flushed to disk before the file it describes is
    moved into place, so every file a reader sees has its row. A run killed
    while writing a row leaves a partial last line; reading drops it (the file
    it would describe is not in place yet, so the next run fetches it again).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[tuple[str, int | None, str], Row] = {}
        self.dropped = 0
        if path.exists():
            self._read()
        self._file: io.TextIOWrapper | None = None

    def _read(self) -> None:
        text = self.path.read_text(encoding="utf-8")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header != MANIFEST.names:
            raise PipelineError(
                f"{self.path}: the header is {header}, not the manifest's columns {MANIFEST.names}; "
                "is this a fetch manifest? Move it aside and run again"
            )
        complete = text.endswith("\n")
        lines = list(reader)
        for n, cells in enumerate(lines):
            last = n == len(lines) - 1
            if len(cells) != len(header) or (last and not complete):
                self.dropped += 1
                continue
            row = _from_csv(dict(zip(header, cells)))
            self.rows[_key(row)] = row

    def compact(self) -> None:
        """Rewrite the manifest with one row per key (the last), sorted, aside and swapped in."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(MANIFEST.names)
            order = sorted(
                self.rows.items(), key=lambda kv: (kv[0][1] or -1, kv[0][0] != "page", kv[1]["path"] or kv[0][2])
            )
            for key, _ in order:
                w.writerow(_to_csv(self.rows[key]))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.dropped = 0

    def append(self, row: Mapping[str, Any]) -> Row:
        """Check a row, write it and flush it to disk; it replaces any earlier row with its key."""
        checked = check_row(row)
        if self._file is None:
            if not self.path.exists() or self.dropped:
                self.compact()
            self._file = self.path.open("a", encoding="utf-8", newline="")
        csv.writer(self._file, lineterminator="\n").writerow(_to_csv(checked))
        self._file.flush()
        os.fsync(self._file.fileno())
        self.rows[_key(checked)] = checked
        return checked

    def forget(self, row: Mapping[str, Any]) -> None:
        """Drop a row from memory (its line stays on disk until `compact`; compact leaves it out)."""
        self.rows.pop(_key(row), None)

    def close(self) -> None:
        """Close the file (rows stay in memory)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def held(self, base: Path, verify: bool = False) -> dict[tuple[int | None, str], Row]:
        """``(urn, url)`` → the row of each file the manifest says was saved and that is still there, same size.

        With ``verify``, the file's sha256 must match too (reads every file).
        """
        out: dict[tuple[int | None, str], Row] = {}
        for (item, urn, url), row in self.rows.items():
            if item != "file" or row["outcome"] not in OK_OUTCOMES or not row["path"]:
                continue
            path = base / row["path"]
            try:
                if path.stat().st_size != row["bytes"]:
                    continue
            except OSError:
                continue
            if verify and _sha256(path) != row["sha256"]:
                continue
            out[(urn, url)] = row
        return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
