"""Stage ``ingest``: raw files become the ``documents`` and ``rejects`` tables.

Core: `ingest_document` turns one file's bytes into a `Document` or raises
`DocumentError`; `ingest` does that for many files, drops repeated bytes as
duplicates and returns documents and rejects. The shell `run` lists the raw
folder, reads files, checks the contracts and writes Parquet.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import DocumentError
from pipeline.readers.doctype import classify_doc_type
from pipeline.text.common import decode, normalise_layout
from pipeline.text.guard import check_pdf_bytes, check_text

STAGE = "ingest"
TEXT_SUFFIXES = {".txt", ".text", ".md", ""}


@dataclass(frozen=True)
class IngestParams:
    """Tunables of the ingest stage (``ingest:`` in params.yaml)."""

    max_bytes: int = 25_000_000
    max_pages: int = 300
    pdf_margin: float = 0.08
    min_chars_per_page: float = 25.0
    max_non_ascii_share: float = 0.02
    max_reject_rate: float = 0.5
    max_line_chars: int = 200_000
    max_lines: int = 100_000
    max_inflated_bytes: int = 200_000_000


@dataclass(frozen=True)
class Document:
    """One row of the ``documents`` table."""

    doc_id: str
    source: str
    doc_type: str
    doc_type_evidence: str | None
    text: str
    n_chars: int
    n_pages: int | None
    n_bytes: int
    extractor: str
    problems: str | None


@dataclass(frozen=True)
class Reject:
    """One row of the ``rejects`` table."""

    source: str
    doc_id: str | None
    stage: str
    reason: str
    message: str


def doc_id_of(data: bytes) -> str:
    """The document id: the first 16 hex digits of the sha256 of its bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


def _too_large(size: int, limit: int) -> str:
    return (
        f"the file is {size:,} bytes, over ingest.max_bytes = {limit:,} bytes; "
        "split it or raise the limit in params.yaml"
    )


def ingest_document(source: str, data: bytes, params: IngestParams) -> Document:
    """Read one file's bytes into a document.

    Args:
        source: the path as given (kept, and used for the file type).
        data: the file's bytes.
        params: the stage's tunables.

    Raises:
        DocumentError: the file cannot be used (empty, too large, corrupt,
            encrypted or scanned PDF, unknown encoding, unsupported type).
    """
    if not data.strip():
        raise DocumentError("empty_file", "the file is empty (0 bytes of content); remove it or replace it")
    if len(data) > params.max_bytes:
        raise DocumentError("too_large", _too_large(len(data), params.max_bytes))
    suffix = Path(source).suffix.lower()
    problems: list[str] = []
    n_pages: int | None = None
    if data[:1024].lstrip().startswith(b"%PDF") or suffix == ".pdf":
        if not data[:1024].lstrip().startswith(b"%PDF"):
            raise DocumentError(
                "corrupt_pdf",
                f"named {suffix} but is not a PDF (it starts {data[:8]!r}, not %PDF); download the file again",
            )
        check_pdf_bytes(data, max_inflated_bytes=params.max_inflated_bytes, max_pages=params.max_pages)
        from pipeline.text.pdf import read_pdf  # pypdfium2 is imported only for PDFs

        pdf = read_pdf(
            data,
            max_pages=params.max_pages,
            margin=params.pdf_margin,
            min_chars_per_page=params.min_chars_per_page,
        )
        raw, extractor, n_pages = pdf.text, pdf.extractor, pdf.n_pages
    elif suffix in TEXT_SUFFIXES:
        raw, encoding = decode(data, params.max_non_ascii_share)
        extractor = f"text/{encoding}"
    else:
        raise DocumentError(
            "unsupported_type",
            f"files ending {suffix!r} are not read; convert to PDF or .txt (read: .pdf, "
            f"{', '.join(sorted(s for s in TEXT_SUFFIXES if s))} or no suffix)",
        )
    check_text(raw, params.max_line_chars, params.max_lines)  # before normalising, which is linear but slower
    text = normalise_layout(raw)
    doc_type, evidence = classify_doc_type(text)
    if doc_type == "unknown":
        problems.append("not recognised as an HMI letter, inspection report, case study or LA plan; kept as unknown")
    return Document(
        doc_id=doc_id_of(data),
        source=source,
        doc_type=doc_type,
        doc_type_evidence=evidence,
        text=text,
        n_chars=len(text),
        n_pages=n_pages,
        n_bytes=len(data),
        extractor=extractor,
        problems="; ".join(problems) or None,
    )


