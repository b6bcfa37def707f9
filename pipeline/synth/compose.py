"""Composing one synthetic letter: its blocks (paragraphs, headings, bullets, lines) and the values it states.

`compose_letter` is pure and seeded by ``(seed, plan.index)``. The code decides the letter's structure and
draws; the words come from data (`pipeline.synth.bank`): the frame (subject line, opening, judgements,
headings, copy line, sign-off) from ``data/letter.yaml``, the findings, recommendations, support, evidence
and context sentences from their own files, with their ``{slots}`` filled from ``data/slots.yaml``.

Every draw is made in the same order as before the wording moved to data, so a seed gives the same
letters (``tests/test_synth.py`` holds the corpus digest).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pipeline.synth import bank
from pipeline.synth.bank import Rec
from pipeline.synth.plan import (
    CONTRACTORS_UNTIL,
    ERA_WINDOWS,
    HIS_MAJESTY_FROM,
    LOWER_KEY_STAGE_FROM,
    LetterPlan,
    person,
)

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth")
_MONITORING_KINDS = ("ri_monitoring", "special_measures_monitoring", "serious_weaknesses_monitoring")


@dataclass(frozen=True)
class Unit:
    """One generated sentence or bullet, with its labels."""

    text: str
    tags: tuple[str, ...] = ()
    polarity: str = "neutral"
    support_types: tuple[str, ...] = ()
    kind: str = "sentence"  # sentence | bullet | sub_bullet


@dataclass(frozen=True)
class Para:
    """A paragraph of sentences; ``optional`` ones may be dropped to fit a PDF on four pages."""

    units: tuple[Unit, ...]
    optional: bool = False


@dataclass(frozen=True)
class Heading:
    """A section heading."""

    text: str


@dataclass(frozen=True)
class Item:
    """A bullet and its sub-bullets."""

    unit: Unit
    children: tuple[Unit, ...] = ()


@dataclass(frozen=True)
class Bullets:
    """A list; ``counted`` when its items are recommendations to the school (not the LA's or an annex's)."""

    items: tuple[Item, ...]
    counted: bool = True


@dataclass(frozen=True)
class Lines:
    """Lines printed as they are: letterhead, date, address, salutation, subject, sign-off."""

    lines: tuple[str, ...]
    role: str
    bold: bool = False


Block = Para | Heading | Bullets | Lines


@dataclass
class Letter:
    """A composed letter: its blocks and the values its truth record reports."""

    plan: LetterPlan
    header: list[Block]
    body: list[Block]
    values: dict[str, Any] = field(default_factory=dict)
    layout: dict[str, Any] = field(default_factory=dict)


def _ordinal_date(d: dt.date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _dates_text(rng: random.Random, days: Sequence[dt.date]) -> str:
    if len(days) == 1:
        return _ordinal_date(days[0])
    a, b = days[0], days[-1]
    if a.month == b.month:
        form = rng.choice(("{a} and {b} {m} {y}", "{a}\u2013{b} {m} {y}", "{a} to {b} {m} {y}"))
        return form.format(a=a.day, b=b.day, m=MONTHS[b.month - 1], y=b.year)
    if a.year == b.year:
        return f"{a.day} {MONTHS[a.month - 1]} and {b.day} {MONTHS[b.month - 1]} {b.year}"
    return f"{_ordinal_date(a)} and {_ordinal_date(b)}"


class _Composer:
    """Writes one letter's blocks from its plan; all choices come from the letter's own random stream."""

    def __init__(self, plan: LetterPlan, seed: int) -> None:
        self.plan = plan
        self.rng = random.Random(f"ofsted-nlp synth letter {seed} {plan.index}")
        self.w = bank.wording()
        self.school = plan.school
        self.primary = plan.school.phase == "primary"
        self.used: set[str] = set()
        self.weak_tags: list[str] = []
        d = plan.visit_dates[0]
        self.his = d >= HIS_MAJESTY_FROM
        self.majesty = self.w("majesty.from_september_2022" if self.his else "majesty.before_september_2022")
        self.lower_ks = d >= LOWER_KEY_STAGE_FROM
        self.chief = self.w("chief", majesty=self.majesty)
        self.trust = self.school.trust or bank.schools().default_trust.format(la=self.school.la.letter_name)
        self.values: dict[str, Any] = {}
        self.layout: dict[str, Any] = {}
        self.head_value: str | None = None
        self.salutation = ""
        self.we = False

    # -- slots -----------------------------------------------------------------------------------

    def fill(self, text: str) -> str:
        """Fill a phrase's ``{slots}`` (``data/slots.yaml``); every slot is drawn, used or not."""
        rng = self.rng
        if "{" not in text:
            return text
        slots, names = bank.slots(), bank.names()
        phase = "primary" if self.primary else "secondary"
        ks = rng.choice(slots.key_stages[phase])
        yr = f"Year {rng.randint(*slots.years[phase])}"
        if not self.lower_ks:
            ks = ks.replace("key stage", "Key Stage")
        n = rng.choice(slots.numbers)
        values = {
            "ks": ks,
            "yr": yr,
            "subj": rng.choice(slots.subjects),
            "grp": rng.choice(slots.groups),
            "n": n,
            "N": n.capitalize(),
            "n2": rng.choice(slots.numbers),
            "k": rng.choice(slots.few),
            "month": rng.choice(slots.months),
            "roles": ", ".join(rng.sample(slots.roles, 2)),
            "senior": rng.choice(slots.seniors),
            "place": rng.choice(names.place_head) + rng.choice(names.place_tail),
            "trust": self.trust,
        }
        return text.format_map(values)

    def phrase(self, tag: str, pol: str) -> Unit | None:
        options = [
            p
            for p in bank.findings()[tag][pol]
            if p.text not in self.used and p.topic not in self.used and p.phase in ("any", self.school.phase)
        ]
        if not options:
            return None
        p = self.rng.choice(options)
        self.used.add(p.text)
        if p.topic:
            self.used.add(p.topic)  # no later sentence may say the opposite
        if pol == "w":
            self.weak_tags.extend(t for t in p.tags if t not in self.weak_tags)
        return Unit(self.fill(p.text), p.tags, "weakness" if pol == "w" else "strength")

    def length(self) -> int:
        """How many findings paragraphs: most letters are two or three pages, some run to four or more."""
        return self.rng.choice((3, 4, 5, 6, 7, 9, 11, 14))

    def tags_for_phase(self) -> list[str]:
        return [t for t in bank.issue_tags() if self.primary or t != "early_years"]

    # -- paragraphs --------------------------------------------------------------------------------

    def findings(self, k: int, p_strength: float, avoid: Sequence[str] = ()) -> list[Para]:
        """``k`` paragraphs, each about one issue: mostly strengths or mostly weaknesses, sometimes with a contrast."""
        rng = self.rng
        tags = [t for t in self.tags_for_phase() if t not in avoid]
        out = []
        for tag in rng.sample(tags, min(k, len(tags))):
            major = "s" if rng.random() < p_strength else "w"
            units = [u for u in (self.phrase(tag, major) for _ in range(rng.randint(1, 3))) if u]
            if rng.random() < 0.45 or not units:
                contrast = self.phrase(tag, "w" if major == "s" else "s")
                if contrast:
                    units.append(replace(contrast, text=_however(contrast.text)) if units else contrast)
            if units:
                out.append(Para(tuple(units), optional=True))
        return out

    def evidence(self, inspectors: str = "I") -> Para:
        texts = self.rng.sample(bank.evidence(), self.rng.randint(2, 4))
        units = []
        for t in texts:
            s = self.fill(t)
            if inspectors == "we":
                s = _we(s)
            units.append(Unit(s))
        return Para(tuple(units))

    def context(self) -> Para:
        picks = self.rng.sample(bank.context(), self.rng.randint(2, 3))
        return Para(tuple(Unit(self.fill(p.text), p.tags) for p in picks))

    def support(self, k: int) -> Para:
        rng = self.rng
        options = [s for s in bank.support() if (self.school.academy or "trust" not in s.text)]
        if not self.school.academy and self.school.type_code not in (2, 3):
            options = [s for s in options if s.support_types != ("diocese",)]
        picks = rng.sample(options, k)
        return Para(tuple(Unit(self.fill(s.text), s.tags, s.polarity, s.support_types) for s in picks))

    def recs(self, k: int, capital: bool, nested_p: float = 0.3) -> Bullets:
        """``k`` recommendations drawn from the weaknesses the letter names (then from any issue)."""
        rng, bank_recs = self.rng, bank.recommendations()
        others = [t for t in self.tags_for_phase() if t not in self.weak_tags]
        rng.shuffle(others)
        picks: list[Rec] = []
        nested = [r for r in bank_recs.nested if r.phase in ("any", self.school.phase)]
        if rng.random() < nested_p:
            picks.append(rng.choice(nested))
        for tag in [*self.weak_tags, *others]:
            if len(picks) >= k:
                break
            options = [r for r in bank_recs.by_tag[tag] if r.phase in ("any", self.school.phase) and r not in picks]
            if options:
                picks.append(rng.choice(options))
        rng.shuffle(picks)
        items = []
        sep = rng.choice(("", ";"))
        for i, r in enumerate(picks):
            last = i == len(picks) - 1
            text = self.fill(r.text)
            if capital:
                text = text[0].upper() + text[1:]
            children: tuple[Unit, ...] = ()
            if r.children:
                chosen = rng.sample(r.children, rng.randint(2, len(r.children)))
                children = tuple(
                    Unit(
                        self.fill(c.text) + ("." if (last or capital) and j == len(chosen) - 1 else sep),
                        c.tags,
                        "weakness",
                        kind="sub_bullet",
                    )
                    for j, c in enumerate(chosen)
                )
            else:
                text += "." if (last or capital) else sep
            items.append(Item(Unit(text, r.tags, "weakness", kind="bullet"), children))
        return Bullets(tuple(items))

    def la_recs(self) -> tuple[Para, Bullets]:
        la = bank.recommendations()
        intro = Unit(self.rng.choice(la.la_intro))
        items = tuple(Item(Unit(self.fill(p.text), p.tags, "weakness", kind="bullet")) for p in la.la_items)
        return Para((intro,)), Bullets(items, counted=False)

    def annex(self) -> list[Block]:
        y, m = self.plan.previous_s5 or (self.plan.visit_dates[0].year - 1, 3)
        saved = set(self.used), list(self.weak_tags)
        bullets = self.recs(self.rng.randint(2, 3), capital=True, nested_p=0.6)
        self.used, self.weak_tags = saved
        bullets = Bullets(bullets.items, counted=False)
        return [
            Heading(self.w("headings.annex")),
            Para((Unit(self.w("monitoring.annex", month=MONTHS[m - 1], year=str(y))),)),
            bullets,
        ]

    # -- the letter --------------------------------------------------------------------------------

    def compose(self) -> Letter:
        """The letter: header blocks, then the body its template (era) writes, and the values it states."""
        plan = self.plan
        era = plan.era
        lh = self.letterhead_key()
        header = self.header(lh)
        letter = Letter(plan, header, [])
        letter.values.update(
            contractor=lh,
            school_name=self.school.name,
            headteacher=None,
            previous_section5=(f"{plan.previous_s5[0]}-{plan.previous_s5[1]:02d}" if plan.previous_s5 else None),
            monitoring_visit_number=plan.visit_number,
            judgement=None,
            effective_action=plan.effective,
            action_plan_fit=None,
            nqt_permission=None,
        )
        self.values = letter.values
        body: list[Block] = []
        self.add_subject(body)
        builder = {
            "ri_old": self.ri,
            "ri_mid": self.ri,
            "ri_new": self.ri,
            "sm_old": self.sm_sw,
            "sm_mid": self.sm_sw,
            "sm_new": self.sm_sw,
            "sw_old": self.sm_sw,
            "sw_mid": self.sm_sw,
            "sw_new": self.sm_sw,
            "short": self.short,
            "s8good": self.short,
            "nfd": self.nfd,
            "academy": self.academy,
        }[era]
        builder(body)
        letter.body = body
        letter.values["headteacher"] = self.head_value
        return letter

    def letterhead_key(self) -> str:
        """Contractors wrote for Ofsted by region until August 2015 (most letters); Ofsted's offices after."""
        rng, d, region = self.rng, self.plan.visit_dates[0], self.school.la.region
        if d < CONTRACTORS_UNTIL and rng.random() < 0.8:
            if region == "north":
                return "cfbt"
            if region == "midlands":
                return "serco_cedar" if d < dt.date(2013, 9, 1) else "serco_colmore"
            return "tribal"
        if region in ("north", "midlands"):
            return "ofsted_piccadilly"
        return "ofsted_aviation" if d < dt.date(2019, 6, 1) else "ofsted_clive"

    def header(self, lh_key: str) -> list[Block]:
        """Letterhead, date line and address block (in some Ofsted letters the letterhead follows the address)."""
        rng, school, w = self.rng, self.school, self.w
        heads = bank.letterheads()
        lh = heads.by_key[lh_key]
        groups: list[tuple[str, ...]] = [lh.address, lh.phones]
        if lh.direct:
            digits = "".join(str(rng.randint(0, 9)) for _ in range(lh.direct.count("#")))
            it = iter(digits)
            direct = re.sub("#", lambda _: next(it), lh.direct)
            who = person(rng, titled=False)
            user = (
                f"{who.first}.{who.last}".lower()
                if lh.email_style == "first.last"
                else f"{who.first[0]}{who.last}".lower()
            ).replace("'", "")
            groups.append(
                (
                    heads.direct_phone.format(number=direct),
                    heads.direct_email.format(user=user, domain=lh.email_domain),
                )
            )
        blocks: list[Block] = [Lines(g, "letterhead") for g in groups]
        date = Lines((_ordinal_date(self.plan.letter_date),), "date")
        head = school.head
        style = rng.random()
        lines: list[str]
        to_the_head = w("address.to_the_head")
        if style < 0.1:
            lines, self.head_value = [to_the_head], None
        elif style < 0.2:
            lines, self.head_value = [f"{head.full}, {school.head_role}"], head.full
        elif style < 0.3:
            lines, self.head_value = [head.plain], head.plain
        elif style < 0.35 and head.title != "Dr":
            initials = f"{head.title} {head.first[0]} {head.last}"
            lines, self.head_value = [initials], initials
        else:
            lines, self.head_value = [head.full, school.head_role], head.full
        lines.append(school.name)
        lines.append(school.street)
        if school.locality:
            lines.append(school.locality)
        postcode = school.postcode
        if rng.random() < 0.05:
            postcode = postcode.replace(" ", "")
        if rng.random() < 0.15:
            lines.append(f"{school.town} {postcode}")
        else:
            lines.extend((school.town, postcode))
        address = Lines(tuple(lines), "address")
        self.salutation = (
            w("salutation.by_role")
            if lines[0] == to_the_head and rng.random() < 0.3
            else w("salutation.by_name", title=head.title, last=head.last)
        )
        after = rng.random() < 0.12 and lh_key.startswith("ofsted")
        self.layout = {"letterhead_after_address": after}
        if after:
            return [date, address, *blocks]
        return [*blocks, date, address]

    def add_subject(self, body: list[Block]) -> None:
        # Every template with several subject forms draws, whatever this letter's template: the draws (and
        # so the letters of a seed) stay as they were when the subject lines were written in code.
        drawn = {}
        for era in ERA_WINDOWS:
            forms = self.w.forms(f"subject.{era}")
            drawn[era] = forms[0] if len(forms) == 1 else self.rng.choice(forms)
        body.append(Lines((self.salutation,), "salutation"))
        body.append(Lines((drawn[self.plan.era].format(name=self.school.name),), "subject", bold=True))

    def opening(self, with_colleague: bool | None = None) -> Para:
        """The visit sentence (the parser reads the visit dates from it) and the thanks."""
        rng, plan, w = self.rng, self.plan, self.w
        dates = _dates_text(rng, plan.visit_dates)
        if rng.random() < 0.1 and len(plan.visit_dates) == 1:
            dates = plan.visit_dates[0].strftime("%A ") + dates
        if with_colleague is None:
            with_colleague = len(plan.visit_dates) > 1 and rng.random() < 0.6
        self.we = bool(with_colleague)
        if with_colleague:
            co = person(rng, titled=False)
            role = w.pick(rng, "opening.colleague_role", majesty=self.majesty)
            first = w("opening.with_colleague", colleague=co.plain, role=role, dates=dates, chief=self.chief)
        elif plan.era in ("academy", "ri_new", "sm_new", "sw_new") and rng.random() < 0.6:
            first = w("opening.monitoring", dates=dates, chief=self.chief)
        else:
            first = w.pick(rng, "opening.alone", dates=dates, chief=self.chief)
        thanks = w.pick(rng, "opening.thanks")
        if self.we:
            thanks = thanks.replace(" me ", " us ").replace(" me.", " us.").replace("my behalf", "our behalf")
        return Para((Unit(first), Unit(thanks)))

    def history(self) -> Para:
        plan, rng = self.plan, self.rng
        prev = f"{MONTHS[plan.previous_s5[1] - 1]} {plan.previous_s5[0]}" if plan.previous_s5 else ""
        nth = ORDINAL_WORDS[(plan.visit_number or 1) - 1]
        noun = "visit" if plan.kind == "ri_monitoring" and rng.random() < 0.5 else "inspection"
        opened = ""
        if plan.era == "academy":
            assert plan.academy_opened is not None
            opened = f"{MONTHS[plan.academy_opened.month - 1]} {plan.academy_opened.year}"
        key = plan.kind if plan.kind in _MONITORING_KINDS else plan.era
        s = self.w.pick(rng, f"history.{key}", noun=noun, nth=nth, prev=prev, opened=opened)
        units = [Unit(s)]
        if plan.kind != "short_inspection" and plan.era != "nfd" and rng.random() < 0.6:
            units.append(Unit(self.w("history.section8")))
        return Para(tuple(units))

    def copy_line(self, extra: Sequence[str] = ()) -> Para:
        rng, la, w = self.rng, self.school.la, self.w
        written, expected = la.letter_name, la.letter_name
        r = rng.random()
        if la.council == "London Borough of" and r < 0.3:
            written, expected = f"the London Borough of {la.letter_name}", f"London Borough of {la.letter_name}"
        elif (
            la.council
            and la.council != "London Borough of"
            and r < 0.15
            and len(f"{la.letter_name} {la.council}".split()) > 2
        ):
            written = f"{la.letter_name} {la.council}"
        self.values["local_authority"] = expected
        director = w.pick(rng, "copy_line.director")
        first = w.pick(rng, "copy_line.chair")
        if self.school.academy:
            first = w.pick(rng, "copy_line.academy_chair")
            extra = (w("copy_line.trust_ceo", trust=self.trust), *extra)
        people = [first, *extra]
        if rng.random() < 0.4:
            people.append(
                w.pick(rng, "copy_line.commissioner")
                if self.plan.visit_dates[0] < dt.date(2022, 7, 1)
                else w("copy_line.regional_director")
            )
        s = w("copy_line.sentence", people=", ".join(people), director=director, authority=written)
        units = [Unit(s)]
        if rng.random() < 0.6 or self.plan.visit_dates[0] >= CONTRACTORS_UNTIL:
            units.append(Unit(w("copy_line.published")))
        return Para(tuple(units))

    def sign_off(self) -> Lines:
        rng, w = self.rng, self.w
        hmi = person(rng, titled=False)
        role = w("sign_off.inspector", majesty=self.majesty)
        if rng.random() < 0.12:
            role = w("sign_off.senior_inspector", majesty=self.majesty)
        elif self.plan.kind == "short_inspection" and self.plan.era == "short" and rng.random() < 0.25:
            role = w("sign_off.ofsted_inspector")
        elif self.plan.visit_dates[0] < CONTRACTORS_UNTIL and rng.random() < 0.1:
            role = w("sign_off.additional_inspector")
        self.values["inspector"] = hmi.plain
        self.values["inspector_role"] = role
        return Lines((w("sign_off.closing"), "", hmi.plain, role), "signoff")

    def judgement(self, sentence: str) -> Unit:
        self.values["judgement"] = sentence
        return Unit(sentence, (), "strength" if self.plan.effective else "weakness")

    def opinion(self) -> Para:
        """The line the older templates put before their judgement."""
        return Para((Unit(self.w("opinion")),))

    def heading(self, key: str) -> Heading:
        return Heading(self.w(f"headings.{key}"))

    # -- templates ---------------------------------------------------------------------------------

    def ri(self, body: list[Block]) -> None:
        plan, rng, w = self.plan, self.rng, self.w
        body.append(self.opening(False))
        body.append(self.history())
        who = w.pick(rng, "requires_improvement.who")
        verb = "effective" if plan.effective else "not_effective"
        if plan.effective and plan.era == "ri_old" and rng.random() < 0.25:
            verb = "begun"
        area = w(f"requires_improvement.area.{plan.era}")
        judge = self.judgement(w(f"requires_improvement.judgement.{verb}", who=who, area=area))
        p_strength = 0.65 if plan.effective else 0.35
        findings = self.findings(self.length(), p_strength)
        recs = self.recs(rng.randint(2, 4), capital=False)
        intro = w.pick(rng, "requires_improvement.intro")
        having = plan.era != "ri_old" or rng.random() < 0.3
        top = rng.random() < 0.5
        if having:
            body.append(self.opinion())
            body.append(Para((judge,)))
            if top:
                body += [Para((Unit(intro),)), recs]
        elif top:
            body += [Para((judge, Unit(intro))), recs]
        else:
            body.append(Para((judge,)))
        body += [self.heading("evidence"), self.evidence(), self.heading("context"), self.context()]
        body += [self.heading("main_findings"), *findings]
        if not top:
            body += [Para((Unit(intro),)), recs]
        if rng.random() < 0.5:
            body.append(Para((Unit(w("requires_improvement.remain")),)))
        body += [
            Heading(w.pick(rng, "requires_improvement.support_heading")),
            self.support(rng.randint(1, 3)),
        ]
        body += [self.copy_line(), self.sign_off()]

    def sm_sw(self, body: list[Block]) -> None:
        plan, rng, w = self.plan, self.rng, self.w
        sm = plan.kind == "special_measures_monitoring"
        designation = "special_measures" if sm else "serious_weaknesses"
        era = plan.era
        outcome = "effective" if plan.effective else "not_effective"
        body.append(self.opening())
        hist = self.history()
        annex_note = sm and era != "sm_new" and rng.random() < 0.6
        if annex_note:
            hist = Para((*hist.units, Unit(w("monitoring.annex_note"))))
        body.append(hist)
        target = w(f"monitoring.target.{designation}")
        if era in ("sm_new", "sw_new"):
            judge_blocks: list[Block] = [
                Para((self.judgement(w(f"monitoring.judgement_new.{outcome}", target=target)),))
            ]
        else:
            if era.endswith("old") or rng.random() < 0.3:
                s = w(f"monitoring.progress.{outcome}", target=target)
            else:
                who = w.pick(rng, "monitoring.who")
                s = w(f"monitoring.action.{outcome}", who=who, target=target)
            judge_blocks = [self.opinion(), Para((self.judgement(s),))]
            if rng.random() < 0.7:
                fits = []
                if sm and rng.random() < 0.7:
                    fit = rng.random() < 0.85
                    fits.append((fit, w(f"monitoring.statement_of_action.{'fit' if fit else 'unfit'}")))
                fit = rng.random() < 0.75
                plan_word = w.pick(rng, "monitoring.plan")
                fits.append((fit, w(f"monitoring.plan_fit.{'fit' if fit else 'unfit'}", plan=plan_word)))
                self.values["action_plan_fit"] = all(f for f, _ in fits)
                judge_blocks += [
                    Para((Unit(t, ("improvement_planning",), "strength" if f else "weakness"),)) for f, t in fits
                ]
        if sm and rng.random() < 0.8:
            may = rng.random() < 0.35
            teachers = w(
                "monitoring.teachers."
                + ("from_september_2021" if plan.visit_dates[0] >= dt.date(2021, 9, 1) else "before_september_2021")
            )
            who = w.pick(rng, "monitoring.appointing." + ("sm_new" if era == "sm_new" else "other"))
            s = w(f"monitoring.appoint.{'may' if may else 'may_not'}", who=who, teachers=teachers)
            self.values["nqt_permission"] = may
            judge_blocks.append(Para((Unit(s, ("staffing",)),)))
        body += judge_blocks
        p_strength = 0.6 if plan.effective else 0.3
        findings = self.findings(self.length(), p_strength)
        recs = self.recs(rng.randint(2, 4), capital=False)
        report_after = era in ("sm_old", "sw_old") and rng.random() < 0.6
        annex_blocks = self.annex() if annex_note else []
        secretary = (w("monitoring.secretary_of_state"),)
        if report_after:
            # letter first, then (annex and) the monitoring report after the sign-off
            body += [self.copy_line(secretary if sm else ()), self.sign_off()]
            if annex_blocks and rng.random() < 0.5:
                body += annex_blocks
                annex_blocks = []
            nth = ORDINAL_WORDS[(plan.visit_number or 1) - 1]
            label = w(f"monitoring.report_label.{designation}")
            body.append(
                Lines((w("monitoring.report_title", label=label, name=self.school.name),), "report_title", bold=True)
            )
            body.append(
                Lines(
                    (w("monitoring.report_subtitle", nth=nth, dates=_dates_text(rng, plan.visit_dates)),),
                    "report_title",
                )
            )
            body += [self.heading("evidence"), self.evidence("we"), self.heading("context"), self.context()]
            body += _headed(w.forms("monitoring.report_headings"), findings)
            body += [self.heading("external_support"), self.support(rng.randint(1, 3))]
            body += [
                self.heading("priorities"),
                Bullets(tuple(_capitalise_item(i) for i in recs.items)),
            ]
            body += annex_blocks
            return
        body += [
            self.heading("evidence"),
            self.evidence("we" if self.we else "I"),
            self.heading("context"),
            self.context(),
        ]
        if era.endswith("mid") and rng.random() < 0.5:
            body += _headed(w.forms("monitoring.headings_2015"), findings)
        else:
            body += [self.heading("main_findings"), *findings]
        if era.endswith("new") or rng.random() < 0.4:
            body += [
                self.heading("priorities"),
                Bullets(tuple(_capitalise_item(i) for i in recs.items)),
            ]
        else:
            body += [Para((Unit(w.pick(rng, "monitoring.intro")),)), recs]
            if sm and not plan.effective and rng.random() < 0.4 and not self.school.academy:
                intro_p, la_list = self.la_recs()
                body += [intro_p, la_list]
        body += [self.heading("external_support"), self.support(rng.randint(1, 3))]
        body += [
            self.copy_line(secretary if sm and rng.random() < 0.5 else ()),
            self.sign_off(),
        ]
        body += annex_blocks

    def short(self, body: list[Block]) -> None:
        plan, rng, w = self.plan, self.rng, self.w
        body.append(self.opening(False))
        body.append(self.history())
        good = plan.effective
        grade = "outstanding" if plan.era == "s8good" and good and rng.random() < 0.1 else "good"
        if good:
            body.append(Para((self.judgement(w(f"short.{grade}")),)))
        else:
            body.append(Para((Unit(w("short.concerns")), self.judgement(w("short.may_not_be_good")))))
        lead = [
            u
            for u in (
                self.phrase("senior_leadership", "s" if good else "w"),
                self.phrase("governance", "s" if good else "w"),
            )
            if u
        ]
        body.append(Para(tuple(lead)))
        if plan.era == "short":
            body.append(Para((Unit(w("short.safeguarding_effective"), ("safeguarding",), "strength"),)))
            body.append(
                Para(tuple(u for u in (self.phrase("safeguarding", "s"), self.phrase("safeguarding", "s")) if u))
            )
            body.append(self.heading("inspection_findings"))
            body += self.findings(self.length(), 0.6 if good else 0.35, avoid=("safeguarding",))
        else:
            body.append(self.heading("do_well"))
            body += self.findings(self.length(), 0.6 if good else 0.35, avoid=("safeguarding",))
            body.append(self.heading("safeguarding"))
            body.append(
                Para(tuple(u for u in (self.phrase("safeguarding", "s"), self.phrase("safeguarding", "s")) if u))
            )
        body.append(self.heading("next_steps"))
        intro = w.pick(rng, "short.intro")
        body += [Para((Unit(intro),)), self.recs(rng.randint(2, 3), capital=False, nested_p=0.1)]
        body += [self.copy_line(), self.sign_off()]
        if plan.era == "short" and rng.random() < 0.7:
            body += [self.heading("information"), self.evidence()]

    def nfd(self, body: list[Block]) -> None:
        rng, w = self.rng, self.w
        body.append(self.opening())
        focus = rng.choice(("safeguarding", "leadership", "behaviour"))
        body.append(
            Para(
                (
                    Unit(w("no_formal_designation.purpose")),
                    Unit(
                        w(
                            "no_formal_designation.reason",
                            chief=self.chief,
                            focus=w(f"no_formal_designation.focus.{focus}"),
                        )
                    ),
                )
            )
        )
        body.append(self.history())
        body += [self.heading("evidence"), self.evidence("we" if self.we else "I")]
        if focus == "safeguarding":
            ok = rng.random() < 0.7
            body += [
                self.opinion(),
                Para(
                    (
                        Unit(
                            w(f"no_formal_designation.safeguarding.{'effective' if ok else 'not_effective'}"),
                            ("safeguarding",),
                            "strength" if ok else "weakness",
                        ),
                    )
                ),
            ]
        body += [self.heading("context"), self.context(), self.heading("main_findings")]
        if focus == "safeguarding":
            pair = (self.phrase("safeguarding", "w"), self.phrase("safeguarding", "s"))
            body.append(Para(tuple(u for u in pair if u)))
            body += self.findings(rng.randint(2, 3), 0.5, avoid=("safeguarding",))
        else:
            body += self.findings(rng.randint(3, 4), 0.5)
        body += [
            self.heading("priorities"),
            self.recs(rng.randint(2, 3), capital=True, nested_p=0.1),
        ]
        if rng.random() < 0.5:
            body += [self.heading("external_support"), self.support(rng.randint(1, 2))]
        body += [self.copy_line(), self.sign_off()]

    def academy(self, body: list[Block]) -> None:
        plan, rng, w = self.plan, self.rng, self.w
        body.append(self.opening())
        body.append(self.history())
        body.append(
            Para((self.judgement(w(f"academy.judgement.{'effective' if plan.effective else 'not_effective'}")),))
        )
        findings = self.findings(self.length(), 0.6 if plan.effective else 0.35)
        if rng.random() < 0.5:
            body += [
                self.heading("main_findings"),
                *findings,
                self.heading("evidence"),
                self.evidence("we" if self.we else "I"),
            ]
        else:
            body += [
                self.heading("evidence"),
                self.evidence("we" if self.we else "I"),
                self.heading("main_findings"),
                *findings,
            ]
        body += [self.heading("priorities"), self.recs(rng.randint(2, 3), capital=True)]
        body += [self.heading("external_support"), self.support(rng.randint(1, 2))]
        body += [self.copy_line(), self.sign_off()]


