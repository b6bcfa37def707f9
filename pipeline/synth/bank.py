"""The synthetic generator's data: phrase banks, name parts and reference tables, from ``data/*.yaml``.

Each loader reads its file on first use and keeps it for the process (`functools.cache`); importing this
module reads nothing. Loading checks a file's shape (keys, types, tags, the slots a text may use) and
says which file and entry is wrong and how to fix it, so that an edit to the wording fails at once with
a message rather than with a ``KeyError`` halfway through a corpus.

The files (each starts with a comment saying what it holds and how to edit it):

- ``findings.yaml``: weakness and strength sentences by issue tag (`findings`).
- ``recommendations.yaml``: recommendations by tag, nested ones, the local authority's (`recommendations`).
- ``support.yaml``: external support sentences with their support types (`support`).
- ``evidence_and_context.yaml``: what the inspector did, what changed at the school (`evidence`, `context`).
- ``slots.yaml``: what ``{ks}``, ``{yr}``, ``{subj}`` … in those sentences are filled with (`slots`).
- ``letter.yaml``: the letter's frame: subject lines, openings, judgements, headings, sign-off (`wording`).
- ``names.yaml``, ``schools.yaml``: parts of invented names of people, places and schools (`names`, `schools`).
- ``local_authorities.yaml``, ``letterheads.yaml``: reference tables (`local_authorities`, `letterheads`).
"""

from __future__ import annotations

import functools
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple, NoReturn

from pipeline.errors import PipelineError

FILES = (
    "findings.yaml",
    "recommendations.yaml",
    "support.yaml",
    "evidence_and_context.yaml",
    "slots.yaml",
    "letter.yaml",
    "names.yaml",
    "schools.yaml",
    "local_authorities.yaml",
    "letterheads.yaml",
)
"""The files of ``pipeline/synth/data``, each read by one or two loaders below."""

PHASES = ("any", "primary", "secondary")
SUPPORT_POLARITIES = ("strength", "weakness", "neutral")
REGIONS = ("north", "midlands", "south", "london")
LETTERHEAD_KEYS = (
    "serco_cedar",
    "serco_colmore",
    "tribal",
    "cfbt",
    "ofsted_piccadilly",
    "ofsted_aviation",
    "ofsted_clive",
)
"""The letterheads the generator's code chooses between (by region and date)."""

PHRASE_SLOTS = frozenset({"ks", "yr", "subj", "grp", "n", "N", "n2", "k", "month", "roles", "senior", "place", "trust"})
"""The slots a sentence of the phrase files may use (slots.yaml and the composer fill them)."""

