"""Stage ``report``: the warehouse becomes one self-contained HTML page per LA, and one for all LAs.

`collect` answers the named queries (`pipeline.warehouse.queries`) with one LA and
start-date filter, so every section of a page agrees; `render` turns those
answers into HTML with `pipeline.pages.markup`, which escapes every piece of
document text. Charts are inline SVG with a text alternative; the only script
(opening an evidence list from a link, and every list for printing) is inline
and allowed by a Content-Security-Policy hash, so no other script can run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError
from pipeline.pages.markup import PALETTE, Bar, BarRow, Markup, bar_chart, el, grid_chart, legend, table
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


def _rows(df: pd.DataFrame) -> Iterator[Any]:
    """A frame's rows as named tuples (typed loosely: the columns are the named query's)."""
    return iter(df.itertuples())


def _label(ident: object) -> str:
    """A taxonomy id as words: ``maths_numeracy`` → ``maths numeracy``."""
    return "" if _missing(ident) else str(ident).replace("_", " ")


def _date(v: Any) -> str:
    if _missing(v):
        return "date not read"
    return v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)[:10]


def _share(k: int, n: int) -> str:
    return f"{k} of {n} ({k / n:.0%})" if n else f"{k} of 0"


def _small(n: int, params: ReportParams) -> Markup:
    return el("span", " small n", class_="small-n") if n < params.small_n else Markup("")


# ---------------------------------------------------------------- sections


def _empty(anchor: str, title: str, *lead: Markup | str) -> Markup:
    """A section with nothing to show: its heading, what leads it, and the last item as a sentence."""
    *before, message = lead
    return el("section", el("h2", title), before, el("p", message), id=anchor)


def _headline(d: ReportData) -> Markup:
    h = d.headline
    judged, effective = int(h["letters_judged"] or 0), int(h["effective_action"] or 0)
    period = f"{_date(h['first_date'])} to {_date(h['last_date'])}" if h["first_date"] is not None else "no dates"
    cards = [
        ("Letters", h["letters"], "HMI monitoring letters"),
        ("Reports", h["reports"], "section 5 inspection reports"),
        ("Schools", h["schools"], f"in {h['las']} LA(s)"),
        ("Effective action", _share(effective, judged) if judged else "no letter", "of letters with a judgement read"),
        ("Period", period, "first and last visit or inspection"),
    ]
    figures = el(
        "div",
        [
            el("div", el("p", k, class_="k"), el("p", v, class_="v"), el("p", note, class_="note"), class_="card")
            for k, v, note in cards
        ],
        class_="cards",
    )
    cat = d.category_vs_letters
    rows = [
        (
            r.la,
            _label(r.la_category),
            _label(r.letter_kind),
            r.letters,
            r.schools,
            r.effective_action,
            r.not_effective,
            r.no_judgement,
        )
        for r in _rows(cat)
    ]
    header = [
        "LA",
        "LA category at the visit",
        "Letter kind",
        "Letters",
        "Schools",
        "Effective action",
        "Not effective",
        "No judgement read",
    ]
    return el(
        "section",
        el("h2", "Headline figures"),
        figures,
        el("h3", "Schools by LA category and letter kind"),
        table(header, rows) if rows else el("p", "No letters in this selection."),
        id="headline",
    )


def _tag_order(d: ReportData) -> list[str]:
    g = d.evidence_counts
    if not len(g):
        return []
    g = g.sort_values(["schools", "units", "tag"], ascending=[False, False, True])
    return [str(t) for t in g["tag"]]


def _recurring(d: ReportData, params: ReportParams) -> Markup:
    tags = _tag_order(d)
    if not tags:
        return _empty("weaknesses", "Recurring weaknesses", "No weaknesses tagged in this selection.")
    ev = d.evidence
    n_here, n_all = int(d.headline["schools"] or 0), d.everywhere.schools
    here = dict(zip(d.evidence_counts["tag"], d.evidence_counts["schools"], strict=True))
    units = dict(zip(d.evidence_counts["tag"], d.evidence_counts["units"], strict=True))
    by_tag = dict(iter(ev.groupby("tag", sort=False)))
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
    share_table = table(
        ["Weakness", f"Schools ({who})", *(["Schools (all LAs)"] if compare else [])],
        [
            (
                el("a", _label(t), href=f"#ev-{t}"),
                _share(int(here.get(t, 0)), n_here),
                *([_share(int(there.get(t, 0)), n_all)] if compare else []),
            )
            for t in tags
        ],
    )
    # tag × period grid from recurring_weaknesses (schools per LA summed: a school is in one LA)
    rec = d.recurring.assign(period=d.recurring["period"].fillna("date not read"))
    periods = sorted(set(rec["period"]))
    counts = rec.groupby(["tag", "period"])["schools"].sum().to_dict()
    values = [[int(counts.get((t, p), 0)) for p in periods] for t in tags]
    grid = grid_chart(
        "chart-weakness-years",
        f"Weaknesses by academic year: {who}",
        "Number of schools with each weakness in each academic year (September to August); darker is more. "
        "Each row links to the evidence.",
        [_label(t) for t in tags],
        periods,
        values,
        hrefs=[f"#ev-{t}" for t in tags],
    )
    grid_table = table(
        ["Weakness", *periods], [(el("a", _label(t), href=f"#ev-{t}"), *v) for t, v in zip(tags, values)]
    )
    return el(
        "section",
        el("h2", "Recurring weaknesses"),
        el(
            "p",
            "Counted per school: a school with five sentences on one weakness counts once. Select a bar, a row "
            "or a weakness in the tables below to read the sentences and recommendations behind it.",
        ),
        el(
            "figure",
            share_chart,
            legend(series),
            el("figcaption", desc),
            el("details", el("summary", "The numbers behind this chart"), share_table),
        ),
        el(
            "figure",
            grid,
            el("figcaption", "Schools with each weakness, by academic year."),
            el("details", el("summary", "The numbers behind this chart"), grid_table),
        ),
        el("h3", "The evidence"),
        [_evidence(t, by_tag[t], int(here[t]), int(units[t]), d, params) for t in tags],
        id="weaknesses",
    )


def _filter_args(d: ReportData) -> str:
    parts = []
    if d.la is not None:
        parts.append(f"--la {shlex.quote(d.la)}")
    if d.since is not None:
        parts.append(f"--since {d.since.isoformat()}")
    return " ".join(parts)


def _evidence(
    tag: str, rows: pd.DataFrame, n_schools: int, n_units: int, d: ReportData, params: ReportParams
) -> Markup:
    """A weakness's evidence list: its first rows (a unit once, `evidence_rows`), and the count of the rest."""
    shown = rows.drop_duplicates("unit_id").head(params.evidence_per_tag)
    items = [
        el(
            "li",
            el("blockquote", r.text),
            el(
                "p",
                f"{r.school or 'school not read'}, {_date(r.date)}, {_label(r.doc_type)} ({r.kind}); "
                f"document {r.doc_id}, characters {r.start}–{r.end}",
                class_="source",
            ),
        )
        for r in _rows(shown)
    ]
    more = n_units - len(shown)
    rest = (
        el("p", f"and {more} more: ", el("code", f"ofsted-nlp query weakness_evidence {_filter_args(d)}".strip()))
        if more > 0
        else None
    )
    summary = f"{_label(tag)}: {n_schools} school(s), {n_units} sentence(s) or recommendation(s)"
    return el(
        "details", el("summary", summary), el("ul", items, class_="quotes"), rest, id=f"ev-{tag}", class_="evidence"
    )


