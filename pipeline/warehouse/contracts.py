"""The written contract of every table: columns, types, keys, nulls.

A stage checks each table it writes with `check`; `load` creates the warehouse
tables from the same contracts (`ddl`), and the README's schema section is
printed from them (`ofsted-nlp contracts`), so the three cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.errors import ContractError


@dataclass(frozen=True)
class Column:
    """One column: its DuckDB type, whether it may be null, what it means."""

    name: str
    type: str
    doc: str
    nullable: bool = False


@dataclass(frozen=True)
class Table:
    """A table's contract."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    values: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]


def _c(name: str, type_: str, doc: str, nullable: bool = False) -> Column:
    return Column(name, type_, doc, nullable)


DOC_TYPES = frozenset({"hmi_letter", "inspection_report", "case_study", "la_plan", "unknown"})
LETTER_KINDS = frozenset(
    {
        "ri_monitoring",
        "special_measures_monitoring",
        "serious_weaknesses_monitoring",
        "short_inspection",
        "section8_other",
    }
)
SUPPORT_TYPES = frozenset(
    {
        "la_adviser_consultant",
        "school_improvement_partner",
        "national_leader_of_education",
        "local_leader_of_education",
        "national_leader_of_governance",
        "specialist_leader_of_education",
        "partner_school",
        "ofsted_hmi",
        "academy_trust_sponsor",
        "diocese",
        "other_external",
    }
)
ISSUE_TAGS = (
    "governance",
    "senior_leadership",
    "middle_leadership",
    "teaching_quality",
    "assessment_tracking",
    "marking_feedback",
    "monitoring_evaluation",
    "improvement_planning",
    "professional_development",
    "maths_numeracy",
    "english_literacy",
    "pupil_outcomes",
    "curriculum",
    "behaviour_attendance",
    "safeguarding",
    "inclusion_send",
    "early_years",
    "staffing",
)
"""The issue tags of spec/taxonomy.md, in its order."""
POLARITIES = ("weakness", "strength", "neutral")
STATUSES = frozenset({"ok", "partial", "rejected"})
LA_CATEGORIES_IDS = frozenset(
    {"inadequate", "satisfactory_satisfactory_capacity", "satisfactory_good_capacity", "good", "outstanding"}
)
"""The LA categories of spec/taxonomy.md."""
FLOOR_RISKS = frozenset({"high", "medium", "low"})
JUDGEMENT_AREAS = frozenset(
    {
        "overall_effectiveness",
        "leadership_management",
        "teaching_learning_assessment",
        "personal_development_behaviour_welfare",
        "outcomes",
        "early_years",
        "sixth_form",
        "quality_of_education",
        "behaviour_attitudes",
        "personal_development",
    }
)
"""Section 5 judgement areas (the headings of a report's summary table, as ids; the last three from 2019)."""
CONCERN_CATEGORIES = frozenset({"special_measures", "serious_weaknesses"})
CASE_STUDY_PARTS = frozenset({"context", "priorities", "actions", "impact"})
OUTCOME_KINDS = frozenset({"section5", "monitoring", "category_removed"})

DOCUMENTS = Table(
    "documents",
    "One row per distinct file content under the raw folder.",
    (
        _c("doc_id", "VARCHAR", "sha256 of the file's bytes, first 16 hex digits"),
        _c("source", "VARCHAR", "path of the file as ingested (the first, if the bytes occur twice)"),
        _c("doc_type", "VARCHAR", "taxonomy doc_type id"),
        _c("doc_type_evidence", "VARCHAR", "the words that decided the doc_type", nullable=True),
        _c("text", "VARCHAR", "the normalised extracted text; every offset points into it"),
        _c("n_chars", "BIGINT", "length of text"),
        _c("n_pages", "INTEGER", "pages of a PDF; null for text files", nullable=True),
        _c("n_bytes", "BIGINT", "size of the file"),
        _c("extractor", "VARCHAR", "how the text was read, e.g. pypdfium2-5.15.2 or text/utf-8"),
        _c("problems", "VARCHAR", "what went wrong short of rejection", nullable=True),
    ),
    ("doc_id",),
    {"doc_type": DOC_TYPES},
)

