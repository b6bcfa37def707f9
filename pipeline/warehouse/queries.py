"""The named queries LA strategy meetings use, as DuckDB views of the warehouse.

Each query is one SQL template with two optional filters, ``$la`` (an LA name,
matched case-insensitively, ``%`` wildcards allowed) and ``$since`` (a date).
`create_views` stores each template as a view with both filters off; `run_query`
runs the same template with the filters given, so a view and a filtered query
cannot disagree. Helper views: ``document_facts`` (one row per letter or report
with its school, LA and date), ``letter_context`` (the LA category in force at
each visit, the support the LA gave that year and the support its plan offers
schools of that category), ``case_study_tags`` (each case-study item with
the issue tags of the units inside it, so a letter's weakness finds the case
studies that tackled it), ``school_outcomes`` (outcomes by school across
its URNs, one row per inspection however many files record it),
``outcome_events`` (section 5 grades, with removal from a category, monitoring
visits and letters' judgements) and ``next_outcome`` (the first event after
each document).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

MACROS = (
    """CREATE OR REPLACE MACRO academic_year(d) AS
    CASE WHEN d IS NULL THEN NULL
         WHEN month(d) >= 9 THEN year(d)::VARCHAR || '/' || lpad(((year(d) + 1) % 100)::VARCHAR, 2, '0')
         ELSE (year(d) - 1)::VARCHAR || '/' || lpad((year(d) % 100)::VARCHAR, 2, '0') END""",
    """CREATE OR REPLACE MACRO grade_label(g) AS
    CASE g WHEN 1 THEN 'outstanding' WHEN 2 THEN 'good' WHEN 3 THEN 'requires improvement'
           WHEN 4 THEN 'inadequate' ELSE 'not graded' END""",
)

HELPER_VIEWS = (
    """CREATE OR REPLACE VIEW document_facts AS
SELECT d.doc_id, d.doc_type, ls.urn, ls.current_urn,
       COALESCE(ls.matched_name, l.school_name, i.school_name) AS school,
       COALESCE(ls.current_urn::VARCHAR, 'name:' || lower(COALESCE(l.school_name, i.school_name)), 'doc:' || d.doc_id)
           AS school_key,
       COALESCE(ls.la_name, l.local_authority, i.local_authority) AS la,
       COALESCE(list_min(l.visit_dates), l.letter_date, i.inspection_start) AS date,
       l.letter_kind, l.effective_action, i.overall_effectiveness, i.category_of_concern
FROM documents d
LEFT JOIN letters l USING (doc_id)
LEFT JOIN inspections i USING (doc_id)
LEFT JOIN letter_school ls USING (doc_id)
WHERE d.doc_type IN ('hmi_letter', 'inspection_report')""",
    """CREATE OR REPLACE VIEW letter_context AS
WITH cat AS (
    SELECT f.doc_id, c.academic_year, c.la_category, c.floor_risk, c.support_given
    FROM document_facts f JOIN school_lineage sl ON sl.current_urn = f.current_urn
    JOIN la_categories c ON c.urn = sl.urn AND f.date BETWEEN c.year_start AND c.year_end
)
SELECT f.doc_id, f.doc_type, f.current_urn, f.school, f.la, f.date,
       cat.academic_year, cat.la_category, cat.floor_risk, COALESCE(cat.support_given, []) AS support_given,
       COALESCE((
           SELECT list_sort(list_distinct(list(o.support_type)))
           FROM la_support_offer o JOIN la_plans p USING (doc_id)
           WHERE o.support_type IS NOT NULL AND lower(p.local_authority) = lower(f.la)
             AND (o.la_category IS NULL OR o.la_category = cat.la_category)
       ), []) AS support_offered
FROM document_facts f LEFT JOIN cat USING (doc_id)""",
    """CREATE OR REPLACE VIEW support_named AS
