"""Stage command ``fetch-reference``: the GIAS files and Ofsted's management information, into ``corpus/reference/``.

GIAS's establishments and links files are tried by date, today's first; the
MI files are the CSV attachments of a GOV.UK page, found through the GOV.UK
content API. Each file gets a row in the same manifest as ``fetch``'s.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.errors import PipelineError
from pipeline.fetch.client import Failed, FetchStopped, Got, PoliteClient, check_polite, duration, read_all
from pipeline.fetch.manifest import MANIFEST_NAME, Manifest, Row, utc
from pipeline.fetch.params import FetchParams
from pipeline.fetch.save import Tally, clear_partial, save, size_text, tidy_partial
from pipeline.readers.site import Attachment, PageChanged, parse_attachments


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:120] or "file"


def mi_attachments(attachments: Sequence[Attachment], pattern: str, n: int) -> list[Attachment]:
    """The first ``n`` CSV attachments whose title matches ``fetch.mi_attachment``, in the page's order."""
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise PipelineError(f"fetch.mi_attachment {pattern!r} is not a regular expression ({exc})") from None
    csvs = [
        a
        for a in attachments
        if "csv" in (a.content_type or "").lower() or urlsplit(a.url).path.lower().endswith(".csv")
    ]
    return [a for a in csvs if rx.search(a.title)][:n]


