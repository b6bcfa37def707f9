"""Planning a synthetic corpus: the schools, and each letter's kind, template, dates and outcome.

`plan_corpus` is pure and seeded: the same ``(n, pdf_share, seed)`` always gives the same plan. The
names of people, places and schools are drawn from ``data/names.yaml`` and ``data/schools.yaml``, the
local authorities from ``data/local_authorities.yaml`` (`pipeline.synth.bank`). When each letter
template was in use, and how common each kind of letter is, stay here: the composer's code has one
builder per template.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, replace

from pipeline.errors import PipelineError
from pipeline.synth import bank
from pipeline.synth.bank import LocalAuthority

LETTER_KINDS = (
    "ri_monitoring",
    "special_measures_monitoring",
    "serious_weaknesses_monitoring",
    "short_inspection",
    "section8_other",
)
URN_BASE = 500001
"""Synthetic URNs start here: above every real English school's and below the sample file's 900000s."""

CONTRACTORS_UNTIL = dt.date(2015, 9, 1)  # from then on Ofsted writes on its own letterhead
HIS_MAJESTY_FROM = dt.date(2022, 9, 8)
LOWER_KEY_STAGE_FROM = dt.date(2015, 9, 1)  # "Key Stage 2" becomes "key stage 2"
_COVID = (dt.date(2020, 3, 14), dt.date(2021, 9, 1))  # no routine section 8 visits


@dataclass(frozen=True)
class Person:
    """A person: title (may be empty), first name, surname."""

    title: str
    first: str
    last: str

    @property
    def full(self) -> str:
        """Title, first name and surname."""
        return " ".join(p for p in (self.title, self.first, self.last) if p)

    @property
    def plain(self) -> str:
        """First name and surname."""
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class School:
    """A school as GIAS lists it; the letters about it agree with this row."""

    urn: int
    name: str
    la: LocalAuthority
    number: int
    type_code: int
    type_name: str
    phase: str  # primary | secondary
    street: str
    locality: str
    town: str
    postcode: str
    opened: dt.date
    head: Person
    head_role: str
    trust: str | None

    @property
    def academy(self) -> bool:
        """Whether GIAS lists it as an academy."""
        return self.type_code in (28, 34)


@dataclass(frozen=True)
class LetterPlan:
    """What one letter will say, chosen before its text is written."""

    index: int
    name: str  # file name without suffix
    fmt: str  # txt | pdf
    school: School
    kind: str
    era: str
    visit_dates: tuple[dt.date, ...]
    letter_date: dt.date
    previous_s5: tuple[int, int] | None  # (year, month)
    visit_number: int | None
    effective: bool | None
    academy_opened: dt.date | None = None


@dataclass(frozen=True)
class CorpusPlan:
    """The schools and the letters of a synthetic corpus."""

    schools: tuple[School, ...]
    letters: tuple[LetterPlan, ...]


ERA_WINDOWS: dict[str, tuple[str, dt.date, dt.date]] = {
    "ri_old": ("ri_monitoring", dt.date(2012, 10, 1), dt.date(2015, 7, 15)),
    "ri_mid": ("ri_monitoring", dt.date(2015, 9, 14), dt.date(2019, 7, 15)),
    "ri_new": ("ri_monitoring", dt.date(2021, 9, 13), dt.date(2023, 7, 14)),
    "sm_old": ("special_measures_monitoring", dt.date(2012, 9, 17), dt.date(2015, 7, 15)),
    "sm_mid": ("special_measures_monitoring", dt.date(2015, 9, 14), dt.date(2020, 3, 13)),
    "sm_new": ("special_measures_monitoring", dt.date(2021, 9, 13), dt.date(2023, 12, 8)),
    "sw_old": ("serious_weaknesses_monitoring", dt.date(2012, 9, 17), dt.date(2015, 7, 15)),
    "sw_mid": ("serious_weaknesses_monitoring", dt.date(2015, 9, 14), dt.date(2020, 3, 13)),
    "sw_new": ("serious_weaknesses_monitoring", dt.date(2021, 9, 13), dt.date(2023, 12, 8)),
    "short": ("short_inspection", dt.date(2015, 10, 1), dt.date(2019, 7, 15)),
    "s8good": ("short_inspection", dt.date(2019, 9, 16), dt.date(2023, 12, 8)),
    "nfd": ("section8_other", dt.date(2012, 9, 17), dt.date(2019, 7, 15)),
    "academy": ("section8_other", dt.date(2021, 9, 13), dt.date(2023, 12, 8)),
}
"""Each letter template (era): its kind and the dates it was in use (``data/letter.yaml`` words them by era)."""

_KIND_WEIGHTS = {
    "ri_monitoring": 0.27,
    "special_measures_monitoring": 0.15,
    "serious_weaknesses_monitoring": 0.10,
    "short_inspection": 0.30,
    "section8_other": 0.18,
}


def _era_of(kind: str, day: dt.date) -> str | None:
    for era, (k, start, end) in ERA_WINDOWS.items():
        if k == kind and start <= day <= end:
            return era
    return None


def _school_day(day: dt.date) -> dt.date:
    """The next day on or after ``day`` when schools are open: a weekday outside August and Christmas."""
    while True:
        if day.month == 8:
            day = dt.date(day.year, 9, 8)
        elif (day.month == 12 and day.day > 18) or (day.month == 1 and day.day < 6):
            day = dt.date(day.year + (day.month == 12), 1, 7)
        elif _COVID[0] <= day < _COVID[1]:
            day = _COVID[1] + dt.timedelta(days=12)
        elif day.weekday() >= 5:
            day += dt.timedelta(days=7 - day.weekday())
        else:
            return day


def _random_day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return _school_day(start + dt.timedelta(days=rng.randrange((end - start).days + 1)))


def _kind_window(kind: str) -> tuple[dt.date, dt.date]:
    spans = [(s, e) for k, s, e in ERA_WINDOWS.values() if k == kind]
    return min(s for s, _ in spans), max(e for _, e in spans)


def _visit_days(rng: random.Random, first: dt.date, n_days: int) -> tuple[dt.date, ...]:
    """The visit: ``first`` alone, or two consecutive school days around it (some across a month's end)."""
    if n_days == 1:
        return (first,)
    if rng.random() < 0.15:  # a visit across the end of a month
        last = dt.date(first.year, first.month, 28)
        while (last + dt.timedelta(days=1)).month == first.month:
            last += dt.timedelta(days=1)
        while last.weekday() >= 4:  # Monday to Thursday, so that the next day is a weekday
            last -= dt.timedelta(days=1)
        if (last + dt.timedelta(days=1)).month != 8 and last.month != 12:
            first = last
    one = dt.timedelta(days=1)
    while first.weekday() >= 4 or _school_day(first) != first or _school_day(first + one) != first + one:
        first -= one  # two consecutive school days, Monday to Friday
    return first, first + one


def _month_back(day: dt.date, months: int) -> tuple[int, int]:
    y, m = day.year, day.month - months
    while m < 1:
        y, m = y - 1, m + 12
    if m == 8:  # no inspections in August
        m = 7
    return y, m


def person(rng: random.Random, titled: bool = True) -> Person:
    """A person; with a title that fits the first name when ``titled``."""
    names = bank.names()
    female = rng.random() < 0.62
    first = rng.choice(names.first_female if female else names.first_male)
    last = rng.choice(names.surnames)
    if not titled:
        return Person("", first, last)
    title = (
        names.title_doctor if rng.random() < 0.04 else rng.choice(names.titles_female if female else names.titles_male)
    )
    return Person(title, first, last)


class _Names:
    """Unique school names and postcodes for one corpus."""

    def __init__(self, rng: random.Random) -> None:
        from pipeline.stages.link import normalise_name

        self.rng = rng
        self.normalise = normalise_name
        self.names: set[str] = set()
        self.postcodes: set[str] = set()

    def place(self) -> str:
        """An invented place name, sometimes of two words."""
        rng, names = self.rng, bank.names()
        base = rng.choice(names.place_head) + rng.choice(names.place_tail)
        if rng.random() < 0.3:
            second = rng.choice(names.place_second)
            if second.lower() not in base.lower():
                base += " " + second
        return base

    def school_name(self, phase: str, academy: bool) -> tuple[str, int, str]:
        """A school name no other school in the corpus has (once names are normalised), with its GIAS type."""
        for _ in range(1000):
            name, code, type_name = self._candidate(phase, academy)
            key = self.normalise(name)
            if key not in self.names:
                self.names.add(key)
                return name, code, type_name
        raise PipelineError(
            "ran out of unique school names; add words to pipeline/synth/data/names.yaml (places) "
            "or name forms to schools.yaml"
        )

    def _candidate(self, phase: str, academy: bool) -> tuple[str, int, str]:
        rng = self.rng
        forms = bank.schools().name_forms[f"academy_{phase}" if academy else phase]
        form = rng.choices(forms, weights=[f.weight for f in forms])[0]
        if "{saint}" in form.form:
            return form.form.format(saint=rng.choice(bank.names().saints)), form.type_code, form.type_name
        return form.form.format(place=self.place()), form.type_code, form.type_name

    def postcode(self, la: LocalAuthority) -> str:
        """A postcode in one of the LA's areas that no other school and no letterhead has."""
        from pipeline.readers.letter import LETTERHEAD_POSTCODES

        rng = self.rng
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        while True:
            area = rng.choice(la.areas)
            district = rng.randint(1, 29 if len(area) == 2 else 40)
            code = f"{area}{district} {rng.randint(0, 9)}{rng.choice(letters)}{rng.choice(letters)}"
            if code not in self.postcodes and code not in LETTERHEAD_POSTCODES:
                self.postcodes.add(code)
                return code


def _new_school(
    names: _Names, urn: int, number: int, la: LocalAuthority, first_letter: dt.date, academy: bool | None = None
) -> School:
    rng = names.rng
    phase = "primary" if rng.random() < 0.72 else "secondary"
    if academy is None:
        academy = first_letter >= dt.date(2013, 9, 1) and rng.random() < (0.15 if first_letter.year < 2016 else 0.4)
    name, code, type_name = names.school_name(phase, academy)
    if academy:
        opened = dt.date(rng.randint(max(2010, first_letter.year - 6), first_letter.year - 1), rng.choice((1, 4, 9)), 1)
    else:
        opened = dt.date(rng.randint(1950, 2008), rng.choice((1, 4, 9)), 1)
    head = person(rng)
    data = bank.schools()
    roles = data.head_roles["academy" if academy else "maintained"]
    role = rng.choices([r for r, _ in roles], weights=[w for _, w in roles])[0]
    trust = None
    if academy:
        trust = f"{names.place()} {rng.choice(data.trusts)}"
    locality = names.place() if rng.random() < 0.45 else ""
    return School(
        urn=urn,
        name=name,
        la=la,
        number=number,
        type_code=code,
        type_name=type_name,
        phase=phase,
        street=f"{rng.choice(bank.names().street_head)} {rng.choice(bank.names().street_tail)}",
        locality=locality,
        town=rng.choice(la.towns),
        postcode=names.postcode(la),
        opened=opened,
        head=head,
        head_role=role,
        trust=trust,
    )


@dataclass
class _Event:
    kind: str
    era: str
    first_day: dt.date
    n_days: int
    previous_s5: tuple[int, int] | None
    visit_number: int | None
    effective: bool | None
    academy_opened: dt.date | None = None


def _effective(rng: random.Random, kind: str, era: str) -> bool | None:
    if era == "nfd":
        return None
    if era == "s8good":  # a good school with concerns got a full inspection, not this letter
        return True
    p = {
        "ri_monitoring": 0.75,
        "special_measures_monitoring": 0.65,
        "serious_weaknesses_monitoring": 0.65,
        "short_inspection": 0.9,
        "section8_other": 0.85,
    }[kind]
    return rng.random() < p


def _n_days(rng: random.Random, kind: str) -> int:
    p2 = {
        "ri_monitoring": 0.1,
        "special_measures_monitoring": 0.75,
        "serious_weaknesses_monitoring": 0.5,
        "short_inspection": 0.15,
        "section8_other": 0.4,
    }[kind]
    return 2 if rng.random() < p2 else 1


def _single_event(rng: random.Random, kind: str, day: dt.date | None = None) -> _Event:
    """One visit of ``kind``, on ``day`` (moved to the next date a template of that kind was in use) or at random."""
    start, end = _kind_window(kind)
    day = _random_day(rng, start, end) if day is None else day
    era = _era_of(kind, day)
    while era is None:
        day = _school_day(day + dt.timedelta(days=14))
        if day > end:
            day = _random_day(rng, start, end)
        era = _era_of(kind, day)
    prev: tuple[int, int] | None
    number: int | None = None
    opened = None
    if kind == "ri_monitoring":
        prev, number = _month_back(day, rng.randint(1, 3)), 1 if rng.random() < 0.85 else 2
    elif kind in ("special_measures_monitoring", "serious_weaknesses_monitoring"):
        number = rng.randint(1, 6 if kind == "special_measures_monitoring" else 3)
        prev = _month_back(day, 2 + 4 * (number - 1) + rng.randint(0, 2))
    elif kind == "short_inspection":
        prev = _month_back(day, rng.randint(36, 60) if era == "short" else rng.randint(48, 84))
    elif era == "nfd":
        prev = _month_back(day, rng.randint(12, 60))
    else:  # a sponsored academy's monitoring: it has had no section 5 inspection of its own yet
        prev = None
        number = rng.randint(1, 2)
        y, m = _month_back(day, rng.randint(9, 20) + 4 * (number - 1))
        opened = dt.date(y, m, 1)
    return _Event(kind, era, day, _n_days(rng, kind), prev, number, _effective(rng, kind, era), opened)


def _series(rng: random.Random, kind: str, count: int) -> list[_Event]:
    """Monitoring visits to one school every four to five months, all after the same section 5 inspection."""
    start, end = _kind_window(kind)
    day = _random_day(rng, start, end - dt.timedelta(days=160 * count))
    events: list[_Event] = []
    previous = _month_back(day, rng.randint(3, 5))
    for k in range(count):
        ev = _single_event(rng, kind, day)
        ev.previous_s5, ev.visit_number = previous, k + 1
        if k and ev.effective is not None and not ev.effective:
            ev.effective = rng.random() < 0.5  # later visits tend to find improvement
        events.append(ev)
        day = _school_day(ev.first_day + dt.timedelta(days=rng.randint(110, 160)))
    return events


def _ri_then_good(rng: random.Random) -> list[_Event]:
    """A school monitored after a requires-improvement judgement, judged good later, then short-inspected."""
    ri = _single_event(rng, "ri_monitoring", _random_day(rng, dt.date(2012, 10, 1), dt.date(2016, 6, 30)))
    good_y, good_m = _month_back(ri.first_day + dt.timedelta(days=rng.randint(300, 600)), 0)
    later = _school_day(dt.date(good_y, good_m, 1) + dt.timedelta(days=rng.randint(3 * 365, 4 * 365)))
    if later > _kind_window("short_inspection")[1]:
        return [ri]
    short = _single_event(rng, "short_inspection", later)
    short.previous_s5 = (good_y, good_m)
    return [ri, short]


def plan_corpus(n: int, pdf_share: float, seed: int) -> CorpusPlan:
    """Choose the schools and each letter's kind, dates and outcome.

    Most schools get one letter; some get a series of monitoring visits, or a
    requires-improvement visit and, years later, a short inspection. The first
    five schools cover the five letter kinds, so any corpus of five or more
    letters has every kind. Letters are then shuffled, and exactly
    ``round(n * pdf_share)`` of them are PDFs.

    Args:
        n: number of letters.
        pdf_share: share of them to render as PDF (0–1).
        seed: the corpus seed.
    """
    rng = random.Random(f"ofsted-nlp synth plan {seed}")
    names = _Names(rng)
    histories: list[list[_Event]] = []
    total = 0
    while total < n:
        if len(histories) < len(LETTER_KINDS):
            events = [_single_event(rng, LETTER_KINDS[len(histories)])]
        else:
            r = rng.random()
            if r < 0.06:
                events = _series(rng, "special_measures_monitoring", rng.randint(2, 3))
            elif r < 0.09:
                events = _series(rng, "serious_weaknesses_monitoring", 2)
            elif r < 0.14:
                events = _ri_then_good(rng)
            else:
                kind = rng.choices(list(_KIND_WEIGHTS), weights=list(_KIND_WEIGHTS.values()))[0]
                events = [_single_event(rng, kind)]
        events = events[: n - total]
        histories.append(events)
        total += len(events)
    schools: list[School] = []
    pending: list[tuple[School, _Event]] = []
    numbers: dict[tuple[int, str], int] = {}
    for k, events in enumerate(histories):
        la = rng.choice(bank.local_authorities())
        academy = True if any(e.academy_opened for e in events) else None
        school = _new_school(names, URN_BASE + k, 0, la, min(e.first_day for e in events), academy)
        base = {"primary": 2000, "secondary": 4000}[school.phase] + (1000 * school.academy)
        numbers[(la.code, school.phase)] = numbers.get((la.code, school.phase), 0) + 1
        number = base + numbers[(la.code, school.phase)] % 1000
        opened = school.opened
        academy_open = next((e.academy_opened for e in events if e.academy_opened), None)
        if academy_open is not None:
            opened = academy_open
        school = replace(school, number=number, opened=opened)
        schools.append(school)
        pending.extend((school, e) for e in events)
    order = list(range(len(pending)))
    rng.shuffle(order)
    n_pdf = round(n * pdf_share)
    pdfs = set(rng.sample(range(n), n_pdf))
    letters = []
    for i, j in enumerate(order):
        school, ev = pending[j]
        visits = _visit_days(rng, ev.first_day, ev.n_days)
        letter_date = visits[-1] + dt.timedelta(days=rng.randint(3, 20))
        if letter_date.weekday() >= 5:
            letter_date += dt.timedelta(days=7 - letter_date.weekday())
        letters.append(
            LetterPlan(
                index=i,
                name=f"synth_{i:06d}",
                fmt="pdf" if i in pdfs else "txt",
                school=school,
                kind=ev.kind,
                era=ev.era,
                visit_dates=visits,
                letter_date=letter_date,
                previous_s5=ev.previous_s5,
                visit_number=ev.visit_number,
                effective=ev.effective,
                academy_opened=ev.academy_opened,
            )
        )
    return CorpusPlan(tuple(schools), tuple(letters))
