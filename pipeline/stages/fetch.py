"""Stage ``fetch``: schools' published documents from Ofsted's reports site, into ``corpus/raw/ofsted/<URN>/``.

``fetch`` lists each chosen school's page on the reports site and downloads the
files it links to, appending one row per file (and per school page) to the
manifest. Its sibling command ``fetch-reference`` is `pipeline.fetch.reference`.

Core (pure, no network, no files): `kind_of` maps the site's event names to
document kinds through the ``fetch.kinds`` table; `decide` turns a school's
listing and what the manifest already holds into what to do with each file;
the scope and naming rules are plain functions too. The pages are read by
`pipeline.readers.site`.

Shell: `scope` chooses the schools' pages, `run` fetches and `plan` says what
a run would fetch, `verdict` says whether a run failed, and `format_tally` and
`format_plan` print them. The machinery lives in `pipeline.fetch`: every
request goes through `pipeline.fetch.client.PoliteClient` (paced, robots.txt
honoured, retried); `pipeline.fetch.save.save` streams each file to a hidden
temporary file, checks it, writes its row to the manifest
(`pipeline.fetch.manifest`) and only then moves it into place, so a run killed
at any point leaves no partial file where a reader looks, and the next run
downloads only what is missing.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.errors import PipelineError
from pipeline.fetch.client import Failed, FetchStopped, PoliteClient, duration, read_all
from pipeline.fetch.manifest import FAILED_OUTCOMES, MANIFEST_NAME, Manifest, Row, utc
from pipeline.fetch.params import FetchParams
from pipeline.fetch.save import Tally, clear_partial, file_ext, files, save, size_text, tidy_partial
from pipeline.readers.site import PageChanged, ProviderPage, parse_provider_page, urn_of

UNKNOWN = "unknown"


# ---------------------------------------------------------------- pure core: kinds, scope, decisions


def compile_kinds(table: Mapping[str, str]) -> list[tuple[re.Pattern[str], str]]:
    """The ``fetch.kinds`` table as compiled patterns, in order (case ignored).

    Raises:
        PipelineError: a pattern is not a valid regular expression, or a kind is empty or ``unknown``.
    """
    out = []
    for pattern, kind in table.items():
        if not isinstance(kind, str) or not re.fullmatch(r"[a-z0-9_]+", kind) or kind == UNKNOWN:
            raise PipelineError(
                f"fetch.kinds: pattern {pattern!r} maps to {kind!r}; a kind is lower-case letters, digits and _ "
                f"(and not {UNKNOWN!r}, which is what an unmatched event name gets)"
            )
        try:
            out.append((re.compile(pattern, re.I), kind))
        except re.error as exc:
            raise PipelineError(
                f"fetch.kinds: {pattern!r} is not a regular expression ({exc}); fix it in params.yaml"
            ) from None
    return out


def kind_of(event: str, kinds: Sequence[tuple[re.Pattern[str], str]]) -> str:
    """The kind of the first pattern that matches anywhere in the event name, else ``unknown``."""
    return next((kind for pattern, kind in kinds if pattern.search(event)), UNKNOWN)


def known_kinds(table: Mapping[str, str]) -> list[str]:
    """Every kind the table can give, and ``unknown``, sorted."""
    return sorted({*table.values(), UNKNOWN})


def parse_kinds_arg(value: str | None, table: Mapping[str, str]) -> frozenset[str] | None:
    """The ``--kinds`` list (comma-separated), or None for every kind.

    Raises:
        PipelineError: a kind the table does not give.
    """
    if not value:
        return None
    wanted = {k.strip() for k in value.split(",") if k.strip()}
    valid = known_kinds(table)
    bad = sorted(wanted - set(valid))
    if bad:
        raise PipelineError(f"--kinds: {', '.join(map(repr, bad))} is not a kind of fetch.kinds; valid: {valid}")
    return frozenset(wanted)


def read_urns(text: str, name: str) -> list[int]:
    """URNs from a file: one a line (its first comma- or space-separated field); ``#`` starts a comment.

    A first line ``URN`` (a CSV header) is skipped; repeats are dropped.

    Raises:
        PipelineError: a line whose first field is not a URN, naming the line.
    """
    urns: list[int] = []
    for n, line in enumerate(text.splitlines(), 1):
        field_ = re.split(r"[,;\t ]", line.split("#", 1)[0].strip(), maxsplit=1)[0].strip().strip('"')
        if not field_ or (n == 1 and field_.lower() == "urn"):
            continue
        if not field_.isdigit() or int(field_) == 0:
            raise PipelineError(f"{name} line {n}: {field_!r} is not a URN; write one URN (a number) a line")
        if int(field_) not in urns:
            urns.append(int(field_))
    return urns


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def urns_in_la(schools: Iterable[Mapping[str, Any]], la: str) -> list[int]:
    """The URNs of a local authority's establishments (open and closed), by LA name or code.

    Args:
        schools: rows of `pipeline.readers.reference.load_schools` (``urn``, ``la_code``, ``la_name``).
        la: an LA's name (case and spacing ignored) or its three-digit code.

    Raises:
        PipelineError: no row has that LA; the message suggests close names.
    """
    rows = list(schools)
    if la.strip().isdigit():
        found = [int(r["urn"]) for r in rows if r.get("la_code") == int(la)]
    else:
        found = [int(r["urn"]) for r in rows if _fold(str(r.get("la_name") or "")) == _fold(la)]
    if not found:
        names = sorted({str(r["la_name"]) for r in rows if r.get("la_name")})
        close = difflib.get_close_matches(la, names, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(map(repr, close))}?" if close else f"the file has {len(names)} LAs"
        raise PipelineError(f"--la {la!r}: no establishment of that LA (name or code) in the schools file; {hint}")
    return sorted(set(found))


@dataclass(frozen=True)
class Target:
    """A school's page to list."""

    urn: int | None
    page_url: str


