"""A local stand-in for Ofsted's reports site, GIAS downloads and GOV.UK's content API, with faults on demand.

`SiteServer` serves routes (path → handler) on 127.0.0.1 from a thread and
logs every request, so tests can check what was asked for, in what order,
with which headers. Handlers build answers and faults: a page, a file (with
ETag and Last-Modified, answering conditional requests with 304), a status,
a sequence (the nth request gets the nth answer), a connection dropped mid-body,
a slow answer, a body that trickles, a redirect.

The pages use the markup the fetcher reads (pipeline/readers/site.py) and
invented schools only (URNs 990001-990009, LA "Eastmere", code 990).

Run ``python -m tests.site_server`` to serve the demo site by hand (docs/fetch.md
shows the commands and their output against it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import hashlib
import html
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[BaseHTTPRequestHandler, int], None]
"""Answers one request; gets the request handler and how many requests that path had before."""


@dataclass
class Logged:
    """One request the server got."""

    method: str
    path: str
    headers: dict[str, str]
    at: float


def send(req: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
    """Send a whole answer."""
    req.send_response(status)
    hdrs = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
    for k, v in hdrs.items():
        req.send_header(k, v)
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    if req.command != "HEAD":
        req.wfile.write(body)


def page(body: str | bytes, status: int = 200, content_type: str = "text/html; charset=utf-8") -> Handler:
    """A page."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return lambda req, n: send(req, status, data, {"Content-Type": content_type})


LAST_MODIFIED = email.utils.format_datetime(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), usegmt=True)


def file(data: bytes, content_type: str = "application/pdf", etag: bool = True) -> Handler:
    """A file with an ETag and Last-Modified; a conditional request that matches gets 304."""
    tag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'

    def handle(req: BaseHTTPRequestHandler, n: int) -> None:
        if etag and (req.headers.get("If-None-Match") == tag or req.headers.get("If-Modified-Since") == LAST_MODIFIED):
            send(req, 304, b"", {"ETag": tag})
            return
        extra = {"ETag": tag, "Last-Modified": LAST_MODIFIED} if etag else {}
        send(req, 200, data, {"Content-Type": content_type, **extra})

    return handle


def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"error") -> Handler:
    """An answer with this status."""
    return lambda req, n: send(req, code, body, headers)


def sequence(*handlers: Handler) -> Handler:
    """The nth request gets the nth handler; the last one answers every request after."""
    return lambda req, n: handlers[min(n, len(handlers) - 1)](req, n)


def drop(data: bytes, after: int) -> Handler:
    """Promise the whole body (Content-Length), send ``after`` bytes, then close the connection."""

    def handle(req: BaseHTTPRequestHandler, n: int) -> None:
        req.send_response(200)
        req.send_header("Content-Type", "application/pdf")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data[:after])
        req.wfile.flush()
        req.close_connection = True

    return handle


def slow(delay: float, then: Handler) -> Handler:
    """Wait ``delay`` seconds before answering."""

    def handle(req: BaseHTTPRequestHandler, n: int) -> None:
        time.sleep(delay)
        then(req, n)

    return handle