def run_reference(
    out: Path,
    params: FetchParams,
    client: PoliteClient,
    *,
    today: dt.date,
    manifest_path: Path | None = None,
    plan_only: bool = False,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> tuple[Tally, list[str]]:
    """The ``fetch-reference`` shell: the GIAS establishments and links files and Ofsted's MI, into ``out``.

    GIAS publishes ``edubasealldata<YYYYMMDD>.csv`` and
    ``links_edubasealldata<YYYYMMDD>.csv`` daily: today's is tried first, then
    each earlier day up to ``fetch.gias_lookback_days``; a file already held is
    not asked for again. The MI files are the CSV attachments of the GOV.UK
    page ``fetch.mi_page`` whose title matches ``fetch.mi_attachment``, saved as
    ``inspection_outcomes_<name>.csv`` (the name the link stage looks for);
    one already held is asked for again conditionally, as the same URL may
    carry a newer month.

    Returns:
        ``(tally, lines)``: with ``plan_only``, the lines say what would be
        fetched and nothing is downloaded or written (the content API's answer,
        a listing, is read); else they note superseded files.
    """
    manifest = Manifest(manifest_path or out / MANIFEST_NAME)
    if not plan_only:
        out.mkdir(parents=True, exist_ok=True)
        clear_partial(out)
    held = manifest.held(manifest.path.parent)
    held_urls = {url: row for (_, url), row in held.items()}
    tally = Tally()
    lines: list[str] = []
    job = _Job(client, params, out, manifest, held_urls, tally, lines, plan_only, log)
    started = client.clock()
    try:
        for kind, template in (
            ("gias_establishments", "edubasealldata{date}.csv"),
            ("gias_links", "links_edubasealldata{date}.csv"),
        ):
            _gias(job, kind, template, today)
        _mi(job)
    except FetchStopped as exc:
        tally.stopped = str(exc)
    finally:
        if not plan_only:
            manifest.compact()
            tidy_partial(out)
        tally.requests = client.requests
        tally.seconds = client.clock() - started
    return tally, lines


@dataclass(frozen=True)
class _Job:
    """What `_gias` and `_mi` share: the run's client, settings, manifest and what it has done so far."""

    client: PoliteClient
    p: FetchParams
    out: Path
    manifest: Manifest
    held_urls: Mapping[str, Row]
    tally: Tally
    lines: list[str]
    plan_only: bool
    log: Callable[[str], None]


def _gias(job: _Job, kind: str, template: str, today: dt.date) -> None:
    client, p, out, manifest, held_urls, tally, lines, plan_only, log = (
        job.client, job.p, job.out, job.manifest, job.held_urls, job.tally, job.lines, job.plan_only, job.log
    )  # fmt: skip
    base = p.gias_base_url if p.gias_base_url.endswith("/") else p.gias_base_url + "/"
    days = [today - dt.timedelta(days=i) for i in range(p.gias_lookback_days + 1)]
    for day in days:
        name = template.format(date=day.strftime("%Y%m%d"))
        url = base + name
        if url in held_urls:
            lines.append(f"{kind}: {name} held already ({held_urls[url]['path']})")
            tally.actions["held"] += 1
            return
    if plan_only:
        first, last = (
            template.format(date=days[0].strftime("%Y%m%d")),
            template.format(date=days[-1].strftime("%Y%m%d")),
        )
        lines.append(f"{kind}: would try {base}{first}, then each day back to {last}")
        return
    tried = []
    for day in days:
        name = template.format(date=day.strftime("%Y%m%d"))
        url = base + name
        check_polite(url, p, "fetch.gias_base_url")
        row: Row = {
            "item": "file",
            "event": f"GIAS {kind.removeprefix('gias_')} file",
            "event_date": day,
            "kind": kind,
            "page_url": base,
        }
        written = save(
            client, url, out, name.removesuffix(".csv"), expect="csv", limit=p.reference_max_bytes, row=row,
            manifest=manifest, ext=lambda head: ".csv",
        )  # fmt: skip
        tried.append(name)
        if written["outcome"] == "http_error" and written["http_status"] == 404 and day != days[-1]:
            manifest.forget(written)  # a day not published yet is not a failure: try the day before
            continue
        tally.outcomes[written["outcome"]] += 1
        tally.kinds[kind] += written["outcome"] == "downloaded"
        if written["outcome"] == "downloaded":
            tally.bytes += written["bytes"]
            older = sorted(
                q.name for q in out.glob(template.format(date="*")) if q.name != name and re.search(r"\d{8}", q.name)
            )
            lines.append(f"{kind}: {name} downloaded ({size_text(written['bytes'])})")
            if older:
                lines.append(
                    f"{kind}: {out} also holds {', '.join(older)}; the link stage reads every file its pattern "
                    "matches: move the older ones out"
                )
        else:
            log(f"fetch-reference: {name}: {written['outcome']}: {written['message']}")
            lines.append(f"{kind}: {written['outcome']}: {written['message']} (tried {', '.join(tried)})")
        return


def _mi(job: _Job) -> None:
    client, p, out, manifest, held_urls, tally, lines, plan_only, log = (
        job.client, job.p, job.out, job.manifest, job.held_urls, job.tally, job.lines, job.plan_only, job.log
    )  # fmt: skip
    api = (p.gov_uk_api if p.gov_uk_api.endswith("/") else p.gov_uk_api + "/") + p.mi_page.lstrip("/")
    check_polite(api, p, "fetch.gov_uk_api")
    when = client.now()
    got = client.get(api, lambda r: read_all(r, p.max_page_bytes), {"Accept": "application/json"})
    failure: Failed | None = got if isinstance(got, Failed) else None
    attachments: list[Attachment] = []
    if isinstance(got, Got):
        try:
            attachments = parse_attachments(json.loads(got.value or b"{}"), got.url)
        except (ValueError, PageChanged) as exc:
            message = exc.message if isinstance(exc, PageChanged) else f"the content API's answer is not JSON ({exc})"
            failure = Failed("page_changed", got.status, f"{message} ({api})")
    if failure is not None:
        tally.pages_failed += 1
        lines.append(f"ofsted_mi: {failure.outcome}: {failure.message}")
        log(f"fetch-reference: {api}: {failure.outcome}: {failure.message}")
        if not plan_only:
            manifest.append(
                {"item": "page", "url": api, "retrieved_at": utc(when), "http_status": failure.status,
                 "outcome": failure.outcome, "message": failure.message}
            )  # fmt: skip
        return
    tally.pages += 1
    chosen = mi_attachments(attachments, p.mi_attachment, p.mi_files)
    if not chosen:
        titles = "; ".join(repr(a.title) for a in attachments[:8])
        message = (
            f"no CSV attachment of {api} has a title matching fetch.mi_attachment {p.mi_attachment!r}; "
            f"its attachments: {titles or 'none'}"
        )
        lines.append(f"ofsted_mi: page_changed: {message}")
        if not plan_only:
            manifest.append({"item": "page", "url": api, "retrieved_at": utc(when), "http_status": 200,
                             "outcome": "page_changed", "message": message})  # fmt: skip
        return
    if not plan_only:
        listed = f"{len(attachments)} attachments, {len(chosen)} chosen"
        manifest.append({"item": "page", "url": api, "retrieved_at": utc(when), "http_status": 200,
                         "outcome": "listed", "message": listed})  # fmt: skip
    for a in chosen:
        name = "inspection_outcomes_" + _slug(a.filename or urlsplit(a.url).path.rsplit("/", 1)[-1]).removesuffix(
            ".csv"
        )
        previous = held_urls.get(a.url)
        if plan_only:
            state = f"held ({previous['path']}): asked again if changed" if previous else "to download"
            lines.append(f"ofsted_mi: {a.title!r} -> {name}.csv: {state} ({a.url})")
            continue
        row: Row = {"item": "file", "event": a.title, "listed_as": a.title, "kind": "ofsted_mi", "page_url": api}
        written = save(
            client, a.url, out, name, expect="csv", limit=p.reference_max_bytes, row=row, manifest=manifest,
            previous=previous, ext=lambda head: ".csv",
        )  # fmt: skip
        tally.outcomes[written["outcome"]] += 1
        if written["outcome"] == "downloaded":
            tally.bytes += written["bytes"]
            tally.kinds["ofsted_mi"] += 1
        size = f" ({size_text(written['bytes'])})" if written["outcome"] == "downloaded" else ""
        said = f": {written['message']}" if written.get("message") else ""
        lines.append(f"ofsted_mi: {name}.csv {written['outcome']}{size}{said}")


def format_reference(tally: Tally, lines: Sequence[str], out: Path, manifest: Path, plan_only: bool) -> str:
    """What fetch-reference did (or would do)."""
    head = "plan" if plan_only else "fetch-reference"
    body = [f"{head}: {line}" for line in lines]
    if plan_only:
        body.append(f"plan: nothing was downloaded or written ({tally.requests} requests made to list the MI page)")
    else:
        body.append(
            f"fetch-reference: {tally.outcomes['downloaded']} downloaded ({size_text(tally.bytes)}), "
            f"{tally.actions['held']} held already, {tally.outcomes['not_modified']} not modified, "
            f"{tally.failed} failed; "
            f"{tally.requests} requests in {duration(tally.seconds)} -> {out} (manifest {manifest})"
        )
    return "\n".join(body)
