"""The polite HTTP client of ``fetch`` and ``fetch-reference``: every request goes through `PoliteClient`.

One request at a time, at most one each ``fetch.min_interval_s`` (or the
site's robots.txt ``Crawl-delay``, if longer); robots.txt honoured; redirects
followed hop by hop, each paced and checked; retries with backoff on 5xx, 429,
timeouts and bodies cut short, ``Retry-After`` honoured; a stop after
``fetch.max_consecutive_failures`` failures in a row. Requests go through a
`Transport` passed in (`RequestsTransport` for real; tests pass fakes).
`streamer` streams a body to a temporary file, hashing it; `check_content`
accepts or refuses the bytes; `check_polite` refuses to ask another machine
without a contact or faster than one request a second.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import io
import ipaddress
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from pipeline.errors import PipelineError
from pipeline.fetch.params import FetchParams

if TYPE_CHECKING:
    import requests

AGENT = "ofsted-nlp"
"""The product token robots.txt rules are matched against."""


# ---------------------------------------------------------------- checks and timing

_HTML = re.compile(rb"^\s*(?:<!doctype\s+html|<html|<head|<body|<\?xml)", re.I)


def check_content(head: bytes, tail: bytes, size: int, expect: str) -> tuple[str, str] | None:
    """Refuse a downloaded file that is not what was listed.

    Args:
        head: its first bytes (1 KiB is enough).
        tail: its last bytes (the last 1 KiB).
        size: its size.
        expect: ``pdf`` (a PDF: starts ``%PDF-``, has ``%%EOF`` in its last 1 KiB), ``csv`` (text with a
            header line, not HTML) or ``any`` (anything but an HTML page).

    Returns:
        None for a good file, else ``(outcome, message)``.
    """
    if size == 0:
        return "incomplete", "the server sent 0 bytes; the next run asks again"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if _HTML.match(start):
        what = {"pdf": "a PDF", "csv": "a CSV file"}.get(expect, "a document")
        return (
            "wrong_type",
            f"the server sent an HTML page (it starts {start[:24]!r}) where {what} was listed: probably an error "
            "or sign-in page; open the URL in a browser",
        )
    if expect == "pdf":
        if not start.startswith(b"%PDF-"):
            return "wrong_type", f"not a PDF: it starts {start[:16]!r}, not %PDF-; open the URL in a browser"
        if b"%%EOF" not in tail[-1024:]:
            return (
                "incomplete",
                f"the PDF has no %%EOF in its last 1,024 bytes: it was cut short ({size:,} bytes received); "
                "the next run downloads it again",
            )
    if expect == "csv":
        first = start.split(b"\n", 1)[0]
        if b"\x00" in start[:256] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "wrong_type", f"not a CSV file: binary bytes at the start ({start[:16]!r})"
        if b"," not in first and b"\t" not in first:
            return "wrong_type", f"not a CSV file: its first line has no comma ({first[:60]!r})"
    return None


def retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds, or an HTTP date), or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds before retry ``attempt`` (0 for the first): ``base``, doubling each time, at most ``cap``."""
    return float(min(cap, base * 2**attempt))


def duration(seconds: float) -> str:
    """A duration in words: ``42 s``, ``7 min 5 s``, ``6 h 7 min``, ``2 d 1 h``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def is_local(url: str) -> bool:
    """Whether a URL names this machine (localhost or a loopback address)."""
    host = (urlsplit(url).hostname or "").strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_polite(url: str, params: FetchParams, what: str) -> None:
    """Refuse to ask a non-local site anything without a contact, or faster than one request a second.

    Raises:
        PipelineError: naming the setting and how to set it.
    """
    if any(c in params.contact for c in "\r\n\x00"):
        raise PipelineError("fetch.contact holds a line break; write an e-mail address or URL on one line")
    if is_local(url):
        return
    if not params.contact.strip():
        raise PipelineError(
            f"{what} {url} is not on this machine and no contact is set: the User-Agent must say how the "
            "site's operators can reach you, to ask you to slow down or stop. Pass --contact you@example.org "
            "(or a URL), or set fetch.contact in params.yaml"
        )
    if params.min_interval_s < 1.0:
        raise PipelineError(
            f"fetch.min_interval_s = {params.min_interval_s} is under 1 s; against {urlsplit(url).hostname} "
            "the fetcher waits at least 1 s between requests (faster only against a server on this machine)"
        )


def user_agent(contact: str) -> str:
    """The User-Agent: the project, its version and the user's contact."""
    try:
        from importlib.metadata import version

        ver = version("ofsted-nlp")
    except Exception:  # not installed (a source checkout): the version is only informative
        ver = "0"
    return f"{AGENT}/{ver} (research fetcher of published inspection documents; contact: {contact or 'none'})"


