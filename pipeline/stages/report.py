"""Stage ``report``: the warehouse becomes one self-contained HTML page per LA, and one for all LAs.

`collect` answers the named queries (`pipeline.warehouse.queries`) with one LA and
start-date filter, so every section of a page agrees; `render` turns those
answers into the values each section shows and fills the Jinja2 templates of
``pipeline/pages/templates`` with them: the templates hold the page's wording,
HTML and style sheet, this module the figures and the charts. Every value is
escaped (`pipeline.pages.markup.esc`). Charts are inline SVG drawn by
`pipeline.pages.markup`, with a text alternative; the only script (opening an
evidence list from a link, and every list for printing) is inline and allowed,
with the style sheet, by a Content-Security-Policy hash, so no other script can run.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from pipeline.errors import PipelineError
from pipeline.pages.markup import PALETTE, Bar, BarRow, bar_chart, esc, grid_chart
from pipeline.warehouse import queries

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@dataclass(frozen=True)
class ReportParams:
    """Tunables of the ``report`` stage (``params.yaml``, section ``report``)."""

    top_tags: int = 6  # weaknesses given a "what worked" list
    what_worked_per_tag: int = 4  # case-study items and support offers listed per weakness
    evidence_per_tag: int = 40  # sentences quoted per weakness; the rest are counted, with the query to see them
    max_schools: int = 100  # schools of concern listed (most serious first); the rest are counted
    small_n: int = 5  # counts of schools below this are marked "small n"
    memory_limit: str = "256MB"  # DuckDB's memory per page-writing process; past it, it spills to disk


@dataclass(frozen=True)
class Everywhere:
    """All LAs in the warehouse (same ``since``): what an LA's page compares itself with."""

    schools: int
    tag_schools: dict[str, int]


@dataclass(frozen=True)
class ReportData:
    """The answers of the named queries for one filter, and the tagger's held-out figures."""

    la: str | None
    since: dt.date | None
    headline: dict[str, Any]
    everywhere: Everywhere
    category_vs_letters: pd.DataFrame
    recurring: pd.DataFrame
    evidence: pd.DataFrame
    """``weakness_evidence``'s first rows of each tag, one per unit (`evidence_rows`)."""
    evidence_counts: pd.DataFrame
    """Per tag, the schools and units of all ``weakness_evidence`` rows (`evidence_rows`)."""
    schools: pd.DataFrame
    timeline: pd.DataFrame
    support: pd.DataFrame
    what_worked: pd.DataFrame
    unmatched: pd.DataFrame
    missing: pd.DataFrame
    rejected: pd.DataFrame
    classifier: pd.DataFrame
    tagger: dict[str, Any] | None


def _first_row(df: pd.DataFrame) -> dict[str, Any]:
    return {str(k): (None if _missing(v) else v) for k, v in df.iloc[0].to_dict().items()}


def _everywhere(headline: pd.DataFrame, counts: pd.DataFrame) -> Everywhere:
    tag_schools = dict(zip(counts["tag"], counts["schools"], strict=True))
    return Everywhere(int(_first_row(headline)["schools"] or 0), {str(k): int(v) for k, v in tag_schools.items()})


def everywhere(con: duckdb.DuckDBPyConnection, since: dt.date | None) -> Everywhere:
    """Schools, and schools with each weakness, in all LAs (``headline`` and ``weakness_evidence``, no LA filter)."""
    counts = queries.run_query(con, "weakness_evidence", None, since, _EVIDENCE_COUNTS.format(la=""))
    return _everywhere(queries.run_query(con, "headline", None, since), counts)