def trickle(data: bytes, pieces: int, delay: float, started: threading.Event | None = None) -> Handler:
    """Send the body in ``pieces`` parts, ``delay`` seconds apart (a long download to interrupt)."""

    def handle(req: BaseHTTPRequestHandler, n: int) -> None:
        req.send_response(200)
        req.send_header("Content-Type", "application/pdf")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        step = max(1, len(data) // pieces)
        try:
            for i in range(0, len(data), step):
                req.wfile.write(data[i : i + step])
                req.wfile.flush()
                if started is not None and i:
                    started.set()
                time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            req.close_connection = True

    return handle


def redirect(location: str, code: int = 302) -> Handler:
    """A redirect."""
    return lambda req, n: send(req, code, b"", {"Location": location})


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up is no error here
            super().handle_error(request, client_address)


@dataclass
class SiteServer:
    """An HTTP server on 127.0.0.1 (a free port) serving ``routes`` from a thread.

    Use as a context manager. A path with no route gets 404; ``fallback`` may
    answer paths by pattern instead.
    """

    routes: dict[str, Handler] = field(default_factory=dict)
    fallback: Callable[[str], Handler | None] | None = None
    port: int = 0
    log: list[Logged] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

            def do_GET(self) -> None:
                with server._lock:
                    n = server._counts.get(self.path, 0)
                    server._counts[self.path] = n + 1
                    server.log.append(Logged("GET", self.path, dict(self.headers.items()), time.monotonic()))
                handler = server.routes.get(self.path) or (server.fallback(self.path) if server.fallback else None)
                try:
                    (handler or status(404, body=b"<html><body>Not found</body></html>"))(self, n)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = _Server(("127.0.0.1", self.port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> SiteServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def paths(self) -> list[str]:
        """The paths asked for, in order."""
        with self._lock:
            return [r.path for r in self.log]


# ---------------------------------------------------------------- markup


@dataclass(frozen=True)
class Event:
    """One document on a school's page."""

    name: str
    date: str
    href: str
    format: str = "PDF"


def provider_page(school: str, events: Sequence[Event], opened: str | None = "1 September 2004") -> str:
    """A school's page in the reports site's markup: its name and a timeline of documents, newest first."""
    items = []
    for e in events:
        label = f"{e.name}, {e.format} - {e.date}" if e.format else f"{e.name} - {e.date}"
        items.append(
            '    <li class="timeline__day">\n'
            f'      <p class="timeline__date">{html.escape(e.date)}</p>\n'
            f'      <a class="publication-link" href="{html.escape(e.href)}">{html.escape(e.name)}'
            f'<span class="nonvisual">{html.escape(label)}</span></a>\n'
            "    </li>"
        )
    if opened:
        items.append(f'    <li class="timeline__day timeline__day--opened"><p>{opened}</p><p>School opened</p></li>')
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><title>"
        + html.escape(school)
        + " - invented for tests</title></head><body>\n"
        + '<h1 class="heading--title">'
        + html.escape(school)
        + "</h1>\n<p>An invented school: the ofsted-nlp fetch tests serve this page.</p>\n"
        + '<ol class="timeline">\n'
        + "\n".join(items)
        + "\n</ol>\n</body></html>\n"
    )


def search_page(links: Sequence[tuple[str, str]], next_href: str | None) -> str:
    """A page of search results: ``(name, href)`` links and a next-page link."""
    lis = "\n".join(
        f'  <li><h3><a href="{html.escape(h)}">{html.escape(n)}</a></h3><p>A school</p></li>' for n, h in links
    )
    nxt = f'<a class="pagination__next" href="{html.escape(next_href)}">Next</a>' if next_href else ""
    return f'<!DOCTYPE html><html><body><ul class="results-list">\n{lis}\n</ul>{nxt}</body></html>'


def letter_pdf(school: str, title: str, date: str) -> bytes:
    """A small real PDF for an invented document."""
    from tests.pdf_factory import text_pdf

    return text_pdf(
        [
            [
                title,
                "",
                f"{school} (an invented school)",
                f"Date: {date}",
                "",
                "This document was made for the ofsted-nlp fetch tests. It is not an Ofsted document.",
            ]
        ],
        footer="Page {page} of {pages}",
    )


# ---------------------------------------------------------------- the demo site

DEMO_SCHOOLS: dict[int, tuple[str, list[tuple[str, str]]]] = {
    990001: (
        "Alderbank Primary School",
        [
            ("Monitoring inspection report", "20 March 2014"),
            ("Monitoring inspection report", "2 December 2013"),
            ("Inspection report", "14 May 2013"),
        ],
    ),
    990002: (
        "Quillmoor Junior School",
        [("Short inspection report", "9 October 2017"), ("Inspection report", "3 March 2015")],
    ),
    990003: (
        "Tansley Vale Academy",
        [("Pupil voice survey visit", "4 June 2019"), ("Section 8 inspection report", "11 January 2018")],
    ),
}
"""URN → (invented school, its documents as (event name, date) newest first)."""

DEMO_LA = ("Eastmere", 990)
GIAS_HEADER = (
    "URN,LA (code),LA (name),EstablishmentNumber,EstablishmentName,TypeOfEstablishment (name),"
    "EstablishmentStatus (name),OpenDate,CloseDate,PhaseOfEducation (name),Postcode\r\n"
)


def demo_gias() -> bytes:
    """A GIAS establishments extract of the demo schools (and one of another invented LA)."""
    rows = [
        f"{urn},{DEMO_LA[1]},{DEMO_LA[0]},{2000 + i},{name},Community school,Open,01-09-2004,,Primary,EM{i} 1AA"
        for i, (urn, (name, _)) in enumerate(DEMO_SCHOOLS.items(), 1)
    ]
    rows.append("990101,991,Westmere,3001,Hallow Lane School,Community school,Open,01-09-2004,,Primary,WM1 1AA")
    return (GIAS_HEADER + "\r\n".join(rows) + "\r\n").encode("cp1252")


def demo_links() -> bytes:
    """A GIAS links file of the demo schools."""
    return b"URN,LinkURN,LinkName,LinkType,LinkEstablishedDate\r\n990003,990101,Hallow Lane School,Successor,\r\n"


def demo_mi() -> bytes:
    """An Ofsted MI extract of the demo schools."""
    return (
        b"URN,School name,Inspection start date,Overall effectiveness,Category of concern\r\n"
        b"990001,Alderbank Primary School,14/05/2013,4,SM\r\n990002,Quillmoor Junior School,03/03/2015,2,\r\n"
    )


def demo_routes(files_url: str, today: dt.date | None = None) -> tuple[dict[str, Handler], dict[str, Handler]]:
    """The demo site's routes and its file host's routes.

    Args:
        files_url: the file host's base URL (the pages link there, as the real
            site links to files.ofsted.gov.uk).
        today: the day whose GIAS files are published (default: today).

    Returns:
        ``(site routes, file host routes)``.
    """
    day = (today or dt.date.today()).strftime("%Y%m%d")
    site: dict[str, Handler] = {
        "/robots.txt": page("User-agent: *\nDisallow: /search/private\n", content_type="text/plain")
    }
    files: dict[str, Handler] = {"/robots.txt": page("User-agent: *\nAllow: /\n", content_type="text/plain")}
    file_id = 50000
    for urn, (name, events) in DEMO_SCHOOLS.items():
        shown = []
        for event, date in events:
            file_id += 1
            files[f"/v1/file/{file_id}"] = file(letter_pdf(name, event, date))
            shown.append(Event(event, date, f"{files_url}/v1/file/{file_id}"))
        site[f"/provider/21/{urn}"] = page(provider_page(name, shown))
    site["/search?q=&la=990"] = page(
        search_page([(DEMO_SCHOOLS[u][0], f"/provider/21/{u}") for u in (990001, 990002)], "/search?q=&la=990&page=2")
    )
    site["/search?q=&la=990&page=2"] = page(search_page([(DEMO_SCHOOLS[990003][0], "/provider/21/990003")], None))
    # GIAS downloads and GOV.UK's content API, for fetch-reference
    site[f"/edubase/downloads/public/edubasealldata{day}.csv"] = file(demo_gias(), "text/csv")
    site[f"/edubase/downloads/public/links_edubasealldata{day}.csv"] = file(demo_links(), "text/csv")
    mi = "/media/demo/Management_information_-_state-funded_schools_-_latest_inspections.csv"
    site[mi] = file(demo_mi(), "text/csv")
    content = {
        "title": "Monthly management information: Ofsted's school inspections outcomes (invented for tests)",
        "details": {
            "attachments": [
                {
                    "title": "Management information - state-funded schools - latest inspections",
                    "url": mi,
                    "content_type": "text/csv",
                    "filename": mi.rsplit("/", 1)[-1],
                },
                {
                    "title": "Management information - state-funded schools - latest inspections (ODS)",
                    "url": "/media/demo/mi.ods",
                    "content_type": "application/vnd.oasis.opendocument.spreadsheet",
                },
            ]
        },
    }
    site[
        "/api/content/government/statistical-data-sets/monthly-management-information-ofsteds-school-inspections-outcomes"
    ] = page(json.dumps(content), content_type="application/json")
    return site, files


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the demo site and its file host until interrupted."""
    ap = argparse.ArgumentParser(prog="python -m tests.site_server", description="Serve the demo site for fetch.")
    ap.add_argument("--port", type=int, default=8765, help="the site's port (the file host takes the next one)")
    args = ap.parse_args(argv)
    files_server = SiteServer(port=args.port + 1)
    site_routes, file_routes = demo_routes(files_server.url)
    files_server.routes.update(file_routes)
    with SiteServer(site_routes, port=args.port) as site, files_server:
        print(f"site {site.url}  files {files_server.url}  (Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
