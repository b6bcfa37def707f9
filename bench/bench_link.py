"""Benchmark: the link stage's name matching, documents against a GIAS-sized list of schools.

Prints figures; asserts nothing (targets are read by people, not tests).
Builds a synthetic GIAS extract (open schools, closed predecessors of academies
with the same name at the same postcode, common names repeated across LAs) and
documents that name a school as letters do: exact, with spelling variants
(Saint/St, C of E/CofE, "The ... School"), a typo in a long word, a phase word
dropped, with or without postcode, LA and URN, and a few naming no school in
the list. Times building the `SchoolIndex`, matching every document
(`match_school`: cold, with a new index and empty caches as one run of the
stage has them, and warm), `link_documents` (the stage's core, cold) and
`name_similarity` alone; prints a digest of the links made, so two runs (e.g.
before and after a change to the matching) can be checked for the same
decisions. About 6 minutes on 2 CPUs.
Run: .venv/bin/python bench/bench_link.py [--schools 50000] [--docs 5000] [--repeats 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import resource
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from pipeline.stages import link
from pipeline.stages.link import DocRef, LinkParams

# Invented place names from syllables, so that names share words and trigrams as real ones do.
HEADS = (  # noqa: SIM905
    "Ash Bracken Wig Pix Low High Oak Elm Thorn Kings Queens Church Mill Brook Green Red White Black Stan Hather "
    "Wood Fern Hazel Holly Beech Cop Nether Upper Lang Hol Bar Bram Cold Dun Fair Gold Hart Long Marsh North "
    "South East West Rad Ring Sand Shel Stock Sut Wal Whit Win Wor Yar Ald Bick Carl Dal Ever Frod Grims Hemp"
).split()
TAILS = (  # noqa: SIM905
    "more field ford ley ton wood bury well dale hurst combe by thorpe wick stead gate bridge ham worth side "
    "fold moor leigh cote den holme"
).split()
# a middle syllable, mostly none: about 10,000 distinct place words in 50,000 schools, as GIAS has
MIDS = ("",) * 12 + ("er", "ing", "en", "ling", "bor", "ham", "ley", "ton", "wick", "mer", "den", "sted")
SECOND = "Park Green Hill Vale Road Lane Heath Common Meadow Fields".split()  # noqa: SIM905
SAINTS = (  # noqa: SIM905
    "Mary Mark Anne John Joseph Peter Paul Michael Andrew George Patrick Bernadette Thomas Luke Matthew Teresa "
    "Margaret Edmund Augustine Chad Alban Hilda Bede Cuthbert Wilfrid Aidan"
).split()
LAS = (  # noqa: SIM905
    "Barnet|Birmingham|Bradford|Bristol|Camden|Cornwall|Cumbria|Derbyshire|Devon|Dorset|Durham|Essex|"
    "Gloucestershire|Hampshire|Hertfordshire|Kent|Lancashire|Leeds|Leicestershire|Lincolnshire|Liverpool|Luton|"
    "Manchester|Norfolk|North Yorkshire|Nottinghamshire|Oxfordshire|Sandwell|Sheffield|Somerset|Staffordshire|"
    "Suffolk|Surrey|Wakefield|Warwickshire|West Sussex|Wigan|Wiltshire|Wirral|Worcestershire"
).split("|")
PRIMARY_FORMS = (
    ("{p} Primary School", 30),
    ("{p} Community Primary School", 6),
    ("{p} Infant School", 6),
    ("{p} Junior School", 6),
    ("{p} Nursery School", 2),
    ("{p} Primary and Nursery School", 4),
    ("{p} Church of England Primary School", 5),
    ("{p} CofE Primary School", 3),
    ("St {s}'s Catholic Primary School", 5),
    ("St {s}'s Church of England Primary School", 4),
    ("{p} Junior and Infant School", 2),
)
SECONDARY_FORMS = (
    ("{p} High School", 10),
    ("{p} School", 5),
    ("{p} Community College", 3),
    ("{p} Secondary School", 2),
    ("St {s}'s Catholic High School", 3),
)
OUTCODES = "AB BD BS CB DE EX GL HP LE LN LU NE NG OX PE S SG ST TA WA WF WR YO".split()  # noqa: SIM905
CONVERTED = dt.date(2014, 9, 1)


def load() -> str:
    """The 1-minute load average: on 2 cores, other processes' work shows up in the timings."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def place(rng: random.Random) -> str:
    name = rng.choice(HEADS) + rng.choice(MIDS) + rng.choice(TAILS)
    return f"{name} {rng.choice(SECOND)}" if rng.random() < 0.3 else name