def _schools(d: ReportData, params: ReportParams) -> Markup:
    s = d.schools
    if not len(s):
        return _empty("schools", "Schools of concern", "No school linked in this selection.")
    shown = s.head(params.max_schools)
    events: dict[Any, list[str]] = {}  # one pass over the timeline, not one filter per school
    for e in _rows(d.timeline):
        events.setdefault(e.current_urn, []).append(f"{_date(e.date)}: {e.event}: {e.detail}")
    body = []
    for r in _rows(shown):
        lines = events.get(r.current_urn, [])
        timeline = el(
            "details",
            el("summary", f"{len(lines)} event(s)"),
            el("ol", [el("li", line) for line in lines]),
        )
        recs = list(r.open_recommendations) if r.open_recommendations is not None else []
        open_recs = (
            el("details", el("summary", f"{len(recs)} open"), el("ol", [el("li", t) for t in recs]))
            if recs
            else "none open"
        )
        judgement = (
            f"{r.section5_judgement} ({_date(r.section5_date)})" if not _missing(r.section5_date) else "none recorded"
        )
        category = _label(r.category_of_concern) or "none"
        la_cat = f"{_label(r.la_category)} ({r.la_category_year})" if not _missing(r.la_category) else "not recorded"
        support = ", ".join(_label(x) for x in r.support_named) if len(r.support_named) else "none named"
        body.append(
            el(
                "tr",
                el(
                    "th",
                    r.school or "name not read",
                    el("br"),
                    el("span", f"URN {r.current_urn}, {r.la}", class_="note"),
                    scope="row",
                ),
                el("td", judgement),
                el("td", category),
                el("td", la_cat),
                el("td", f"{r.latest_document} ({_date(r.latest_date)})"),
                el("td", open_recs),
                el("td", support),
                el("td", timeline),
            )
        )
    header = [
        "School",
        "Latest section 5",
        "Category of concern",
        "LA category (latest year)",
        "Latest document",
        "Recommendations",
        "Support named",
        "Timeline",
    ]
    more = len(s) - len(shown)
    return el(
        "section",
        el("h2", "Schools of concern"),
        el(
            "p",
            "Most serious first: special measures, serious weaknesses, inadequate, requires improvement, then "
            "schools whose latest section 5 judgement is good or better. Recommendations are those of the "
            "school's latest letter or report, and count as closed once a later section 5 judged it good or "
            "better.",
        ),
        el(
            "div",
            el("table", el("thead", el("tr", [el("th", h, scope="col") for h in header])), el("tbody", body)),
            class_="wide",
        ),
        el("p", f"and {more} more schools: ", el("code", f"ofsted-nlp query schools_of_concern {_filter_args(d)}"))
        if more > 0
        else None,
        id="schools",
    )


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