LETTER_SLOTS: dict[str, str] = {
    "majesty.before_september_2022": "",
    "majesty.from_september_2022": "",
    "chief": "majesty",
    "subject.ri_old[]": "name",
    "subject.ri_mid[]": "name",
    "subject.ri_new[]": "name",
    "subject.sm_old[]": "name",
    "subject.sm_mid[]": "name",
    "subject.sm_new[]": "name",
    "subject.sw_old[]": "name",
    "subject.sw_mid[]": "name",
    "subject.sw_new[]": "name",
    "subject.short[]": "name",
    "subject.s8good[]": "name",
    "subject.nfd[]": "name",
    "subject.academy[]": "name",
    "address.to_the_head": "",
    "salutation.by_name": "title last",
    "salutation.by_role": "",
    "opening.with_colleague": "colleague role dates chief",
    "opening.colleague_role[]": "majesty",
    "opening.monitoring": "dates chief",
    "opening.alone[]": "dates chief",
    "opening.thanks[]": "",
    "history.ri_monitoring[]": "noun nth prev",
    "history.special_measures_monitoring[]": "nth prev",
    "history.serious_weaknesses_monitoring[]": "nth prev",
    "history.short[]": "prev",
    "history.s8good[]": "prev",
    "history.nfd[]": "prev",
    "history.academy[]": "nth opened",
    "history.section8": "",
    "opinion": "",
    "headings.evidence": "",
    "headings.context": "",
    "headings.main_findings": "",
    "headings.external_support": "",
    "headings.priorities": "",
    "headings.annex": "",
    "headings.inspection_findings": "",
    "headings.do_well": "",
    "headings.safeguarding": "",
    "headings.next_steps": "",
    "headings.information": "",
    "requires_improvement.who[]": "",
    "requires_improvement.judgement.effective": "who area",
    "requires_improvement.judgement.begun": "who area",
    "requires_improvement.judgement.not_effective": "who area",
    "requires_improvement.area.ri_old": "",
    "requires_improvement.area.ri_mid": "",
    "requires_improvement.area.ri_new": "",
    "requires_improvement.intro[]": "",
    "requires_improvement.remain": "",
    "requires_improvement.support_heading[]": "",
    "monitoring.annex_note": "",
    "monitoring.annex": "month year",
    "monitoring.target.special_measures": "",
    "monitoring.target.serious_weaknesses": "",
    "monitoring.judgement_new.effective": "target",
    "monitoring.judgement_new.not_effective": "target",
    "monitoring.progress.effective": "target",
    "monitoring.progress.not_effective": "target",
    "monitoring.who[]": "",
    "monitoring.action.effective": "who target",
    "monitoring.action.not_effective": "who target",
    "monitoring.statement_of_action.fit": "",
    "monitoring.statement_of_action.unfit": "",
    "monitoring.plan[]": "",
    "monitoring.plan_fit.fit": "plan",
    "monitoring.plan_fit.unfit": "plan",
    "monitoring.teachers.before_september_2021": "",
    "monitoring.teachers.from_september_2021": "",
    "monitoring.appointing.sm_new[]": "",
    "monitoring.appointing.other[]": "",
    "monitoring.appoint.may": "who teachers",
    "monitoring.appoint.may_not": "who teachers",
    "monitoring.report_label.special_measures": "",
    "monitoring.report_label.serious_weaknesses": "",
    "monitoring.report_title": "label name",
    "monitoring.report_subtitle": "nth dates",
    "monitoring.report_headings[]": "",
    "monitoring.headings_2015[]": "",
    "monitoring.intro[]": "",
    "monitoring.secretary_of_state": "",
    "short.good": "",
    "short.outstanding": "",
    "short.concerns": "",
    "short.may_not_be_good": "",
    "short.safeguarding_effective": "",
    "short.intro[]": "",
    "no_formal_designation.focus.safeguarding": "",
    "no_formal_designation.focus.leadership": "",
    "no_formal_designation.focus.behaviour": "",
    "no_formal_designation.purpose": "",
    "no_formal_designation.reason": "chief focus",
    "no_formal_designation.safeguarding.effective": "",
    "no_formal_designation.safeguarding.not_effective": "",
    "academy.judgement.effective": "",
    "academy.judgement.not_effective": "",
    "copy_line.sentence": "people director authority",
    "copy_line.director[]": "",
    "copy_line.chair[]": "",
    "copy_line.academy_chair[]": "",
    "copy_line.trust_ceo": "trust",
    "copy_line.commissioner[]": "",
    "copy_line.regional_director": "",
    "copy_line.published": "",
    "sign_off.closing": "",
    "sign_off.inspector": "majesty",
    "sign_off.senior_inspector": "majesty",
    "sign_off.ofsted_inspector": "",
    "sign_off.additional_inspector": "",
}
"""Every key of ``letter.yaml`` the composer reads, with the slots its text may use.

A key ending ``[]`` holds alternatives (a list, or one text); any other holds exactly one text.
"""

# -- the types the files are read into ---------------------------------------------------------------------


@dataclass(frozen=True)
class LocalAuthority:
    """A local authority as GIAS names it and as letters name it."""

    code: int
    gias_name: str
    letter_name: str
    region: str  # north | midlands | south | london
    council: str | None  # "County Council" … or "London Borough of" (a prefix) or None
    areas: tuple[str, ...]
    towns: tuple[str, ...]


