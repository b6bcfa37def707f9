"""The project's exceptions and its catalogue of reject reasons.

Two kinds of failure (STYLE.md §6): a bad *document* raises `DocumentError`,
which the stage turns into a row of the ``rejects`` table and goes on; a bad
*configuration or programme* raises `PipelineError` and stops the run.
"""

from __future__ import annotations

REJECT_REASONS: dict[str, str] = {
    "empty_file": "the file is empty",
    "too_large": "the file is larger than ingest.max_bytes",
    "too_many_pages": "the PDF has more pages than ingest.max_pages",
    "pdf_bomb": "the PDF's compressed streams inflate to more than ingest.max_inflated_bytes",
    "line_too_long": "the text has a line longer than ingest.max_line_chars",
    "too_many_lines": "the text has more lines than ingest.max_lines",
    "binary_file": "the bytes are not text and not a PDF",
    "unknown_encoding": "a text file in an encoding other than UTF-8, UTF-16 or Windows-1252",
    "corrupt_pdf": "the PDF cannot be read (truncated or damaged)",
    "encrypted_pdf": "the PDF is password-protected",
    "no_text_layer": "the PDF has no text layer (scanned): it needs OCR",
    "unsupported_type": "a file type the pipeline does not read",
    "duplicate": "the same bytes as a document already ingested",
    "unreadable": "the file could not be read from disk",
}
"""Every reason code a rejects row may carry, with what it means."""


class PipelineError(Exception):
    """A programming or configuration error: the run stops with this message."""


class ContractError(PipelineError):
    """A table does not meet its written contract (pipeline/warehouse/contracts.py)."""


class RejectRateError(PipelineError):
    """More documents were rejected than the configured share allows."""


class DocumentError(Exception):
    """One document cannot be used; it becomes a rejects row, the run goes on.

    Args:
        reason: a key of `REJECT_REASONS`.
        message: what happened and what the user can do, naming the value.
    """

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REJECT_REASONS:
            raise PipelineError(f"unknown reject reason {reason!r}; valid: {sorted(REJECT_REASONS)}")
        super().__init__(message)
        self.reason = reason
        self.message = message