SELECT DISTINCT * FROM (
    SELECT f.doc_id, unnest(u.support_types) AS support_type, 'units' AS source
    FROM document_facts f JOIN units u USING (doc_id)
    UNION ALL
    SELECT f.doc_id, e.support_type, 'external_support' FROM document_facts f JOIN external_support e USING (doc_id)
    UNION ALL
    SELECT f.doc_id, unnest(c.support_given), 'la_categories'
    FROM document_facts f JOIN school_lineage sl ON sl.current_urn = f.current_urn
    JOIN la_categories c ON c.urn = sl.urn AND f.date BETWEEN c.year_start AND c.year_end
) WHERE support_type IS NOT NULL""",
    """CREATE OR REPLACE VIEW case_study_tags AS
SELECT c.doc_id, c.n, c.part, c.text, i.tag, any_value(i.polarity) AS polarity, max(i.score) AS score
FROM case_study_items c
JOIN issues i ON i.doc_id = c.doc_id AND i.start < c."end" AND c.start < i."end"
GROUP BY c.doc_id, c.n, c.part, c.text, i.tag""",
    """CREATE OR REPLACE VIEW school_outcomes AS
SELECT sl.current_urn, o.urn, o.date, o.kind, min(o.overall_effectiveness) AS overall_effectiveness,
       min(o.category_of_concern) AS category_of_concern,
       string_agg(DISTINCT o.source, '; ' ORDER BY o.source) AS source, min(o.doc_id) AS doc_id
FROM outcomes o JOIN school_lineage sl ON sl.urn = o.urn
GROUP BY ALL""",
    """CREATE OR REPLACE VIEW outcome_events AS
WITH s5 AS (
    SELECT *, lag(category_of_concern) OVER (PARTITION BY current_urn ORDER BY date) AS previous_category
    FROM school_outcomes WHERE kind = 'section5'
)
SELECT current_urn, date, source,
       'section 5: ' || grade_label(overall_effectiveness)
           || COALESCE(' (' || replace(category_of_concern, '_', ' ') || ')', '')
           || CASE WHEN previous_category IS NOT NULL AND category_of_concern IS NULL
                   THEN ', out of ' || replace(previous_category, '_', ' ') ELSE '' END AS label
FROM s5
UNION ALL
SELECT current_urn, date, source,
       'monitoring visit' || COALESCE(' (' || replace(category_of_concern, '_', ' ') || ')', '')
FROM school_outcomes WHERE kind = 'monitoring'
UNION ALL
SELECT current_urn, date, doc_id,
       'monitoring: ' || CASE effective_action WHEN true THEN 'effective action'
                                               WHEN false THEN 'action not effective'
                                               ELSE 'no judgement read' END
FROM document_facts
WHERE doc_type = 'hmi_letter' AND current_urn IS NOT NULL AND date IS NOT NULL""",
    """CREATE OR REPLACE VIEW next_outcome AS
SELECT f.doc_id, f.current_urn, f.date, e.date AS next_date, e.source AS next_source,
       COALESCE(e.label, 'none recorded yet') AS next_outcome
FROM document_facts f
LEFT JOIN outcome_events e ON e.current_urn = f.current_urn AND e.date > f.date
WHERE f.current_urn IS NOT NULL AND f.date IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY f.doc_id ORDER BY e.date NULLS LAST, e.label) = 1""",
)

_FILTER = "($la IS NULL OR la ILIKE $la) AND ($since IS NULL OR date >= $since)"


_MISSING_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("hmi_letter", "letter_date", "l.letter_date IS NULL"),
    ("hmi_letter", "visit_dates", "len(COALESCE(l.visit_dates, [])) = 0"),
    ("hmi_letter", "school_name", "l.school_name IS NULL"),
    ("hmi_letter", "local_authority", "l.local_authority IS NULL"),
    ("hmi_letter", "inspector", "l.inspector IS NULL"),
    ("hmi_letter", "letter_kind", "l.letter_kind IS NULL"),
    ("hmi_letter", "judgement", "l.judgement IS NULL"),
    ("inspection_report", "inspection_start", "i.inspection_start IS NULL"),
    ("inspection_report", "urn", "i.urn IS NULL"),
    ("inspection_report", "local_authority", "i.local_authority IS NULL"),
    ("inspection_report", "overall_effectiveness", "i.overall_effectiveness IS NULL"),
    ("hmi_letter", "school link", "f.current_urn IS NULL"),
    ("inspection_report", "school link", "f.current_urn IS NULL"),
)
"""(doc_type, field, SQL true when the field is missing) for the ``missing_fields`` query."""


def _missing_fields_sql() -> str:
    checks = "\n    UNION ALL\n    ".join(
        f"SELECT '{doc_type}' AS doc_type, '{field}' AS field, {missing} AS missing "
        "FROM f LEFT JOIN letters l USING (doc_id) LEFT JOIN inspections i USING (doc_id) "
        f"WHERE f.doc_type = '{doc_type}'"
        for doc_type, field, missing in _MISSING_FIELDS
    )
    return f"""WITH f AS (SELECT * FROM document_facts WHERE {_FILTER}),