@dataclass(frozen=True)
class Letterhead:
    """A letterhead: the sender's address lines, its phone lines and how its direct lines look."""

    key: str
    address: tuple[str, ...]
    phones: tuple[str, ...]
    direct: str | None  # "0121 679 ####": the direct line's pattern (# a digit)
    email_domain: str | None
    email_style: str  # "first.last" | "initiallast"


@dataclass(frozen=True)
class Letterheads:
    """The letterheads by key, the contractors' direct-line formats and the PDF footers."""

    by_key: dict[str, Letterhead]
    direct_phone: str  # {number}
    direct_email: str  # {user} {domain}
    footer_contractors: str
    footer_ofsted: str


@dataclass(frozen=True)
class Phrase:
    """A sentence template with its issue tags; ``phase`` limits it to primary or secondary schools."""

    text: str
    tags: tuple[str, ...]
    phase: str = "any"  # any | primary | secondary
    topic: str = ""  # two sentences on one topic would contradict: a letter uses one


@dataclass(frozen=True)
class Rec:
    """A recommendation: imperative text (lower case start), its tags, and sub-items for a "by:" parent."""

    text: str
    tags: tuple[str, ...]
    children: tuple[Phrase, ...] = ()
    phase: str = "any"


class Support(NamedTuple):
    """An external support sentence: its issue tags, polarity and the support types it names."""

    text: str
    tags: tuple[str, ...]
    polarity: str
    support_types: tuple[str, ...]


@dataclass(frozen=True)
class Recommendations:
    """Recommendations by issue tag, the nested ones, and the local authority's list."""

    by_tag: dict[str, tuple[Rec, ...]]
    nested: tuple[Rec, ...]
    la_intro: tuple[str, ...]
    la_items: tuple[Phrase, ...]


@dataclass(frozen=True)
class Slots:
    """What the slots of the phrase files are filled with."""

    key_stages: dict[str, tuple[str, ...]]  # by phase
    years: dict[str, tuple[int, int]]  # by phase: the lowest and highest year group
    subjects: tuple[str, ...]
    groups: tuple[str, ...]
    numbers: tuple[str, ...]
    few: tuple[str, ...]
    months: tuple[str, ...]
    roles: tuple[str, ...]
    seniors: tuple[str, ...]


@dataclass(frozen=True)
class Names:
    """Parts of invented names: people, places, saints, streets."""

    first_female: tuple[str, ...]
    first_male: tuple[str, ...]
    surnames: tuple[str, ...]
    titles_female: tuple[str, ...]
    titles_male: tuple[str, ...]
    title_doctor: str
    place_head: tuple[str, ...]
    place_tail: tuple[str, ...]
    place_second: tuple[str, ...]
    saints: tuple[str, ...]
    street_head: tuple[str, ...]
    street_tail: tuple[str, ...]


@dataclass(frozen=True)
class NameForm:
    """A form of school name (``{place}`` or ``{saint}`` in it), the GIAS type it implies, and its weight."""

    form: str
    type_code: int
    type_name: str
    weight: int


@dataclass(frozen=True)
class Schools:
    """How schools are named and led."""

    name_forms: dict[str, tuple[NameForm, ...]]  # academy_primary | academy_secondary | primary | secondary
    head_roles: dict[str, tuple[tuple[str, int], ...]]  # academy | maintained: (role, weight)
    trusts: tuple[str, ...]
    default_trust: str  # {la}