# ---------------------------------------------------------------- the HTTP client


class TransportError(Exception):
    """A request that got no (complete) answer: retried.

    Args:
        outcome: ``timeout``, ``connection_error`` or ``truncated``.
        message: what happened.
    """

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


class Refused(Exception):
    """An answer that will not get better by asking again (too large, wrong type): not retried."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


class FetchStopped(PipelineError):
    """The run stopped rather than keep asking a site that is failing or asked us to wait."""


class Response(Protocol):
    """An HTTP answer whose body has not been read yet."""

    @property
    def status(self) -> int:
        """The HTTP status."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """The headers (looked up without regard to case, for the real transport)."""
        ...

    def chunks(self, size: int) -> Iterator[bytes]:
        """The body, piece by piece; raises `TransportError` if the connection fails part way."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class Transport(Protocol):
    """Makes one GET request; follows no redirects (the client does, so robots.txt and pacing apply to each)."""

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Response:
        """Send the request and read the answer's status and headers; raises `TransportError`."""
        ...


class _RequestsResponse:
    def __init__(self, response: requests.Response) -> None:
        self._r = response
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    def chunks(self, size: int) -> Iterator[bytes]:
        import requests

        try:
            yield from self._r.iter_content(size)
        except requests.exceptions.ChunkedEncodingError as exc:
            raise TransportError("truncated", f"the connection closed part way through the body ({exc})") from None
        except requests.exceptions.ConnectionError as exc:
            kind = "timeout" if "timed out" in str(exc).lower() else "connection_error"
            raise TransportError(kind, f"reading the body failed ({exc})") from None
        except requests.exceptions.RequestException as exc:
            raise TransportError("connection_error", f"reading the body failed ({exc})") from None

    def close(self) -> None:
        self._r.close()


class RequestsTransport:
    """The real transport: a `requests.Session`, streaming, no redirects followed."""

    def __init__(self) -> None:
        import requests

        self.session = requests.Session()

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Response:
        """One GET request (see `Transport`)."""
        import requests

        try:
            r = self.session.get(url, headers=dict(headers), timeout=timeout, stream=True, allow_redirects=False)
        except requests.exceptions.Timeout as exc:
            raise TransportError("timeout", f"no answer within {timeout:g} s ({type(exc).__name__})") from None
        except requests.exceptions.RequestException as exc:
            raise TransportError("connection_error", f"{type(exc).__name__}: {exc}") from None
        return _RequestsResponse(r)

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()


T = TypeVar("T")


@dataclass(frozen=True)
class Got(Generic[T]):
    """A request that succeeded: 200 with what the reader made of the body, or 304 (value None)."""

    url: str
    status: int
    headers: Mapping[str, str]
    value: T | None


@dataclass(frozen=True)
class Failed:
    """A request that failed: the manifest outcome, the last status, and a message."""

    outcome: str
    status: int | None
    message: str


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_STATUS_ADVICE = {
    400: "the site did not understand the request; check the URL",
    401: "the site asks for a login: the file is not public",
    403: "the site refused it: it may block this User-Agent or address; check fetch.contact and slow down",
    404: "not on the site (moved or withdrawn); check the URL in a browser",
    410: "withdrawn from the site",
}


def _advice(status: int) -> str:
    if status in _STATUS_ADVICE:
        return _STATUS_ADVICE[status]
    if status == 429:
        return "the site says we asked too often; raise fetch.min_interval_s"
    if status >= 500:
        return "the site failed; the next run asks again"
    return "an answer the fetcher does not use"