def provider_url(site: str, provider_path: str, urn: int) -> str:
    """The URL of a school's page: ``fetch.provider_path`` with the URN, on the site."""
    return site.rstrip("/") + "/" + provider_path.format(urn=urn).lstrip("/")


def parse_day(value: str | None, flag: str) -> dt.date | None:
    """A ``--since``/``--until`` date (YYYY-MM-DD), or None.

    Raises:
        PipelineError: the value is not a date, naming the flag and the form.
    """
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PipelineError(f"{flag} {value!r} is not a date; write it as YYYY-MM-DD") from None


@dataclass(frozen=True)
class Item:
    """One file a school's page lists, and what the run will do with it."""

    urn: int | None
    school: str | None
    page_url: str
    url: str
    listed_as: str
    event: str
    format: str | None
    date: dt.date | None
    kind: str
    action: str
    """``fetch``; ``refresh`` (held, asked again conditionally); ``held``; ``held_elsewhere`` (the URL is
    held for another school's row); ``outside_dates``; ``outside_kinds``."""
    stem: str
    """The file's path without its extension, relative to the output folder."""


def _segment(url: str, urn: int | None) -> str:
    """A short, safe name for a file from its URL: its last path segment, else a hash."""
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    last = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", last)
    last = re.sub(r"[^A-Za-z0-9_-]+", "-", last).strip("-")[:48]
    if not last or last == str(urn):
        return hashlib.sha1(url.encode()).hexdigest()[:10]
    return last


def file_stem(urn: int | None, date: dt.date | None, kind: str, url: str) -> str:
    """Where a listed file goes, without its extension: ``<URN>/<date>_<kind>_<name from the URL>``."""
    return (
        f"{urn if urn is not None else 'no-urn'}/{date.isoformat() if date else 'undated'}_{kind}_{_segment(url, urn)}"
    )