REJECTS = Table(
    "rejects",
    "One row per file (or document) a stage could not use, with the reason.",
    (
        _c("source", "VARCHAR", "path of the file"),
        _c("doc_id", "VARCHAR", "content hash, when the bytes could be read", nullable=True),
        _c("stage", "VARCHAR", "the stage that rejected it"),
        _c("reason", "VARCHAR", "a code from pipeline.errors.REJECT_REASONS"),
        _c("message", "VARCHAR", "what happened and what to do, in words"),
    ),
    ("source", "stage"),
)

LETTERS = Table(
    "letters",
    "One row per HMI letter: the record of spec/records.md (lists live in their own tables).",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("status", "VARCHAR", "ok, or partial when a core field could not be read"),
        _c("error", "VARCHAR", "which core fields are missing, for a partial record", nullable=True),
        _c("letter_kind", "VARCHAR", "taxonomy letter_kind id", nullable=True),
        _c("letter_date", "DATE", "the date the letter is written on", nullable=True),
        _c("visit_dates", "DATE[]", "day(s) of the visit"),
        _c("school_name", "VARCHAR", "as the letter names it", nullable=True),
        _c("postcode", "VARCHAR", "the school's postcode, AA9 9AA form", nullable=True),
        _c("headteacher", "VARCHAR", "addressee as written in the address block", nullable=True),
        _c("local_authority", "VARCHAR", "from 'Director of Children's Services for X'", nullable=True),
        _c("inspector", "VARCHAR", "the HMI who signs", nullable=True),
        _c("previous_section5", "VARCHAR", "YYYY-MM of the section 5 inspection followed up", nullable=True),
        _c("monitoring_visit_number", "INTEGER", "1 for 'the first monitoring inspection'", nullable=True),
        _c("judgement", "VARCHAR", "the judgement sentence", nullable=True),
        _c("effective_action", "BOOLEAN", "the judgement read as yes/no", nullable=True),
        _c("action_plan_fit", "BOOLEAN", "action plan / statement of action fit for purpose", nullable=True),
        _c("nqt_permission", "BOOLEAN", "may the school appoint newly qualified teachers", nullable=True),
    ),
    ("doc_id",),
    {"status": frozenset({"ok", "partial"}), "letter_kind": LETTER_KINDS},
)