class PoliteClient:
    """Every request of a run: paced, robots.txt honoured, retried, and stopped when the site keeps failing.

    Args:
        transport: sends the requests.
        params: the pacing, retry and politeness settings.
        clock: seconds, monotonic (tests pass a fake).
        sleep: waits (tests pass a fake that advances the fake clock).
        now: the time of day, UTC, for ``Retry-After`` dates and the manifest.
        log: where warnings go (stderr).
    """

    def __init__(
        self,
        transport: Transport,
        params: FetchParams,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    ) -> None:
        self.transport = transport
        self.params = params
        self.clock, self.sleep, self.now, self.log = clock, sleep, now, log
        self.headers = {"User-Agent": user_agent(params.contact)}
        self._robots: dict[str, _Rules] = {}
        self._last: float | None = None
        self._failures = 0
        self._stop: str | None = None
        self.requests = 0
        self.waited = 0.0

    # -- pacing and robots.txt

    def _pace(self, url: str) -> None:
        interval = self.params.min_interval_s
        rules = self._robots.get(_origin(url))
        delay = rules.delay() if rules is not None else None
        if delay is not None:
            interval = max(interval, delay)
        if self._last is not None:
            wait = self._last + interval - self.clock()
            if wait > 0:
                self._wait(wait)
        self._last = self.clock()
        self.requests += 1

    def _wait(self, seconds: float) -> None:
        self.waited += seconds
        self.sleep(seconds)

    def _rules(self, url: str) -> _Rules:
        origin = _origin(url)
        if origin in self._robots:
            return self._robots[origin]
        where = origin + "/robots.txt"
        status, text = self._robots_txt(where)
        if status == 200:
            parser = RobotFileParser(where)
            parser.parse(text.splitlines())
            rules = _Rules(parser)
        elif status in (401, 403):
            rules = _Rules(None, allow=False)
        elif status is not None and 400 <= status < 500:
            rules = _Rules(None, allow=True)  # no robots.txt: everything is allowed
        else:  # RFC 9309: robots.txt unreachable through a server error means nothing is allowed
            rules = _Rules(None, allow=False)
            self.log(
                f"fetch: {where} could not be read ({'status ' + str(status) if status else 'no answer'}); "
                f"nothing on {origin} is fetched this run (RFC 9309)"
            )
        self._robots[origin] = rules
        return rules

    def _robots_txt(self, url: str) -> tuple[int | None, str]:
        """robots.txt's status and text, following redirects, retrying 5xx and failures like any request."""
        seen = [url]
        attempt = 0
        while True:
            self._pace(url)
            try:
                r = self.transport.get(url, self.headers, self.params.timeout_s)
            except TransportError:
                if attempt < self.params.retries:
                    self._wait(backoff(attempt, self.params.backoff_s, self.params.max_wait_s))
                    attempt += 1
                    continue
                return None, ""
            try:
                if r.status in _REDIRECTS and r.headers.get("Location"):
                    nxt = urljoin(url, r.headers["Location"])
                    if nxt in seen or len(seen) > self.params.max_redirects:
                        return None, ""
                    seen.append(nxt)
                    url = nxt
                    continue
                if (r.status >= 500 or r.status == 429) and attempt < self.params.retries:
                    wait = retry_after(r.headers.get("Retry-After"), self.now())
                    self._wait(min(wait, self.params.max_wait_s) if wait is not None else self._backoff(attempt))
                    attempt += 1
                    continue
                if r.status != 200:
                    return r.status, ""
                try:
                    body = read_all(r, 500_000)
                except (TransportError, Refused):
                    return None, ""
                return 200, body.decode("utf-8", "replace")
            finally:
                r.close()

    def _backoff(self, attempt: int) -> float:
        return backoff(attempt, self.params.backoff_s, self.params.max_wait_s)

    def allowed(self, url: str) -> bool:
        """Whether robots.txt of the URL's site lets ofsted-nlp fetch it (reads robots.txt once per site)."""
        return self._rules(url).can_fetch(url)

    # -- requests

    def _failed(self, failure: Failed, *, counts: bool) -> Failed:
        if counts:
            self._failures += 1
            if self._failures >= self.params.max_consecutive_failures:
                self._stop = (
                    f"{self._failures} requests in a row failed (the last: {failure.message}); the site may be down "
                    "or refusing us, so the run stopped rather than keep asking. Files already saved are kept; "
                    "run the same command later to go on (fetch.max_consecutive_failures)"
                )
        return failure

    def get(self, url: str, read: Callable[[Response], T], headers: Mapping[str, str] | None = None) -> Got[T] | Failed:
        """GET a URL and read its body with ``read``.

        Redirects are followed (each hop paced and checked against robots.txt);
        5xx, 429, timeouts, dropped connections and bodies cut short are retried
        ``fetch.retries`` times, waiting ``Retry-After`` when the server gives it,
        else ``fetch.backoff_s`` doubling. ``read`` gets a 200 answer; it may raise
        `TransportError` (retried) or `Refused` (not).

        Returns:
            `Got` for a 200 (with what ``read`` returned) or a 304, else `Failed`.

        Raises:
            FetchStopped: too many failures in a row, or the site asked us to wait longer than fetch.max_wait_s.
            PipelineError: the URL is not on this machine and fetch.contact is not set.
        """
        if self._stop:
            raise FetchStopped(self._stop)
        check_polite(url, self.params, "URL")
        hops = [url]
        attempt = 0
        current = url
        while True:
            if not self.allowed(current):
                return Failed(
                    "robots_disallowed",
                    None,
                    f"{_origin(current)}/robots.txt does not allow {current} for {AGENT}; it is not fetched",
                )
            self._pace(current)
            failure: Failed | None = None
            try:
                r = self.transport.get(current, {**self.headers, **(headers or {})}, self.params.timeout_s)
            except TransportError as exc:
                failure = Failed(exc.outcome, None, f"{exc.message} ({current})")
                wait = None
            else:
                try:
                    status = r.status
                    if status in _REDIRECTS:
                        location = r.headers.get("Location")
                        if not location:
                            return Failed("http_error", status, f"redirect without a Location header from {current}")
                        nxt = urljoin(current, location)
                        if nxt in hops or len(hops) > self.params.max_redirects:
                            chain = " -> ".join([*hops, nxt])
                            return Failed(
                                "redirect_loop",
                                status,
                                f"redirects {'loop' if nxt in hops else 'go on too long'}: {chain}; "
                                "open the first URL in a browser",
                            )
                        hops.append(nxt)
                        current = nxt
                        continue
                    if status == 304:
                        self._failures = 0
                        return Got(current, status, r.headers, None)
                    if status == 429 or status >= 500:
                        wait = retry_after(r.headers.get("Retry-After"), self.now())
                        if wait is not None and wait > self.params.max_wait_s:
                            raise FetchStopped(
                                f"{current} answered {status} asking us to wait {duration(wait)} (Retry-After), "
                                f"longer than fetch.max_wait_s = {duration(self.params.max_wait_s)}: the run stopped. "
                                "Files already saved are kept; run the same command after that time"
                            )
                        failure = Failed("http_error", status, f"{status} from {current}: {_advice(status)}")
                    elif status != 200:
                        return Failed("http_error", status, f"{status} from {current}: {_advice(status)}")
                    else:
                        try:
                            value = read(r)
                        except Refused as exc:
                            return Failed(exc.outcome, status, f"{exc.message} ({current})")
                        except TransportError as exc:
                            failure, wait = Failed(exc.outcome, status, f"{exc.message} ({current})"), None
                        else:
                            self._failures = 0
                            return Got(current, status, r.headers, value)
                finally:
                    r.close()
            assert failure is not None
            if attempt >= self.params.retries:
                if attempt:
                    failure = Failed(failure.outcome, failure.status, f"{failure.message}; {attempt + 1} tries")
                return self._failed(failure, counts=True)
            self._wait(min(wait, self.params.max_wait_s) if wait is not None else self._backoff(attempt))
            attempt += 1