def _support(d: ReportData, params: ReportParams) -> Markup:
    sup = d.support
    caution = el(
        "p",
        el("strong", "Association, not effect. "),
        "These counts say which support was named in a school's letters (or given by the LA that year) before its "
        "next recorded outcome. Schools that get support differ from those that do not, and one school can count "
        f"under several kinds of support. Counts of fewer than {params.small_n} schools are marked small n.",
        class_="caution",
    )
    if not len(sup):
        return _empty("support", "Support and outcomes", caution, "No support named in this selection.")
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
    detail = table(
        ["Support named", "Next outcome", "Schools", "Letters", ""],
        [
            (_label(r.support_type), r.next_outcome, r.schools, r.letters, _small(int(r.schools), params))
            for r in _rows(sup)
        ],
    )
    return el(
        "section",
        el("h2", "Support and outcomes"),
        caution,
        el(
            "figure",
            chart,
            legend(groups, [PALETTE[_OUTCOME_COLOUR[g]] for g in groups]),
            el("figcaption", "Schools per kind of support, split by next outcome (counts on the bars)."),
        ),
        detail,
        id="support",
    )


def _what_worked(d: ReportData, params: ReportParams) -> Markup:
    ww = d.what_worked
    intro = el(
        "p",
        "For this selection's most widespread weaknesses: actions and impact from case studies, and items of LA "
        "support offers, tagged with the same weakness by the tagger. They come from the whole warehouse (a case "
        "study or another LA's plan may help here).",
    )
    if not len(ww):
        return _empty("what-worked", "What worked", intro, "No case study or support offer matches.")
    tags = list(dict.fromkeys(ww["tag"]))[: params.top_tags]
    blocks = []
    for t in tags:
        sub = ww[ww["tag"] == t].drop_duplicates(["doc_id", "text"]).head(params.what_worked_per_tag)
        first = sub.iloc[0]
        items = [
            el(
                "li",
                el("blockquote", r.text),
                el("p", f"{r.source}: {r.title}" + (f" ({r.la})" if not _missing(r.la) else ""), class_="source"),
            )
            for r in _rows(sub)
        ]
        blocks += [el("h3", f"{_label(t)} (weakness at {first.schools} school(s))"), el("ul", items, class_="quotes")]
    return el("section", el("h2", "What worked"), intro, blocks, id="what-worked")