@dataclass(frozen=True)
class Wording:
    """The letter frame's wording (``letter.yaml``): each dotted key holds one text or several alternatives."""

    texts: Mapping[str, tuple[str, ...]]

    def __call__(self, key: str, **slots: str) -> str:
        """The one text under ``key``, its slots filled."""
        return self._forms(key)[0].format(**slots)

    def pick(self, rng: random.Random, key: str, **slots: str) -> str:
        """One of the alternatives under ``key``, its slots filled (``rng`` draws only when there are several)."""
        forms = self._forms(key)
        return (forms[0] if len(forms) == 1 else rng.choice(forms)).format(**slots)

    def forms(self, key: str) -> tuple[str, ...]:
        """All the alternatives under ``key``, unfilled."""
        return self._forms(key)

    def _forms(self, key: str) -> tuple[str, ...]:
        try:
            return self.texts[key]
        except KeyError:
            raise PipelineError(
                f"the synth composer asked for {key!r}, which bank.LETTER_SLOTS does not declare; "
                "declare it there and add it to pipeline/synth/data/letter.yaml"
            ) from None


# -- loaders -----------------------------------------------------------------------------------------------


@functools.cache
def findings() -> dict[str, dict[str, tuple[Phrase, ...]]]:
    """Weakness (``"w"``) and strength (``"s"``) sentences by issue tag, in file order."""
    f = "findings.yaml"
    data = _mapping(f, "the file", _load(f))
    tags = frozenset(data)
    out: dict[str, dict[str, tuple[Phrase, ...]]] = {}
    for tag, pols in data.items():
        m = _mapping(f, tag, pols, required=("weakness", "strength"))
        out[tag] = {
            key: tuple(
                _phrase(f, f"{tag}.{label}[{i}]", p, tags, own=tag)
                for i, p in enumerate(_list(f, f"{tag}.{label}", m[label]))
            )
            for key, label in (("w", "weakness"), ("s", "strength"))
        }
    return out


@functools.cache
def issue_tags() -> tuple[str, ...]:
    """The issue tags in the order ``findings.yaml`` lists them (the order letters draw them in)."""
    return tuple(findings())


@functools.cache
def recommendations() -> Recommendations:
    """Recommendations by tag (every tag of ``findings.yaml``), nested ones and the local authority's."""
    f = "recommendations.yaml"
    tags = frozenset(issue_tags())
    m = _mapping(f, "the file", _load(f), required=("by_tag", "nested", "local_authority"))
    by_tag_raw = _mapping(f, "by_tag", m["by_tag"])
    missing = sorted(tags - set(by_tag_raw))
    if missing:
        _fail(f, "by_tag", f"no recommendations for {missing}; every tag of findings.yaml needs at least one")
    by_tag: dict[str, tuple[Rec, ...]] = {}
    for tag, recs in by_tag_raw.items():
        if tag not in tags:
            _fail(f, f"by_tag.{tag}", f"unknown issue tag; the tags are those of findings.yaml: {sorted(tags)}")
        by_tag[tag] = tuple(
            _rec(f, f"by_tag.{tag}[{i}]", r, tags) for i, r in enumerate(_list(f, f"by_tag.{tag}", recs))
        )
    nested = []
    for i, r in enumerate(_list(f, "nested", m["nested"])):
        where = f"nested[{i}]"
        n = _mapping(f, where, r, required=("text", "tags", "items"), optional=("phase",))
        head = _rec(f, where, {k: v for k, v in n.items() if k != "items"}, tags)
        items = tuple(
            _phrase(f, f"{where}.items[{j}]", c, tags) for j, c in enumerate(_list(f, f"{where}.items", n["items"]))
        )
        if len(items) < 2:
            _fail(f, where, "a nested recommendation needs at least two items")
        nested.append(Rec(head.text, head.tags, items, head.phase))
    la = _mapping(f, "local_authority", m["local_authority"], required=("intro", "items"))
    return Recommendations(
        by_tag,
        tuple(nested),
        _texts(f, "local_authority.intro", la["intro"]),
        tuple(
            _phrase(f, f"local_authority.items[{i}]", p, tags)
            for i, p in enumerate(_list(f, "local_authority.items", la["items"]))
        ),
    )


