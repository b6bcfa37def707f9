"""A seeded generator of synthetic HMI letters, with their ground truth and a GIAS extract.

Researchers benchmark the pipeline on thousands of letters that no one may
publish; this package writes letters shaped like the real ones, from its own
phrase bank (no letter's text is copied; the frame keeps Ofsted's standard
formulas, which the parser recognises): contractor or Ofsted
letterheads, the date line, the address block, "Dear …", a subject line naming
the visit kind and the school, visit dates (one day, two days, across months),
the judgement, section headings, recommendation bullets (nested, wrapped), the
external support named in the letter, the sign-off and the copy line naming the
local authority. A share of the letters are PDFs laid out as Ofsted's are:
letterhead, bullets drawn with "•" and hanging indents, a running footer and
page numbers on 2–4 pages.

This module is the public API; the work is split by step:

- `pipeline.synth.plan`: `plan_corpus` chooses the schools and each letter's kind, dates and outcome;
- `pipeline.synth.compose`: `compose_letter` writes one letter's blocks from its plan;
- `pipeline.synth.render`: the letter as text or as a PDF;
- `pipeline.synth.bank`: the words, read from ``pipeline/synth/data/*.yaml`` (phrase banks, the
  letter frame's wording, names, local authorities, letterheads), where a domain expert reviews them.

Core (pure, seeded): `plan_corpus`; `build_letter` composes one letter and renders it to bytes
with its truth record; `gias_csv` writes the schools as a GIAS extract. The same
``(n, pdf_share, seed)`` always gives byte-identical files. The shell `run`
writes them to disk.

The truth record of a letter holds exactly what the parser should read
(`pipeline.stages.parse`): kind, dates, school, postcode, headteacher, local authority
as written, inspector, previous section 5 month, monitoring visit number,
judgement, ``effective_action``, ``action_plan_fit``, ``nqt_permission``, the
recommendations the school is asked to act on (folded as the parser folds
them), the external support and its types, the headings, and every generated
sentence with its issue tags and polarity (taxonomy.md).

The phrase bank is also reachable here as module attributes (``BANK``, ``RECS``, ``NESTED``,
``SUPPORT``, ``CONTEXT``, ``EVIDENCE``, ``LOCAL_AUTHORITIES``, ``LETTERHEADS``, ``ISSUE_TAG_ORDER``),
loaded from the data files on first access.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError
from pipeline.synth import bank
from pipeline.synth.bank import Letterhead, LocalAuthority, Phrase, Rec, Support
from pipeline.synth.compose import Bullets, Heading, Letter, Para, Unit, compose_letter
from pipeline.synth.plan import (
    CONTRACTORS_UNTIL,
    LETTER_KINDS,
    URN_BASE,
    CorpusPlan,
    LetterPlan,
    Person,
    School,
    plan_corpus,
)
from pipeline.synth.render import (
    PdfStyle,
    TextStyle,
    apostrophes,
    layout_pdf,
    pdf_bytes,
    pdf_style,
    render_text,
    text_style,
)

__all__ = [
    "GIAS_HEADER",
    "LETTER_KINDS",
    "URN_BASE",
    "BuiltLetter",
    "CorpusPlan",
    "Letter",
    "LetterPlan",
    "Letterhead",
    "LocalAuthority",
    "PdfStyle",
    "Person",
    "Phrase",
    "Rec",
    "School",
    "Support",
    "TextStyle",
    "build_letter",
    "compose_letter",
    "generate",
    "gias_csv",
    "layout_pdf",
    "pdf_bytes",
    "plan_corpus",
    "render_text",
    "run",
    "truth_record",
]

GIAS_HEADER = (
    "URN",
    "LA (code)",
    "LA (name)",
    "EstablishmentNumber",
    "EstablishmentName",
    "TypeOfEstablishment (code)",
    "TypeOfEstablishment (name)",
    "EstablishmentStatus (code)",
    "EstablishmentStatus (name)",
    "OpenDate",
    "CloseDate",
    "PhaseOfEducation (code)",
    "PhaseOfEducation (name)",
    "Street",
    "Locality",
    "Town",
    "Postcode",
)
"""The columns of ``corpus/reference/edubasealldata_sample.csv``, in its order (`gias_csv` writes its rows so)."""

# -- the phrase bank as module attributes, loaded on first use ------------------------------------------

if TYPE_CHECKING:
    BANK: dict[str, dict[str, tuple[Phrase, ...]]]
    """Weakness (``"w"``) and strength (``"s"``) sentences for every issue tag of the taxonomy."""
    ISSUE_TAG_ORDER: tuple[str, ...]
    RECS: dict[str, tuple[Rec, ...]]
    """Recommendations (what the school is asked to do) for every issue tag."""
    NESTED: tuple[Rec, ...]
    """Recommendations with sub-items ("…, by:" then "– making sure …")."""
    SUPPORT: tuple[Support, ...]
    """External support sentences with the support types the rules of `pipeline.readers.support` find in them."""
    CONTEXT: tuple[Phrase, ...]
    """Context sentences: neutral, some tagged with what they are about."""
    EVIDENCE: tuple[str, ...]
    """Evidence sentences (neutral, untagged): what the inspector did."""
    LOCAL_AUTHORITIES: tuple[LocalAuthority, ...]
    """Local authorities with their real GIAS codes and names; postcode areas and towns are plausible."""
    LETTERHEADS: dict[str, Letterhead]
    """The letterheads of Ofsted's offices and of the inspection contractors of 2012–2015."""