def duplicate(source: str, doc_id: str, first: str) -> Reject:
    """The reject of a second copy of bytes already kept under ``first``."""
    return Reject(
        source, doc_id, STAGE, "duplicate", f"same bytes as {first} (doc_id {doc_id}); kept once under that path"
    )


def _read(source: str, read: Callable[[], bytes]) -> bytes | Reject:
    """The file's bytes, or the reject of a file that cannot be read (or is refused before reading)."""
    try:
        return read()
    except OSError as exc:
        return Reject(source, None, STAGE, "unreadable", f"cannot read the file: {exc.strerror or exc}")
    except DocumentError as exc:  # refused before reading, e.g. too large
        return Reject(source, None, STAGE, exc.reason, exc.message)


def _document(source: str, data: bytes, params: IngestParams) -> Document | Reject:
    """`ingest_document`, with a bad file as its reject."""
    try:
        return ingest_document(source, data, params)
    except DocumentError as exc:
        return Reject(source, doc_id_of(data), STAGE, exc.reason, exc.message)


def ingest(files: Iterable[tuple[str, Callable[[], bytes]]], params: IngestParams) -> Iterator[Document | Reject]:
    """Ingest files one at a time, in the order given.

    Args:
        files: ``(source, read)`` pairs; ``read()`` returns the bytes or raises
            OSError (the file is then rejected as unreadable).
        params: the stage's tunables.

    Yields:
        A `Document` for each distinct content, a `Reject` for each file that
        cannot be used, including a second copy of bytes already seen.
    """
    seen: dict[str, str] = {}
    for source, read in files:
        data = _read(source, read)
        if isinstance(data, Reject):
            yield data
            continue
        doc_id = doc_id_of(data)
        if doc_id in seen:
            yield duplicate(source, doc_id, seen[doc_id])
            continue
        item = _document(source, data, params)
        if isinstance(item, Document):
            seen[doc_id] = source
        yield item