def _quality(d: ReportData) -> Markup:
    rej = d.rejected
    by_reason = rej.groupby(["input", "reason"]).size().reset_index(name="n") if len(rej) else rej
    rejected = (
        el(
            "div",
            table(["Input", "Reason", "Count"], [(r.input, r.reason, r.n) for r in _rows(by_reason)]),
            el(
                "details",
                el("summary", f"All {len(rej)} rejected inputs"),
                table(
                    ["Input", "Source", "Reason", "Where", "Message"],
                    [(r.input, r.source, r.reason, r.detail, r.message) for r in _rows(rej)],
                ),
            ),
        )
        if len(rej)
        else el("p", "No document or reference row was rejected.")
    )
    um = d.unmatched
    unmatched = (
        table(
            ["Document", "Date", "School as written", "Best candidate", "Confidence", "Why not linked"],
            [
                (r.doc_id, _date(r.date), r.school, f"{r.best_name} ({r.best_urn})", r.confidence, r.reason)
                for r in _rows(um)
            ],
        )
        if len(um)
        else el("p", "Every letter and report in this selection is linked to a school.")
    )
    miss = d.missing[d.missing["missing"] > 0]
    n_docs = int(d.missing.groupby("doc_type")["documents"].max().sum()) if len(d.missing) else 0
    missing = (
        table(
            ["Document type", "Field", "Missing", "Of"],
            [(_label(r.doc_type), r.field, r.missing, r.documents) for r in _rows(miss)],
        )
        if len(miss)
        else el("p", f"No key field is missing in the {n_docs} letter(s) and report(s) of this selection.")
    )
    versions = table(
        ["Tagger version", "Units", "Documents"],
        [(r.model_version, r.units, r.documents) for r in _rows(d.classifier)],
    )
    t = d.tagger
    if t:
        held_out = el(
            "p",
            f"Held-out figures of the tagger ({t.get('chosen')}), on {t.get('n_test_units')} hand-labelled test "
            f"units: macro-F1 {t.get('macro_f1')}, micro-F1 {t.get('micro_f1')}, polarity accuracy "
            f"{t.get('polarity_accuracy')} (keyword baseline macro-F1 {t.get('keyword_macro_f1')}). The tags in this "
            "report are the tagger's, not a person's: read the evidence.",
        )
    else:
        held_out = el("p", "No held-out figures for the tagger were given (run the evaluate stage).")
    return el(
        "section",
        el("h2", "Data quality"),
        el("h3", "Rejected inputs"),
        el("p", "Rejected documents and reference rows have no LA or date: this list is the whole warehouse's."),
        rejected,
        el("h3", "Letters and reports not matched to a school"),
        unmatched,
        el("h3", "Fields missing"),
        missing,
        el("h3", "Classifier"),
        versions,
        held_out,
        id="quality",
    )


# ---------------------------------------------------------------- page