_LAZY: dict[str, Callable[[], Any]] = {
    "BANK": bank.findings,
    "ISSUE_TAG_ORDER": bank.issue_tags,
    "RECS": lambda: bank.recommendations().by_tag,
    "NESTED": lambda: bank.recommendations().nested,
    "SUPPORT": bank.support,
    "CONTEXT": bank.context,
    "EVIDENCE": bank.evidence,
    "LOCAL_AUTHORITIES": bank.local_authorities,
    "LETTERHEADS": lambda: bank.letterheads().by_key,
}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """The phrase bank's names, read from the data files on first access (PEP 562)."""
        if name in _LAZY:
            return _LAZY[name]()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- truth ------------------------------------------------------------------------------------------


def truth_record(letter: Letter, file: str, n_pages: int | None) -> dict[str, Any]:
    """The letter's ground truth: the values the parser should read and every generated unit's labels."""
    plan, v = letter.plan, letter.values
    units: list[dict[str, Any]] = []
    recs: list[dict[str, Any]] = []
    support: list[dict[str, Any]] = []
    headings: list[str] = []
    section = None
    for b in letter.body:
        if isinstance(b, Heading):
            section = b.text
            headings.append(b.text)
        elif isinstance(b, Para):
            for u in b.units:
                units.append(_unit_json(u, section))
                if u.support_types and section is not None and "support" in section.lower():
                    support.append({"text": _fold(u.text), "support_types": list(u.support_types)})
        elif isinstance(b, Bullets):
            for item in b.items:
                units.append(_unit_json(item.unit, section))
                units.extend(_unit_json(c, section) for c in item.children)
                if b.counted:
                    recs.append(
                        {
                            "text": _fold(" ".join([item.unit.text, *(c.text for c in item.children)])),
                            "tags": list(item.unit.tags),
                            "polarity": item.unit.polarity,
                            "sub_items": [{"text": c.text, "tags": list(c.tags)} for c in item.children],
                        }
                    )
        elif b.role == "signoff":
            section = None
    school = plan.school
    return {
        "file": file,
        "doc_kind": plan.fmt,
        "pages": n_pages,
        "letter_kind": plan.kind,
        "template": plan.era,
        "letter_date": plan.letter_date.isoformat(),
        "visit_dates": [d.isoformat() for d in plan.visit_dates],
        "school_name": v["school_name"],
        "urn": school.urn,
        "gias_name": school.name,
        "postcode": school.postcode,
        "headteacher": v["headteacher"],
        "local_authority": v["local_authority"],
        "la_name": school.la.gias_name,
        "la_code": school.la.code,
        "inspector": v["inspector"],
        "inspector_role": v["inspector_role"],
        "contractor": v["contractor"],
        "previous_section5": v["previous_section5"],
        "monitoring_visit_number": v["monitoring_visit_number"],
        "judgement": v["judgement"],
        "effective_action": v["effective_action"],
        "action_plan_fit": v["action_plan_fit"],
        "nqt_permission": v["nqt_permission"],
        "recommendations": recs,
        "external_support": support,
        "sections": headings,
        "units": units,
        "layout": letter.layout,
    }


def _fold(s: str) -> str:
    return " ".join(s.split())


def _unit_json(u: Unit, section: str | None) -> dict[str, Any]:
    return {
        "text": u.text,
        "kind": u.kind,
        "section": section,
        "tags": list(u.tags),
        "polarity": u.polarity,
        "support_types": list(u.support_types),
    }


# -- one letter, the reference file, the shell --------------------------------------------------------


@dataclass(frozen=True)
class BuiltLetter:
    """A rendered letter: file name, bytes and truth record."""

    file: str
    data: bytes
    truth: dict[str, Any]