@functools.cache
def support() -> tuple[Support, ...]:
    """External support sentences with the support types `pipeline.readers.support` reads in them."""
    f = "support.yaml"
    tags = frozenset(issue_tags())
    m = _mapping(f, "the file", _load(f), required=("support",))
    out = []
    for i, s in enumerate(_list(f, "support", m["support"])):
        where = f"support[{i}]"
        e = _mapping(f, where, s, required=("text", "tags", "polarity", "support_types"))
        text = _text(f, f"{where}.text", e["text"], PHRASE_SLOTS)
        polarity = _choice(f, f"{where}.polarity", e["polarity"], SUPPORT_POLARITIES)
        types = _texts(f, f"{where}.support_types", e["support_types"])
        out.append(Support(text, _tags(f, f"{where}.tags", e["tags"], tags), polarity, types))
    return tuple(out)


@functools.cache
def evidence() -> tuple[str, ...]:
    """Evidence sentences (neutral, untagged): what the inspector did."""
    f = "evidence_and_context.yaml"
    m = _mapping(f, "the file", _load(f), required=("evidence", "context"))
    return tuple(_text(f, f"evidence[{i}]", t, PHRASE_SLOTS) for i, t in enumerate(_list(f, "evidence", m["evidence"])))


@functools.cache
def context() -> tuple[Phrase, ...]:
    """Context sentences: neutral, some tagged with what they are about."""
    f = "evidence_and_context.yaml"
    m = _mapping(f, "the file", _load(f), required=("evidence", "context"))
    tags = frozenset(issue_tags())
    return tuple(_phrase(f, f"context[{i}]", p, tags) for i, p in enumerate(_list(f, "context", m["context"])))


@functools.cache
def slots() -> Slots:
    """What the slots of the phrase files are filled with."""
    f = "slots.yaml"
    keys = ("key_stages", "years", "subjects", "groups", "numbers", "few", "months", "roles", "seniors")
    m = _mapping(f, "the file", _load(f), required=keys)
    stages = _mapping(f, "key_stages", m["key_stages"], required=("primary", "secondary"))
    years = _mapping(f, "years", m["years"], required=("primary", "secondary"))
    bounds: dict[str, tuple[int, int]] = {}
    for phase in ("primary", "secondary"):
        pair = _list(f, f"years.{phase}", years[phase])
        if len(pair) != 2 or not all(type(y) is int for y in pair) or pair[0] > pair[1]:
            _fail(f, f"years.{phase}", f"expected [lowest, highest] year group, got {pair!r}")
        bounds[phase] = (pair[0], pair[1])
    texts = {k: _texts(f, k, m[k]) for k in keys[2:]}
    if len(texts["roles"]) < 2:
        _fail(f, "roles", "{roles} names two of these: give at least two")
    return Slots(
        {p: _texts(f, f"key_stages.{p}", stages[p]) for p in ("primary", "secondary")},
        bounds,
        texts["subjects"],
        texts["groups"],
        texts["numbers"],
        texts["few"],
        texts["months"],
        texts["roles"],
        texts["seniors"],
    )


@functools.cache
def names() -> Names:
    """Parts of invented names of people, places and streets."""
    f = "names.yaml"
    m = _mapping(f, "the file", _load(f), required=("people", "places", "saints", "streets"))
    people = _mapping(
        f,
        "people",
        m["people"],
        required=("first_female", "first_male", "surnames", "titles_female", "titles_male", "title_doctor"),
    )
    places = _mapping(f, "places", m["places"], required=("head", "tail", "second"))
    streets = _mapping(f, "streets", m["streets"], required=("head", "tail"))
    return Names(
        _words(f, "people.first_female", people["first_female"]),
        _words(f, "people.first_male", people["first_male"]),
        _words(f, "people.surnames", people["surnames"]),
        _texts(f, "people.titles_female", people["titles_female"]),
        _texts(f, "people.titles_male", people["titles_male"]),
        _text(f, "people.title_doctor", people["title_doctor"]),
        _words(f, "places.head", places["head"]),
        _words(f, "places.tail", places["tail"]),
        _words(f, "places.second", places["second"]),
        _words(f, "saints", m["saints"]),
        _words(f, "streets.head", streets["head"]),
        _words(f, "streets.tail", streets["tail"]),
    )