def postcode(rng: random.Random) -> str:
    return f"{rng.choice(OUTCODES)}{rng.randint(1, 40)} {rng.randint(0, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" + (
        rng.choice("ABDEFGHJLNPQRSTUWXYZ")
    )


def school_name(rng: random.Random) -> str:
    forms = PRIMARY_FORMS if rng.random() < 0.75 else SECONDARY_FORMS
    form = rng.choices([f for f, _ in forms], weights=[w for _, w in forms])[0]
    return form.format(p=place(rng), s=rng.choice(SAINTS))


def schools(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """About ``n`` GIAS rows; one school in six is an academy with its closed predecessor (same name and postcode)."""
    rows: list[dict[str, Any]] = []
    while len(rows) < n:
        name, la, pc = school_name(rng), rng.choice(LAS), postcode(rng)
        opened = dt.date(rng.randint(1950, 2008), 9, 1)
        row = {"urn": 100000 + len(rows), "name": name, "la_name": la, "postcode": pc, "opened": opened, "closed": None}
        if rng.random() < 1 / 6:
            academy = name.replace(" School", " Academy") if name.endswith(" School") else f"{name} Academy"
            rows.append({**row, "closed": CONVERTED - dt.timedelta(days=1)})
            row = {**row, "urn": 100000 + len(rows), "name": academy, "opened": CONVERTED}
        elif rng.random() < 0.05:
            row["closed"] = dt.date(rng.randint(2009, 2013), 8, 31)
        rows.append(row)
    return rows


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + rng.choice("aeiourstln") + word[i + 1 :]


def variant(name: str, rng: random.Random) -> tuple[str, str]:
    """The name as a letter might write it, and what was done to it."""
    r = rng.random()
    if r < 0.45:
        return name, "exact"
    if r < 0.55:
        return f"The {name}".upper() if rng.random() < 0.3 else f"The {name}", "case/The"
    if r < 0.67:
        out = name.replace("St ", "Saint ").replace("Church of England", "C of E").replace("CofE", "C.E.")
        out = out.replace("Catholic", "RC").replace(" and ", " & ")
        return out.replace("'s", "\u2019s"), "spelling"
    if r < 0.80:
        words = name.split()
        long_ = [i for i, w in enumerate(words) if len(w) >= 7]
        if long_:
            i = rng.choice(long_)
            words[i] = _typo(words[i], rng)
        return " ".join(words), "typo"
    if r < 0.88:
        out = name
        for phase in (" Primary", " Infant", " Junior", " High"):
            out = out.replace(phase, "", 1)
        return out, "phase dropped"
    if r < 0.95:
        return name.replace(" School", "").replace(" Academy", ""), "suffix dropped"
    return school_name(rng), "not in the list"


def documents(
    rows: list[dict[str, Any]], n: int, rng: random.Random
) -> tuple[list[DocRef], dict[str, int | None], Counter[str]]:
    """``n`` documents, each about a school open on its date (or naming none of the list); the true URNs."""
    open_after = [r for r in rows if r["closed"] is None]
    open_before = [r for r in rows if r["closed"] is not None or r["opened"] < CONVERTED]
    docs, truth, kinds = [], {}, Counter[str]()
    for i in range(n):
        date = dt.date(2012, 1, 1) + dt.timedelta(days=rng.randrange(9 * 365))
        pool = open_after if date >= CONVERTED else open_before
        s = rng.choice(pool)
        name, how = variant(s["name"], rng)
        kinds[how] += 1
        pc = s["postcode"] if rng.random() < 0.7 and how != "not in the list" else None
        la = s["la_name"] if rng.random() < 0.8 else None
        urn = s["urn"] if rng.random() < 0.08 and how != "not in the list" else None
        docs.append(DocRef(f"d{i:06d}", name, pc, la, urn, date))
        truth[docs[-1].doc_id] = None if how == "not in the list" else s["urn"]
    return docs, truth, kinds


def clear_caches() -> None:
    """Empty the link module's memo caches (folded names, word pairs), so a run starts cold."""
    for value in vars(link).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def timed(fn: Callable[[], Any], repeats: int, setup: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """Best of ``repeats`` calls of ``fn`` (seconds) and its last result; ``setup`` runs, untimed, before each."""
    best, out = float("inf"), None
    for _ in range(repeats):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schools", type=int, default=50_000, help="rows of the synthetic GIAS extract")
    ap.add_argument("--docs", type=int, default=5_000, help="documents to link")
    ap.add_argument("--repeats", type=int, default=3, help="timing runs per figure (best is kept)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(f"bench_link {args.seed}")
    rows = schools(args.schools, rng)
    docs, truth, kinds = documents(rows, args.docs, rng)
    params = LinkParams()
    closed = sum(r["closed"] is not None for r in rows)
    print(f"link matching: {len(rows):,} schools ({closed:,} closed), {len(docs):,} documents; {load()}")
    print("  documents: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))

    t_build, _ = timed(lambda: link.SchoolIndex.build(rows), args.repeats, clear_caches)
    index = link.SchoolIndex.build(rows)
    print(f"  SchoolIndex.build                 {t_build:7.2f} s ({len(index.by_word):,} distinct words)")

    def fresh_index() -> None:
        # the index remembers each word's near words: a new one, and empty caches, for a cold run
        nonlocal index
        clear_caches()
        index = link.SchoolIndex.build(rows)

    def match_all() -> list[tuple[Any, Any, Any]]:
        return [link.match_school(d, index, params) for d in docs]

    t_cold, results = timed(match_all, args.repeats, fresh_index)
    t_warm, _ = timed(match_all, args.repeats)
    for label, t in (("cold caches", t_cold), ("warm caches", t_warm)):
        each = f"{len(docs) / t:7.0f} documents/s ({1000 * t / len(docs):.2f} ms each)"
        print(f"  match_school, {label:19s} {t:7.2f} s = {each}")
    t_all, _ = timed(lambda: link.link_documents(docs, rows, {}, params), args.repeats, clear_caches)
    print(f"  link_documents (build + match)    {t_all:7.2f} s")

    # name_similarity alone, over each document's index candidates (the pairs the stage scores at most)
    pairs: list[tuple[str, str]] = []
    for d in docs:
        if d.school_name:
            name = link.normalise_name(d.school_name)
            pairs.extend((name, index.names[i]) for i in index.near(name, None)[:50])
    t_sim, _ = timed(lambda: [link.name_similarity(a, b) for a, b in pairs], args.repeats)
    each = f"{1e6 * t_sim / len(pairs):.1f} us each"
    print(f"  name_similarity                   {t_sim:7.2f} s for {len(pairs):,} pairs = {each}")

    linked = [(d.doc_id, m.urn, m.method) for d, (m, _, _) in zip(docs, results) if m is not None]
    by_method = Counter(method for _, _, method in linked)
    reasons = Counter(
        "low confidence" if "low confidence" in (r or "") else "ambiguous" if "ambiguous" in (r or "") else "no school"
        for m, _, r in results
        if m is None
    )
    wrong = sum(truth[doc_id] != urn for doc_id, urn, _ in linked)
    digest = hashlib.sha256(repr(linked).encode()).hexdigest()[:16]
    scores = hashlib.sha256(repr([(m and round(m.confidence, 4), b and b.urn) for m, b, _ in results]).encode())
    print(f"  linked {len(linked):,} ({', '.join(f'{k} {v}' for k, v in by_method.most_common())}); ", end="")
    print(f"not linked {len(docs) - len(linked):,} ({', '.join(f'{k} {v}' for k, v in reasons.most_common())})")
    print(f"  linked to another school than the one named: {wrong}")
    print(f"  links digest {digest} (document, URN, method); scores digest {scores.hexdigest()[:16]}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {peak:,.0f} MB; {load()}")


if __name__ == "__main__":
    main()