def list_files(root: Path) -> list[Path]:
    """Every file below ``root`` (hidden files and folders skipped), sorted."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def reader(path: Path, max_bytes: int) -> Callable[[], bytes]:
    """A reader that refuses a file over ``max_bytes`` without loading it."""

    def read() -> bytes:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError("too_large", _too_large(size, max_bytes))
        return path.read_bytes()

    return read


_DOC_ROWS = 1000
"""Documents read back from the last run, and written, at a time."""


def _ingest_file(item: tuple[str, int, dict[str, Any]]) -> Document | Reject:
    """Read and ingest one file (in a worker process); never raises for a bad file."""
    source, max_bytes, params = item
    data = _read(source, reader(Path(source), max_bytes))
    return data if isinstance(data, Reject) else _document(source, data, IngestParams(**params))


def run(
    raw: Path,
    documents_out: Path,
    rejects_out: Path,
    params: dict[str, Any],
    *,
    manifest: Path | None = None,
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """The ``ingest`` shell: raw folder → documents and rejects Parquet files.

    With a ``manifest`` (one row per file: path, size, modification time, the
    code-and-params fingerprint and what it gave), a file whose size and time
    are unchanged is not read again: its document or reject is taken from the
    last run's tables. New and changed files are read in ``jobs`` processes.
    Repeated bytes are decided over all files each run (the first path in
    sorted order keeps the document), so deleting a file never loses a
    document another file still holds. ``shard = (k, n)`` keeps only the files
    whose path hashes to shard ``k`` of ``n``.

    Returns:
        The number of documents and of rejects written.
    """
    import pandas as pd

    from pipeline import incremental
    from pipeline.errors import PipelineError, RejectRateError
    from pipeline.warehouse import contracts

    if not raw.is_dir():
        raise PipelineError(f"raw folder {raw} does not exist; pass the folder that holds the documents")
    p = IngestParams(**params)
    files = list_files(raw)
    if shard is not None:
        files = [f for f in files if incremental.shard_of(f.relative_to(raw).as_posix(), shard[1]) == shard[0]]
    stats = {str(f): f.stat() for f in files}
    fp = incremental.fingerprint(incremental.code_of(__name__), params)

    # what the last run knew: file → (size, mtime, doc_id or None, reject reason or None)
    known: dict[str, tuple[int, int, str | None, str | None]] = {}
    old_rejects = pd.DataFrame()
    if manifest is not None and manifest.exists() and documents_out.exists() and rejects_out.exists():
        m = pd.read_parquet(manifest)
        m = m[m["fingerprint"] == fp]
        known = {
            r["source"]: (int(r["size"]), int(r["mtime_ns"]), r["doc_id"], r["reason"])
            for r in incremental.records(m)
            if r["source"] in stats
        }
        if known:
            old_rejects = pd.read_parquet(rejects_out)
    unchanged = {
        src
        for src, (size, mtime, _, _) in known.items()
        if (stats[src].st_size, stats[src].st_mtime_ns) == (size, mtime)
    }
    todo = [src for src in stats if src not in unchanged]

    # per file: a Document (or the doc_id of one already known) or a Reject that is not a duplicate
    docs_by_id: dict[str, dict[str, Any]] = {}  # the text of each document, held once (as Python strings)
    reusable = {doc_id for s in unchanged if (doc_id := known[s][2]) is not None}
    columns = contracts.DOCUMENTS.names
    for batch in incremental.batches_where(documents_out, "doc_id", reusable, columns, rows=_DOC_ROWS):
        for row in batch.to_pylist():
            docs_by_id[row["doc_id"]] = row
    file_doc: dict[str, str] = {}
    file_reject: dict[str, dict[str, Any]] = {}
    old_reject_rows = (
        {r["source"]: r for r in incremental.records(old_rejects) if r["reason"] != "duplicate"}
        if len(old_rejects)
        else {}
    )
    for src in unchanged:
        doc_id, reason = known[src][2], known[src][3]
        if reason is None and doc_id in docs_by_id:
            file_doc[src] = doc_id
        elif reason is not None and src in old_reject_rows:
            file_reject[src] = old_reject_rows[src]
        else:
            todo.append(src)  # the last run's tables lack it (e.g. a duplicate whose first copy is gone): read it
    todo.sort()
    for item in incremental.parallel_map(_ingest_file, [(src, p.max_bytes, params) for src in todo], jobs):
        if isinstance(item, Document):
            file_doc[item.source] = item.doc_id
            docs_by_id.setdefault(item.doc_id, asdict(item))
        else:
            file_reject[item.source] = asdict(item)

    # repeated bytes: the first path in sorted order keeps the document
    kept: list[tuple[str, str]] = []  # (doc_id, source) in output order
    rejects: list[dict[str, Any]] = []
    first: dict[str, str] = {}
    for src in sorted(stats):
        if src in file_reject:
            rejects.append(file_reject[src])
            continue
        doc_id = file_doc[src]
        if doc_id in first:
            rejects.append(asdict(duplicate(src, doc_id, first[doc_id])))
            continue
        first[doc_id] = src
        kept.append((doc_id, src))
    for r in rejects:
        print(f"ingest: rejected {r['source']}: {r['message']}", file=sys.stderr)
    total = len(kept) + len(rejects)
    rejects_df = contracts.frame(contracts.REJECTS, rejects)

    def documents() -> Iterator[list[dict[str, Any]]]:  # each document leaves memory once it is written
        for i in range(0, len(kept), _DOC_ROWS):
            yield [{**docs_by_id.pop(doc_id), "source": src} for doc_id, src in kept[i : i + _DOC_ROWS]]

    documents_out.parent.mkdir(parents=True, exist_ok=True)
    tmp = documents_out.with_name(documents_out.name + ".tmp")
    n_docs = incremental.write_rows(tmp, contracts.DOCUMENTS, documents())
    os.replace(tmp, documents_out)
    incremental.write_file(rejects_out, rejects_df)
    if manifest is not None:  # written last: a crash before this only costs re-reading files
        reasons = {r["source"]: r["reason"] for r in incremental.records(rejects_df) if r["reason"] != "duplicate"}
        rows = [
            {
                "source": src,
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "fingerprint": fp,
                "doc_id": file_doc.get(src),
                "reason": reasons.get(src),
            }
            for src, st in sorted(stats.items())
        ]
        incremental.write_file(
            manifest, pd.DataFrame(rows, columns=["source", "size", "mtime_ns", "fingerprint", "doc_id", "reason"])
        )
    print(f"ingest: {len(todo)} files read, {len(stats) - len(todo)} kept from the last run", file=sys.stderr)
    if total and len(rejects_df) / total > p.max_reject_rate:
        raise RejectRateError(
            f"{len(rejects_df)} of {total} files rejected ({len(rejects_df) / total:.0%}), over "
            f"ingest.max_reject_rate = {p.max_reject_rate:.0%}; see {rejects_out}"
        )
    return n_docs, len(rejects_df)