_EVIDENCE_ORDER = "date DESC NULLS LAST, doc_id, start"
"""The order of ``weakness_evidence`` within a tag."""
_EVIDENCE_TOP = f"""SELECT * EXCLUDE (_dup) FROM (
    SELECT *, row_number() OVER (PARTITION BY {{la}} tag, unit_id ORDER BY {_EVIDENCE_ORDER}, la, school_key) AS _dup
    FROM q
) WHERE _dup = 1
QUALIFY row_number() OVER (PARTITION BY {{la}} tag ORDER BY {_EVIDENCE_ORDER}, unit_id) <= {{n}}
ORDER BY {{la}} tag, {_EVIDENCE_ORDER}, unit_id"""
"""The first ``n`` units of each tag (of each LA when ``la`` is ``lower(la),``), a unit once."""
_EVIDENCE_COUNTS = """SELECT {la} tag, count(DISTINCT school_key) AS schools, count(DISTINCT unit_id) AS units
FROM q GROUP BY ALL ORDER BY ALL"""
"""Schools and units of each tag (of each LA when ``la`` is ``lower(la) AS la_key,``)."""


def evidence_rows(
    con: duckdb.DuckDBPyConnection, la: str | None, since: dt.date | None, n: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the report shows of ``weakness_evidence``: the first ``n`` units of each tag, and each tag's counts.

    Asked in SQL, so a page never holds every weakness sentence of its LA (at
    50,000 letters, all LAs' are 840,000 rows with their text).
    """
    top = queries.run_query(con, "weakness_evidence", la, since, _EVIDENCE_TOP.format(la="", n=int(n)))
    return top, queries.run_query(con, "weakness_evidence", la, since, _EVIDENCE_COUNTS.format(la=""))


PER_ROW_LA = ("weakness_evidence", "recurring_weaknesses", "school_timeline", "unmatched_documents",
              "category_vs_letters")  # fmt: skip
"""Named queries whose every row carries its LA in ``la`` and is kept or dropped by the LA filter alone.

An LA's answer is the all-LA answer's rows of that LA, in the same order, so a
run of many pages asks them once (`by_la`) instead of once per page.
"""
EVIDENCE_COUNTS = "weakness_evidence_counts"
"""`by_la`'s key for ``weakness_evidence``'s counts (under ``weakness_evidence``: `evidence_rows`' first rows)."""


AGGREGATE_BY_LA: dict[str, tuple[tuple[str, bool], ...]] = {
    "headline": (),
    "schools_of_concern": (("concern_rank", True), ("latest_date", False), ("school", True)),
    "support_then_outcome": (("support_type", True), ("schools", False), ("next_outcome", True)),
    "missing_fields": (("missing", False), ("doc_type", True), ("field", True)),
    "classifier_versions": (("units", False),),
}
"""Named queries that aggregate an LA's documents, asked for every LA in one statement by `by_la`.

Each is joined LATERAL to the list of LAs, one statement per query (at
10,000 letters, 95 LAs: 29 s of per-LA queries took 2.6 s). A
subquery's ORDER BY does not order the join's rows, so each page's rows are
sorted again by the query's ORDER BY, written here by output column
(ascending?); NULLs last, as in DuckDB. ``what_worked`` is not here: it
orders by a score it rounds for display.
"""


def _lateral(
    con: duckdb.DuckDBPyConnection, name: str, las: list[str], since: dt.date | None
) -> dict[str, pd.DataFrame]:
    """A named query's answer for each LA of ``las`` (lower-case LA → its rows, in the query's order)."""
    sql = queries.QUERIES[name].sql.replace("$la", "pages.la").replace("$since", "CAST($since AS DATE)")
    params: dict[str, Any] = {"las": las} | ({"since": since} if "$since" in sql else {})
    df = con.execute(
        f"SELECT pages.la AS _page, q.* FROM (SELECT unnest(CAST($las AS VARCHAR[])) AS la) pages, LATERAL ({sql}) q",
        params,
    ).df()
    order = AGGREGATE_BY_LA[name]
    out = {}
    for page, rows in df.groupby(df["_page"].str.lower(), sort=False):
        rows = rows.drop(columns="_page")
        if order:
            by, ascending = [c for c, _ in order], [a for _, a in order]
            rows = rows.sort_values(by, ascending=ascending, kind="stable", na_position="last")
        out[str(page)] = rows.reset_index(drop=True)
    return out


def by_la(
    con: duckdb.DuckDBPyConnection,
    since: dt.date | None,
    evidence_per_tag: int = ReportParams.evidence_per_tag,
    las: list[str] | None = None,
) -> dict[str, dict[str, pd.DataFrame]]:
    """`PER_ROW_LA` and `AGGREGATE_BY_LA` queries answered once for many LAs: query → lower-case LA → its rows.

    For ``weakness_evidence``, `evidence_rows` of each LA (the counts under
    `EVIDENCE_COUNTS`). `AGGREGATE_BY_LA` is asked for ``las`` only (all LAs when None).
    """

    def split(df: pd.DataFrame, key: pd.Series) -> dict[str, pd.DataFrame]:
        return {str(k): g.reset_index(drop=True) for k, g in df.groupby(key, sort=False)}

    out = {}
    for name in PER_ROW_LA:
        if name == "weakness_evidence":
            outer = _EVIDENCE_TOP.format(la="lower(la),", n=int(evidence_per_tag))
            df = queries.run_query(con, name, None, since, outer)
            counts = queries.run_query(con, name, None, since, _EVIDENCE_COUNTS.format(la="lower(la) AS la_key,"))
            out[EVIDENCE_COUNTS] = split(counts.drop(columns="la_key"), counts["la_key"])
        else:
            df = queries.run_query(con, name, None, since)
        out[name] = split(df, df["la"].str.lower())
    pages = local_authorities(con, since) if las is None else las
    for name in AGGREGATE_BY_LA:
        out[name] = _lateral(con, name, pages, since)
    return out


def collect(
    con: duckdb.DuckDBPyConnection,
    la: str | None,
    since: dt.date | None,
    tagger: dict[str, Any] | None = None,
    all_las: Everywhere | None = None,
    answered: dict[str, dict[str, pd.DataFrame]] | None = None,
    evidence_per_tag: int = ReportParams.evidence_per_tag,
) -> ReportData:
    """Answer every named query the report shows, with the same filter.

    Args:
        con: a connection to the warehouse.
        la: the LA (``None``: all LAs).
        since: the first date (``None``: all dates).
        tagger: the tagger's held-out figures, shown under data quality.
        all_las: the comparison with all LAs for the same ``since``, when the
            caller has it already (a run of every LA computes it once).
        answered: `by_la` for the same ``since`` and ``evidence_per_tag``, when the caller has it.
        evidence_per_tag: units of each weakness whose rows are fetched (`evidence_rows`).
    """
    exact = la is not None and not any(c in la for c in "%_")  # ILIKE without wildcards is a case-blind equality

    def q(name: str) -> pd.DataFrame:
        if answered is not None and exact and name in answered and name != "weakness_evidence":
            rows = answered[name].get(str(la).lower())
            if rows is not None:
                return rows
        return queries.run_query(con, name, la, since)

    headline = q("headline")
    evidence = counts = None
    if answered is not None and exact and EVIDENCE_COUNTS in answered:
        evidence = answered["weakness_evidence"].get(str(la).lower())
        counts = answered[EVIDENCE_COUNTS].get(str(la).lower())
    if evidence is None or counts is None:
        evidence, counts = evidence_rows(con, la, since, evidence_per_tag)
    if all_las is None:
        all_las = _everywhere(headline, counts) if la is None else everywhere(con, since)
    return ReportData(
        la=la,
        since=since,
        headline=_first_row(headline),
        everywhere=all_las,
        category_vs_letters=q("category_vs_letters"),
        recurring=q("recurring_weaknesses"),
        evidence=evidence,
        evidence_counts=counts,
        schools=q("schools_of_concern"),
        timeline=q("school_timeline"),
        support=q("support_then_outcome"),
        what_worked=q("what_worked"),
        unmatched=q("unmatched_documents"),
        missing=q("missing_fields"),
        rejected=q("rejected_inputs"),
        classifier=q("classifier_versions"),
        tagger=tagger,
    )


def _missing(v: Any) -> bool:
    try:
        return v is None or bool(v != v)  # NaN, NaT, pd.NA
    except (TypeError, ValueError):
        return False


def _rows(df: pd.DataFrame) -> list[Any]:
    """A frame's rows as named tuples (typed loosely: the columns are the named query's)."""
    return list(df.itertuples())


def _label(ident: object) -> str:
    """A taxonomy id as words: ``maths_numeracy`` → ``maths numeracy``."""
    return "" if _missing(ident) else str(ident).replace("_", " ")


def _isodate(v: Any) -> str:
    """A date as ``YYYY-MM-DD`` (the templates' ``date`` macro says when there is none)."""
    return v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)[:10]


def _share(k: int, n: int) -> str:
    return f"{k} of {n} ({k / n:.0%})" if n else f"{k} of 0"


# ---------------------------------------------------------------- sections
# Each function gives the values one section template shows (pipeline/pages/templates/<section>.html,
# under the same name); the wording and the HTML around them are the template's. Charts are drawn here.


def _headline(d: ReportData) -> dict[str, Any]:
    h = d.headline
    judged, effective = int(h["letters_judged"] or 0), int(h["effective_action"] or 0)
    return {
        "figures": h,
        "effective": _share(effective, judged) if judged else None,
        "categories": _rows(d.category_vs_letters),
    }


def _tag_order(d: ReportData) -> list[str]:
    g = d.evidence_counts
    if not len(g):
        return []
    g = g.sort_values(["schools", "units", "tag"], ascending=[False, False, True])
    return [str(t) for t in g["tag"]]


def _weaknesses(d: ReportData, params: ReportParams) -> dict[str, Any]:
    tags = _tag_order(d)
    if not tags:
        return {"tags": []}
    n_here, n_all = int(d.headline["schools"] or 0), d.everywhere.schools
    here = dict(zip(d.evidence_counts["tag"], d.evidence_counts["schools"], strict=True))
    units = dict(zip(d.evidence_counts["tag"], d.evidence_counts["units"], strict=True))
    by_tag = dict(iter(d.evidence.groupby("tag", sort=False)))
    there = d.everywhere.tag_schools
    compare = d.la is not None
    rows = []
    for t in tags:
        k = int(here.get(t, 0))
        bars = [Bar(k / n_here if n_here else 0, f"{_share(k, n_here)} schools", 0)]
        if compare:
            k_all = int(there.get(t, 0))
            bars.append(Bar(k_all / n_all if n_all else 0, f"{_share(k_all, n_all)} all LAs", 1))
        rows.append(BarRow(_label(t), bars, href=f"#ev-{t}"))
    who = f"{d.la}" if compare else "all LAs"
    desc = (
        f"Share of schools with at least one sentence or recommendation tagged with each weakness, {who}"
        + (" (blue) against all LAs in the warehouse (orange)" if compare else "")
        + ". Each bar links to the evidence."
    )
    share_chart = bar_chart("chart-weakness-share", f"Weaknesses by share of schools: {who}", desc, rows, maximum=1.0)
    series = [who, "all LAs in the warehouse"] if compare else [who]
    # tag × period grid from recurring_weaknesses (schools per LA summed: a school is in one LA)
    rec = d.recurring.assign(period=d.recurring["period"].fillna("date not read"))
    periods = sorted(set(rec["period"]))
    counts = rec.groupby(["tag", "period"])["schools"].sum().to_dict()
    values = [[int(counts.get((t, p), 0)) for p in periods] for t in tags]
    years_chart = grid_chart(
        "chart-weakness-years",
        f"Weaknesses by academic year: {who}",
        "Number of schools with each weakness in each academic year (September to August); darker is more. "
        "Each row links to the evidence.",
        [_label(t) for t in tags],
        periods,
        values,
        hrefs=[f"#ev-{t}" for t in tags],
    )
    evidence = []
    for t in tags:
        quotes = _rows(by_tag[t].drop_duplicates("unit_id").head(params.evidence_per_tag))  # a unit once
        n_units = int(units[t])
        evidence.append(
            {"tag": t, "schools": int(here[t]), "units": n_units, "quotes": quotes, "more": n_units - len(quotes)}
        )
    return {
        "who": who,
        "compare": compare,
        "tags": [
            {
                "tag": t,
                "here": _share(int(here.get(t, 0)), n_here),
                "everywhere": _share(int(there.get(t, 0)), n_all) if compare else None,
                "years": v,
            }
            for t, v in zip(tags, values, strict=True)
        ],
        "periods": periods,
        "share_chart": share_chart,
        "share_desc": desc,
        "share_legend": list(zip(series, PALETTE, strict=False)),
        "years_chart": years_chart,
        "evidence": evidence,
    }


def _filter_args(d: ReportData) -> str:
    parts = []
    if d.la is not None:
        parts.append(f"--la {shlex.quote(d.la)}")
    if d.since is not None:
        parts.append(f"--since {d.since.isoformat()}")
    return " ".join(parts)


def _schools(d: ReportData, params: ReportParams) -> dict[str, Any]:
    s = d.schools
    shown = s.head(params.max_schools)
    events: dict[Any, list[Any]] = {}  # one pass over the timeline, not one filter per school
    for e in _rows(d.timeline):
        events.setdefault(e.current_urn, []).append(e)
    rows = [
        {
            "school": r,
            "events": events.get(r.current_urn, []),
            "recommendations": list(r.open_recommendations) if r.open_recommendations is not None else [],
            "support": list(r.support_named),
        }
        for r in _rows(shown)
    ]
    return {"total": len(s), "rows": rows, "more": len(s) - len(shown)}


BASELINE = "(all letter schools)"
"""The ``support_then_outcome`` row of every school with a letter: what each kind of support is compared with."""

_OUTCOME_ORDER = ("improved", "effective action", "monitoring", "not improved", "none yet")
_OUTCOME_COLOUR = {"improved": 2, "effective action": 0, "monitoring": 3, "not improved": 5, "none yet": 7}


def outcome_group(label: str) -> str:
    """The colour group of a ``next_outcome`` label: improved, effective action, monitoring, not improved, none yet."""
    s = label.lower()
    if s.startswith("none"):
        return "none yet"
    if "out of" in s or s.endswith(": good") or s.endswith(": outstanding"):
        return "improved"
    if "not effective" in s or "inadequate" in s or "requires improvement" in s or "special measures" in s:
        return "not improved"
    if "effective action" in s:
        return "effective action"
    return "monitoring"


def _support(d: ReportData) -> dict[str, Any]:
    sup = d.support
    if not len(sup):
        return {"rows": []}
    sup = sup.assign(group=sup["next_outcome"].map(outcome_group))
    totals = sup.groupby("support_type")["schools"].sum().sort_values(ascending=False, kind="stable")
    types = [BASELINE, *(t for t in totals.index if t != BASELINE)] if BASELINE in totals.index else list(totals.index)
    groups = [g for g in _OUTCOME_ORDER if g in set(sup["group"])]
    schools = sup.groupby(["support_type", "group"])["schools"].sum().to_dict()
    rows = []
    for t in types:
        bars = [
            Bar(float(n), f"{n} school(s): {g}", _OUTCOME_COLOUR[g])
            for g in groups
            if (n := int(schools.get((t, g), 0)))
        ]
        rows.append(BarRow("all letter schools (baseline)" if t == BASELINE else _label(t), bars))
    chart = bar_chart(
        "chart-support",
        "Support named, by the next outcome",
        "For each kind of support, the schools it was named for, split by their next recorded outcome: improved "
        "(good or better, or out of a category), effective action, monitoring only, not improved, or none yet. "
        "The first bar is every school with a letter, whatever support it had: compare each kind with it.",
        rows,
        stacked=True,
    )
    return {"rows": _rows(sup), "chart": chart, "legend": [(g, PALETTE[_OUTCOME_COLOUR[g]]) for g in groups]}


def _what_worked(d: ReportData, params: ReportParams) -> dict[str, Any]:
    ww = d.what_worked
    blocks = []
    for t in list(dict.fromkeys(ww["tag"]))[: params.top_tags]:
        sub = ww[ww["tag"] == t].drop_duplicates(["doc_id", "text"]).head(params.what_worked_per_tag)
        blocks.append({"tag": t, "schools": sub.iloc[0].schools, "quotes": _rows(sub)})
    return {"blocks": blocks}


def _quality(d: ReportData) -> dict[str, Any]:
    rej = d.rejected
    by_reason = rej.groupby(["input", "reason"]).size().reset_index(name="n") if len(rej) else rej
    return {
        "rejected_by_reason": _rows(by_reason),
        "rejected": _rows(rej),
        "unmatched": _rows(d.unmatched),
        "missing": _rows(d.missing[d.missing["missing"] > 0]),
        "documents": int(d.missing.groupby("doc_type")["documents"].max().sum()) if len(d.missing) else 0,
        "versions": _rows(d.classifier),
        "tagger": d.tagger,
    }


# ---------------------------------------------------------------- page

_JS = """
(function () {
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView(); }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (d) { d.open = true; opened.push(d); });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; }); opened = [];
  });
})();
"""
"""The page's only script: it opens an evidence list from a link, and every list for printing (logic, not style)."""


@functools.cache
def environment(templates: Path | None = None) -> jinja2.Environment:
    """The report's Jinja2 templates (``pipeline/pages/templates``), loaded once per process.

    Every ``{{ value }}`` is escaped by `pipeline.pages.markup.esc` (``finalize``, then autoescape), so a
    template escapes as the chart code does; an undefined name is an error, not an empty string.

    Args:
        templates: a folder whose templates are used instead of the packaged ones of the same name.
    """
    packaged = jinja2.PackageLoader("pipeline.pages", "templates")
    loader = packaged if templates is None else jinja2.ChoiceLoader([jinja2.FileSystemLoader(templates), packaged])
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=esc,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["label"] = _label
    env.filters["isodate"] = _isodate
    env.tests["missing"] = _missing
    return env


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


@functools.cache
def _style_and_policy(templates: Path | None) -> tuple[Markup, str]:
    """The style sheet (template ``style.css``) and the Content-Security-Policy that allows it and `_JS` only."""
    style = environment(templates).get_template("style.css").render()
    policy = f"default-src 'none'; style-src {_csp_hash(style)}; script-src {_csp_hash(_JS)}; img-src data:"
    return Markup(style), policy


def render(d: ReportData, params: ReportParams, version: str = "", templates: Path | None = None) -> str:
    """The report page as one HTML string (no external resources), from the template ``page.html``.

    Args:
        d: what the page shows (`collect`).
        params: the stage's tunables.
        version: the ofsted-nlp version named under the title ("": not named).
        templates: a folder of templates to use instead of the packaged ones of the same name.
    """
    style, policy = _style_and_policy(templates)
    return (
        environment(templates)
        .get_template("page.html")
        .render(
            la=d.la,
            since=d.since.isoformat() if d.since is not None else None,
            version=version,
            query_args=_filter_args(d),
            small_n=params.small_n,
            style=style,
            script=Markup(_JS),
            csp=policy,
            headline=_headline(d),
            weaknesses=_weaknesses(d, params),
            schools=_schools(d, params),
            support=_support(d),
            what_worked=_what_worked(d, params),
            quality=_quality(d),
        )
    )


# ---------------------------------------------------------------- shell


def slug(la: str) -> str:
    """A file name for an LA: ``Bristol, City of`` → ``bristol-city-of``."""
    s = re.sub(r"[^a-z0-9]+", "-", la.lower()).strip("-")
    return s or "la"


def local_authorities(con: duckdb.DuckDBPyConnection, since: dt.date | None = None) -> list[str]:
    """The LAs with at least one letter or report (on or after ``since``)."""
    rows = con.execute(
        "SELECT DISTINCT la FROM document_facts WHERE la IS NOT NULL AND ($since IS NULL OR date >= $since) "
        "ORDER BY la",
        {"since": since},
    ).fetchall()
    return [str(r[0]) for r in rows]


def read_tagger_metrics(path: Path | None) -> dict[str, Any] | None:
    """The tagger's held-out figures from ``metrics/summary.json`` (None when there is no file)."""
    if path is None or not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    tagger = data.get("tagger")
    return tagger if isinstance(tagger, dict) else None


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True)
class _PageJob:
    """What one worker needs to write pages: it opens its own read-only connection."""

    warehouse: Path
    out: Path
    params: ReportParams
    since: dt.date | None
    tagger: dict[str, Any] | None
    all_las: Everywhere
    version: str
    pages: tuple[tuple[str | None, str], ...]


def _write_pages(job: _PageJob) -> list[Path]:
    con = queries.connect_read_only(job.warehouse, job.params.memory_limit)
    try:
        n, las = job.params.evidence_per_tag, [la for la, _ in job.pages if la is not None]
        answered = by_la(con, job.since, n, las) if len(las) > 3 else None
        written = []
        for page_la, name in job.pages:
            path = job.out / f"{name}.html"
            data = collect(con, page_la, job.since, job.tagger, job.all_las, answered, n)
            _write(path, render(data, job.params, job.version))
            written.append(path)
        return written
    finally:
        con.close()


def run(
    warehouse: Path,
    out: Path,
    params: ReportParams,
    metrics: Path | None = None,
    la: str | None = None,
    since: dt.date | None = None,
    jobs: int = 1,
) -> list[Path]:
    """The ``report`` shell: write ``all.html`` and one page per LA, or only ``--la``'s page.

    Pages are written by ``jobs`` processes, each on its own read-only connection.

    Raises:
        PipelineError: when ``la`` matches no letter or report.
    """
    from importlib.metadata import version

    from pipeline.incremental import parallel_map

    tagger = read_tagger_metrics(metrics)
    con = queries.connect_read_only(warehouse, params.memory_limit)
    try:
        las = local_authorities(con, since)
        if la is not None:
            if not int(queries.run_query(con, "headline", la, since).iloc[0]["schools"]):
                raise PipelineError(f"no letter or report for LA {la!r}; LAs in the warehouse: {', '.join(las)}")
            la = next((x for x in las if x.lower() == la.lower()), la)  # "luton" is shown as "Luton"
            pages: list[tuple[str | None, str]] = [(la, slug(la))]
        else:
            pages = [(None, "all"), *((x, slug(x)) for x in las)]
        all_las = everywhere(con, since)
    finally:
        con.close()
    out.mkdir(parents=True, exist_ok=True)
    n_jobs = max(1, min(jobs, len(pages)))
    batches = [
        _PageJob(warehouse, out, params, since, tagger, all_las, version("ofsted-nlp"), tuple(pages[i::n_jobs]))
        for i in range(n_jobs)
    ]
    written = sorted(
        (p for batch in parallel_map(_write_pages, batches, n_jobs, chunk=1) for p in batch),
        key=lambda p: [name for _, name in pages].index(p.stem),
    )
    if la is None:  # a page of an LA no longer in the warehouse would mislead: remove it
        keep = {p.name for p in written}
        for old in out.glob("*.html"):
            if old.name not in keep:
                old.unlink()
    return written