checks AS (
    {checks}
)
SELECT doc_type, field, count(*) FILTER (WHERE missing) AS missing, count(*) AS documents
FROM checks GROUP BY ALL
ORDER BY missing DESC, doc_type, field"""


@dataclass(frozen=True)
class NamedQuery:
    """A named query: the question it answers and its SQL template."""

    name: str
    question: str
    sql: str


QUERIES: dict[str, NamedQuery] = {
    q.name: q
    for q in (
        NamedQuery(
            "recurring_weaknesses",
            "Which weaknesses keep coming back, in which LA and year? Counted per school (a long letter counts "
            "once), then per document and per sentence.",
            f"""WITH f AS (SELECT * FROM document_facts WHERE {_FILTER})
SELECT f.la, academic_year(f.date) AS period, i.tag,
       count(DISTINCT f.school_key) AS schools, count(DISTINCT f.doc_id) AS documents, count(*) AS units
FROM issues i JOIN f USING (doc_id)
WHERE i.polarity = 'weakness'
GROUP BY ALL
ORDER BY schools DESC, documents DESC, units DESC, la, period, tag""",
        ),
        NamedQuery(
            "school_timeline",
            "What happened at each school, in order: visits and their judgements, inspection outcomes, the LA's "
            "category each year (across a school's old and new URNs).",
            f"""WITH events AS (
    SELECT current_urn, school, la, date,
           CASE doc_type WHEN 'hmi_letter' THEN 'letter: ' || COALESCE(letter_kind, 'kind not read')
                         ELSE 'section 5 report' END AS event,
           CASE WHEN doc_type = 'hmi_letter' THEN
                    CASE effective_action WHEN true THEN 'effective action' WHEN false THEN 'action not effective'
                                          ELSE 'no judgement read' END
                ELSE grade_label(overall_effectiveness)
                     || COALESCE(', ' || replace(category_of_concern, '_', ' '), '') END AS detail,
           doc_id AS source
    FROM document_facts WHERE current_urn IS NOT NULL
    UNION ALL
    SELECT o.current_urn, s.name, s.la_name, o.date, 'outcome: ' || o.kind,
           CASE o.kind WHEN 'section5' THEN grade_label(o.overall_effectiveness) ELSE 'visit' END
               || COALESCE(', ' || replace(o.category_of_concern, '_', ' '), ''),
           o.source
    FROM school_outcomes o JOIN schools s ON s.urn = o.urn
    WHERE o.doc_id IS NULL
    UNION ALL
    SELECT sl.current_urn, s.name, c.la_name, c.year_start, 'LA category ' || c.academic_year,
           c.la_category || COALESCE(', floor risk ' || c.floor_risk, '')
               || CASE WHEN len(c.support_given) > 0 THEN ', support: ' || array_to_string(c.support_given, ', ')
                       ELSE '' END,
           'la_categories'
    FROM la_categories c JOIN school_lineage sl ON sl.urn = c.urn JOIN schools s ON s.urn = c.urn
)
SELECT * FROM events WHERE {_FILTER}
ORDER BY current_urn, date, event, detail, source""",
        ),
        NamedQuery(
            "support_then_outcome",
            "Which external support was named for schools before their next outcome, and what that outcome was "
            "(an association, not an effect: read the counts). The row '(all letter schools)' is the baseline: "
            "every school with a letter, whatever support it had.",
            f"""WITH f AS (
    SELECT * FROM document_facts
    WHERE doc_type = 'hmi_letter' AND current_urn IS NOT NULL AND date IS NOT NULL AND {_FILTER}
),
named AS (SELECT DISTINCT doc_id, support_type FROM support_named WHERE doc_id IN (SELECT doc_id FROM f)),
x AS (SELECT * FROM next_outcome WHERE doc_id IN (SELECT doc_id FROM f))
SELECT n.support_type, x.next_outcome, count(DISTINCT f.current_urn) AS schools, count(DISTINCT f.doc_id) AS letters
FROM named n JOIN f USING (doc_id) JOIN x USING (doc_id)
GROUP BY ALL
UNION ALL
SELECT '(all letter schools)', x.next_outcome, count(DISTINCT f.current_urn), count(DISTINCT f.doc_id)
FROM f JOIN x USING (doc_id)
GROUP BY ALL
ORDER BY n.support_type, schools DESC, x.next_outcome""",
        ),
        NamedQuery(
            "category_vs_letters",
            "How the LA's own category of a school at the time of a visit compares with what HMI found.",
            f"""WITH f AS (SELECT * FROM document_facts WHERE doc_type = 'hmi_letter' AND {_FILTER}),
