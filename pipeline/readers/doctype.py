"""Rules that give every document a taxonomy ``doc_type``.

Each type has cue patterns; a document takes the type whose cues score highest
(at least `MIN_SCORE`), else ``unknown``. Cues are phrases of the genre, not of
any one document: a letter has a salutation, an inspection subject line and an
inspector's sign-off; a report has its judgement table; a case study its
context / what was done / impact headings; an LA plan speaks of categorising
schools and the support offered to them.
"""

from __future__ import annotations

import re

MIN_SCORE = 3

_APOS = "['\u2019\u2018`]?"
# A line's leading marks are ``[^\w\n]*``, not ``\W*``: \W crosses newlines, so every
# line start of a run of blank lines rescanned the run (20,000 blank lines: minutes).
_CUES: dict[str, list[tuple[str, int]]] = {
    "hmi_letter": [
        (r"^[^\w\n]*Dear\s+(?:Mrs|Mr|Ms|Miss|Dr|Sir|Madam|Headteacher|Principal|\w+)\b", 2),
        (r"\b(?:monitoring inspection|short inspection|monitoring visit|inspection visit)\b", 2),
        (rf"Her Majesty{_APOS}s? Inspector|\bHMI\b|Ofsted Inspector", 1),
        (r"\bYours (?:sincerely|faithfully)\b", 1),
        (r"\bFollowing (?:my|our) visit\b", 2),
        (r"\bsection 8 of the Education Act", 1),
    ],
    "inspection_report": [
        (r"^[^\w\n]*(?:School|Academy|College)? ?(?:inspection )?report\b", 1),
        (r"\bInspection dates?\b", 2),
        (r"\bOverall effectiveness\b", 2),
        (r"What does the school need to do to improve", 2),
        (r"\bInspection (?:report|judgements|team)\b", 1),
        (r"\bSummary of key findings\b", 1),
    ],
    "case_study": [
        (r"\bcase study\b", 3),
        (r"^[^\w\n]*(?:School )?context\b", 1),
        (r"^[^\w\n]*What (?:was done|we did|did we do)\b", 2),
        (r"^[^\w\n]*(?:The )?impact\b", 1),
        (r"^[^\w\n]*Priorities for (?:school )?improvement\b", 1),
    ],
    "la_plan": [
        (r"\bcategoris(?:e|ed|ation)\b|\bcategory [1-5A-D]\b", 2),
        (r"\b(?:local authority|LA|council)\b[^.\n]{0,60}\b(?:support|challenge|intervention)\b", 1),
        (r"\bsupport offer\b|\bentitlement\b|\bpackage of support\b", 2),
        (r"\bsuccess criteria\b", 1),
        (r"\b(?:school improvement|primary|secondary|education) (?:plan|strategy|policy)\b", 1),
        (r"\bRAG\b|\bred,? amber(?: and|,)? green\b", 1),
    ],
}
_COMPILED = {t: [(re.compile(p, re.I | re.M), w) for p, w in cues] for t, cues in _CUES.items()}


def classify_doc_type(text: str) -> tuple[str, str | None]:
    """The doc_type of a document and the cue words that decided it.

    Returns:
        ``(doc_type, evidence)``; evidence is None for ``unknown``.
    """
    head = text[:20000]
    best, best_score, best_hits = "unknown", 0, []
    for doc_type, cues in _COMPILED.items():
        score, hits = 0, []
        for pattern, weight in cues:
            m = pattern.search(head)
            if m:
                score += weight
                hits.append(" ".join(m.group(0).split()))
        if score > best_score:
            best, best_score, best_hits = doc_type, score, hits
    if best_score < MIN_SCORE:
        return "unknown", None
    return best, "; ".join(best_hits)
