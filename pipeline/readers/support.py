"""Rules that name the external support in a sentence (taxonomy ``support_type``).

A transparent set of rules. `pipeline.stages.train.support_choice` replaces a type's
rule with a classifier where cross-validation finds it better (the model's
`SupportModel`); the other types keep their rule. Each rule is a pattern, and
the words of a more specific rule are removed before a more general one looks
(so "consultant governor" is governance support, not an LA consultant).
"""

from __future__ import annotations

import re

_A = "['\u2019]?"
_HMI = r"(?:\bHMI\b|H(?:er|is)\s+Majesty" + _A + r"s?\s+Inspectors?|\bOfsted\b(?:\s+inspectors?)?)"
_GIVES = r"(?:visit\w*|train\w*|seminars?|briefings?|workshops?|conferences?|courses?|support\w*|challenge\w*)\b"
_NOT_GIVEN = r"\s*(?:recommend\w*|categor\w*|judge?\w*|grade\w*|rat\w+|inspections?|reports?|framework)\b"
RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (t, re.compile(p, re.I))
    for t, p in (
        (
            "national_leader_of_governance",
            r"national\s+leaders?\s+(?:of|in|for)\s+governance|\bNLGs?\b|consultant\s+governors?"
            r"|(?:external\s+)?review\s+of\s+governance",
        ),
        (
            "national_leader_of_education",
            r"national\s+leaders?\s+of\s+education|\bNLEs?\b|national\s+support\s+schools?",
        ),
        ("local_leader_of_education", r"local\s+leaders?\s+(?:of|in)\s+education|\bLLEs?\b"),
        (
            "specialist_leader_of_education",
            r"specialist\s+leaders?\s+(?:of|in)\s+education|\bSLEs?\b|leading\s+teachers?|lead\s+practitioners?",
        ),
        (
            "school_improvement_partner",
            rf"(?:school{_A}s?{_A}\s+)?improvement\s+partners?|\bSIPs?\b|leadership\s+and\s+learning\s+partners?"
            r"|(?:school\s+)?improvement\s+advis[eo]rs?",
        ),
        ("diocese", r"\b(?:arch)?dioces(?:e|es|an)\b"),
        (
            "academy_trust_sponsor",
            r"\b(?:multi-academy|academy|academies|learning|education(?:al)?|schools?)\s+trust\b|\btrust(?:'s|\u2019s)?\s+(?:central|leaders|board|team|"
            r"executive|chief|director|officers?|staff|school\s+improvement)|\bthe\s+trust\b|\bsponsors?\b|\bMAT\b",
        ),
        (
            "other_external",
            r"\buniversit(?:y|ies)\b|\b(?:independent|private)\s+(?:\w+\s+)?(?:consultan\w*|advis[eo]rs?|providers?|"
            r"compan(?:y|ies))|National\s+College|Teach\s+First|\b(?:Maths|English|Research)\s+Hubs?\b"
            r"|\bresearch\s+school\b|\bcharit(?:y|ies)\b",
        ),
        (
            "partner_school",
            r"\bteaching\s+schools?\b|\bpartner\s+schools?\b|\bsister\s+schools?\b|\bfederation\b|\bcluster\b"
            r"|collaborative\s+partnership|partnership\s+with\s+(?:an?|another|other|two|three|several|local|"
            r"neighbouring|nearby)\b[^.]{0,60}?\bschools?\b|links?\s+with\s+(?:an?|another|other|local|nearby)\b"
            r"[^.]{0,60}?\bschools?\b|outstanding\s+(?:\w+\s+)?schools\b",
        ),
        (
            "ofsted_hmi",
            # HMI or Ofsted named as giving something (visits, training, seminars, support), not
            # a letterhead, a sign-off, "HMI recommend", "Ofsted will continue to monitor" or a category
            rf"{_HMI}(?!{_NOT_GIVEN})(?=[^.;:]{{0,40}}?\b{_GIVES})|\b{_GIVES}(?:\s+[\w,]+){{0,5}}?\s+(?:by|from|with)\s+(?:one\s+of\s+|an?\s+|the\s+)?{_HMI}"
            r"|best\s+practice\s+seminars?",
        ),
        (
            "la_adviser_consultant",
            r"\blocal\s+authority\b|\bthe\s+LA\b|\bLA\s+(?:advis|officer|consultant|review|support)\w*|\bcouncil\b"
            r"|\badvis[eo]rs?\b|\bconsultan(?:t|ts|cy)\b|\bofficers?\b|\bjoint\s+(?:evaluations?|reviews?)\b",
        ),
    )
)


def find_support(sentence: str) -> list[tuple[str, str]]:
    """Every support type a sentence names, with the words that named it.

    Returns:
        ``(support_type, matched words)`` in rule order, each type once.
    """
    found: list[tuple[str, str]] = []
    rest = sentence
    for support_type, pattern in RULES:
        m = pattern.search(rest)
        if m:
            found.append((support_type, " ".join(m.group(0).split())))
            # blank out what this rule used so that a general rule cannot reuse it
            rest = pattern.sub(lambda x: " " * len(x.group(0)), rest)
    return found