@functools.cache
def schools() -> Schools:
    """School name forms with their GIAS types, heads' job titles and trust names."""
    f = "schools.yaml"
    m = _mapping(f, "the file", _load(f), required=("name_forms", "head_roles", "trusts", "default_trust"))
    kinds = ("academy_primary", "academy_secondary", "primary", "secondary")
    forms_raw = _mapping(f, "name_forms", m["name_forms"], required=kinds)
    forms: dict[str, tuple[NameForm, ...]] = {}
    for kind in kinds:
        out = []
        for i, e in enumerate(_list(f, f"name_forms.{kind}", forms_raw[kind])):
            where = f"name_forms.{kind}[{i}]"
            d = _mapping(f, where, e, required=("form", "type_code", "type_name", "weight"))
            form = _text(f, f"{where}.form", d["form"], frozenset({"place", "saint"}))
            out.append(
                NameForm(
                    form,
                    _int(f, f"{where}.type_code", d["type_code"]),
                    _text(f, where, d["type_name"]),
                    _int(f, f"{where}.weight", d["weight"]),
                )
            )
        forms[kind] = tuple(out)
    roles_raw = _mapping(f, "head_roles", m["head_roles"], required=("academy", "maintained"))
    roles: dict[str, tuple[tuple[str, int], ...]] = {}
    for kind in ("academy", "maintained"):
        entries = []
        for i, e in enumerate(_list(f, f"head_roles.{kind}", roles_raw[kind])):
            where = f"head_roles.{kind}[{i}]"
            d = _mapping(f, where, e, required=("role", "weight"))
            entries.append((_text(f, f"{where}.role", d["role"]), _int(f, f"{where}.weight", d["weight"])))
        roles[kind] = tuple(entries)
    return Schools(
        forms,
        roles,
        _texts(f, "trusts", m["trusts"]),
        _text(f, "default_trust", m["default_trust"], frozenset({"la"})),
    )


@functools.cache
def local_authorities() -> tuple[LocalAuthority, ...]:
    """Local authorities with their real GIAS codes and names; postcode areas and towns are plausible."""
    f = "local_authorities.yaml"
    m = _mapping(f, "the file", _load(f), required=("local_authorities",))
    out = []
    for i, e in enumerate(_list(f, "local_authorities", m["local_authorities"])):
        where = f"local_authorities[{i}]"
        d = _mapping(
            f, where, e, required=("code", "gias_name", "region", "areas", "towns"), optional=("letter_name", "council")
        )
        name = _text(f, f"{where}.gias_name", d["gias_name"])
        council = d.get("council")
        out.append(
            LocalAuthority(
                _int(f, f"{where}.code", d["code"]),
                name,
                _text(f, f"{where}.letter_name", d["letter_name"]) if "letter_name" in d else name,
                _choice(f, f"{where}.region", d["region"], REGIONS),
                None if council is None else _text(f, f"{where}.council", council),
                _texts(f, f"{where}.areas", d["areas"]),
                _texts(f, f"{where}.towns", d["towns"]),
            )
        )
    codes = [la.code for la in out]
    if len(set(codes)) != len(codes):
        _fail(f, "local_authorities", f"codes repeat: {sorted({c for c in codes if codes.count(c) > 1})}")
    return tuple(out)