def decide(
    page: ProviderPage,
    urn: int | None,
    kinds: Sequence[tuple[re.Pattern[str], str]],
    held: Mapping[tuple[int | None, str], Row],
    held_urls: Mapping[str, Row],
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    wanted: frozenset[str] | None = None,
    refresh: bool = False,
) -> list[Item]:
    """What to do with each file a school's page lists.

    Args:
        page: the page as `parse_provider_page` read it.
        urn: the school's URN.
        kinds: `compile_kinds` of ``fetch.kinds``.
        held: ``(urn, url)`` → the manifest row of a file held for this school.
        held_urls: ``url`` → the manifest row of a file held for any school.
        since: keep only files dated on or after this day (undated files are kept).
        until: keep only files dated on or before this day (undated files are kept).
        wanted: the kinds to keep, or None for all.
        refresh: ask again for held files, conditionally, rather than skip them.

    Returns:
        One `Item` per listing, in page order; a URL listed twice on the page counts once.
    """
    items: list[Item] = []
    stems: dict[str, str] = {}
    seen: set[str] = set()
    for lst in page.listings:
        if lst.url in seen:
            continue
        seen.add(lst.url)
        kind = kind_of(lst.event, kinds)
        if lst.date is not None and ((since and lst.date < since) or (until and lst.date > until)):
            action = "outside_dates"
        elif wanted is not None and kind not in wanted:
            action = "outside_kinds"
        elif (urn, lst.url) in held:
            action = "refresh" if refresh else "held"
        elif lst.url in held_urls:
            action = "held_elsewhere"
        else:
            action = "fetch"
        stem = file_stem(urn, lst.date, kind, lst.url)
        if stems.get(stem, lst.url) != lst.url:  # two URLs would share a name: the second gets a hash
            stem = f"{stem}-{hashlib.sha1(lst.url.encode()).hexdigest()[:8]}"
        stems[stem] = lst.url
        items.append(
            Item(
                urn, page.school, page.url, lst.url, lst.listed_as, lst.event, lst.format, lst.date, kind, action, stem
            )
        )
    return items


# ---------------------------------------------------------------- the shell: fetch


def _page_row(target: Target, started: dt.datetime, **values: Any) -> Row:
    return {"item": "page", "urn": target.urn, "url": target.page_url, "retrieved_at": utc(started), **values}


def _list(client: PoliteClient, target: Target) -> ProviderPage | Failed:
    """A school's page, read; or why it could not be."""
    got = client.get(target.page_url, lambda r: read_all(r, client.params.max_page_bytes))
    if isinstance(got, Failed):
        return got
    try:
        return parse_provider_page(got.value or b"", got.url)
    except PageChanged as exc:
        return Failed("page_changed", got.status, exc.message)


def targets_from_search(client: PoliteClient, url: str, max_pages: int = 500) -> tuple[list[Target], list[str]]:
    """The schools' pages a search on the site lists, following its next-page links.

    Returns:
        ``(targets, problems)``: a problem for each results page that could not be read.
    """
    from pipeline.readers.site import parse_search_page

    out: list[Target] = []
    problems: list[str] = []
    seen: set[str] = set()
    nxt: str | None = url
    while nxt and nxt not in seen and len(seen) < max_pages:
        seen.add(nxt)
        got = client.get(nxt, lambda r: read_all(r, client.params.max_page_bytes))
        if isinstance(got, Failed):
            problems.append(got.message)
            break
        try:
            pages, nxt = parse_search_page(got.value or b"", got.url)
        except PageChanged as exc:
            problems.append(exc.message)
            break
        known = {t.page_url for t in out}
        out.extend(Target(urn_of(p), p) for p in pages if p not in known)
    return out, problems


