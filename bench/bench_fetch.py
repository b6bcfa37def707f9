"""Benchmark: fetch throughput against a local server, and the time a national fetch would take.

Prints figures; asserts nothing. A local server (tests/site_server.py) serves
invented schools' pages, each listing files of about --size-kb kB; the real
stage (`fetch.run`, the polite client, requests, streaming, hashing, the
manifest written row by row) fetches them twice: with the rate limit off
(fetch.min_interval_s = 0: what the machine and the code can do) and at the
default pace (fetch.min_interval_s = 1.0) on a small sample. Then the time
for the national corpus at the default pace, from stated assumptions.
Run: .venv/bin/python bench/bench_fetch.py [--schools 100] [--files 4] [--size-kb 200] [--paced-schools 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/site_server.py serves the pages and files

from pipeline.fetch.client import PoliteClient, RequestsTransport, duration  # noqa: E402
from pipeline.fetch.params import FetchParams  # noqa: E402
from pipeline.fetch.save import Tally  # noqa: E402
from pipeline.stages import fetch  # noqa: E402
from tests.site_server import Event, SiteServer, file, page, provider_page  # noqa: E402

EVENTS = (
    "Monitoring inspection report",
    "Inspection report",
    "Short inspection report",
    "Monitoring inspection report",
)

# The national corpus (assumptions; see docs/fetch.md, "How long a national fetch takes")
SCHOOLS = 22_000  # state-funded schools with a page on the site
LETTERS = 64_000  # monitoring and other section 8 letters
REPORTS_PER_SCHOOL = 3.0  # section 5 reports a school's page lists, on average (an assumption, not a count)
LIVE_RESPONSE_S = 0.5  # time a request takes on the live site (an assumption; the local server answers in ms)


def fake_pdf(rng: random.Random, size: int) -> bytes:
    """Bytes that pass fetch's PDF check (``%PDF-`` ... ``%%EOF``), of about ``size`` bytes."""
    return b"%PDF-1.7\n%" + rng.randbytes(max(0, size - 20)) + b"\n%%EOF\n"


def build_site(schools: int, files: int, size: int, seed: int = 0) -> tuple[SiteServer, SiteServer, list[int]]:
    """A site of ``schools`` invented schools, each listing ``files`` files on a separate file host."""
    rng = random.Random(seed)
    host = SiteServer()
    site = SiteServer()
    urns = [990_100 + i for i in range(schools)]
    for urn in urns:
        events = []
        for j in range(files):
            path = f"/v1/file/{urn}-{j}"
            host.routes[path] = file(fake_pdf(rng, int(size * rng.uniform(0.5, 1.5))))
            events.append(Event(EVENTS[j % len(EVENTS)], f"{1 + j} May {2014 + j}", host.url + path))
        site.routes[f"/provider/21/{urn}"] = page(provider_page(f"Bench School {urn}", events))
    return site, host, urns


def timed_fetch(site: SiteServer, urns: list[int], params: FetchParams, out: Path) -> tuple[Tally, float]:
    """One fetch run; its tally and its wall time."""
    client = PoliteClient(RequestsTransport(), params, log=lambda m: None)
    targets = [fetch.Target(u, f"{site.url}/provider/21/{u}") for u in urns]
    t0 = time.perf_counter()
    tally = fetch.run(targets, out, params, client, log=lambda m: None)
    return tally, time.perf_counter() - t0


def report(label: str, tally: Tally, seconds: float) -> None:
    n = tally.outcomes["downloaded"]
    print(
        f"  {label}: {n} files, {tally.bytes / 1e6:.1f} MB, {tally.requests} requests in {seconds:.2f} s: "
        f"{n / seconds:.1f} files/s, {tally.bytes / 1e6 / seconds:.1f} MB/s, {tally.requests / seconds:.2f} requests/s"
        + (f"; {tally.failed} failed" if tally.failed else "")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schools", type=int, default=100, help="schools for the run with the rate limit off")
    ap.add_argument("--files", type=int, default=4, help="files per school")
    ap.add_argument("--size-kb", type=int, default=200, help="mean file size, kB (real letters: 100-300 kB)")
    ap.add_argument("--paced-schools", type=int, default=3, help="schools for the run at the default pace")
    args = ap.parse_args()
    size = args.size_kb * 1000
    print(f"machine: {os.cpu_count()} cores; server: tests/site_server.py (http.server, a thread per request)")
    site, host, urns = build_site(args.schools, args.files, size)
    default = FetchParams()
    free = dataclasses.replace(default, min_interval_s=0.0)
    with site, host, tempfile.TemporaryDirectory() as tmp:
        print(
            f"rate limit off (fetch.min_interval_s = 0), {args.schools} schools x {args.files} files "
            f"of ~{args.size_kb} kB:"
        )
        tally, seconds = timed_fetch(site, urns, free, Path(tmp) / "free")
        report("fetch", tally, seconds)
        mean_response = seconds / max(1, tally.requests)
        again, seconds2 = timed_fetch(site, urns, free, Path(tmp) / "free")
        print(
            f"  again (all held): {again.requests} requests (the pages) in {seconds2:.2f} s; "
            f"{again.actions['held']} files held, none downloaded"
        )
        sample = urns[: args.paced_schools]
        print(f"default pace (fetch.min_interval_s = {default.min_interval_s:g}), {len(sample)} schools:")
        tally, seconds = timed_fetch(site, sample, default, Path(tmp) / "paced")
        report("fetch", tally, seconds)
    per_request = max(default.min_interval_s, LIVE_RESPONSE_S)
    reports = round(SCHOOLS * REPORTS_PER_SCHOOL)
    requests = SCHOOLS + LETTERS + reports + 2  # a page per school, a request per file, robots.txt per host
    print("national corpus at the default pace (assumptions, not measurements):")
    print(
        f"  {SCHOOLS:,} school pages + {LETTERS:,} letters + {reports:,} section 5 reports "
        f"({REPORTS_PER_SCHOOL:g} a school) = {requests:,} requests"
    )
    print(
        f"  one request each {per_request:g} s (fetch.min_interval_s = {default.min_interval_s:g}; the live site's "
        f"answer assumed to take {LIVE_RESPONSE_S:g} s, the local one took {mean_response * 1000:.0f} ms): "
        f"{duration(requests * per_request)} of fetching"
    )
    print(
        f"  letters only (--kinds monitoring_letter,section8_letter): {SCHOOLS + LETTERS + 2:,} requests, "
        f"{duration((SCHOOLS + LETTERS + 2) * per_request)}; the pages alone (--plan of every school): "
        f"{duration(SCHOOLS * per_request)}"
    )


if __name__ == "__main__":
    main()