@functools.cache
def letterheads() -> Letterheads:
    """The letterheads of Ofsted's offices and of the inspection contractors of 2012–2015 (public addresses)."""
    f = "letterheads.yaml"
    m = _mapping(f, "the file", _load(f), required=("letterheads", "direct_phone", "direct_email", "footer"))
    heads = _mapping(f, "letterheads", m["letterheads"], required=LETTERHEAD_KEYS)
    by_key = {}
    for key, e in heads.items():
        if key not in LETTERHEAD_KEYS:
            _fail(f, f"letterheads.{key}", f"the generator only uses {list(LETTERHEAD_KEYS)}")
        d = _mapping(
            f,
            f"letterheads.{key}",
            e,
            required=("address", "phones", "email_style"),
            optional=("direct", "email_domain"),
        )
        direct = d.get("direct")
        domain = d.get("email_domain")
        if (direct is None) != (domain is None):
            _fail(f, f"letterheads.{key}", "give both direct and email_domain (a contractor) or neither (Ofsted)")
        by_key[key] = Letterhead(
            key,
            _texts(f, f"letterheads.{key}.address", d["address"]),
            _texts(f, f"letterheads.{key}.phones", d["phones"]),
            None if direct is None else _text(f, f"letterheads.{key}.direct", direct),
            None if domain is None else _text(f, f"letterheads.{key}.email_domain", domain),
            _choice(f, f"letterheads.{key}.email_style", d["email_style"], ("first.last", "initiallast")),
        )
    footer = _mapping(f, "footer", m["footer"], required=("contractors", "ofsted"))
    return Letterheads(
        by_key,
        _text(f, "direct_phone", m["direct_phone"], frozenset({"number"})),
        _text(f, "direct_email", m["direct_email"], frozenset({"user", "domain"})),
        _text(f, "footer.contractors", footer["contractors"]),
        _text(f, "footer.ofsted", footer["ofsted"]),
    )


@functools.cache
def wording() -> Wording:
    """The letter frame's wording, every key of `LETTER_SLOTS` present and using only its own slots."""
    f = "letter.yaml"
    flat: dict[str, Any] = {}
    _flatten(f, _mapping(f, "the file", _load(f)), "", flat)
    declared = {k.removesuffix("[]"): k.endswith("[]") for k in LETTER_SLOTS}
    missing = sorted(set(declared) - set(flat))
    if missing:
        _fail(f, "the file", f"missing {missing} (the composer reads them)")
    unknown = sorted(set(flat) - set(declared))
    if unknown:
        _fail(f, "the file", f"{unknown} are not read by the composer (a misspelt key?); declared: bank.LETTER_SLOTS")
    texts: dict[str, tuple[str, ...]] = {}
    for key, many in declared.items():
        allowed = frozenset(LETTER_SLOTS[key + ("[]" if many else "")].split())
        value = flat[key]
        if isinstance(value, list):
            if not many:
                _fail(f, key, "holds one text, not a list of alternatives")
            texts[key] = tuple(_text(f, f"{key}[{i}]", t, allowed) for i, t in enumerate(_list(f, key, value)))
        else:
            texts[key] = (_text(f, key, value, allowed),)
    return Wording(texts)


def load_all() -> None:
    """Load and check every data file (`generate.run` calls this first; the core loads each file when it needs it)."""
    for load in (
        findings,
        recommendations,
        support,
        evidence,
        context,
        slots,
        names,
        schools,
        local_authorities,
        letterheads,
        wording,
    ):
        load()


# -- reading and checking ----------------------------------------------------------------------------------


@functools.cache
def _load(name: str) -> Any:
    """One data file, parsed (with libyaml's loader when PyYAML has it: about ten times faster)."""
    import yaml

    path = resources.files("pipeline.synth") / "data" / name
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except FileNotFoundError:
        raise PipelineError(f"pipeline/synth/data/{name} is missing (reinstall the package)") from None
    except yaml.YAMLError as e:
        raise PipelineError(f"pipeline/synth/data/{name} is not valid YAML: {e}") from None


def _fail(file: str, where: str, problem: str) -> NoReturn:
    raise PipelineError(f"pipeline/synth/data/{file}, {where}: {problem}")