cat AS (
    SELECT f.doc_id, c.la_category
    FROM f JOIN school_lineage sl ON sl.current_urn = f.current_urn
    JOIN la_categories c ON c.urn = sl.urn AND f.date BETWEEN c.year_start AND c.year_end
)
SELECT f.la, COALESCE(cat.la_category, 'not categorised') AS la_category,
       COALESCE(f.letter_kind, 'kind not read') AS letter_kind,
       count(*) AS letters, count(DISTINCT f.school_key) AS schools,
       count(*) FILTER (WHERE f.effective_action) AS effective_action,
       count(*) FILTER (WHERE NOT f.effective_action) AS not_effective,
       count(*) FILTER (WHERE f.effective_action IS NULL) AS no_judgement
FROM f LEFT JOIN cat USING (doc_id)
GROUP BY ALL
ORDER BY f.la, la_category, letter_kind""",
        ),
        NamedQuery(
            "headline",
            "How many letters, reports, schools and LAs, how many letters judged effective action, and the period "
            "covered (one row).",
            f"""WITH f AS (SELECT * FROM document_facts WHERE {_FILTER})
SELECT count(*) FILTER (WHERE doc_type = 'hmi_letter') AS letters,
       count(*) FILTER (WHERE doc_type = 'inspection_report') AS reports,
       count(DISTINCT school_key) AS schools, count(DISTINCT la) AS las,
       count(*) FILTER (WHERE effective_action IS NOT NULL) AS letters_judged,
       count(*) FILTER (WHERE effective_action) AS effective_action,
       min(date) AS first_date, max(date) AS last_date
FROM f""",
        ),
        NamedQuery(
            "weakness_evidence",
            "The sentences and recommendations behind each recurring weakness: the text quoted, with its school, "
            "date, document and offsets.",
            f"""WITH f AS (SELECT * FROM document_facts WHERE {_FILTER}),
recommended AS (
    SELECT DISTINCT u.unit_id FROM units u JOIN f USING (doc_id)
    JOIN recommendations r ON r.doc_id = u.doc_id AND r.start <= u.start AND u."end" <= r."end"
)
SELECT i.tag, f.la, academic_year(f.date) AS period, f.school, f.school_key, f.date, f.doc_id, f.doc_type,
       CASE WHEN r.unit_id IS NOT NULL THEN 'recommendation' ELSE u.kind END AS kind,
       u.text, round(i.score, 3) AS score, u.start, u."end", u.unit_id
FROM issues i JOIN f USING (doc_id) JOIN units u USING (unit_id) LEFT JOIN recommended r USING (unit_id)
WHERE i.polarity = 'weakness'
ORDER BY i.tag, f.date DESC NULLS LAST, f.doc_id, u.start""",
        ),
        NamedQuery(
            "schools_of_concern",
            "One row per school, most serious first: its latest section 5 judgement and category, the LA's latest "
            "category, its latest letter or report, the recommendations still open and the support named.",
            f"""WITH f AS (SELECT * FROM document_facts WHERE current_urn IS NOT NULL AND {_FILTER}),