@dataclass(frozen=True)
class _Rules:
    """A site's robots.txt: its parsed rules, or everything allowed (``allow``) or nothing."""

    parser: RobotFileParser | None
    allow: bool = True

    def can_fetch(self, url: str) -> bool:
        return self.parser.can_fetch(AGENT, url) if self.parser is not None else self.allow

    def delay(self) -> float | None:
        value = self.parser.crawl_delay(AGENT) if self.parser is not None else None
        return float(value) if value is not None else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def read_all(r: Response, limit: int) -> bytes:
    """A whole (small) body, refused past ``limit`` bytes."""
    buf = io.BytesIO()
    for chunk in r.chunks(65536):
        buf.write(chunk)
        if buf.tell() > limit:
            raise Refused("too_large", f"the page is over {limit:,} bytes (fetch.max_page_bytes)")
    return buf.getvalue()


@dataclass(frozen=True)
class Downloaded:
    """A body streamed to a temporary file."""

    tmp: Path
    size: int
    sha256: str
    head: bytes
    tail: bytes


def _declared_length(r: Response) -> int | None:
    value = r.headers.get("Content-Length")
    if value is None or r.headers.get("Content-Encoding", "identity") != "identity" or not value.strip().isdigit():
        return None
    return int(value)


def streamer(tmp: Path, limit: int, max_seconds: float, clock: Callable[[], float]) -> Callable[[Response], Downloaded]:
    """A body reader that streams to ``tmp``, hashing as it goes, and refuses past ``limit`` bytes.

    A body shorter than its Content-Length, or one that takes longer than
    ``max_seconds``, raises `TransportError` (retried); one over the limit
    raises `Refused` without reading the rest.
    """

    def read(r: Response) -> Downloaded:
        declared = _declared_length(r)
        if declared is not None and declared > limit:
            raise Refused("too_large", f"the server says the file is {declared:,} bytes, over the limit of {limit:,}")
        start = clock()
        digest = hashlib.sha256()
        size = 0
        head = b""
        tail = b""
        with tmp.open("wb") as f:
            for chunk in r.chunks(65536):
                size += len(chunk)
                if size > limit:
                    raise Refused("too_large", f"the file passed the limit of {limit:,} bytes; not read further")
                if clock() - start > max_seconds:
                    raise TransportError("timeout", f"the file took longer than {max_seconds:g} s to download")
                digest.update(chunk)
                f.write(chunk)
                if len(head) < 1024:
                    head += chunk[: 1024 - len(head)]
                tail = (tail + chunk)[-1024:]
        if declared is not None and size < declared:
            raise TransportError("truncated", f"{size:,} of {declared:,} bytes came before the connection closed")
        return Downloaded(tmp, size, digest.hexdigest(), head, tail)

    return read