def build_letter(plan: LetterPlan, seed: int) -> BuiltLetter:
    """Compose and render one letter.

    A PDF keeps to two to four pages: optional findings paragraphs are dropped
    (last first) until the letter fits, so the truth always describes what was
    drawn.
    """
    letter = compose_letter(plan, seed)
    rng = random.Random(f"ofsted-nlp synth layout {seed} {plan.index}")
    letter = apostrophes(letter, rng.random() < (0.5 if plan.fmt == "pdf" else 0.25))
    if plan.fmt == "txt":
        style = text_style(rng, letter)
        letter.layout.update(
            format="txt",
            one_line_header=style.one_line_header,
            wrap=style.wrap,
            glyph=style.glyph.strip(),
            page_breaks=len(style.page_breaks),
        )
        file = f"{plan.name}.txt"
        return BuiltLetter(file, render_text(letter, style).encode("utf-8"), truth_record(letter, file, None))
    pstyle = pdf_style(rng)
    pages = layout_pdf(letter, pstyle)
    while len(pages) > 4:
        optional = [i for i, b in enumerate(letter.body) if isinstance(b, Para) and b.optional]
        if not optional:
            break
        del letter.body[optional[-1]]
        pages = layout_pdf(letter, pstyle)
    heads = bank.letterheads()
    footer = heads.footer_contractors if plan.visit_dates[0] < CONTRACTORS_UNTIL else heads.footer_ofsted
    letter.layout.update(
        format="pdf", letterhead_after_address=False, item_gap=pstyle.item_gap, date_right=pstyle.date_right
    )
    file = f"{plan.name}.pdf"
    return BuiltLetter(file, pdf_bytes(letter, pages, footer), truth_record(letter, file, len(pages)))


def gias_csv(schools: Sequence[School]) -> bytes:
    """A GIAS extract with one row per school (the columns of the sample file), Windows-1252 like GIAS."""
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(GIAS_HEADER)
    for s in schools:
        w.writerow(
            (
                s.urn,
                s.la.code,
                s.la.gias_name,
                s.number,
                s.name,
                s.type_code,
                s.type_name,
                1,
                "Open",
                s.opened.strftime("%d-%m-%Y"),
                "",
                2 if s.phase == "primary" else 4,
                "Primary" if s.phase == "primary" else "Secondary",
                s.street,
                s.locality,
                s.town,
                s.postcode,
            )
        )
    return out.getvalue().encode("cp1252")


def generate(n: int, pdf_share: float, seed: int) -> tuple[CorpusPlan, Iterator[BuiltLetter]]:
    """The corpus plan and, lazily, its letters in file order."""
    _check(n, pdf_share)
    plan = plan_corpus(n, pdf_share, seed)
    return plan, (build_letter(p, seed) for p in plan.letters)


def _check(n: int, pdf_share: float) -> None:
    if n < 1:
        raise PipelineError(f"--n must be at least 1 (got {n})")
    if not 0.0 <= pdf_share <= 1.0:
        raise PipelineError(f"--pdf-share must be between 0 and 1 (got {pdf_share})")


def run(n: int, pdf_share: float, seed: int, out: Path) -> dict[str, int]:
    """Write OUT/raw/<name>.txt|.pdf, OUT/truth.jsonl (one line per letter: file name, doc kind and every field and
    tag used), and OUT/reference/edubasealldata_synth.csv (one GIAS row per school used, same columns as
    corpus/reference/edubasealldata_sample.csv) so the link stage can link every letter. Returns counts.

    Raises:
        PipelineError: ``n`` or ``pdf_share`` out of range, or OUT/raw already holds files.
    """  # noqa: D205 (the lead's interface text, kept word for word)
    _check(n, pdf_share)
    bank.load_all()  # a data file an edit broke fails here, before anything is written
    raw, reference = out / "raw", out / "reference"
    if raw.is_dir() and any(raw.iterdir()):
        raise PipelineError(f"{raw} already holds files; synth writes a new corpus: remove it or choose another OUT")
    raw.mkdir(parents=True, exist_ok=True)
    reference.mkdir(parents=True, exist_ok=True)
    plan, letters = generate(n, pdf_share, seed)
    counts = {
        "letters": 0,
        "txt": 0,
        "pdf": 0,
        "pdf_pages": 0,
        "schools": len(plan.schools),
        "recommendations": 0,
        "units": 0,
    }
    with (out / "truth.jsonl").open("w", encoding="utf-8", newline="\n") as truth:
        for built in letters:
            (raw / built.file).write_bytes(built.data)
            truth.write(json.dumps(built.truth, ensure_ascii=False) + "\n")
            counts["letters"] += 1
            counts[built.truth["doc_kind"]] += 1
            counts["pdf_pages"] += built.truth["pages"] or 0
            counts["recommendations"] += len(built.truth["recommendations"])
            counts["units"] += len(built.truth["units"])
    (reference / "edubasealldata_synth.csv").write_bytes(gias_csv(plan.schools))
    return counts