latest AS (
    SELECT * FROM f QUALIFY row_number() OVER (PARTITION BY current_urn ORDER BY date DESC NULLS LAST, doc_id) = 1
),
counts AS (
    SELECT current_urn, count(*) FILTER (WHERE doc_type = 'hmi_letter') AS letters,
           count(*) FILTER (WHERE doc_type = 'inspection_report') AS reports
    FROM f GROUP BY ALL
),
s5 AS (
    SELECT current_urn, date, overall_effectiveness, category_of_concern FROM school_outcomes
    WHERE kind = 'section5' AND overall_effectiveness IS NOT NULL AND current_urn IN (SELECT current_urn FROM latest)
    QUALIFY row_number() OVER (PARTITION BY current_urn ORDER BY date DESC) = 1
),
lac AS (
    SELECT sl.current_urn, c.academic_year, c.la_category
    FROM la_categories c JOIN school_lineage sl ON sl.urn = c.urn
    WHERE sl.current_urn IN (SELECT current_urn FROM latest)
    QUALIFY row_number() OVER (PARTITION BY sl.current_urn ORDER BY c.year_start DESC) = 1
),
recs AS (
    SELECT doc_id, list(text ORDER BY n) AS recommendations FROM recommendations
    WHERE parent IS NULL AND doc_id IN (SELECT doc_id FROM latest) GROUP BY ALL
),
support AS (
    SELECT f.current_urn, list_sort(list(DISTINCT s.support_type)) AS support_named
    FROM f JOIN support_named s USING (doc_id) GROUP BY ALL
)
SELECT latest.current_urn, latest.school, latest.la,
       CASE WHEN s5.category_of_concern = 'special_measures' THEN 1
            WHEN s5.category_of_concern = 'serious_weaknesses' THEN 2
            WHEN s5.overall_effectiveness = 4 THEN 3 WHEN s5.overall_effectiveness = 3 THEN 4
            WHEN s5.overall_effectiveness IS NULL THEN 5 ELSE 6 END AS concern_rank,
       s5.date AS section5_date, grade_label(s5.overall_effectiveness) AS section5_judgement,
       s5.category_of_concern, lac.academic_year AS la_category_year, lac.la_category,
       counts.letters, counts.reports, latest.date AS latest_date, latest.doc_id AS latest_doc_id,
       CASE latest.doc_type
           WHEN 'hmi_letter'
               THEN 'letter (' || COALESCE(replace(latest.letter_kind, '_', ' '), 'kind not read') || '): '
               || CASE latest.effective_action WHEN true THEN 'effective action'
                                              WHEN false THEN 'action not effective' ELSE 'no judgement read' END
           ELSE 'section 5 report: ' || grade_label(latest.overall_effectiveness) END AS latest_document,
       CASE WHEN s5.date > latest.date AND s5.overall_effectiveness <= 2 THEN []
            ELSE COALESCE(recs.recommendations, []) END AS open_recommendations,
       COALESCE(support.support_named, []) AS support_named
FROM latest JOIN counts USING (current_urn)
LEFT JOIN s5 USING (current_urn) LEFT JOIN lac USING (current_urn)
LEFT JOIN recs ON recs.doc_id = latest.doc_id LEFT JOIN support USING (current_urn)
ORDER BY concern_rank, latest_date DESC NULLS LAST, latest.school""",
        ),
        NamedQuery(
            "what_worked",
            "For each weakness found, ranked by how many schools have it: case-study actions and impact, and LA "
            "support offers, tagged with the same issue.",
            f"""WITH f AS (SELECT * FROM document_facts WHERE {_FILTER}),