def scope(
    params: FetchParams,
    client: PoliteClient,
    *,
    urns: Sequence[int] = (),
    urns_file: Path | None = None,
    la: str | None = None,
    schools: Path | None = None,
    search: str | None = None,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> list[Target]:
    """The schools' pages to list: the URNs given, those of a file, an LA's, and a search's on the site.

    Args:
        params: the stage's tunables (the site and its page path).
        client: makes the requests of a search.
        urns: URNs given one by one.
        urns_file: a file of URNs (`read_urns`).
        la: an LA's name or code; its URNs are read from ``schools``.
        schools: a GIAS establishments CSV (``edubasealldata*.csv``).
        search: the URL of a page of the site's search results; every page of results is walked.
        log: where problems with the search pages go.

    Returns:
        One `Target` per school, in the order given, without repeats.

    Raises:
        PipelineError: no school chosen, a file missing, ``la`` without ``schools``, or an LA not in the file.
    """
    from pipeline.readers.reference import load_schools

    found: list[int] = list(urns)
    if urns_file is not None:
        if not urns_file.is_file():
            raise PipelineError(f"--urns {urns_file}: no such file; write one URN a line")
        found += read_urns(urns_file.read_text(encoding="utf-8-sig"), str(urns_file))
    if la is not None:
        if schools is None:
            raise PipelineError(
                "--la needs --schools PATH: a GIAS establishments CSV (edubasealldata*.csv), "
                "e.g. from `ofsted-nlp fetch-reference`"
            )
        if not schools.is_file():
            raise PipelineError(f"--schools {schools}: no such file; pass a GIAS establishments CSV")
        rows, _ = load_schools(schools.read_bytes(), schools.name)
        found += urns_in_la(rows, la)
    targets = [Target(u, provider_url(params.site, params.provider_path, u)) for u in dict.fromkeys(found)]
    if search:
        more, problems = targets_from_search(client, search)
        for p in problems:
            log(f"fetch: search: {p}")
        known = {t.page_url for t in targets}
        targets += [t for t in more if t.page_url not in known]
    if not targets:
        raise PipelineError(
            "no school chosen: pass --urn N, --urns FILE, --la NAME with --schools PATH, or --search URL"
        )
    return targets


def run(
    targets: Sequence[Target],
    out: Path,
    params: FetchParams,
    client: PoliteClient,
    *,
    manifest_path: Path | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    wanted: frozenset[str] | None = None,
    refresh: bool = False,
    verify: bool = False,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> Tally:
    """The ``fetch`` shell: list each school's page, download the files wanted, write the manifest.

    A page or file that fails becomes a manifest row with its outcome and
    message, and the run goes on. Files the manifest says were saved, and that
    are still there with the same size, are not asked for again (with
    ``refresh``, they are asked for conditionally).

    Args:
        targets: the schools' pages, in order.
        out: the output folder (``corpus/raw/ofsted``).
        params: the stage's tunables.
        client: makes every request.
        manifest_path: the manifest (default ``out/.manifest.csv``).
        since: only files dated on or after this day.
        until: only files dated on or before this day.
        wanted: only these kinds (None: all).
        refresh: ask again, conditionally, for files already held.
        verify: check held files' sha256 rather than only their size.
        log: where progress and warnings go.

    Returns:
        The `Tally` of the run. A run the site stopped (`FetchStopped`: failures
        in a row, or a long ``Retry-After``) returns what it did with
        ``stopped`` set; `verdict` says whether the run as a whole failed.
    """
    kinds = compile_kinds(params.kinds)
    manifest = Manifest(manifest_path or out / MANIFEST_NAME)
    out.mkdir(parents=True, exist_ok=True)
    left = clear_partial(out)
    if left or manifest.dropped:
        log(f"fetch: cleared {left} partial file(s) and {manifest.dropped} partial manifest row(s) of a run cut short")
    held = manifest.held(manifest.path.parent, verify)
    held_urls = {url: row for (_, url), row in held.items()}
    tally = Tally(schools=len(targets))
    started = client.clock()
    try:
        for target in targets:
            when = client.now()
            page = _list(client, target)
            tally.pages += 1
            if isinstance(page, Failed):
                tally.pages_failed += 1
                log(f"fetch: {target.urn or target.page_url}: {page.outcome}: {page.message}")
                manifest.append(
                    _page_row(target, when, http_status=page.status, outcome=page.outcome, message=page.message)
                )
                continue
            items = decide(
                page, target.urn, kinds, held, held_urls, since=since, until=until, wanted=wanted, refresh=refresh
            )
            problems = "; ".join(page.problems) or None
            manifest.append(
                _page_row(
                    target,
                    when,
                    school=page.school,
                    http_status=200,
                    outcome="page_changed" if page.problems and not page.listings else "listed",
                    message=f"{len(items)} files listed" + (f"; {problems}" if problems else ""),
                )
            )
            for p in page.problems:
                log(f"fetch: {target.urn}: {p}")
            tally.listed += len(items)
            for item in items:
                tally.actions[item.action] += 1
                if item.action in ("outside_dates", "outside_kinds"):
                    if item.kind == UNKNOWN:
                        tally.unknown_events[item.event] += 1
                    continue
                tally.kinds[item.kind] += 1
                if item.kind == UNKNOWN:
                    tally.unknown_events[item.event] += 1
                if item.action == "held":
                    continue
                _fetch_item(client, params, item, out, manifest, held, held_urls, tally, log)
    except FetchStopped as exc:
        tally.stopped = str(exc)
    finally:
        manifest.compact()
        tidy_partial(out)
        tally.requests = client.requests
        tally.seconds = client.clock() - started
    return tally


def verdict(tally: Tally, params: FetchParams, manifest: Path) -> str | None:
    """Why a run that finished should still fail (it stopped early, or too many files failed), or None."""
    if tally.stopped:
        return tally.stopped
    if tally.attempted and tally.failed / tally.attempted > params.max_failed_share:
        return (
            f"{tally.failed} of {tally.attempted} files failed ({tally.failed / tally.attempted:.0%}), over "
            f"fetch.max_failed_share = {params.max_failed_share:.0%}; see the outcome and message columns of {manifest}"
        )
    return None


def _fetch_item(
    client: PoliteClient,
    params: FetchParams,
    item: Item,
    out: Path,
    manifest: Manifest,
    held: dict[tuple[int | None, str], Row],
    held_urls: dict[str, Row],
    tally: Tally,
    log: Callable[[str], None],
) -> None:
    row: Row = {
        "item": "file",
        "urn": item.urn,
        "school": item.school,
        "event": item.event,
        "event_date": item.date,
        "listed_as": item.listed_as,
        "kind": item.kind,
        "page_url": item.page_url,
    }
    if item.action == "held_elsewhere":
        other = held_urls[item.url]
        keep = {k: other[k] for k in ("http_status", "bytes", "sha256", "path", "etag", "last_modified")}
        manifest.append({**row, **keep, "url": item.url, "retrieved_at": utc(client.now()), "outcome": "held"})
        tally.outcomes["held"] += 1
        return
    expect = "pdf" if (item.format or "PDF") == "PDF" else "any"
    written = save(
        client,
        item.url,
        out,
        item.stem,
        expect=expect,
        limit=params.max_bytes,
        row=row,
        manifest=manifest,
        previous=held.get((item.urn, item.url)) if item.action == "refresh" else None,
        ext=lambda head: file_ext(head, item.format, item.url),
    )
    tally.outcomes[written["outcome"]] += 1
    if written["outcome"] == "downloaded":
        tally.bytes += written["bytes"]
        held[(item.urn, item.url)] = held_urls[item.url] = written
    elif written["outcome"] in FAILED_OUTCOMES:
        log(f"fetch: {item.urn} {item.event!r}: {written['outcome']}: {written['message']}")


# ---------------------------------------------------------------- the shell: plan


@dataclass(frozen=True)
class PlanLine:
    """One school of a plan."""

    urn: int | None
    school: str | None
    failed: str | None
    items: tuple[Item, ...]


def sample(targets: Sequence[Target], limit: int) -> list[Target]:
    """At most ``limit`` targets, evenly spread over the list (all of them when there are few)."""
    if len(targets) <= limit:
        return list(targets)
    step = len(targets) / limit
    return [targets[int(i * step)] for i in range(limit)]


def plan(
    targets: Sequence[Target],
    out: Path,
    params: FetchParams,
    client: PoliteClient,
    *,
    manifest_path: Path | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    wanted: frozenset[str] | None = None,
    refresh: bool = False,
) -> tuple[list[PlanLine], int]:
    """List the schools' pages (at most ``fetch.plan_max_pages``, spread evenly) and decide; download nothing.

    Nothing is written: not the manifest, not the output folder.

    Returns:
        ``(a line per school listed, the number of schools in scope)``.
    """
    kinds = compile_kinds(params.kinds)
    path = manifest_path or out / MANIFEST_NAME
    manifest = Manifest(path) if path.exists() else None
    held = manifest.held(path.parent) if manifest else {}
    held_urls = {url: row for (_, url), row in held.items()}
    lines = []
    for target in sample(targets, params.plan_max_pages):
        page = _list(client, target)
        if isinstance(page, Failed):
            lines.append(PlanLine(target.urn, None, f"{page.outcome}: {page.message}", ()))
            continue
        items = decide(
            page, target.urn, kinds, held, held_urls, since=since, until=until, wanted=wanted, refresh=refresh
        )
        lines.append(PlanLine(target.urn, page.school, None, tuple(items)))
    return lines, len(targets)


def format_plan(lines: Sequence[PlanLine], n_targets: int, params: FetchParams, listing_requests: int) -> str:
    """The plan as a table, with totals and the time the fetch would take at the configured pace."""
    rows = [f"{'URN':<8} {'school':<34} {'listed':>6} {'new':>4} {'held':>4}  kinds of the new files"]
    todo = Counter[str]()
    totals = Counter[str]()
    unknown = Counter[str]()
    for line in lines:
        if line.failed:
            rows.append(f"{line.urn or '-':<8} {'(page not read)':<34} {'-':>6} {'-':>4} {'-':>4}  {line.failed}")
            continue
        new = [i for i in line.items if i.action in ("fetch", "refresh")]
        held = sum(i.action in ("held", "held_elsewhere") for i in line.items)
        kinds = Counter(i.kind for i in new)
        todo.update(kinds)
        totals.update(i.action for i in line.items)
        unknown.update(i.event for i in line.items if i.kind == UNKNOWN)
        school = (line.school or "-")[:34]
        kind_text = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "-"
        rows.append(f"{line.urn or '-':<8} {school:<34} {len(line.items):>6} {len(new):>4} {held:>4}  {kind_text}")
    n_new = sum(todo.values())
    listed = len(lines)
    scale = n_targets / listed if listed else 0.0
    rows.append("")
    rows.append(
        f"plan: {listed} of {n_targets} school pages listed ({sum(1 for ln in lines if ln.failed)} not read); "
        f"{sum(len(ln.items) for ln in lines)} files listed: {n_new} to download, "
        f"{totals['held'] + totals['held_elsewhere']} held already, {totals['outside_dates']} outside --since/--until, "
        f"{totals['outside_kinds']} outside --kinds"
    )
    if unknown:
        rows.append(
            f"plan: {files(sum(unknown.values()))} of unknown kind (event names "
            + ", ".join(repr(e) for e in sorted(unknown))
            + "); add patterns to fetch.kinds in params.yaml"
        )
    per = max(params.min_interval_s, 0.0)
    if listed < n_targets:
        files_all = round(n_new * scale)
        requests_all = n_targets + files_all
        rows.append(
            f"plan: a sample of {listed} pages (fetch.plan_max_pages); scaled to all {n_targets} schools: "
            f"~{files_all:,} files to download, ~{requests_all:,} requests, at least "
            f"{duration(requests_all * per)} at one request each {per:g} s"
        )
    else:
        rows.append(
            f"plan: the fetch would make {n_targets + n_new} requests ({n_targets} pages, {n_new} files; robots.txt "
            f"once per site): at least {duration((n_targets + n_new) * per)} at one request each {per:g} s"
        )
    rows.append(f"plan: nothing was downloaded or written ({listing_requests} requests made to list the pages)")
    return "\n".join(rows)


def format_tally(tally: Tally, out: Path, manifest: Path) -> str:
    """The summary line of a fetch run (and one line about unknown kinds, if any)."""
    outcomes = ", ".join(f"{o} {n}" for o, n in sorted(tally.outcomes.items()) if o in FAILED_OUTCOMES)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(tally.kinds.items())) or "-"
    skipped = tally.actions["outside_dates"] + tally.actions["outside_kinds"]
    line = (
        f"fetch: {tally.schools} schools, {tally.pages - tally.pages_failed} pages listed "
        f"({tally.pages_failed} failed); {tally.listed} files listed: {tally.outcomes['downloaded']} downloaded "
        f"({size_text(tally.bytes)}), {tally.actions['held'] + tally.outcomes['held']} held already, "
        f"{tally.outcomes['not_modified']} not modified, {tally.failed} failed"
        + (f" ({outcomes})" if outcomes else "")
        + f", {skipped} out of scope; in scope by kind: {kinds}; "
        + f"{tally.requests} requests in {duration(tally.seconds)}"
        + f" -> {out} (manifest {manifest})"
    )
    if tally.unknown_events:
        line += (
            f"\nfetch: {files(sum(tally.unknown_events.values()))} of unknown kind (event names "
            + ", ".join(repr(e) for e in sorted(tally.unknown_events))
            + "); kept as kind 'unknown': add patterns to fetch.kinds in params.yaml"
        )
    return line
