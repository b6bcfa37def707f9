"""The fetch stage: pages read, kinds mapped, files checked, the site treated politely, every fault a manifest row.

Pure parts (page readers, kinds, decisions, checks) are tested without a
server; the client's retry, pacing and robots logic with a fake transport and
a fake clock; the whole stage against local servers (tests/site_server.py)
that inject each fault, including a SIGKILL of the command mid-download.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline import cli
from pipeline.errors import PipelineError
from pipeline.fetch import reference
from pipeline.fetch.client import (
    Failed,
    FetchStopped,
    Got,
    PoliteClient,
    RequestsTransport,
    TransportError,
    backoff,
    check_content,
    check_polite,
    duration,
    is_local,
    retry_after,
    streamer,
    user_agent,
)
from pipeline.fetch.manifest import MANIFEST, MANIFEST_NAME, OUTCOMES, Manifest
from pipeline.fetch.params import DEFAULT_KINDS, FetchParams
from pipeline.fetch.save import Tally, size_text
from pipeline.readers.reference import load_schools
from pipeline.readers.site import (
    Listing,
    PageChanged,
    ProviderPage,
    parse_attachments,
    parse_listed_as,
    parse_provider_page,
    parse_search_page,
    parse_site_date,
    urn_of,
)
from pipeline.stages import fetch
from pipeline.stages.fetch import Target, compile_kinds, decide, kind_of
from tests import pdf_factory
from tests.conftest import ROOT
from tests.site_server import (
    Event,
    SiteServer,
    demo_routes,
    drop,
    file,
    letter_pdf,
    page,
    provider_page,
    redirect,
    search_page,
    sequence,
    slow,
    status,
    trickle,
)

KINDS = compile_kinds(DEFAULT_KINDS)
PDF = letter_pdf("Alderbank Primary School", "Monitoring inspection report", "20 March 2014")


def fast(**changes: Any) -> FetchParams:
    """Params for tests: no pacing, tiny backoff and timeouts."""
    base = FetchParams(
        min_interval_s=0.0,
        backoff_s=0.01,
        max_wait_s=2.0,
        timeout_s=1.0,
        max_download_s=10.0,
        retries=2,
        max_consecutive_failures=100,
        max_failed_share=1.0,
    )
    return replace(base, **changes)


def visible_files(root: Path) -> list[Path]:
    """Files a reader (ingest) sees: hidden files and folders left out."""
    return sorted(
        p for p in root.rglob("*") if p.is_file() and not any(s.startswith(".") for s in p.relative_to(root).parts)
    )


def manifest_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- reading the site's pages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Monitoring inspection report, PDF - 12 March 2019", ("Monitoring inspection report", "PDF", "12 March 2019")),
        (
            "Section 8 - no formal designation, PDF - 1 July 2015",
            ("Section 8 - no formal designation", "PDF", "1 July 2015"),
        ),
        ("Inspection report - 3 March 2015", ("Inspection report", None, "3 March 2015")),
        ("Inspection report, PDF", ("Inspection report", "PDF", None)),
        ("  Report,  pdf –  12 Mar 2019 ", ("Report", "PDF", "12 Mar 2019")),
        ("Inspection, Monitoring, PDF - 4 June 2019", ("Inspection, Monitoring", "PDF", "4 June 2019")),
    ],
)
def test_a_links_description_gives_event_format_and_date(
    text: str, expected: tuple[str, str | None, str | None]
) -> None:
    assert parse_listed_as(text) == expected


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("12 March 2019", dt.date(2019, 3, 12)),
        ("1st July 2015", dt.date(2015, 7, 1)),
        ("12 Sept 2019", dt.date(2019, 9, 12)),
        ("12 Mar 2019", dt.date(2019, 3, 12)),
        ("12/03/2019", dt.date(2019, 3, 12)),
        ("31 February 2019", None),
        ("soon", None),
    ],
)
def test_site_dates(text: str, day: dt.date | None) -> None:
    assert parse_site_date(text) == day


def test_a_schools_page_lists_each_document_in_order() -> None:
    html = provider_page(
        "Alderbank Primary School",
        [
            Event("Monitoring inspection report", "20 March 2014", "https://files.example/v1/file/50001"),
            Event("Inspection report", "14 May 2013", "/v1/file/50003"),
        ],
    )
    page_ = parse_provider_page(html, "http://127.0.0.1:9/provider/21/990001")
    assert page_.school == "Alderbank Primary School"
    assert page_.problems == ()
    assert page_.listings == (
        Listing(
            "https://files.example/v1/file/50001",
            "Monitoring inspection report, PDF - 20 March 2014",
            "Monitoring inspection report",
            "PDF",
            "20 March 2014",
            dt.date(2014, 3, 20),
        ),
        Listing(
            "http://127.0.0.1:9/v1/file/50003",  # a relative link, resolved against the page
            "Inspection report, PDF - 14 May 2013",
            "Inspection report",
            "PDF",
            "14 May 2013",
            dt.date(2013, 5, 14),
        ),
    )  # the "School opened" item has no file and is not a listing


def test_a_page_without_the_timeline_names_the_missing_element_and_the_url() -> None:
    url = "http://127.0.0.1:9/provider/21/990001"
    with pytest.raises(PageChanged) as err:
        parse_provider_page("<html><body><h1>Alderbank</h1><div class='documents'></div></body></html>", url)
    assert err.value.element.startswith("ol.timeline")
    assert f"no ol.timeline (the list of documents) on {url}" in err.value.message
    assert "report the change" in err.value.message


def test_timeline_items_that_cannot_be_read_are_problems_not_listings() -> None:
    html = """<h1 class="heading--title">Quillmoor Junior School</h1><ol class="timeline">
      <li class="timeline__day"><p>Report withdrawn</p></li>
      <li class="timeline__day"><a class="publication-link" href="/v1/file/7">
        Short inspection report, PDF - 9 October 2017</a></li>
      <li class="timeline__day"><a class="publication-link" href="/v1/file/8">
        <span class="nonvisual">Inspection report, PDF - some day</span></a></li>
      <li class="timeline__day"><a class="publication-link">
        <span class="nonvisual">Inspection report, PDF - 3 March 2015</span></a></li>
    </ol>"""
    page_ = parse_provider_page(html, "http://x/provider/21/990002")
    assert [(lst.event, lst.date) for lst in page_.listings] == [
        ("Short inspection report", dt.date(2017, 10, 9)),  # no span.nonvisual: the link's own text is read
        ("Inspection report", None),  # kept, undated
    ]
    assert len(page_.problems) == 4
    assert (
        "timeline item 1 ('Report withdrawn') has no a.publication-link on http://x/provider/21/990002"
        in (page_.problems[0])
    )
    assert "has no span.nonvisual" in page_.problems[1]
    assert "date 'some day' not read" in page_.problems[2]
    assert "timeline item 4 has no href" in page_.problems[3]


def test_search_results_and_the_next_page() -> None:
    html = search_page([("Alderbank", "/provider/21/990001"), ("Quillmoor", "/provider/21/990002")], "/search?page=2")
    pages, nxt = parse_search_page(html, "http://x/search?page=1")
    assert pages == ["http://x/provider/21/990001", "http://x/provider/21/990002"]
    assert nxt == "http://x/search?page=2"
    assert parse_search_page(search_page([], None), "http://x/s") == ([], None)
    assert [urn_of(p) for p in pages] == [990001, 990002]
    with pytest.raises(PageChanged, match=r"no ul\.results-list \(the search results\) on http://x/s"):
        parse_search_page("<html><ul class='results'></ul></html>", "http://x/s")


def test_gov_uk_attachments() -> None:
    data = {"details": {"attachments": [{"url": "/media/a.csv", "title": " MI\n file ", "content_type": "text/csv"}]}}
    [a] = parse_attachments(data, "https://www.gov.uk/api/content/x")
    assert (a.url, a.title, a.content_type) == ("https://www.gov.uk/media/a.csv", "MI file", "text/csv")
    with pytest.raises(PageChanged, match=r"no details\.attachments"):
        parse_attachments({"details": {}}, "https://www.gov.uk/api/content/x")


# ---------------------------------------------------------------- kinds, scope, decisions


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("Monitoring inspection report", "monitoring_letter"),
        ("Monitoring inspection", "monitoring_letter"),
        ("Section 8 inspection report", "section8_letter"),
        ("Short inspection report", "section8_letter"),
        ("Ungraded inspection", "section8_letter"),
        ("Section 8 - no formal designation", "section8_letter"),
        ("Inspection report", "section5_report"),
        ("Full inspection report", "section5_report"),
        ("Section 5 inspection report", "section5_report"),
        ("Pupil voice survey visit", "unknown"),
        ("Interim assessment", "unknown"),
    ],
)
def test_event_names_map_to_kinds_by_the_params_table(event: str, kind: str) -> None:
    assert kind_of(event, KINDS) == kind


def test_the_first_matching_pattern_wins_and_case_is_ignored() -> None:
    kinds = compile_kinds({"monitoring": "a", "report": "b"})
    assert kind_of("MONITORING INSPECTION REPORT", kinds) == "a"
    assert kind_of("Inspection Report", kinds) == "b"


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"monitoring(": "monitoring_letter"}, ["'monitoring('", "not a regular expression", "params.yaml"]),
        ({"monitoring": "Monitoring letter"}, ["'Monitoring letter'", "lower-case"]),
        ({"monitoring": "unknown"}, ["'unknown'", "unmatched event name"]),
    ],
)
def test_a_bad_kinds_table_is_a_clear_error(table: dict[str, str], words: list[str]) -> None:
    with pytest.raises(PipelineError) as err:
        compile_kinds(table)
    for word in words:
        assert word in str(err.value)


def test_kinds_argument() -> None:
    assert fetch.parse_kinds_arg(None, DEFAULT_KINDS) is None
    assert fetch.parse_kinds_arg("monitoring_letter, unknown", DEFAULT_KINDS) == frozenset(
        {"monitoring_letter", "unknown"}
    )
    with pytest.raises(PipelineError, match=r"--kinds: 'letters' is not a kind of fetch.kinds; valid: \["):
        fetch.parse_kinds_arg("letters", DEFAULT_KINDS)


def test_params_yaml_has_the_fetch_section_with_the_default_kinds() -> None:
    params = cli._stage_params(ROOT / "params.yaml", "fetch", FetchParams)
    assert params.kinds == DEFAULT_KINDS
    assert params.site == "https://reports.ofsted.gov.uk" and params.min_interval_s >= 1.0
    assert params.max_bytes == yaml.safe_load((ROOT / "params.yaml").read_text())["ingest"]["max_bytes"]


def test_urns_from_a_file() -> None:
    text = "URN\n990001\n# a comment\n\n990002, Quillmoor Junior School\n990001\n990003 # trailing comment\n"
    assert fetch.read_urns(text, "urns.txt") == [990001, 990002, 990003]
    with pytest.raises(PipelineError, match=r"urns.txt line 2: 'Alderbank' is not a URN"):
        fetch.read_urns("990001\nAlderbank\n", "urns.txt")


def test_urns_of_an_la_from_the_gias_file() -> None:
    data = (ROOT / "corpus" / "reference" / "edubasealldata_sample.csv").read_bytes()
    schools, _ = load_schools(data, "edubasealldata_sample.csv")
    luton = [900101, 900102, 900103, 900111, 900121]
    assert fetch.urns_in_la(schools, "luton") == luton
    assert fetch.urns_in_la(schools, " LUTON ") == luton
    assert fetch.urns_in_la(schools, "821") == luton
    with pytest.raises(PipelineError, match=r"--la 'Lutton': no establishment .* did you mean 'Luton'\?"):
        fetch.urns_in_la(schools, "Lutton")


def _listing(url: str, event: str, day: dt.date | None) -> Listing:
    return Listing(url, f"{event}, PDF - x", event, "PDF", None, day)


def test_decide_what_to_do_with_each_listed_file() -> None:
    page_ = ProviderPage(
        "http://x/provider/21/990001",
        "Alderbank Primary School",
        (
            _listing("http://f/v1/file/1", "Monitoring inspection report", dt.date(2014, 3, 20)),
            _listing("http://f/v1/file/2", "Inspection report", dt.date(2009, 5, 14)),
            _listing("http://f/v1/file/3", "Pupil voice survey visit", dt.date(2019, 6, 4)),
            _listing("http://f/v1/file/4", "Monitoring inspection report", None),
            _listing("http://f/v1/file/1", "Monitoring inspection report", dt.date(2014, 3, 20)),  # listed twice
            _listing("http://f/v1/file/5", "Section 8 inspection report", dt.date(2018, 1, 11)),
            _listing("http://f/other/5", "Section 8 inspection report", dt.date(2018, 1, 11)),  # same name
        ),
        (),
    )
    held: dict[tuple[int | None, str], dict[str, Any]] = {(990001, "http://f/v1/file/1"): {"path": "990001/x.pdf"}}
    elsewhere: dict[str, dict[str, Any]] = {"http://f/v1/file/4": {"path": "x"}, "http://f/v1/file/1": {"path": "y"}}
    items = decide(page_, 990001, KINDS, held, elsewhere, since=dt.date(2010, 1, 1), wanted=None)
    assert [(i.url.rsplit("/", 1)[1], i.kind, i.action) for i in items] == [
        ("1", "monitoring_letter", "held"),
        ("2", "section5_report", "outside_dates"),
        ("3", "unknown", "fetch"),  # kept, with kind unknown
        ("4", "monitoring_letter", "held_elsewhere"),  # undated: --since cannot rule it out
        ("5", "section8_letter", "fetch"),
        ("5", "section8_letter", "fetch"),
    ]
    assert items[0].stem == "990001/2014-03-20_monitoring_letter_1"
    assert items[3].stem == "990001/undated_monitoring_letter_4"
    assert items[4].stem == "990001/2018-01-11_section8_letter_5"
    assert re.fullmatch(r"990001/2018-01-11_section8_letter_5-[0-9a-f]{8}", items[5].stem)  # two URLs, two names
    only = decide(page_, 990001, KINDS, {}, {}, wanted=frozenset({"monitoring_letter"}), until=dt.date(2015, 1, 1))
    assert [i.action for i in only] == [
        "fetch",
        "outside_kinds",
        "outside_dates",
        "fetch",
        "outside_dates",
        "outside_dates",
    ]
    assert decide(page_, 990001, KINDS, held, {}, refresh=True)[0].action == "refresh"


def test_file_names_from_urls() -> None:
    assert fetch.file_stem(
        990001, dt.date(2019, 3, 12), "monitoring_letter", "https://files.ofsted.gov.uk/v1/file/50012345"
    ) == ("990001/2019-03-12_monitoring_letter_50012345")
    # an older scheme ends in the URN itself: the name comes from a hash of the URL instead
    old = fetch.file_stem(
        103980, None, "section5_report", "https://reports.ofsted.gov.uk/provider/files/2631211/urn/103980.pdf"
    )
    assert re.fullmatch(r"103980/undated_section5_report_[0-9a-f]{10}", old)


# ---------------------------------------------------------------- checks on what was downloaded

HTML_ERROR = b"<!DOCTYPE html>\n<html><head><title>Sorry, something went wrong</title></head><body>Error</body></html>"


@pytest.mark.parametrize(
    ("data", "expect", "outcome", "words"),
    [
        (PDF, "pdf", None, []),
        (PDF + b"\r\n\r\n", "pdf", None, []),  # whitespace after %%EOF is fine
        (HTML_ERROR, "pdf", "wrong_type", ["HTML page", "where a PDF was listed", "open the URL in a browser"]),
        (b"\xef\xbb\xbf  <html><body>x</body></html>", "csv", "wrong_type", ["HTML page", "a CSV file"]),
        (pdf_factory.truncated_pdf(), "pdf", "incomplete", ["no %%EOF", "cut short", "downloads it again"]),
        (b"PK\x03\x04 not a pdf", "pdf", "wrong_type", ["not a PDF", "starts b'PK"]),
        (b"", "pdf", "incomplete", ["0 bytes"]),
        (b"URN,LA (code)\r\n1,2\r\n", "csv", None, []),
        (b"just some words\nmore\n", "csv", "wrong_type", ["no comma"]),
        (b"anything at all", "any", None, []),
    ],
)
def test_downloaded_bytes_are_checked(data: bytes, expect: str, outcome: str | None, words: list[str]) -> None:
    result = check_content(data[:1024], data[-1024:], len(data), expect)
    assert (result[0] if result else None) == outcome
    for word in words:
        assert result is not None and word in result[1]


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert retry_after("7", now) == 7.0
    assert retry_after("Tue, 02 Jan 2024 03:04:15 GMT", now) == 10.0
    assert retry_after("Tue, 02 Jan 2024 03:00:00 GMT", now) == 0.0
    assert retry_after("soon", now) is None
    assert retry_after(None, now) is None


def test_backoff_doubles_up_to_the_cap_and_durations_read_well() -> None:
    assert [backoff(a, 2.0, 10.0) for a in range(4)] == [2.0, 4.0, 8.0, 10.0]
    assert [duration(s) for s in (42, 425, 22_020, 174_000)] == ["42 s", "7 min 5 s", "6 h 7 min", "2 d 0 h"]
    assert [size_text(n) for n in (562, 1_234, 3_400_000)] == ["562 B", "1.2 kB", "3.4 MB"]


# ---------------------------------------------------------------- politeness


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8765/provider/21/1", True),
        ("http://localhost/x", True),
        ("http://[::1]:80/x", True),
        ("http://127.9.9.9/x", True),
        ("https://reports.ofsted.gov.uk/provider/21/1", False),
        ("http://10.0.0.1/x", False),
    ],
)
def test_what_counts_as_this_machine(url: str, local: bool) -> None:
    assert is_local(url) is local


def test_a_live_site_needs_a_contact_and_one_second_between_requests() -> None:
    live = "https://reports.ofsted.gov.uk"
    with pytest.raises(PipelineError) as err:
        check_polite(live, FetchParams(), "--site")
    assert "--site https://reports.ofsted.gov.uk is not on this machine and no contact is set" in str(err.value)
    assert "Pass --contact you@example.org" in str(err.value) and "fetch.contact in params.yaml" in str(err.value)
    with pytest.raises(PipelineError, match=r"fetch.min_interval_s = 0.2 is under 1 s"):
        check_polite(live, FetchParams(contact="me@example.org", min_interval_s=0.2), "--site")
    with pytest.raises(PipelineError, match="line break"):
        check_polite("http://127.0.0.1/", FetchParams(contact="me@example.org\r\nX-Evil: 1"), "--site")
    check_polite(live, FetchParams(contact="me@example.org"), "--site")
    check_polite("http://127.0.0.1:1/", FetchParams(min_interval_s=0), "--site")  # local: no contact needed
    assert "ofsted-nlp/" in user_agent("me@example.org") and "contact: me@example.org" in user_agent("me@example.org")


# ---------------------------------------------------------------- the client, with a fake transport and clock


@dataclass
class FakeResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    cut_at: int | None = None

    def chunks(self, size: int) -> Iterator[bytes]:
        if self.cut_at is not None:
            yield self.body[: self.cut_at]
            raise TransportError("truncated", "the connection closed part way through the body")
        for i in range(0, len(self.body), size):
            yield self.body[i : i + size]

    def close(self) -> None:
        pass


class FakeSite:
    """A transport answering from a script (URL → answers, the last repeated) on a fake clock."""

    def __init__(self, script: Mapping[str, Sequence[FakeResponse | TransportError]]) -> None:
        self.script = {url: list(answers) for url, answers in script.items()}
        self.t = 0.0
        self.sleeps: list[float] = []
        self.calls: list[tuple[str, float]] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(round(s, 3))
        self.t += s

    def clock(self) -> float:
        return self.t

    def now(self) -> dt.datetime:
        return dt.datetime(2024, 1, 2, tzinfo=dt.UTC) + dt.timedelta(seconds=self.t)

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> FakeResponse:
        self.calls.append((url, self.t))
        self.t += 0.01  # each answer takes 10 ms
        answers = self.script.get(url, [FakeResponse(404)])
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, TransportError):
            raise answer
        return answer

    def client(self, **changes: Any) -> PoliteClient:
        return PoliteClient(self, fast(**changes), clock=self.clock, sleep=self.sleep, now=self.now, log=lambda m: None)


def body(r: Any) -> bytes:
    return b"".join(r.chunks(1024))


U = "http://127.0.0.1/f"


def test_5xx_and_dropped_bodies_are_retried_with_doubling_backoff() -> None:
    site = FakeSite({U: [FakeResponse(500), FakeResponse(200, body=b"abc", cut_at=1), FakeResponse(200, body=b"ok")]})
    got = site.client(retries=3, backoff_s=1.0).get(U, body)
    assert isinstance(got, Got) and got.value == b"ok"
    assert site.sleeps == [1.0, 2.0]
    assert [c[0] for c in site.calls] == [U.replace("/f", "/robots.txt"), U, U, U]


def test_retries_give_up_with_the_last_failure_and_how_many_tries() -> None:
    site = FakeSite({U: [TransportError("timeout", "no answer within 1 s")]})
    got = site.client(retries=2).get(U, body)
    assert isinstance(got, Failed) and got.outcome == "timeout"
    assert got.message == f"no answer within 1 s ({U}); 3 tries"


def test_retry_after_is_honoured_on_429_and_503() -> None:
    site = FakeSite(
        {
            U: [
                FakeResponse(429, {"Retry-After": "7"}),
                FakeResponse(503, {"Retry-After": "1"}),
                FakeResponse(200, body=b"ok"),
            ]
        }
    )
    got = site.client(max_wait_s=30.0).get(U, body)
    assert isinstance(got, Got) and site.sleeps == [7.0, 1.0]


def test_a_retry_after_longer_than_max_wait_stops_the_run() -> None:
    site = FakeSite({U: [FakeResponse(429, {"Retry-After": "3600"})]})
    with pytest.raises(FetchStopped) as err:
        site.client(max_wait_s=300.0).get(U, body)
    assert "answered 429 asking us to wait 1 h 0 min (Retry-After)" in str(err.value)
    assert "fetch.max_wait_s = 5 min 0 s" in str(err.value) and "run the same command after that time" in str(err.value)


def test_failures_in_a_row_stop_the_run_but_404s_do_not_count() -> None:
    urls = [f"http://127.0.0.1/f{i}" for i in range(6)]
    site = FakeSite({u: [FakeResponse(500)] for u in urls} | {"http://127.0.0.1/gone": [FakeResponse(404)]})
    client = site.client(retries=0, max_consecutive_failures=3)
    for _ in range(5):
        assert isinstance(client.get("http://127.0.0.1/gone", body), Failed)
    for u in urls[:3]:
        assert isinstance(client.get(u, body), Failed)
    n = len(site.calls)
    with pytest.raises(FetchStopped, match=r"3 requests in a row failed \(the last: 500 from http://127.0.0.1/f2"):
        client.get(urls[3], body)
    assert len(site.calls) == n  # nothing more was asked


def test_requests_are_paced_and_robots_crawl_delay_slows_them_further() -> None:
    site = FakeSite({"http://127.0.0.1/robots.txt": [FakeResponse(200, body=b"User-agent: *\nCrawl-delay: 3\n")]})
    client = site.client(min_interval_s=1.0)
    for i in range(3):
        client.get(f"http://127.0.0.1/f{i}", body)
    times = [t for _, t in site.calls]
    assert times[1] - times[0] >= 1.0 - 1e-9  # robots.txt, then the first request: 1 s
    assert all(b - a >= 3.0 - 1e-9 for a, b in itertools.pairwise(times[1:]))  # then robots.txt's crawl delay


@pytest.mark.parametrize(
    ("robots", "allowed"),
    [
        (FakeResponse(200, body=b"User-agent: *\nDisallow: /private/\n"), [True, False]),
        (FakeResponse(200, body=b"User-agent: ofsted-nlp\nDisallow: /\n\nUser-agent: *\nAllow: /\n"), [False, False]),
        (FakeResponse(404), [True, True]),  # no robots.txt: everything allowed
        (FakeResponse(403), [False, False]),
        (FakeResponse(500), [False, False]),  # RFC 9309: a server error means nothing is allowed
        (TransportError("connection_error", "refused"), [False, False]),
    ],
)
def test_robots_txt_is_honoured(robots: FakeResponse | TransportError, allowed: list[bool]) -> None:
    ok_ = [FakeResponse(200, body=b"ok")]
    site = FakeSite({"http://127.0.0.1/robots.txt": [robots], U: ok_, "http://127.0.0.1/private/f": ok_})
    client = site.client(retries=1)
    for url, ok in zip((U, "http://127.0.0.1/private/f"), allowed):
        got = client.get(url, body)
        assert isinstance(got, Got) is ok, url
        if not ok:
            assert isinstance(got, Failed) and got.outcome == "robots_disallowed"
            assert f"http://127.0.0.1/robots.txt does not allow {url} for ofsted-nlp" in got.message
    assert sum(c[0].endswith("/robots.txt") for c in site.calls) == (
        1 if not isinstance(robots, TransportError) and robots.status < 500 else 2
    )


def test_redirects_are_followed_and_loops_refused() -> None:
    a, b, c = (f"http://127.0.0.1/{x}" for x in "abc")
    site = FakeSite(
        {
            a: [FakeResponse(302, {"Location": "/b"})],
            b: [FakeResponse(301, {"Location": c})],
            c: [FakeResponse(200, body=b"ok")],
            "http://127.0.0.1/x": [FakeResponse(302, {"Location": "/y"})],
            "http://127.0.0.1/y": [FakeResponse(302, {"Location": "/x"})],
        }
    )
    got = site.client().get(a, body)
    assert isinstance(got, Got) and got.url == c and got.value == b"ok"
    loop = site.client().get("http://127.0.0.1/x", body)
    assert isinstance(loop, Failed) and loop.outcome == "redirect_loop"
    assert loop.message == (
        "redirects loop: http://127.0.0.1/x -> http://127.0.0.1/y -> http://127.0.0.1/x; "
        "open the first URL in a browser"
    )


def test_a_file_over_the_limit_is_refused_without_reading_the_rest(tmp_path: Path) -> None:
    big = FakeResponse(200, body=b"%PDF-" + b"x" * 100_000)  # no Content-Length: refused while streaming
    site = FakeSite({U: [big]})
    got = site.client().get(U, streamer(tmp_path / "t.part", 50_000, 10.0, site.clock))
    assert isinstance(got, Failed) and got.outcome == "too_large"
    assert "passed the limit of 50,000 bytes" in got.message
    declared = FakeResponse(200, {"Content-Length": "900000"}, body=b"%PDF-")
    got = FakeSite({U: [declared]}).client().get(U, streamer(tmp_path / "u.part", 50_000, 10.0, time.monotonic))
    assert isinstance(got, Failed) and "the server says the file is 900,000 bytes" in got.message


def test_no_request_to_a_live_site_without_a_contact() -> None:
    site = FakeSite({})
    with pytest.raises(PipelineError, match="no contact is set"):
        site.client().get("https://reports.ofsted.gov.uk/provider/21/1", body)
    assert site.calls == []


# ---------------------------------------------------------------- the manifest


def test_the_manifest_drops_a_row_cut_short_by_a_kill(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_NAME
    m = Manifest(path)
    row = {"item": "page", "urn": 1, "url": "http://x/p/1", "retrieved_at": "2024-01-02T00:00:00Z", "outcome": "listed"}
    m.append(row)
    m.append({**row, "urn": 2, "url": "http://x/p/2"})
    m.close()
    with path.open("a", encoding="utf-8") as f:
        f.write("file,3,Alderbank,Monitoring insp")  # the kill came mid-row
    again = Manifest(path)
    assert again.dropped == 1 and sorted(k[1] or 0 for k in again.rows) == [1, 2]
    again.append({**row, "urn": 3, "url": "http://x/p/3"})
    again.close()
    assert [r["urn"] for r in manifest_rows(path)] == ["1", "2", "3"]


def test_a_row_that_breaks_the_contract_is_a_programming_error(tmp_path: Path) -> None:
    from pipeline.errors import ContractError

    m = Manifest(tmp_path / MANIFEST_NAME)
    with pytest.raises(ContractError, match="column 'outcome' holds 'fine'; valid values: \\['connection_error'"):
        m.append({"item": "page", "urn": 1, "url": "u", "retrieved_at": "t", "outcome": "fine"})


def test_docs_show_the_manifest_contract_and_every_outcome() -> None:
    from pipeline.warehouse.contracts import markdown

    page_ = (ROOT / "docs" / "fetch.md").read_text(encoding="utf-8")
    assert markdown({MANIFEST.name: MANIFEST}) in page_
    for outcome, meaning in OUTCOMES.items():
        assert f"| `{outcome}` | {meaning} |" in page_


# ---------------------------------------------------------------- against local servers


@pytest.fixture
def demo() -> Iterator[tuple[SiteServer, SiteServer]]:
    files = SiteServer()
    site_routes, file_routes = demo_routes(files.url)
    files.routes.update(file_routes)
    with SiteServer(site_routes) as site, files:
        yield site, files


def targets(site: SiteServer, *urns: int) -> list[Target]:
    return [Target(u, f"{site.url}/provider/21/{u}") for u in urns]


def real_client(params: FetchParams, log: list[str] | None = None, sleeps: list[float] | None = None) -> PoliteClient:
    def sleep(s: float) -> None:  # record what the client waits, and wait a little
        if sleeps is not None:
            sleeps.append(round(s, 3))
        time.sleep(min(s, 0.02))

    return PoliteClient(
        RequestsTransport(), params, sleep=sleep, log=(log.append if log is not None else lambda m: None)
    )


def test_fetch_from_the_local_site(demo: tuple[SiteServer, SiteServer], tmp_path: Path) -> None:
    site, files = demo
    params = fast(contact="tests@example.org")
    out = tmp_path / "ofsted"
    tally = fetch.run(targets(site, 990001, 990002, 990003), out, params, real_client(params))
    assert (tally.pages, tally.listed, tally.outcomes["downloaded"], tally.failed) == (3, 7, 7, 0)
    assert tally.unknown_events == {"Pupil voice survey visit": 1}
    rows = manifest_rows(out / MANIFEST_NAME)
    assert [r["item"] for r in rows] == ["page", "file", "file", "file"] * 1 + ["page", "file", "file"] * 2
    got = [p.relative_to(out).as_posix() for p in visible_files(out)]
    assert got == sorted(r["path"] for r in rows if r["item"] == "file")
    assert "990001/2014-03-20_monitoring_letter_50001.pdf" in got and "990003/2019-06-04_unknown_50006.pdf" in got
    for r in rows:
        if r["item"] == "file":
            assert r["sha256"] == sha(out / r["path"]) and int(r["bytes"]) == (out / r["path"]).stat().st_size
            assert r["outcome"] == "downloaded" and r["http_status"] == "200" and r["retrieved_at"].endswith("Z")
            assert r["url"].startswith(files.url + "/v1/file/") and r["page_url"].startswith(site.url)
    first = next(r for r in rows if r["url"].endswith("/v1/file/50001"))
    assert (first["urn"], first["school"], first["event"], first["event_date"], first["kind"]) == (
        "990001",
        "Alderbank Primary School",
        "Monitoring inspection report",
        "2014-03-20",
        "monitoring_letter",
    )
    # one robots.txt per site; the User-Agent names the project and the contact
    assert site.paths().count("/robots.txt") == 1 and files.paths().count("/robots.txt") == 1
    agents = {r.headers["User-Agent"] for r in site.log + files.log}
    assert len(agents) == 1 and re.match(r"ofsted-nlp/\S+ \(.*contact: tests@example.org\)", agents.pop())
    assert not (out / ".partial").exists()
    # a second run lists the pages again and downloads nothing
    n_files = len(files.log)
    again = fetch.run(targets(site, 990001, 990002, 990003), out, params, real_client(params))
    assert again.outcomes == {} and again.actions["held"] == 7
    assert files.log[n_files:] == []  # not even robots.txt: nothing there was wanted


FAULTS: dict[str, tuple[str, str, list[str]]] = {
    # name: (the event it is listed as, its outcome, words its message must hold)
    "missing": ("Monitoring inspection report", "http_error", ["404 from", "not on the site"]),
    "throttled": ("Monitoring inspection report", "downloaded", []),
    "flaky": ("Monitoring inspection report", "downloaded", []),
    "dropped_once": ("Monitoring inspection report", "downloaded", []),
    "dropped": ("Monitoring inspection report", "truncated", ["closed part way", "2 tries"]),
    "cut": ("Monitoring inspection report", "incomplete", ["no %%EOF", "cut short"]),
    "html": ("Monitoring inspection report", "wrong_type", ["HTML page", "where a PDF was listed"]),
    "loop": ("Monitoring inspection report", "redirect_loop", ["redirects loop", "/v1/file/loop-b"]),
    "huge": ("Inspection report", "too_large", ["over the limit of 20,000"]),
    "stalled": ("Monitoring inspection report", "timeout", ["2 tries"]),
    "unknown": ("Pupil voice survey visit", "downloaded", []),
    "private": ("Monitoring inspection report", "robots_disallowed", ["robots.txt does not allow", "/private/"]),
}


@dataclass
class FaultRun:
    out: Path
    tally: Tally
    rows: dict[str, dict[str, str]]
    pages: dict[str, dict[str, str]]
    files: SiteServer
    log: list[str]
    sleeps: list[float]


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultRun]:
    """One run over a site whose files each fail one way, then a school that is fine."""
    files = SiteServer()
    big = pdf_factory.text_pdf([[f"Line {i} " * 12 for i in range(40)]] * 40)
    assert len(big) > 20_000
    good = {name: letter_pdf("Fault School", name, "1 May 2019") for name in FAULTS}
    files.routes.update(
        {
            "/robots.txt": page("User-agent: *\nDisallow: /v1/file/private/\n", content_type="text/plain"),
            "/v1/file/missing": status(404),
            "/v1/file/throttled": sequence(status(429, {"Retry-After": "1"}), file(good["throttled"])),
            "/v1/file/flaky": sequence(status(500), file(good["flaky"])),
            "/v1/file/dropped_once": sequence(drop(good["dropped_once"], 300), file(good["dropped_once"])),
            "/v1/file/dropped": drop(good["dropped"], 300),
            "/v1/file/cut": file(pdf_factory.truncated_pdf()),
            "/v1/file/html": file(HTML_ERROR, "application/pdf"),
            "/v1/file/loop": redirect("/v1/file/loop-b"),
            "/v1/file/loop-b": redirect("/v1/file/loop"),
            "/v1/file/huge": file(big),
            "/v1/file/stalled": slow(1.5, file(good["stalled"])),
            "/v1/file/unknown": file(good["unknown"]),
            "/v1/file/private/1": file(good["private"]),
            "/v1/file/fine": file(PDF),
        }
    )
    events = [
        Event(event, "1 May 2019", f"{files.url}/v1/file/{'private/1' if name == 'private' else name}")
        for name, (event, _, _) in FAULTS.items()
    ]
    site = SiteServer(
        {
            "/provider/21/990004": page(provider_page("Fault School", events)),
            "/provider/21/990005": status(404),
            "/provider/21/990006": page("<html><body><h1>Moved</h1><p>This page has a new layout.</p></body></html>"),
            "/provider/21/990007": page(
                provider_page("Fine School", [Event("Inspection report", "2 May 2019", f"{files.url}/v1/file/fine")])
            ),
        }
    )
    out = tmp_path_factory.mktemp("faults") / "ofsted"
    params = fast(contact="tests@example.org", timeout_s=0.3, retries=1, max_bytes=20_000, max_wait_s=5.0)
    log: list[str] = []
    sleeps: list[float] = []
    with site, files:
        tally = fetch.run(
            targets(site, 990004, 990005, 990006, 990007), out, params, real_client(params, log, sleeps), log=log.append
        )
    rows = {r["url"].rsplit("/v1/file/", 1)[-1]: r for r in manifest_rows(out / MANIFEST_NAME) if r["item"] == "file"}
    pages = {r["urn"]: r for r in manifest_rows(out / MANIFEST_NAME) if r["item"] == "page"}
    yield FaultRun(out, tally, rows, pages, files, log, sleeps)


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_ends_in_a_manifest_row_and_nothing_half_written(fault_run: FaultRun, name: str) -> None:
    event, outcome, words = FAULTS[name]
    row = fault_run.rows["private/1" if name == "private" else name]
    assert (row["event"], row["outcome"]) == (event, outcome), row["message"]
    for word in words:
        assert word in row["message"]
    if outcome == "downloaded":
        assert sha(fault_run.out / row["path"]) == row["sha256"]
        assert (fault_run.out / row["path"]).read_bytes().startswith(b"%PDF-")
    else:
        assert row["path"] == "" and row["sha256"] == ""
        assert not list(fault_run.out.glob(f"990004/*_{name}.*"))  # nothing half-written where a reader looks
        assert any(name in line or "private" in line for line in fault_run.log)  # and it was said


def test_the_run_goes_on_after_every_fault(fault_run: FaultRun) -> None:
    assert fault_run.rows["fine"]["outcome"] == "downloaded"  # the school after the faults
    assert fault_run.pages["990005"]["outcome"] == "http_error" and fault_run.pages["990005"]["http_status"] == "404"
    changed = fault_run.pages["990006"]
    assert changed["outcome"] == "page_changed"
    assert f"no ol.timeline (the list of documents) on {changed['url']}" in changed["message"]
    assert fault_run.tally.unknown_events == {"Pupil voice survey visit": 1}
    assert fault_run.tally.kinds["unknown"] == 1
    assert 1.0 in fault_run.sleeps  # Retry-After: 1 was honoured
    assert "/v1/file/private/1" not in fault_run.files.paths()  # robots.txt: never asked for
    assert [p.name for p in visible_files(fault_run.out)] == sorted(
        Path(r["path"]).name for r in fault_run.rows.values() if r["path"]
    )
    assert not (fault_run.out / ".partial").exists()
    problem = fetch.verdict(fault_run.tally, fast(max_failed_share=0.2), fault_run.out / MANIFEST_NAME)
    assert problem is not None and "8 of 13 files failed (62%), over fetch.max_failed_share = 20%" in problem


def test_a_site_that_keeps_failing_stops_the_run_with_a_message(tmp_path: Path) -> None:
    files = SiteServer({f"/v1/file/{i}": status(503) for i in range(8)})
    events = [Event("Monitoring inspection report", "1 May 2019", f"{files.url}/v1/file/{i}") for i in range(8)]
    site = SiteServer({"/provider/21/990004": page(provider_page("Fault School", events))})
    params = fast(retries=1, max_consecutive_failures=3)
    with site, files:
        tally = fetch.run(targets(site, 990004), tmp_path / "out", params, real_client(params))
    assert tally.stopped is not None and "3 requests in a row failed" in tally.stopped
    assert "run the same command later to go on" in tally.stopped
    assert [p for p in files.paths() if p != "/robots.txt"] == ["/v1/file/0"] * 2 + ["/v1/file/1"] * 2 + [
        "/v1/file/2"
    ] * 2
    assert fetch.verdict(tally, params, tmp_path / "m") == tally.stopped
    assert len([r for r in manifest_rows(tmp_path / "out" / MANIFEST_NAME) if r["item"] == "file"]) == 3


def test_refresh_asks_again_conditionally_and_keeps_the_copy(
    demo: tuple[SiteServer, SiteServer], tmp_path: Path
) -> None:
    site, files = demo
    params = fast()
    out = tmp_path / "ofsted"
    fetch.run(targets(site, 990002), out, params, real_client(params))
    before = {p: p.stat().st_mtime_ns for p in visible_files(out)}
    n = len(files.log)
    tally = fetch.run(targets(site, 990002), out, params, real_client(params), refresh=True)
    assert tally.outcomes == {"not_modified": 2}
    asked = [r for r in files.log[n:] if r.path.startswith("/v1/file/")]
    assert len(asked) == 2 and all(r.headers.get("If-None-Match", "").startswith('"') for r in asked)
    assert all(r.headers.get("If-Modified-Since") == "Tue, 02 Jan 2024 03:04:05 GMT" for r in asked)
    assert {p: p.stat().st_mtime_ns for p in visible_files(out)} == before
    rows = [r for r in manifest_rows(out / MANIFEST_NAME) if r["item"] == "file"]
    assert {r["outcome"] for r in rows} == {"not_modified"} and all(r["sha256"] and r["path"] for r in rows)


def test_a_file_deleted_since_is_downloaded_again(demo: tuple[SiteServer, SiteServer], tmp_path: Path) -> None:
    site, files = demo
    params = fast()
    out = tmp_path / "ofsted"
    fetch.run(targets(site, 990002), out, params, real_client(params))
    gone = visible_files(out)[0]
    gone.unlink()
    n = len(files.log)
    tally = fetch.run(targets(site, 990002), out, params, real_client(params))
    assert tally.outcomes == {"downloaded": 1} and gone.exists()
    assert len([r for r in files.log[n:] if r.path.startswith("/v1/file/")]) == 1


def test_the_same_file_listed_for_two_schools_is_downloaded_once(tmp_path: Path) -> None:
    files = SiteServer({"/v1/file/1": file(PDF)})
    shared = [Event("Monitoring inspection report", "20 March 2014", f"{files.url}/v1/file/1")]
    site = SiteServer(
        {
            "/provider/21/990001": page(provider_page("A", shared)),
            "/provider/21/990002": page(provider_page("B", shared)),
        }
    )
    with site, files:
        tally = fetch.run(targets(site, 990001, 990002), tmp_path, fast(), real_client(fast()))
    assert tally.outcomes == {"downloaded": 1, "held": 1}
    assert files.paths().count("/v1/file/1") == 1
    rows = [r for r in manifest_rows(tmp_path / MANIFEST_NAME) if r["item"] == "file"]
    assert [(r["urn"], r["outcome"], r["path"]) for r in rows] == [
        ("990001", "downloaded", "990001/2014-03-20_monitoring_letter_1.pdf"),
        ("990002", "held", "990001/2014-03-20_monitoring_letter_1.pdf"),
    ]


def test_plan_lists_pages_and_downloads_nothing(demo: tuple[SiteServer, SiteServer], tmp_path: Path) -> None:
    site, files = demo
    params = fast(min_interval_s=1.0)
    client = PoliteClient(RequestsTransport(), params, sleep=lambda s: None)
    out = tmp_path / "ofsted"
    lines, n = fetch.plan(
        targets(site, 990001, 990002, 990003),
        out,
        params,
        client,
        wanted=frozenset({"monitoring_letter", "section8_letter", "unknown"}),
    )
    text = fetch.format_plan(lines, n, params, client.requests)
    assert not out.exists() and [p for p in files.paths() if p.startswith("/v1/")] == []
    assert "990001   Alderbank Primary School                3    2    0  monitoring_letter 2" in text
    assert "7 files listed: 5 to download, 0 held already, 0 outside --since/--until, 2 outside --kinds" in text
    assert "1 file of unknown kind (event names 'Pupil voice survey visit')" in text
    assert "the fetch would make 8 requests (3 pages, 5 files; robots.txt once per site): at least 8 s" in text
    assert "nothing was downloaded or written (4 requests made to list the pages)" in text


def test_plan_of_many_schools_lists_a_sample_and_scales_up(demo: tuple[SiteServer, SiteServer], tmp_path: Path) -> None:
    site, _ = demo
    params = fast(plan_max_pages=2)
    many = targets(site, 990001, 990002, 990003) * 10
    lines, n = fetch.plan(many, tmp_path / "x", params, real_client(params))
    assert len(lines) == 2 and n == 30
    assert "a sample of 2 pages (fetch.plan_max_pages); scaled to all 30 schools" in fetch.format_plan(
        lines, n, params, 0
    )


def test_schools_from_a_search_on_the_site(demo: tuple[SiteServer, SiteServer]) -> None:
    site, _ = demo
    found, problems = fetch.targets_from_search(real_client(fast()), f"{site.url}/search?q=&la=990")
    assert [t.urn for t in found] == [990001, 990002, 990003] and problems == []


def test_scope_from_urns_a_file_and_an_la(tmp_path: Path) -> None:
    from tests.site_server import demo_gias

    gias = tmp_path / "edubasealldata20240101.csv"
    gias.write_bytes(demo_gias())
    urns = tmp_path / "urns.txt"
    urns.write_text("990009\n990001\n", encoding="utf-8")
    params = fast(site="http://127.0.0.1:1")
    found = fetch.scope(params, real_client(params), urns=[990008], urns_file=urns, la="Eastmere", schools=gias)
    assert [t.urn for t in found] == [990008, 990009, 990001, 990002, 990003]
    assert found[0].page_url == "http://127.0.0.1:1/provider/21/990008"
    with pytest.raises(PipelineError, match="--la needs --schools PATH"):
        fetch.scope(params, real_client(params), la="Eastmere")
    with pytest.raises(PipelineError, match="no school chosen: pass --urn N"):
        fetch.scope(params, real_client(params))


# ---------------------------------------------------------------- fetch-reference


def reference_site(day: dt.date, mi: bytes | None = None) -> SiteServer:
    from tests.site_server import demo_gias, demo_links, demo_mi

    stamp = day.strftime("%Y%m%d")
    api = "/api/content/" + FetchParams().mi_page
    content = {
        "details": {
            "attachments": [
                {
                    "title": "Management information - state-funded schools - latest inspections (ODS)",
                    "url": "/media/mi.ods",
                    "content_type": "application/vnd.oasis.opendocument.spreadsheet",
                },
                {
                    "title": "Management information - further education",
                    "url": "/media/fe.csv",
                    "content_type": "text/csv",
                },
                {
                    "title": "Management information - state-funded schools - latest inspections",
                    "url": "/media/mi_latest.csv",
                    "content_type": "text/csv",
                },
            ]
        }
    }
    return SiteServer(
        {
            f"/gias/edubasealldata{stamp}.csv": file(demo_gias(), "text/csv"),
            f"/gias/links_edubasealldata{stamp}.csv": file(demo_links(), "text/csv"),
            api: page(json.dumps(content), content_type="application/json"),
            "/media/mi_latest.csv": file(mi if mi is not None else demo_mi(), "text/csv"),
        }
    )


def reference_params(site: SiteServer, **changes: Any) -> FetchParams:
    return fast(gias_base_url=f"{site.url}/gias", gov_uk_api=f"{site.url}/api/content", **changes)


def test_fetch_reference_finds_the_latest_gias_day_and_the_mi_file(tmp_path: Path) -> None:
    today = dt.date(2024, 3, 5)
    with reference_site(today - dt.timedelta(days=2)) as site:  # today's and yesterday's not published
        params = reference_params(site)
        tally, lines = reference.run_reference(tmp_path, params, real_client(params), today=today)
        assert [p.name for p in visible_files(tmp_path)] == [
            "edubasealldata20240303.csv",
            "inspection_outcomes_mi_latest.csv",
            "links_edubasealldata20240303.csv",
        ]
        assert tally.outcomes == {"downloaded": 3} and tally.failed == 0
        assert lines[0].startswith("gias_establishments: edubasealldata20240303.csv downloaded (")
        assert site.paths()[1:4] == [f"/gias/edubasealldata2024030{d}.csv" for d in (5, 4, 3)]
        rows = manifest_rows(tmp_path / MANIFEST_NAME)
        assert {r["kind"] for r in rows if r["item"] == "file"} == {"gias_establishments", "gias_links", "ofsted_mi"}
        assert not any(r["outcome"] == "http_error" for r in rows)  # days not yet published are not failures
        schools, rejects = load_schools((tmp_path / "edubasealldata20240303.csv").read_bytes(), "x")
        assert len(schools) == 4 and rejects == []
        # next run: GIAS held (not asked for), the MI asked for conditionally
        n = len(site.log)
        tally, _ = reference.run_reference(tmp_path, params, real_client(params), today=today)
        assert tally.outcomes == {"not_modified": 1} and tally.actions["held"] == 2
        assert [r.path for r in site.log[n:] if not r.path.startswith(("/robots", "/api"))] == ["/media/mi_latest.csv"]


def test_fetch_reference_refuses_an_html_page_served_as_csv_and_says_when_no_gias_day_is_found(tmp_path: Path) -> None:
    today = dt.date(2024, 3, 5)
    with reference_site(today - dt.timedelta(days=30), mi=HTML_ERROR) as site:
        params = reference_params(site, gias_lookback_days=2)
        tally, lines = reference.run_reference(tmp_path, params, real_client(params), today=today)
    assert tally.outcomes == {"http_error": 2, "wrong_type": 1}
    assert visible_files(tmp_path) == []
    text = "\n".join(lines)
    assert "gias_establishments: http_error: 404 from" in text and "tried edubasealldata20240305.csv" in text
    assert "ofsted_mi: inspection_outcomes_mi_latest.csv wrong_type: the server sent an HTML page" in text


def test_fetch_reference_plan_downloads_nothing(tmp_path: Path) -> None:
    today = dt.date(2024, 3, 5)
    with reference_site(today) as site:
        params = reference_params(site)
        _, lines = reference.run_reference(tmp_path / "ref", params, real_client(params), today=today, plan_only=True)
        assert not (tmp_path / "ref").exists()
        assert [p for p in site.paths() if not p.startswith(("/robots", "/api"))] == []
    assert lines[0] == (
        f"gias_establishments: would try {site.url}/gias/edubasealldata20240305.csv, "
        "then each day back to edubasealldata20240227.csv"
    )
    assert lines[2].startswith(
        "ofsted_mi: 'Management information - state-funded schools - latest inspections' -> "
        "inspection_outcomes_mi_latest.csv: to download"
    )


# ---------------------------------------------------------------- the command


def params_file(tmp_path: Path, **values: Any) -> Path:
    path = tmp_path / "params.yaml"
    section = {"min_interval_s": 0.0, "backoff_s": 0.01, "timeout_s": 5.0, "retries": 1, **values}
    path.write_text(yaml.safe_dump({"fetch": section}), encoding="utf-8")
    return path


def test_the_command_fetches_and_prints_a_summary(
    demo: tuple[SiteServer, SiteServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site, _ = demo
    out = tmp_path / "ofsted"
    args = [
        "fetch",
        "--site",
        site.url,
        "--urn",
        "990001",
        "--urn",
        "990003",
        "--out",
        str(out),
        "--params",
        str(params_file(tmp_path)),
    ]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert re.fullmatch(
        r"fetch: 2 schools, 2 pages listed \(0 failed\); 5 files listed: 5 downloaded \(5\.\d kB\), 0 held already, "
        r"0 not modified, 0 failed, 0 out of scope; in scope by kind: monitoring_letter 2, section5_report 1, "
        rf"section8_letter 1, unknown 1; 9 requests in \d+ s -> {re.escape(str(out))} "
        rf"\(manifest {re.escape(str(out / MANIFEST_NAME))}\)\n"
        r"fetch: 1 file of unknown kind \(event names 'Pupil voice survey visit'\); kept as kind 'unknown': add "
        r"patterns to fetch.kinds in params.yaml\n",
        printed,
    ), printed
    assert cli.main([*args, "--since", "2014-01-01", "--kinds", "monitoring_letter"]) == 0
    assert "0 downloaded (0 B), 1 held already" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["fetch", "--urn", "990001"],
            "fetch: error: --site https://reports.ofsted.gov.uk is not on this machine and no contact is set",
        ),
        (
            ["fetch", "--site", "http://127.0.0.1:1", "--la", "Eastmere"],
            "ofsted-nlp fetch: error: --la needs --schools PATH",
        ),
        (
            ["fetch", "--site", "http://127.0.0.1:1", "--urn", "1", "--since", "May 2019"],
            "--since 'May 2019' is not a date; write it as YYYY-MM-DD",
        ),
        (["fetch-reference"], "ofsted-nlp fetch-reference: error: fetch.gias_base_url https://ea-edubase-api-prod"),
    ],
)
def test_the_command_says_what_is_wrong(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"fetch": {"min_interval_s": 1.0}}), encoding="utf-8")
    assert cli.main([*args, "--params", str(params), "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_kill_mid_download_leaves_no_partial_file_and_the_next_run_fetches_only_what_is_missing(
    tmp_path: Path,
) -> None:
    started = threading.Event()
    a, b, c = (letter_pdf("Alderbank Primary School", f"Monitoring inspection report {x}", "1 May 2019") for x in "abc")
    files = SiteServer(
        {"/v1/file/a": file(a), "/v1/file/b": trickle(b, pieces=40, delay=0.1, started=started), "/v1/file/c": file(c)}
    )
    events = [
        Event("Monitoring inspection report", f"{d} May 2019", f"{files.url}/v1/file/{x}")
        for d, x in ((3, "a"), (2, "b"), (1, "c"))
    ]
    site = SiteServer({"/provider/21/990001": page(provider_page("Alderbank Primary School", events))})
    out = tmp_path / "ofsted"
    params = params_file(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with site, files:
        cmd = [
            sys.executable,
            "-m",
            "pipeline.cli",
            "fetch",
            "--site",
            site.url,
            "--urn",
            "990001",
            "--out",
            str(out),
            "--params",
            str(params),
        ]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert started.wait(30), "the download of b never started"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        # what the kill left: a whole a, nothing of b or c where a reader looks, a row for every file there
        rows = {r["url"].rsplit("/", 1)[1]: r for r in manifest_rows(out / MANIFEST_NAME) if r["item"] == "file"}
        assert [p.name for p in visible_files(out)] == ["2019-05-03_monitoring_letter_a.pdf"]
        assert list(rows) == ["a"] and rows["a"]["sha256"] == sha(out / rows["a"]["path"])
        assert len(list((out / ".partial").iterdir())) == 1  # hidden, and cleared by the next run
        # the next run: b served whole now; only b and c are asked for
        files.routes["/v1/file/b"] = file(b)
        n = len(files.log)
        rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert rerun.returncode == 0, rerun.stderr
        assert "2 downloaded" in rerun.stdout and "1 held already" in rerun.stdout
        assert "cleared 1 partial file(s)" in rerun.stderr
        assert [r.path for r in files.log[n:] if r.path != "/robots.txt"] == ["/v1/file/b", "/v1/file/c"]
    for r in manifest_rows(out / MANIFEST_NAME):
        if r["item"] == "file":
            assert r["outcome"] == "downloaded" and r["sha256"] == sha(out / r["path"])
    assert [p.read_bytes() for p in visible_files(out)] == [c, b, a]  # by date: c (1 May), b, a
    assert not (out / ".partial").exists()