found AS (
    SELECT i.tag, count(DISTINCT f.school_key) AS schools, count(DISTINCT i.unit_id) AS units
    FROM issues i JOIN f USING (doc_id) WHERE i.polarity = 'weakness' GROUP BY ALL
),
helped AS (
    SELECT c.tag, 'case study: ' || c.part AS source, d.doc_id, NULL::VARCHAR AS la,
           trim(regexp_extract(d.text, '^\\s*([^\\n]+)', 1)) AS title, c.text, c.score
    FROM case_study_tags c JOIN documents d USING (doc_id) WHERE c.part IN ('actions', 'impact')
    UNION ALL
    SELECT i.tag, 'LA support offer', o.doc_id, p.local_authority, p.title, o.text, max(i.score)
    FROM la_support_offer o JOIN la_plans p USING (doc_id)
    JOIN issues i ON i.doc_id = o.doc_id AND i.start < o."end" AND o.start < i."end"
    GROUP BY ALL
)
SELECT found.tag, found.schools, found.units, h.source, h.la, h.title, h.text, round(h.score, 3) AS score, h.doc_id
FROM found JOIN helped h USING (tag)
ORDER BY found.schools DESC, found.units DESC, found.tag, h.score DESC, h.doc_id, h.text""",
        ),
        NamedQuery(
            "unmatched_documents",
            "Letters and reports not linked to a school, with the best candidate and why it was not taken.",
            f"""SELECT f.doc_id, f.doc_type, f.la, f.date, f.school, u.postcode, u.best_urn, u.best_name, u.confidence,
       u.reason
FROM document_facts f JOIN unmatched u USING (doc_id)
WHERE {_FILTER}
ORDER BY f.date, f.doc_id""",
        ),
        NamedQuery(
            "missing_fields",
            "For letters and reports: how many lack each key field (a blank the parser could not read).",
            _missing_fields_sql(),
        ),
        NamedQuery(
            "rejected_inputs",
            "Documents rejected and reference rows rejected, and why (neither has an LA or date, so the filters "
            "do not apply).",
            """SELECT 'document' AS input, source, reason, stage AS detail, message FROM rejects
UNION ALL
SELECT 'reference row', file, reason, 'row ' || row, message FROM reference_rejects
ORDER BY input, reason, source""",
        ),
        NamedQuery(
            "classifier_versions",
            "Which tagger version classified the units of the documents, and how many units none did.",
            f"""WITH f AS (SELECT * FROM document_facts WHERE {_FILTER})
SELECT COALESCE(u.model_version, 'not classified') AS model_version, count(*) AS units,
       count(DISTINCT u.doc_id) AS documents
FROM units u JOIN f USING (doc_id)
GROUP BY ALL ORDER BY units DESC""",
        ),
    )
}
"""Every named query, in README order."""


def _view_sql(template: str) -> str:
    return template.replace("$la", "CAST(NULL AS VARCHAR)").replace("$since", "CAST(NULL AS DATE)")


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create the macros, helper views and one view per named query."""
    for sql in (*MACROS, *HELPER_VIEWS):
        con.execute(sql)
    for q in QUERIES.values():
        con.execute(f'CREATE OR REPLACE VIEW "{q.name}" AS {_view_sql(q.sql)}')


def run_query(
    con: duckdb.DuckDBPyConnection,
    name: str,
    la: str | None = None,
    since: dt.date | None = None,
    outer: str | None = None,
) -> pd.DataFrame:
    """A named query's answer, filtered by LA and start date; ``outer``, when given, is SQL that reads it as ``q``.

    Raises:
        PipelineError: for a name that is not a named query.
    """
    if name not in QUERIES:
        raise PipelineError(f"no named query {name!r}; valid: {', '.join(QUERIES)}")
    sql = QUERIES[name].sql
    params: dict[str, Any] = {k: v for k, v in (("la", la), ("since", since)) if f"${k}" in sql}
    sql = sql.replace("$la", "CAST($la AS VARCHAR)").replace("$since", "CAST($since AS DATE)")
    return con.execute(sql if outer is None else f"WITH q AS ({sql}) {outer}", params).df()


