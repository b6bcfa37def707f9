"""One file into place, for ``fetch`` and ``fetch-reference``; and the `Tally` of a run.

`save` streams a file to a hidden temporary file under ``.partial/``, checks
it, writes its manifest row and only then moves it into place: a run killed at
any point leaves no partial file where a reader looks.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.fetch.client import Failed, PoliteClient, check_content, streamer
from pipeline.fetch.manifest import FAILED_OUTCOMES, Manifest, Row, utc

PARTIAL = ".partial"
"""The hidden folder, in the output folder, where bodies stream before they are checked."""


@dataclass
class Tally:
    """What a run did, for its summary line."""

    schools: int = 0
    pages: int = 0
    pages_failed: int = 0
    listed: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    unknown_events: Counter[str] = field(default_factory=Counter)
    bytes: int = 0
    requests: int = 0
    seconds: float = 0.0
    stopped: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Files that failed."""
        return sum(n for o, n in self.outcomes.items() if o in FAILED_OUTCOMES)

    @property
    def attempted(self) -> int:
        """Files asked for."""
        return sum(self.outcomes.values())


def files(n: int) -> str:
    """``1 file``, ``2 files``."""
    return f"{n} file" if n == 1 else f"{n} files"


def size_text(n: int) -> str:
    """A size in words: ``562 B``, ``1.2 kB``, ``3.4 MB``, ``1.2 GB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def file_ext(head: bytes, listed_format: str | None, url: str) -> str:
    """A saved file's extension: ``.pdf`` for a PDF, else the listed format, else the URL's, else ``.bin``."""
    if head.lstrip().startswith(b"%PDF-"):
        return ".pdf"
    if listed_format:
        return "." + listed_format.lower()
    m = re.search(r"\.([A-Za-z0-9]{1,5})$", urlsplit(url).path)
    return "." + m.group(1).lower() if m else ".bin"


def save(
    client: PoliteClient,
    url: str,
    base: Path,
    stem: str,
    *,
    expect: str,
    limit: int,
    row: Row,
    manifest: Manifest,
    previous: Row | None = None,
    ext: Callable[[bytes], str] | None = None,
) -> Row:
    """Download one file to ``base/stem.<ext>`` and write its manifest row; never raises for a bad file.

    The body streams to ``base/.partial/``; it is checked (`check_content`), its
    row is written, and only then is it moved into place. With ``previous`` (the
    row of the copy held), the request is conditional (If-None-Match,
    If-Modified-Since) and a 304 keeps the held copy.

    Args:
        client: makes the request.
        url: the file.
        base: the output folder.
        stem: the file's path under ``base`` without extension.
        expect: what `check_content` expects (``pdf``, ``csv``, ``any``).
        limit: the size limit in bytes.
        row: the manifest columns known before the request (item, urn, school, event, ...).
        manifest: where the row goes.
        previous: the held copy's row, for a conditional request.
        ext: the extension from the file's first bytes (default: ``.pdf`` for a PDF, else from the URL).

    Returns:
        The row written.
    """
    partial = base / PARTIAL
    partial.mkdir(parents=True, exist_ok=True)
    tmp = partial / f"{uuid.uuid4().hex}.part"
    headers: dict[str, str] = {"Accept-Encoding": "identity"}
    if previous is not None:
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
    started = client.now()
    try:
        got = client.get(url, streamer(tmp, limit, client.params.max_download_s, client.clock), headers)
        out: Row = {**row, "url": url, "retrieved_at": utc(started)}
        if isinstance(got, Failed):
            return manifest.append({**out, "http_status": got.status, "outcome": got.outcome, "message": got.message})
        if got.value is None:  # 304: the held copy stands
            assert previous is not None
            keep = {k: previous[k] for k in ("bytes", "sha256", "path", "etag", "last_modified")}
            return manifest.append({**out, **keep, "http_status": got.status, "outcome": "not_modified"})
        d = got.value
        bad = check_content(d.head, d.tail, d.size, expect)
        if bad is not None:
            return manifest.append(
                {**out, "http_status": got.status, "outcome": bad[0], "message": f"{bad[1]} ({url})"}
            )
        rel = stem + (ext(d.head) if ext else file_ext(d.head, None, url))
        dest = base / rel
        written = manifest.append(
            {
                **out,
                "http_status": got.status,
                "bytes": d.size,
                "sha256": d.sha256,
                "path": os.path.relpath(dest, manifest.path.parent).replace(os.sep, "/"),
                "etag": got.headers.get("ETag"),
                "last_modified": got.headers.get("Last-Modified"),
                "outcome": "downloaded",
            }
        )
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(d.tmp, dest)
        return written
    finally:
        tmp.unlink(missing_ok=True)


def tidy_partial(base: Path) -> None:
    """Remove ``base/.partial`` once a run is over and it is empty."""
    with contextlib.suppress(OSError):  # absent, or (never after a whole run) not empty
        (base / PARTIAL).rmdir()


def clear_partial(base: Path) -> int:
    """Delete what a killed run left in ``base/.partial``; the number of files."""
    partial = base / PARTIAL
    if not partial.is_dir():
        return 0
    n = sum(1 for p in partial.iterdir() if p.is_file())
    shutil.rmtree(partial)
    return n
