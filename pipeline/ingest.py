"""Stage ``ingest``: raw files become the ``documents`` and ``rejects`` tables.

Core: `ingest_document` turns one file's bytes into a `Document` or raises
`DocumentError`; `ingest` does that for many files, drops repeated bytes as
duplicates and returns documents and rejects. The shell `run` lists the raw
folder, reads files, checks the contracts and writes Parquet.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.doctype import classify_doc_type
from pipeline.errors import DocumentError
from pipeline.text import decode, normalise_layout

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
        from pipeline.pdf import read_pdf  # pdfplumber is imported only for PDFs

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
        try:
            data = read()
        except OSError as exc:
            yield Reject(source, None, STAGE, "unreadable", f"cannot read the file: {exc.strerror or exc}")
            continue
        except DocumentError as exc:  # refused before reading, e.g. too large
            yield Reject(source, None, STAGE, exc.reason, exc.message)
            continue
        doc_id = doc_id_of(data)
        if doc_id in seen:
            yield Reject(
                source,
                doc_id,
                STAGE,
                "duplicate",
                f"same bytes as {seen[doc_id]} (doc_id {doc_id}); kept once under that path",
            )
            continue
        try:
            doc = ingest_document(source, data, params)
        except DocumentError as exc:
            yield Reject(source, doc_id, STAGE, exc.reason, exc.message)
            continue
        seen[doc_id] = source
        yield doc


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


def run(raw: Path, documents_out: Path, rejects_out: Path, params: dict[str, Any]) -> tuple[int, int]:
    """The ``ingest`` shell: raw folder → documents and rejects Parquet files.

    Returns:
        The number of documents and of rejects written.
    """
    from pipeline import contracts
    from pipeline.errors import PipelineError, RejectRateError

    if not raw.is_dir():
        raise PipelineError(f"raw folder {raw} does not exist; pass the folder that holds the documents")
    p = IngestParams(**params)
    docs: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for item in ingest(((str(f), reader(f, p.max_bytes)) for f in list_files(raw)), p):
        (docs if isinstance(item, Document) else rejects).append(asdict(item))
        if isinstance(item, Reject):
            print(f"ingest: rejected {item.source}: {item.message}", file=sys.stderr)
    total = len(docs) + len(rejects)
    documents_out.parent.mkdir(parents=True, exist_ok=True)
    rejects_out.parent.mkdir(parents=True, exist_ok=True)
    contracts.frame(contracts.DOCUMENTS, docs).to_parquet(documents_out, index=False)
    contracts.frame(contracts.REJECTS, rejects).to_parquet(rejects_out, index=False)
    if total and len(rejects) / total > p.max_reject_rate:
        raise RejectRateError(
            f"{len(rejects)} of {total} files rejected ({len(rejects) / total:.0%}), over "
            f"ingest.max_reject_rate = {p.max_reject_rate:.0%}; see {rejects_out}"
        )
    return len(docs), len(rejects)