def connect_read_only(path: Any, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse, with a message when there is none.

    ``memory_limit``: DuckDB's limit for this connection (`set_memory_limit`); its default when None.
    """
    from pathlib import Path

    import duckdb

    if not Path(path).exists():
        raise PipelineError(f"no warehouse at {path}; build it with `dvc repro` (or `make run`)")
    con = duckdb.connect(str(path), read_only=True)
    if memory_limit is not None:
        set_memory_limit(con, memory_limit)
    return con


_CATALOGS = frozenset({"memory", "system", "temp", "main"})
"""Names DuckDB keeps for itself: a warehouse file named so is attached under another name."""


def connect_locked(path: Any) -> duckdb.DuckDBPyConnection:
    """A connection for SQL a person types (``ofsted-nlp sql``): the warehouse, read-only, and nothing else.

    The warehouse is attached read-only to a DuckDB of its own (under its file
    name, as `connect_read_only` names it), whose configuration is then locked
    with external access off: no file is read or written (COPY, EXPORT and
    IMPORT DATABASE, read_csv, read_parquet, read_text, glob and the like), no
    database file is attached, no extension is installed or loaded, and no
    ``SET`` can undo it. Tables, macros and views work as on `connect_read_only`
    (none of them reads a file); temporary tables are allowed, and DuckDB
    still spills to `spill_dir`. An ``ATTACH ':memory:'`` touches no file and
    DuckDB allows it: the sql command refuses every ATTACH statement itself.

    A DuckDB of its own because settings belong to the database, not the
    connection: set on a `connect_read_only` connection they would lock every
    connection of the process to the warehouse (a notebook's) until the last
    one closes.

    Raises:
        PipelineError: no warehouse at ``path``, or it cannot be opened.
    """
    from pathlib import Path

    import duckdb

    if not Path(path).exists():
        raise PipelineError(f"no warehouse at {path}; build it with `dvc repro` (or `make run`)")
    name = Path(path).stem if Path(path).stem.lower() not in _CATALOGS else "warehouse"
    file, catalog = str(path).replace("'", "''"), '"' + name.replace('"', '""') + '"'
    con = duckdb.connect(":memory:")
    try:
        # TYPE duckdb: ATTACH would otherwise guess the type, and load an extension for a SQLite file
        con.execute(f"ATTACH '{file}' AS {catalog} (READ_ONLY, TYPE duckdb)")
        con.execute(f"USE {catalog}")
        con.execute("DETACH memory")  # the default in-memory database: writable, and not the warehouse
        con.execute("SET temp_directory = ?", [str(spill_dir())])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error as exc:
        con.close()
        raise PipelineError(f"cannot open the warehouse {path} read-only: {exc}") from None
    return con


def set_memory_limit(con: duckdb.DuckDBPyConnection, value: str) -> None:
    """Keep DuckDB within ``value`` (e.g. ``512MB``, ``2GiB``): past it, it spills to disk.

    Raises:
        PipelineError: a size DuckDB would not read.
    """
    import re

    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", value):
        raise PipelineError(f"memory_limit {value!r}: give a size such as 512MB or 2GiB")
    con.execute(f"SET memory_limit = '{value}'")
    row = con.execute("SELECT current_setting('temp_directory')").fetchone()
    if _SPILL is None or row is None or not str(row[0]).startswith(str(_SPILL)):  # connections to one file share it
        con.execute("SET temp_directory = ?", [str(spill_dir())])


_SPILL: Any = None
"""This process's folder of DuckDB spill folders (made on first use, removed when the process exits)."""


def spill_dir() -> Any:
    """A new, empty folder for a database to spill to, in the system's temporary folder.

    DuckDB's default is ``<database>.tmp`` beside the warehouse, which it
    leaves behind: it would collide with another reader's, and with the load's
    own temporary file. Processes forked after the first call share its parent
    folder, which the first process removes when it exits.
    """
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    global _SPILL
    if _SPILL is None:
        _SPILL = Path(tempfile.mkdtemp(prefix="ofsted-nlp-duckdb-"))
        atexit.register(shutil.rmtree, _SPILL, True)
    return Path(tempfile.mkdtemp(dir=_SPILL))


def render(df: pd.DataFrame, fmt: str) -> str:
    """A result as an aligned text table, CSV or JSON lines-free JSON array."""
    import json

    if fmt == "csv":
        return str(df.to_csv(index=False))
    if fmt == "json":
        from pipeline.incremental import records

        return json.dumps(records(df), default=_json_default, indent=1, ensure_ascii=False) + "\n"
    if fmt == "table":
        return (df.to_string(index=False) if len(df) else "(no rows)") + "\n"
    raise PipelineError(f"unknown format {fmt!r}; valid: table, csv, json")


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)
