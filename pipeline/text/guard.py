"""Guards against hostile input, checked before a document is parsed.

Some files ask for far more work than their size suggests: a content stream of a
few kB compressed twice with Flate inflates to gigabytes, which the PDF reader would
hold in memory whole; one page repeated 10,000 times is a small PDF that takes
long to read; a line of megabytes is no letter and makes every parser's work
grow with it. These checks read the raw bytes or the text in bounded time and
memory and turn such input into a `DocumentError` before a reader sees it.

Every Flate stream counts, images included: PDFium inflates the images of a
page's resources when it loads the page, even those the page never draws.

Flate is inflated (once or more, after ASCIIHex or ASCII85 or not); LZW and
run-length streams are counted from their codes. Caveats: the streams of an
encrypted PDF (which PDFium opens when the user password is empty) are not
looked into, nor what a filter after LZW or run-length would make.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Iterable, Iterator

from pipeline.errors import DocumentError

_CHUNK = 1 << 20  # inflate this much at a time: memory stays a few MiB whatever the stream holds
_DICT_REACH = 4096  # bytes before "stream" searched for its dictionary
_STREAM = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[^\s/\[\]<>()]+|\d+\s+\d+\s+R)")
_NAME = re.compile(rb"/([^\s/\[\]<>()]+)")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")
_FLATE = {"FlateDecode", "Fl"}
_HEX = {"ASCIIHexDecode", "AHx"}
_A85 = {"ASCII85Decode", "A85"}
_LZW = {"LZWDecode", "LZW"}
_RUN_LENGTH = {"RunLengthDecode", "RL"}
_EXPANDING = _FLATE | _LZW | _RUN_LENGTH


def check_text(text: str, max_line_chars: int, max_lines: int = 100_000) -> None:
    """Refuse a text with a line longer than ``max_line_chars``, or with more than ``max_lines`` lines.

    A letter put on the web with each paragraph on one line has lines of a few
    thousand characters; the whole of one on a line, some 20,000. A 300-page
    report has some 20,000 lines. The parsers and the unit cutter take time in
    proportion to the text, but a line of megabytes, or millions of lines
    (12 million one-character lines took 36 s to normalise before any parser
    saw them), is no letter and is refused before they read it.

    Raises:
        DocumentError: ``line_too_long``, naming the line and its length;
            ``too_many_lines``, with the count.
    """
    lines = text.count("\n") + 1
    if lines > max_lines:
        raise DocumentError(
            "too_many_lines",
            f"the text has {lines:,} lines, over ingest.max_lines = {max_lines:,}; "
            "this is not a letter's text (check the file, or raise the limit in params.yaml)",
        )
    if len(text) <= max_line_chars:
        return
    lengths = [len(line) for line in text.split("\n")]
    longest = max(lengths)
    if longest > max_line_chars:
        line_no = lengths.index(longest) + 1
        raise DocumentError(
            "line_too_long",
            f"line {line_no} is {longest:,} characters long, over ingest.max_line_chars = {max_line_chars:,}; "
            "this is not a letter's text (check the file, or raise the limit in params.yaml)",
        )


def check_pdf_bytes(data: bytes, *, max_inflated_bytes: int, max_pages: int) -> None:
    """Refuse a PDF whose streams inflate past a limit or that has too many pages.

    The streams are found in the raw bytes (``stream`` … ``endstream``) and
    inflated a chunk at a time, counting bytes and keeping none, so a bomb is
    found in bounded memory (and in bounded time: counting stops just past the
    limit); the pages are counted by PDFium, which reads only the page tree. A
    PDF too damaged for either is left to the reader, whose message says what
    is wrong.

    Args:
        data: the file's bytes.
        max_inflated_bytes: the most its compressed streams may decode to, together.
        max_pages: the most pages it may have.

    Raises:
        DocumentError: ``pdf_bomb`` or ``too_many_pages``.
    """
    total = inflated_bytes(data, max_inflated_bytes)
    if total > max_inflated_bytes:
        raise DocumentError(
            "pdf_bomb",
            f"the PDF's compressed streams (text, fonts, images) inflate to over {max_inflated_bytes:,} bytes, "
            f"over ingest.max_inflated_bytes, from a {len(data):,}-byte file; a letter's need a few MB, so the "
            "file is damaged or hostile (if it is a genuine long scan, raise the limit in params.yaml)",
        )
    n_pages = count_pages(data)
    if n_pages is not None and n_pages > max_pages:
        raise DocumentError("too_many_pages", f"the PDF has {n_pages:,} pages, over ingest.max_pages = {max_pages}")


def inflated_bytes(data: bytes, limit: int) -> int:
    """How many bytes the compressed streams of a PDF decode to, counted up to just past ``limit``.

    Streams whose filters do not expand (none, DCT, CCITT, JBIG2, JPX) are skipped.
    """
    total = 0
    pos = 0
    for m in _STREAM.finditer(data):
        if m.start() < pos:
            continue  # "stream" inside the data of the stream before
        head = data[max(pos, m.start() - _DICT_REACH) : m.start()]
        objs = list(_OBJ.finditer(head))
        head = head[objs[-1].end() :] if objs else head
        start = m.end()
        end = _stream_end(data, start, head)
        pos = end
        filters = _filters(head, data[start : start + 2])
        if not any(f in _EXPANDING for f in filters):
            continue
        total += _decoded_size(data[start:end], filters, limit - total)
        if total > limit:
            break
    return total


def count_pages(data: bytes) -> int | None:
    """The page count pdfium reads from the page tree; None when pdfium cannot open the file."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return None  # damaged or encrypted: the reader says which
    try:
        n_pages: int = len(pdf)
        return n_pages
    finally:
        pdf.close()