def _mapping(
    file: str, where: str, value: Any, required: tuple[str, ...] = (), optional: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """``value`` as a mapping with string keys holding ``required`` (and, when ``optional`` is given, no others)."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        _fail(file, where, f"expected a mapping of names to values, got {type(value).__name__}")
    missing = [k for k in required if k not in value]
    if missing:
        _fail(file, where, f"missing {missing}")
    if optional is not None:
        extra = sorted(set(value) - set(required) - set(optional))
        if extra:
            _fail(file, where, f"unknown keys {extra}; valid: {sorted((*required, *optional))}")
    return value


def _list(file: str, where: str, value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        _fail(file, where, f"expected a non-empty list, got {value!r}")
    return value


def _text(file: str, where: str, value: Any, slots: frozenset[str] = frozenset()) -> str:
    """A non-empty text whose ``{slots}`` are all among ``slots``."""
    if not isinstance(value, str) or not value.strip():
        _fail(file, where, f"expected a text, got {value!r} (quote it if YAML read it as something else)")
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as e:
        _fail(file, where, f"{value!r} has a stray brace ({e}); slots are written {{name}}")
    bad = sorted(used - slots)
    if bad:
        _fail(file, where, f"{value!r} uses slots {bad}; this text may use {sorted(slots) or 'none'}")
    return value


def _texts(file: str, where: str, value: Any) -> tuple[str, ...]:
    return tuple(_text(file, f"{where}[{i}]", v) for i, v in enumerate(_list(file, where, value)))


def _words(file: str, where: str, value: Any) -> tuple[str, ...]:
    """Words separated by spaces (a folded YAML block reads as one line)."""
    return tuple(_text(file, where, value).split())


def _int(file: str, where: str, value: Any) -> int:
    if type(value) is not int:
        _fail(file, where, f"expected a whole number, got {value!r}")
    return value


def _choice(file: str, where: str, value: Any, valid: tuple[str, ...]) -> str:
    if value not in valid:
        _fail(file, where, f"{value!r} is not one of {list(valid)}")
    return str(value)


def _tags(file: str, where: str, value: Any, known: frozenset[str]) -> tuple[str, ...]:
    """Issue tags (an empty list is allowed), each a tag of ``findings.yaml``."""
    if not isinstance(value, list):
        _fail(file, where, f"expected a list of issue tags, got {value!r}")
    unknown = [t for t in value if t not in known]
    if unknown:
        _fail(file, where, f"unknown issue tags {unknown}; the tags are those of findings.yaml: {sorted(known)}")
    return tuple(value)


def _phrase(file: str, where: str, value: Any, known: frozenset[str], own: str | None = None) -> Phrase:
    d = _mapping(file, where, value, required=("text", "tags"), optional=("topic", "phase"))
    tags = _tags(file, f"{where}.tags", d["tags"], known)
    if own is not None and own not in tags:
        _fail(file, f"{where}.tags", f"a sentence listed under {own} must carry the tag {own}")
    return Phrase(
        _text(file, f"{where}.text", d["text"], PHRASE_SLOTS),
        tags,
        _choice(file, f"{where}.phase", d.get("phase", "any"), PHASES),
        _text(file, f"{where}.topic", d["topic"]) if "topic" in d else "",
    )


def _rec(file: str, where: str, value: Any, known: frozenset[str]) -> Rec:
    d = _mapping(file, where, value, required=("text", "tags"), optional=("phase",))
    return Rec(
        _text(file, f"{where}.text", d["text"], PHRASE_SLOTS),
        _tags(file, f"{where}.tags", d["tags"], known),
        (),
        _choice(file, f"{where}.phase", d.get("phase", "any"), PHASES),
    )


def _flatten(file: str, value: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    """Nested mappings as dotted keys; a leaf is a text or a list of texts."""
    for k, v in value.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            _flatten(file, _mapping(file, key, v), key + ".", out)
        else:
            out[key] = v