_CSS = """
:root { --fg: #111; --muted: #444; --line: #bbb; --accent: #0072B2; }
body { font: 18px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--fg);
       background: #fff; margin: 0 auto; padding: 1rem 1.5rem 3rem; max-width: 75rem; }
h1 { font-size: 2rem; margin: .5rem 0 .25rem; } h2 { font-size: 1.5rem; border-bottom: 3px solid var(--accent);
     padding-bottom: .2rem; margin-top: 2.5rem; } h3 { font-size: 1.2rem; margin-top: 1.5rem; }
a { color: #004f80; } a:focus, summary:focus { outline: 3px solid #E69F00; outline-offset: 2px; }
.filter, .note, .source { color: var(--muted); } .note { font-size: .85rem; margin: 0; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; }
.cards { display: flex; flex-wrap: wrap; gap: 1rem; }
.card { border: 2px solid var(--line); border-radius: 6px; padding: .5rem 1rem; min-width: 10rem; }
.card .k { margin: 0; font-weight: 600; } .card .v { margin: .2rem 0; font-size: 1.6rem; font-weight: 700; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .95rem; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #eef3f8; } .wide { overflow-x: auto; }
figure { margin: 1rem 0 1.5rem; } figcaption { color: var(--muted); font-size: .95rem; }
svg.chart { max-width: 100%; height: auto; } svg.chart text:not([fill]) { fill: #111; }
svg.chart .label { font-weight: 600; }
svg.chart a:hover rect, svg.chart a:focus rect { stroke: #000; stroke-width: 2; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; margin: .3rem 0; }
.legend li { display: flex; align-items: center; gap: .4rem; } .swatch { flex: none; }
blockquote { margin: .3rem 0; padding-left: .8rem; border-left: 4px solid var(--line); }
.quotes { list-style: none; padding-left: 0; } .quotes li { margin-bottom: .8rem; }
.source { font-size: .85rem; margin: 0; }
details.evidence { border: 1px solid var(--line); border-radius: 4px; padding: .3rem .6rem; margin: .4rem 0; }
details.evidence > summary { font-weight: 600; cursor: pointer; }
.caution { background: #fff4dc; border-left: 6px solid #E69F00; padding: .5rem .8rem; }
.small-n { color: #8a2d00; font-weight: 600; }
@media print {
  body { font-size: 11pt; max-width: none; padding: 0; } nav { display: none; }
  h2 { break-before: page; } figure, tr, li { break-inside: avoid; } a { color: inherit; text-decoration: none; }
}
"""

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


def _csp_hash(source: str) -> str:
    import base64

    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


CSP = f"default-src 'none'; style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_JS)}; img-src data:"
"""The page's Content-Security-Policy: only this module's own style and script, nothing from the network."""


def render(d: ReportData, params: ReportParams, version: str = "") -> str:
    """The report page as one HTML string (no external resources)."""
    who = d.la if d.la is not None else "all local authorities"
    since = f" since {d.since.isoformat()}" if d.since is not None else ""
    title = f"LA strategy report: {who}"
    nav = el(
        "nav",
        el(
            "ul",
            [
                el("li", el("a", name, href=f"#{anchor}"))
                for anchor, name in (
                    ("headline", "Headline figures"),
                    ("weaknesses", "Recurring weaknesses"),
                    ("schools", "Schools of concern"),
                    ("support", "Support and outcomes"),
                    ("what-worked", "What worked"),
                    ("quality", "Data quality"),
                )
            ],
        ),
        aria_label="Sections",
    )
    main = el(
        "main",
        el("h1", title),
        el(
            "p",
            f"Letters and reports{since}, from the ofsted-nlp warehouse"
            + (f" (ofsted-nlp {version})" if version else "")
            + ".",
            class_="filter",
        ),
        nav,
        _headline(d),
        _recurring(d, params),
        _schools(d, params),
        _support(d, params),
        _what_worked(d, params),
        _quality(d),
    )
    head = el(
        "head",
        el("meta", charset="utf-8"),
        el("meta", http_equiv="Content-Security-Policy", content=CSP),
        el("meta", name="viewport", content="width=device-width, initial-scale=1"),
        el("title", title),
        el("style", Markup(_CSS)),
    )
    return "<!DOCTYPE html>\n" + el("html", head, el("body", main, el("script", Markup(_JS))), lang="en") + "\n"


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