def _stream_end(data: bytes, start: int, head: bytes) -> int:
    """Where a stream's data ends: at its /Length when ``endstream`` follows, else at the next ``endstream``."""
    length = _LENGTH.search(head)
    if length:
        end = start + int(length.group(1))
        if end <= len(data) and data[end : end + 32].lstrip().startswith(b"endstream"):
            return end
    end = data.find(b"endstream", start)
    return len(data) if end < 0 else end


def _filters(head: bytes, first_bytes: bytes) -> list[str]:
    """The filter names of a stream's dictionary (abbreviations kept)."""
    m = _FILTER.search(head)
    if m is None:
        return []
    if m.group(1).endswith(b"R"):
        # an indirect /Filter: inflate when the data starts as zlib does
        is_zlib = len(first_bytes) == 2 and first_bytes[0] & 0x0F == 8 and int.from_bytes(first_bytes, "big") % 31 == 0
        return ["FlateDecode"] if is_zlib else []
    return [name.decode("latin-1") for name in _NAME.findall(m.group(1))]


def _decoded_size(raw: bytes, filters: list[str], limit: int) -> int:
    """Bytes the filters turn ``raw`` into, counted without holding them, stopped just past ``limit``.

    ASCIIHex and ASCII85 (which shrink the data) are decoded whole; Flate is
    inflated a chunk at a time, and so is each Flate after it; LZW and run-length
    are counted from their codes. Counting stops at any other filter, or at one
    after LZW or run-length: what it would make is not counted.
    """
    data = raw
    for i, name in enumerate(filters):
        if name in _HEX:
            data = _unhex(data)
        elif name in _A85:
            data = _un85(data)
        elif name in _LZW:
            return _lzw_size(data, limit)
        elif name in _RUN_LENGTH:
            return _run_length_size(data, limit)
        elif name in _FLATE:
            chunks: Iterable[bytes] = [data]
            for more in filters[i:]:
                if more not in _FLATE:
                    break
                chunks = _inflate(chunks, limit)
            total = 0
            for chunk in chunks:
                total += len(chunk)
                if total > limit:
                    break
            return total
        else:
            break
    return len(data)


def _inflate(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """Inflate a stream given in pieces, yielding at most `_CHUNK` bytes at a time, until ``limit`` is passed."""
    inflater = zlib.decompressobj()
    produced = 0
    try:
        for chunk in chunks:
            while chunk:
                out = inflater.decompress(chunk, _CHUNK)
                produced += len(out)
                yield out
                if produced > limit or inflater.eof:
                    return
                chunk = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error:
        return  # damaged data: counted as far as it goes, the reader reports the damage


def _lzw_size(data: bytes, limit: int) -> int:
    """Bytes an LZW stream decodes to, from the lengths of its table's entries alone (as pdfminer decodes).

    A table entry is the previous code's string and one byte more, so its length
    is the previous length plus one: no string need be built. EarlyChange is
    taken to be 1, the default.
    """
    lengths = [1] * 256 + [0, 0]
    total = prev = acc = n_acc = 0
    n_bits = 9
    for byte in data:
        acc, n_acc = (acc << 8) | byte, n_acc + 8
        while n_acc >= n_bits:
            n_acc -= n_bits
            code, acc = acc >> n_acc, acc & ((1 << n_acc) - 1)
            if code == 256:  # clear the table
                lengths, prev, n_bits = [1] * 256 + [0, 0], 0, 9
                continue
            if code == 257 or code > len(lengths) or (prev == 0 and code == len(lengths)):
                return total  # end of data, or damaged
            n = lengths[code] if code < len(lengths) else prev + 1
            if prev and len(lengths) < 4096:  # 12-bit codes reach no further entry
                lengths.append(prev + 1)
                n_bits = min(12, 9 + (len(lengths) >= 511) + (len(lengths) >= 1023) + (len(lengths) >= 2047))
            prev = n
            total += n
            if total > limit:
                return total
    return total


def _run_length_size(data: bytes, limit: int) -> int:
    """Bytes a run-length stream decodes to: a byte n < 128 copies n + 1 bytes, n > 128 repeats one 257 - n times."""
    total = i = 0
    while i < len(data) and data[i] != 128 and total <= limit:
        n = data[i]
        total, i = (total + n + 1, i + n + 2) if n < 128 else (total + 257 - n, i + 2)
    return total


def _unhex(raw: bytes) -> bytes:
    digits = re.sub(rb"[^0-9A-Fa-f]", b"", raw.split(b">", 1)[0])
    try:
        return binascii.unhexlify(digits + b"0" * (len(digits) % 2))
    except binascii.Error:
        return b""


def _un85(raw: bytes) -> bytes:
    body = raw.strip()
    body = body[2:] if body.startswith(b"<~") else body
    body = body.split(b"~>", 1)[0]
    try:
        return base64.a85decode(re.sub(rb"\s", b"", body))
    except ValueError:
        return b""