FIELD_EVIDENCE = Table(
    "field_evidence",
    "Where in the text each scalar field of a letter, report or plan was read: one row per field found.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("field", "VARCHAR", "a column of letters, inspections or la_plans"),
        _c("value", "VARCHAR", "the value as text (ISO for dates)"),
        _c("start", "BIGINT", "offset of the evidence in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("doc_id", "field", "start"),
)

RECOMMENDATIONS = Table(
    "recommendations",
    "Each action a letter or report asks the school to take, in document order; sub-items name their parent.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("n", "INTEGER", "1-based position in the document"),
        _c("parent", "INTEGER", "n of the item this one is nested under; null for a top-level item", nullable=True),
        _c("text", "VARCHAR", "the whole bullet, glyph and line breaks removed"),
        _c("intro", "VARCHAR", "the sentence or heading that introduced the list"),
        _c("start", "BIGINT", "offset in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("doc_id", "n"),
)

EXTERNAL_SUPPORT = Table(
    "external_support",
    "Support named in a letter's external-support section, one row per sentence and type.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("n", "INTEGER", "1-based position in the letter"),
        _c("support_type", "VARCHAR", "taxonomy support_type id"),
        _c("text", "VARCHAR", "the sentence naming the support"),
        _c("matched", "VARCHAR", "the words that gave the support_type"),
        _c("start", "BIGINT", "offset of the sentence in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("doc_id", "n"),
    {"support_type": SUPPORT_TYPES},
)

SECTIONS = Table(
    "sections",
    "Each headed section of a letter (Evidence, Context, Main findings, …).",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("n", "INTEGER", "1-based position in the letter"),
        _c("heading", "VARCHAR", "the heading as written"),
        _c("text", "VARCHAR", "the section's body"),
        _c("start", "BIGINT", "offset of the body in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("doc_id", "n"),
)

UNIT_SPANS = Table(
    "unit_spans",
    "Every unit the embed stage cut and embedded (interim: classify turns it into units; not in the warehouse).",
    (
        _c("unit_id", "VARCHAR", "sha256 of doc_id, start and end, first 16 hex digits"),
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("n", "INTEGER", "1-based position in the document"),
        _c("kind", "VARCHAR", "sentence, bullet or sub_bullet"),
        _c("text", "VARCHAR", "the unit, whitespace folded"),
        _c("start", "BIGINT", "offset in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("unit_id",),
    {"kind": frozenset({"sentence", "bullet", "sub_bullet"})},
)

UNITS = Table(
    "units",
    "Every sentence and bullet item of every document (pipeline/readers/units.py), with its polarity and support.",
    (
        _c("unit_id", "VARCHAR", "sha256 of doc_id, start and end, first 16 hex digits"),
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("n", "INTEGER", "1-based position in the document"),
        _c("kind", "VARCHAR", "sentence, bullet or sub_bullet"),
        _c("text", "VARCHAR", "the unit, whitespace folded"),
        _c("start", "BIGINT", "offset in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
        _c("polarity", "VARCHAR", "weakness, strength or neutral (the classifier's)"),
        _c("support_types", "VARCHAR[]", "support_type ids the unit names (rules; for some types a classifier)"),
        _c("model_version", "VARCHAR", "the tagger that classified it (models/tagger/meta.json)"),
    ),
    ("unit_id",),
    {"kind": frozenset({"sentence", "bullet", "sub_bullet"}), "polarity": frozenset(POLARITIES)},
)

ISSUES = Table(
    "issues",
    "One row per issue tag the classifier gives a unit (score at or over the tag's threshold).",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("unit_id", "VARCHAR", "units.unit_id"),
        _c("tag", "VARCHAR", "taxonomy issue tag id"),
        _c("polarity", "VARCHAR", "the unit's polarity"),
        _c("score", "DOUBLE", "the classifier's score for the tag, 0–1"),
        _c("start", "BIGINT", "offset of the unit in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
        _c("model_version", "VARCHAR", "the tagger that gave the tag"),
    ),
    ("unit_id", "tag"),
    {"tag": frozenset(ISSUE_TAGS), "polarity": frozenset(POLARITIES)},
)

UNIT_EMBEDDINGS = Table(
    "unit_embeddings",
    "The sentence embedding of every unit, computed once (stage embed) and shared by the classifier and search.",
    (
        _c("unit_id", "VARCHAR", "units.unit_id"),
        _c("model", "VARCHAR", "the encoder's name, package and its version"),
        _c("vector", "FLOAT[384]", "unit-length embedding"),
    ),
    ("unit_id",),
)

INSPECTIONS = Table(
    "inspections",
    "One row per section 5 inspection report: the school, the dates and the overall judgements.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("status", "VARCHAR", "ok, or partial when a core field could not be read"),
        _c("error", "VARCHAR", "which core fields are missing, for a partial record", nullable=True),
        _c("school_name", "VARCHAR", "as the report names it", nullable=True),
        _c("urn", "INTEGER", "unique reference number, when the report prints it", nullable=True),
        _c("address", "VARCHAR", "the school's address as printed", nullable=True),
        _c("postcode", "VARCHAR", "AA9 9AA form", nullable=True),
        _c("local_authority", "VARCHAR", "as printed in the school information", nullable=True),
        _c("inspection_start", "DATE", "first day of the inspection", nullable=True),
        _c("inspection_end", "DATE", "last day of the inspection", nullable=True),
        _c(
            "overall_effectiveness",
            "INTEGER",
            "1 outstanding, 2 good, 3 requires improvement, 4 inadequate",
            nullable=True,
        ),
        _c("previous_overall_effectiveness", "INTEGER", "the grade at the previous inspection (1–4)", nullable=True),
        _c(
            "category_of_concern",
            "VARCHAR",
            "special_measures or serious_weaknesses, when the report puts the school in one",
            nullable=True,
        ),
    ),
    ("doc_id",),
    {"status": frozenset({"ok", "partial"}), "category_of_concern": CONCERN_CATEGORIES},
)

JUDGEMENTS = Table(
    "judgements",
    "Every graded judgement of a section 5 report.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("area", "VARCHAR", "judgement area id"),
        _c("heading", "VARCHAR", "the area as printed"),
        _c("grade", "INTEGER", "1 outstanding, 2 good, 3 requires improvement, 4 inadequate"),
        _c("grade_text", "VARCHAR", "the grade as printed"),
        _c("start", "BIGINT", "offset of the judgement line in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("doc_id", "area"),
    {"area": JUDGEMENT_AREAS},
)

CASE_STUDY_ITEMS = Table(
    "case_study_items",
    "The context, priorities, actions and impact of a case study, item by item.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("n", "INTEGER", "1-based position in the document"),
        _c("part", "VARCHAR", "context, priorities, actions or impact"),
        _c("heading", "VARCHAR", "the heading the item sits under, as written"),
        _c("parent", "INTEGER", "n of the item this one is nested under", nullable=True),
        _c("text", "VARCHAR", "the item (bullet or paragraph), line breaks folded"),
        _c("start", "BIGINT", "offset in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("doc_id", "n"),
    {"part": CASE_STUDY_PARTS},
)

LA_PLANS = Table(
    "la_plans",
    "One row per local-authority plan.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("local_authority", "VARCHAR", "the authority that wrote the plan", nullable=True),
        _c("title", "VARCHAR", "the plan's title", nullable=True),
        _c("year", "INTEGER", "the year the plan was written or starts", nullable=True),
    ),
    ("doc_id",),
)

LA_CATEGORY_SCHEME = Table(
    "la_category_scheme",
    "The categories an LA plan sorts its schools into, mapped to taxonomy la_category ids.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("la_category", "VARCHAR", "taxonomy la_category id"),
        _c("label", "VARCHAR", "the category as the plan writes it"),
        _c("start", "BIGINT", "offset of the label in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("doc_id", "la_category"),
    {"la_category": LA_CATEGORIES_IDS},
)

LA_SUPPORT_OFFER = Table(
    "la_support_offer",
    "Each item of support an LA plan offers, with the category of school it is offered to.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("n", "INTEGER", "1-based position in the plan"),
        _c("la_category", "VARCHAR", "the category offered it; null when offered to every school", nullable=True),
        _c("heading", "VARCHAR", "the heading the item sits under, as written"),
        _c("text", "VARCHAR", "the item, line breaks folded"),
        _c(
            "support_type",
            "VARCHAR",
            "taxonomy support_type id; null when the item names no external support",
            nullable=True,
        ),
        _c("start", "BIGINT", "offset in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("doc_id", "n"),
    {"la_category": LA_CATEGORIES_IDS, "support_type": SUPPORT_TYPES},
)

LA_RAG_AREAS = Table(
    "la_rag_areas",
    "The areas an LA plan rates Red/Amber/Green for each school.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("n", "INTEGER", "1-based position in the plan"),
        _c("area", "VARCHAR", "the area as written"),
        _c("start", "BIGINT", "offset in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("doc_id", "n"),
)

LA_FLOOR_RISK = Table(
    "la_floor_risk",
    "The floor-target risk levels an LA plan assesses schools against.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("level", "VARCHAR", "high, medium or low"),
        _c("text", "VARCHAR", "the sentence that defines or names the level"),
        _c("start", "BIGINT", "offset in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("doc_id", "level"),
    {"level": FLOOR_RISKS},
)

LA_SUCCESS_CRITERIA = Table(
    "la_success_criteria",
    "Each success criterion of an LA plan, with its numbers and deadline ('reduce from 4 to 2 by December 2010').",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("n", "INTEGER", "1-based position in the plan"),
        _c("text", "VARCHAR", "the criterion, whole"),
        _c("measure", "VARCHAR", "what is counted, e.g. 'schools in an Ofsted category'", nullable=True),
        _c("from_value", "DOUBLE", "the starting figure", nullable=True),
        _c("to_value", "DOUBLE", "the target figure", nullable=True),
        _c("unit", "VARCHAR", "count or percent", nullable=True),
        _c("deadline", "VARCHAR", "YYYY-MM the target is due (by …)", nullable=True),
        _c("start", "BIGINT", "offset in documents.text"),
        _c("end", "BIGINT", "end offset (exclusive)"),
    ),
    ("doc_id", "n"),
    {"unit": frozenset({"count", "percent"})},
)

SCHOOLS = Table(
    "schools",
    "Establishments from Get Information About Schools (edubasealldata*.csv).",
    (
        _c("urn", "INTEGER", "unique reference number"),
        _c("name", "VARCHAR", "EstablishmentName"),
        _c("la_code", "INTEGER", "LA (code)", nullable=True),
        _c("la_name", "VARCHAR", "LA (name)"),
        _c("postcode", "VARCHAR", "AA9 9AA form", nullable=True),
        _c("phase", "VARCHAR", "PhaseOfEducation (name)", nullable=True),
        _c("status", "VARCHAR", "EstablishmentStatus (name)", nullable=True),
        _c("type", "VARCHAR", "TypeOfEstablishment (name)", nullable=True),
        _c("opened", "DATE", "OpenDate", nullable=True),
        _c("closed", "DATE", "CloseDate", nullable=True),
    ),
    ("urn",),
)

SCHOOL_LINKS = Table(
    "school_links",
    "GIAS links between establishments (links file): predecessor and successor URNs.",
    (
        _c("urn", "INTEGER", "URN"),
        _c("link_urn", "INTEGER", "LinkURN"),
        _c("link_type", "VARCHAR", "LinkType as published, e.g. 'Successor', 'Predecessor'"),
        _c("link_date", "DATE", "LinkEstablishedDate", nullable=True),
    ),
    ("urn", "link_urn"),
)

SCHOOL_LINEAGE = Table(
    "school_lineage",
    "Every URN mapped to the latest URN of its chain of successors (itself when it has none).",
    (
        _c("urn", "INTEGER", "a URN in schools"),
        _c("current_urn", "INTEGER", "the end of its successor chain"),
        _c("steps", "INTEGER", "links followed (0 for a school with no successor)"),
    ),
    ("urn",),
)

OUTCOMES = Table(
    "outcomes",
    "Inspection outcomes by school and date: Ofsted management information and parsed section 5 reports.",
    (
        _c("urn", "INTEGER", "the URN the outcome was recorded under"),
        _c("date", "DATE", "inspection start date"),
        _c("kind", "VARCHAR", "section5, monitoring or category_removed"),
        _c("source", "VARCHAR", "ofsted_mi (file name) or the doc_id of a parsed report"),
        _c("overall_effectiveness", "INTEGER", "1–4, for a section 5 outcome", nullable=True),
        _c("category_of_concern", "VARCHAR", "special_measures or serious_weaknesses", nullable=True),
        _c("doc_id", "VARCHAR", "the report it was read from, if any", nullable=True),
    ),
    ("urn", "date", "kind", "source"),
    {"kind": OUTCOME_KINDS, "category_of_concern": CONCERN_CATEGORIES},
)

LA_CATEGORIES = Table(
    "la_categories",
    "An LA's categorisation of a school for an academic year, with the support given (the LA categorisation CSV).",
    (
        _c("urn", "INTEGER", "the school"),
        _c("la_name", "VARCHAR", "the local authority"),
        _c("academic_year", "VARCHAR", "e.g. 2012/13"),
        _c("year_start", "DATE", "1 September of the academic year"),
        _c("year_end", "DATE", "31 August of the academic year"),
        _c("la_category", "VARCHAR", "taxonomy la_category id"),
        _c("floor_risk", "VARCHAR", "high, medium or low", nullable=True),
        _c("support_given", "VARCHAR[]", "taxonomy support_type ids"),
    ),
    ("urn", "academic_year"),
    {"la_category": LA_CATEGORIES_IDS, "floor_risk": FLOOR_RISKS, "support_given": SUPPORT_TYPES},
)

REFERENCE_REJECTS = Table(
    "reference_rejects",
    "Rows of reference files that could not be used, with their row number and why.",
    (
        _c("file", "VARCHAR", "the reference file"),
        _c("row", "INTEGER", "1-based data row (the header is row 0); negative for a key an earlier file already gave"),
        _c("reason", "VARCHAR", "missing_urn, unknown_la, bad_date, unknown_category, bad_value, unknown_urn"),
        _c("message", "VARCHAR", "what was wrong, naming the value"),
    ),
    ("file", "row", "reason"),
)

LETTER_SCHOOL = Table(
    "letter_school",
    "Each letter or report linked to its school, with how sure the link is.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("urn", "INTEGER", "the school matched"),
        _c("current_urn", "INTEGER", "the end of the school's successor chain"),
        _c("confidence", "DOUBLE", "0–1"),
        _c("method", "VARCHAR", "how it matched: urn, postcode+name, name+la, name"),
        _c("school_name", "VARCHAR", "the name as the document gives it"),
        _c("matched_name", "VARCHAR", "the school's name in schools"),
        _c("la_name", "VARCHAR", "the school's local authority"),
    ),
    ("doc_id",),
)

UNMATCHED = Table(
    "unmatched",
    "Letters and reports not linked to a school (for a person to resolve), with the best candidate.",
    (
        _c("doc_id", "VARCHAR", "documents.doc_id"),
        _c("school_name", "VARCHAR", "the name as the document gives it", nullable=True),
        _c("postcode", "VARCHAR", "the postcode it gives", nullable=True),
        _c("best_urn", "INTEGER", "the best candidate", nullable=True),
        _c("best_name", "VARCHAR", "its name", nullable=True),
        _c("confidence", "DOUBLE", "the best candidate's confidence", nullable=True),
        _c("reason", "VARCHAR", "why it was not linked"),
    ),
    ("doc_id",),
)

LOAD_STATE = Table(
    "load_state",
    "What the warehouse was built from, so that the next load changes only what changed (stage load). "
    "One row per stage and document with the fingerprint the stage processed it under; stage `load` has one "
    "row (doc_id '') with the fingerprint of the load code and these contracts.",
    (
        _c("stage", "VARCHAR", "parse, link, embed, classify, or load"),
        _c("doc_id", "VARCHAR", "documents.doc_id ('' for the row of stage load)"),
        _c("fingerprint", "VARCHAR", "the stage's code and params fingerprint for the document"),
    ),
    ("stage", "doc_id"),
    {"stage": frozenset({"parse", "link", "embed", "classify", "load"})},
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        DOCUMENTS,
        REJECTS,
        LETTERS,
        FIELD_EVIDENCE,
        RECOMMENDATIONS,
        EXTERNAL_SUPPORT,
        SECTIONS,
        INSPECTIONS,
        JUDGEMENTS,
        CASE_STUDY_ITEMS,
        LA_PLANS,
        LA_CATEGORY_SCHEME,
        LA_SUPPORT_OFFER,
        LA_RAG_AREAS,
        LA_FLOOR_RISK,
        LA_SUCCESS_CRITERIA,
        UNIT_SPANS,
        UNITS,
        ISSUES,
        UNIT_EMBEDDINGS,
        SCHOOLS,
        SCHOOL_LINKS,
        SCHOOL_LINEAGE,
        OUTCOMES,
        LA_CATEGORIES,
        REFERENCE_REJECTS,
        LETTER_SCHOOL,
        UNMATCHED,
        LOAD_STATE,
    )
}

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "VARCHAR": (str,),
    "BIGINT": (int,),
    "INTEGER": (int,),
    "BOOLEAN": (bool,),
    "DATE": (dt.date,),
    "DOUBLE": (float, int),
}


def empty(table: Table) -> pd.DataFrame:
    """An empty frame with the table's columns."""
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in table.names})


def frame(table: Table, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows (dicts) as a frame with exactly the table's columns, checked."""
    df = pd.DataFrame(rows, columns=table.names) if rows else empty(table)
    check(df, table)
    return df


def check(df: pd.DataFrame, table: Table) -> None:
    """Check a frame against its contract.

    Raises:
        ContractError: naming the table, the column, the offending value and
            what the contract allows.
    """
    if list(df.columns) != table.names:
        raise ContractError(f"table {table.name!r} has columns {list(df.columns)}; its contract says {table.names}")
    for col in table.columns:
        series = df[col.name]
        is_list = "[" in col.type
        nulls = series.map(lambda v: v is None) if is_list else series.isna()
        if nulls.any() and not col.nullable:
            row = int(nulls.to_numpy().nonzero()[0][0])
            raise ContractError(f"table {table.name!r}: column {col.name!r} is null in row {row}; it may not be")
        allowed = table.values.get(col.name)
        for i, value in enumerate(series):
            if value is None or (not is_list and pd.isna(value)):
                continue
            _check_value(table, col, i, value, allowed)
    if len(df):
        dup = df.duplicated(subset=list(table.key), keep=False)
        if dup.any():
            first = df[dup].iloc[0][list(table.key)].to_dict()
            raise ContractError(f"table {table.name!r}: key {table.key} is not unique, e.g. {first}")


def _check_value(table: Table, col: Column, row: int, value: Any, allowed: frozenset[str] | None) -> None:
    fixed = re.fullmatch(r"FLOAT\[(\d+)\]", col.type)
    if fixed:  # a fixed-size vector: check its length, not each of its numbers
        if len(value) != int(fixed.group(1)):
            raise ContractError(
                f"table {table.name!r}: column {col.name!r} row {row} holds {len(value)} numbers; "
                f"the contract says {col.type}"
            )
        return
    base = col.type.removesuffix("[]")
    values = list(value) if col.type.endswith("[]") else [value]
    for v in values:
        ok = isinstance(v, _PY_TYPES[base]) and not (base in {"BIGINT", "INTEGER"} and isinstance(v, bool))
        if base in {"BIGINT", "INTEGER"} and not ok:
            ok = hasattr(v, "is_integer") and float(v).is_integer()
        if not ok:
            raise ContractError(
                f"table {table.name!r}: column {col.name!r} row {row} holds {v!r} "
                f"({type(v).__name__}); the contract says {col.type}"
            )
        if allowed is not None and v not in allowed:
            raise ContractError(
                f"table {table.name!r}: column {col.name!r} row {row} holds {v!r}; valid values: {sorted(allowed)}"
            )


def checked_rows(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` after `check`, each with exactly the table's columns, integral floats of integer columns as ints."""
    frame(table, rows)  # checks them
    ints = [c.name for c in table.columns if c.type in {"INTEGER", "BIGINT"}]
    out = []
    for r in rows:
        row = {c: r.get(c) for c in table.names}
        for c in ints:
            v = row[c]
            if v is not None and not isinstance(v, int):
                row[c] = None if v != v else int(v)  # NaN (a missing value read back by pandas) is null
        out.append(row)
    return out


_ARROW_TYPES = {
    "VARCHAR": "large_string",
    "BIGINT": "int64",
    "INTEGER": "int32",
    "BOOLEAN": "bool_",
    "DATE": "date32",
    "DOUBLE": "float64",
    "FLOAT": "float32",
}


def arrow_schema(table: Table) -> Any:
    """The Arrow schema of a table's Parquet file (``X[]`` and ``FLOAT[n]`` as lists)."""
    import pyarrow as pa

    fields = []
    for c in table.columns:
        base = re.sub(r"\[\d*\]$", "", c.type)
        typ = getattr(pa, _ARROW_TYPES[base])()
        fields.append(pa.field(c.name, pa.list_(typ) if c.type.endswith("]") else typ, nullable=c.nullable))
    return pa.schema(fields)


def ddl(table: Table) -> str:
    """The DuckDB CREATE TABLE statement for a contract."""
    cols = ",\n  ".join(f'"{c.name}" {c.type}{"" if c.nullable else " NOT NULL"}' for c in table.columns)
    return f'CREATE TABLE "{table.name}" (\n  {cols},\n  PRIMARY KEY ({", ".join(table.key)})\n)'


def markdown(tables: dict[str, Table] = TABLES) -> str:
    """The contracts as Markdown, for the README."""
    out: list[str] = []
    for t in tables.values():
        out.append(f"#### `{t.name}` (key: {', '.join(t.key)})\n\n{t.doc}\n")
        out.append("| column | type | null | meaning |\n|---|---|---|---|")
        out.extend(f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {c.doc} |" for c in t.columns)
        out.append("")
    return "\n".join(out)