def compose_letter(plan: LetterPlan, seed: int) -> Letter:
    """Compose a letter's blocks and values from its plan (no rendering)."""
    composer = _Composer(plan, seed)
    letter = composer.compose()
    letter.layout = {**composer.layout}
    return letter


_PROPER_START = re.compile(r"^(?:English|Key Stage|Year \d|St )")


def _headed(headings: Sequence[str], paras: Sequence[Para]) -> list[Block]:
    """Paragraphs shared out, in order, under report headings (each heading gets at least one)."""
    out: list[Block] = []
    per = -(-len(paras) // len(headings))
    for k, h in enumerate(headings):
        chunk = paras[k * per : (k + 1) * per]
        if chunk:
            out += [Heading(h), *chunk]
    return out


def _however(text: str) -> str:
    """Open a sentence with "However," (a proper noun keeps its capital)."""
    return "However, " + (text if _PROPER_START.match(text) else text[0].lower() + text[1:])


def _we(text: str) -> str:
    """An evidence sentence as a team writes it."""
    return (
        re.sub(r"\bI\b", "We", text)
        .replace("We met you", "Inspectors met you")
        .replace("Together we", "Together, inspectors")
    )


def _capitalise_item(item: Item) -> Item:
    u = item.unit
    text = u.text[0].upper() + u.text[1:]
    if not text.endswith((":", ".")):
        text = text.rstrip(";") + "."
    children = item.children
    if children:
        last = children[-1]
        children = (*children[:-1], replace(last, text=last.text.rstrip(";.") + "."))
    return Item(replace(u, text=text), children)
