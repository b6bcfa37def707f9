"""The report stage: page content against the sample warehouse, escaping, self-containment, and a real browser.

The warehouse is `sample_warehouse` (conftest): the real stages on the sample
corpus, with the hand labels standing in for the tagger, so the numbers a page
must show can be counted from `corpus/labels/units.jsonl` independently of the
SQL. The browser tests open the pages in Debian's headless Chromium (which
`make test` installs); they are skipped without it, except under CI where a
missing browser fails them.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pytest

from pipeline import cli
from pipeline.errors import PipelineError
from pipeline.incremental import records
from pipeline.pages.markup import PALETTE, Bar, BarRow, Markup, bar_chart, contrast, el, esc, grid_chart
from pipeline.stages import report
from pipeline.stages.report import ReportParams, collect, outcome_group, render
from pipeline.warehouse import queries

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SCHOOLS = {
    "Luton": "Wigmore Primary School",
    "Hertfordshire": "Pixmore Junior School",
    "Derbyshire": "Leys Junior School",
    "Sandwell": "Fernhollow Primary School",
}
HOSTILE = "<script>window.__pwned = 1; console.error('pwned')</script>"
HOSTILE_IMG = '<img src=x onerror="window.__pwned = 2">'


@pytest.fixture()
def con(sample_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(str(sample_warehouse), read_only=True)
    yield c
    c.close()


def page(con: duckdb.DuckDBPyConnection, la: str | None = None, since: dt.date | None = None, **kw: Any) -> str:
    return render(collect(con, la, since), ReportParams(**kw))


def between(html: str, start: str, end: str) -> str:
    i = html.index(start)
    return html[i : html.index(end, i)]


# ---------------------------------------------------------------- markup


def test_el_escapes_text_and_attribute_values() -> None:
    got = el("p", "a < b & <script>x</script>", title='"><img src=x>', data_n=3)
    assert got == (
        '<p title="&quot;&gt;&lt;img src=x&gt;" data-n="3">a &lt; b &amp; &lt;script&gt;x&lt;/script&gt;</p>'
    )
    assert isinstance(got, Markup) and esc(got) is got  # built markup is not escaped twice


def test_el_flattens_lists_and_drops_none_and_false() -> None:
    got = el("ul", [el("li", "a"), None, [el("li", 2)]], hidden=True, class_="x", title=None, open=False)
    assert got == '<ul hidden class="x"><li>a</li><li>2</li></ul>'
    assert el("meta", charset="utf-8") == '<meta charset="utf-8">'


def _svg(markup: str) -> ET.Element:
    return ET.fromstring(markup)


NS = "{http://www.w3.org/2000/svg}"


def test_bar_chart_scales_bars_and_links_rows() -> None:
    rows = [BarRow("governance", [Bar(1.0, "4 of 4")], "#ev-governance"), BarRow("<b>", [Bar(0.25, "1 of 4")])]
    svg = _svg(bar_chart("c1", "Title <x>", "Desc", rows, maximum=1.0))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.find(f"{NS}title").text == "Title <x>"  # type: ignore[union-attr]
    rects = svg.findall(f".//{NS}rect")
    widths = [float(r.get("width", 0)) for r in rects]
    assert widths[0] == pytest.approx(4 * widths[1], abs=0.2)
    assert [r.find(f"{NS}title").text for r in rects] == ["4 of 4", "1 of 4"]  # type: ignore[union-attr]
    links = svg.findall(f"{NS}a")
    assert [a.get("href") for a in links] == ["#ev-governance", "#ev-governance"]  # label and bar of row 1
    assert any(t.text == "<b>" for t in svg.iter(f"{NS}text"))  # a label is text, not markup


def test_stacked_bars_add_up_and_print_the_total() -> None:
    rows = [BarRow("sip", [Bar(2, "2 improved", 2), Bar(1, "1 none yet", 7)]), BarRow("nle", [Bar(1, "1 x", 0)])]
    svg = _svg(bar_chart("c2", "t", "d", rows, stacked=True))
    rects = svg.findall(f".//{NS}rect")
    w = [float(r.get("width", 0)) for r in rects]
    assert w[0] == pytest.approx(2 * w[1], abs=0.2) and w[0] + w[1] == pytest.approx(3 * w[2], abs=0.2)
    assert rects[0].get("fill") != rects[1].get("fill")
    assert [t.text for t in svg.iter(f"{NS}text") if t.get("class") == "value"] == ["3", "1"]


def test_grid_chart_prints_counts_and_leaves_zero_blank() -> None:
    svg = _svg(grid_chart("g", "t", "d", ["governance", "safeguarding"], ["2012/13", "2013/14"], [[2, 0], [1, 4]]))
    printed = [t.text for t in svg.iter(f"{NS}text")]
    assert printed == ["2012/13", "2013/14", "governance", "2", "safeguarding", "1", "4"]
    fills = [r.get("fill") for r in svg.iter(f"{NS}rect")]
    assert fills[1] == "#f2f2f2" and len(set(fills)) == 4  # zero is grey; 1, 2 and 4 get darker shades


def test_numbers_on_cells_and_bars_meet_the_contrast_for_text() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21) and contrast("#777777", "#777777") == 1
    grid = _svg(grid_chart("g", "t", "d", ["a"], [str(i) for i in range(11)], [list(range(11))]))
    stacked = _svg(
        bar_chart("s", "t", "d", [BarRow("r", [Bar(9, "9 x", i) for i in range(len(PALETTE))])], stacked=True)
    )
    for svg in (grid, stacked):
        # each number printed on a cell or segment follows that cell's rect
        shapes = [e for e in svg.iter() if e.tag in (f"{NS}rect", f"{NS}text")]
        pairs = [
            (r.get("fill", ""), t.get("fill", ""))
            for r, t in itertools.pairwise(shapes)
            if r.tag == f"{NS}rect" and t.tag == f"{NS}text" and t.get("fill")
        ]
        assert len(pairs) >= 8
        assert all(contrast(bg, fg) >= 4.5 for bg, fg in pairs), pairs


@pytest.mark.parametrize(
    ("label", "group"),
    [
        ("section 5: good", "improved"),
        ("section 5: outstanding", "improved"),
        ("section 5: requires improvement, out of special measures", "improved"),
        ("section 5: requires improvement", "not improved"),
        ("section 5: inadequate (special measures)", "not improved"),
        ("monitoring: action not effective", "not improved"),
        ("monitoring: effective action", "effective action"),
        ("monitoring visit", "monitoring"),
        ("monitoring: no judgement read", "monitoring"),
        ("none recorded yet", "none yet"),
    ],
)
def test_outcome_groups(label: str, group: str) -> None:
    assert outcome_group(label) == group


# ---------------------------------------------------------------- what a page says


def _hand_weakness_docs() -> dict[str, set[str]]:
    """tag → the letters and report with a hand-labelled weakness unit (one school each in the sample)."""
    letters_and_report = {
        "fe4cd934214d41a7": "Luton",
        "43786a7423e93eb7": "Hertfordshire",
        "4faf4adda15c8ccf": "Derbyshire",
        "814070bb9e23f3ae": "Sandwell",  # the synthetic section 5 report
    }
    out: dict[str, set[str]] = {}
    for line in (ROOT / "corpus" / "labels" / "units.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["polarity"] == "weakness" and r["doc_id"] in letters_and_report:
            for tag in r["tags"]:
                out.setdefault(tag, set()).add(letters_and_report[r["doc_id"]])
    return out


def test_la_page_compares_the_la_with_all_las_by_hand_count(con: duckdb.DuckDBPyConnection) -> None:
    html = page(con, "Luton")
    hand = _hand_weakness_docs()
    luton_tags = sorted(t for t, las in hand.items() if "Luton" in las)
    assert luton_tags == ["governance", "improvement_planning", "maths_numeracy", "middle_leadership",
                          "monitoring_evaluation"]  # fmt: skip
    share_table = between(html, 'id="chart-weakness-share"', "</figure>")
    for tag in luton_tags:
        n_all = len(hand[tag])
        row = between(share_table, f'<a href="#ev-{tag}">{tag.replace("_", " ")}</a>', "</tr>")
        assert f"<td>1 of 1 (100%)</td><td>{n_all} of 4 ({n_all / 4:.0%})</td>" in row
    evidence_ids = re.findall(r'<details id="ev-([a-z_]+)"', html)
    assert sorted(evidence_ids) == luton_tags
    assert "arrange an external review of governance" in between(html, 'id="ev-governance"', "</details>")


def test_la_page_names_only_that_la_s_schools(con: duckdb.DuckDBPyConnection) -> None:
    for la, school in SCHOOLS.items():
        html = page(con, la)
        assert f"LA strategy report: {la}</h1>" in html
        assert school in html
        others = [s for other, s in SCHOOLS.items() if other != la]
        assert not [s for s in others if s in html], la


def test_headline_figures(con: duckdb.DuckDBPyConnection) -> None:
    cards = between(page(con), 'class="cards"', "</section>")
    values = re.findall(r'<p class="v">([^<]*)</p>', cards)
    assert values == ["3", "1", "4", "3 of 3 (100%)", "2012-12-04 to 2017-03-07"]


def test_since_changes_every_section(con: duckdb.DuckDBPyConnection) -> None:
    html = page(con, since=dt.date(2013, 1, 1))
    assert "Wigmore Primary School" not in html and "Leys Junior School" not in html
    assert "Pixmore Junior School" in html and "Fernhollow Primary School" in html
    values = re.findall(r'<p class="v">([^<]*)</p>', html)
    assert values == ["1", "1", "2", "1 of 1 (100%)", "2013-11-21 to 2017-03-07"]
    assert "2012/13" not in between(html, 'id="chart-weakness-years"', "</figure>")
    assert "since 2013-01-01" in html


def test_schools_of_concern_most_serious_first(con: duckdb.DuckDBPyConnection) -> None:
    section = between(page(con), '<section id="schools">', "</section>")
    order = [m for m in re.findall(r'<th scope="row">([^<]+)<br>', section)]
    # Fernhollow's section 5 says requires improvement; the others' latest section 5 is good, newest letter first
    assert order == ["Fernhollow Primary School", "Pixmore Junior School", "Wigmore Primary School",
                     "Leys Junior School"]  # fmt: skip
    fernhollow = between(section, "Fernhollow Primary School", "</tr>")
    assert "<summary>2 open</summary>" in fernhollow  # the report's two "what the school needs to do" items
    assert "Strengthen leadership and management by:" in fernhollow
    assert section.count("none open") == 3  # each later judged good


def test_support_section_cautions_and_marks_small_n(con: duckdb.DuckDBPyConnection) -> None:
    section = between(page(con), '<section id="support">', "</section>")
    assert "Association, not effect." in section
    assert section.count('class="small-n"') == section.count("<tr>") - 1  # every count here is under 5 schools
    assert "<td>la adviser consultant</td><td>section 5: good</td><td>3</td>" in section


def test_what_worked_lists_sources_for_the_top_weaknesses(con: duckdb.DuckDBPyConnection) -> None:
    section = between(page(con, "Luton", what_worked_per_tag=2, top_tags=2), '<section id="what-worked">', "</section>")
    headings = re.findall(r"<h3>([^<]+)</h3>", section)
    assert headings == ["monitoring evaluation (weakness at 1 school(s))", "maths numeracy (weakness at 1 school(s))"]
    assert section.count("<blockquote>") == 4


def test_limits_say_how_many_more_and_how_to_see_them(con: duckdb.DuckDBPyConnection) -> None:
    html = page(con, "Sandwell", evidence_per_tag=1, max_schools=0)
    assert "ofsted-nlp query weakness_evidence --la Sandwell" in html
    assert "and 1 more schools" in html


def test_data_quality_section(con: duckdb.DuckDBPyConnection) -> None:
    section = between(page(con, "Luton"), '<section id="quality">', "</section>")
    assert "<summary>All 12 rejected inputs</summary>" in section  # the planted bad reference rows
    assert "Every letter and report in this selection is linked to a school." in section
    assert "No key field is missing in the 1 letter(s) and report(s)" in section
    labels = (ROOT / "corpus" / "labels" / "units.jsonl").read_text(encoding="utf-8").splitlines()
    n_units = sum(1 for line in labels if '"fe4cd934214d41a7"' in line and '"origin": "real"' in line)
    assert n_units > 20 and f"<td>hand-labels</td><td>{n_units}</td><td>1</td>" in section
    tagged = render(
        collect(con, "Luton", None, {"chosen": "m", "n_test_units": 185, "macro_f1": 0.755}), ReportParams()
    )
    assert "on 185 hand-labelled test units: macro-F1 0.755" in tagged


def test_empty_selection_renders_and_the_shell_refuses_it(con: duckdb.DuckDBPyConnection, sample_warehouse: Path,
                                                          tmp_path: Path) -> None:  # fmt: skip
    html = page(con, "Luton", dt.date(2013, 1, 1))
    assert "No weaknesses tagged in this selection." in html and "No school linked in this selection." in html
    with pytest.raises(PipelineError, match=r"no letter or report for LA 'Luton'.*Hertfordshire, Sandwell"):
        report.run(sample_warehouse, tmp_path, ReportParams(), la="Luton", since=dt.date(2013, 1, 1))


# ---------------------------------------------------------------- the shell and the file


def test_run_writes_all_and_each_la_and_is_repeatable(sample_warehouse: Path, tmp_path: Path) -> None:
    (tmp_path / "stale.html").write_text("an LA no longer in the warehouse")
    written = report.run(sample_warehouse, tmp_path, ReportParams())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["all.html", "derbyshire.html", "hertfordshire.html", "luton.html", "sandwell.html"]
    first = {p.name: p.read_bytes() for p in written}
    report.run(sample_warehouse, tmp_path, ReportParams(), jobs=2)  # two processes write the same pages
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first


@pytest.mark.parametrize("since", [None, dt.date(2013, 1, 1)])
def test_pages_from_the_all_la_answers_equal_pages_from_one_query_per_la(
    con: duckdb.DuckDBPyConnection, since: dt.date | None
) -> None:
    answered = report.by_la(con, since)
    assert {k for rows in answered.values() for k in rows} >= {"luton"}  # the split has something to give
    for la in report.local_authorities(con):
        for case in (la, la.upper()):  # the filter is case-blind
            one = report.render(report.collect(con, case, since), ReportParams())
            batched = report.render(report.collect(con, case, since, answered=answered), ReportParams())
            assert batched == one, case


def comparable(df: Any) -> list[dict[str, Any]]:
    """A frame's rows with None for every missing value and tuples for arrays."""
    return [{k: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v for k, v in r.items()}
            for r in records(df)]  # fmt: skip


@pytest.mark.parametrize("since", [None, dt.date(2013, 1, 1)])
def test_every_la_asked_at_once_gives_each_la_its_own_answer_in_its_order(
    con: duckdb.DuckDBPyConnection, since: dt.date | None
) -> None:
    las = report.local_authorities(con, since)
    assert len(las) > 1
    for name in report.AGGREGATE_BY_LA:
        answers = report._lateral(con, name, las, since)
        for la in las:
            one = queries.run_query(con, name, la, since)
            if not len(one):
                assert la.lower() not in answers, (name, la)
                continue
            got = answers[la.lower()]  # a column null for this LA but not for all is str with NaN, not object with None
            assert list(got.columns) == list(one.columns) and comparable(got) == comparable(one), (name, la)
    many = report._lateral(con, "support_then_outcome", las, None)
    assert max(len(rows) for rows in many.values()) > 2  # the order is tested on more than one row


@pytest.mark.parametrize("la", [None, "Luton", "luton"])
def test_evidence_rows_are_the_first_units_of_each_tag_and_the_counts_of_all(
    con: duckdb.DuckDBPyConnection, la: str | None
) -> None:
    every = queries.run_query(con, "weakness_evidence", la)  # every row, as the report read it before
    assert every["tag"].value_counts().max() > 2  # the limit below bites
    top, counts = report.evidence_rows(con, la, None, 2)
    want = every.groupby("tag").agg(schools=("school_key", "nunique"), units=("unit_id", "nunique")).reset_index()
    assert counts.to_dict("records") == want.to_dict("records")
    for tag, rows in every.groupby("tag"):
        first = rows.drop_duplicates("unit_id").head(2)
        assert top.loc[top["tag"] == tag, "unit_id"].tolist() == first["unit_id"].tolist(), tag
    assert not top.duplicated(["tag", "unit_id"]).any()  # a unit once per tag


def test_a_page_quotes_the_first_units_and_counts_the_rest(con: duckdb.DuckDBPyConnection) -> None:
    html = report.render(report.collect(con, "Luton", None, evidence_per_tag=1), ReportParams(evidence_per_tag=1))
    every = queries.run_query(con, "weakness_evidence", "Luton")
    for tag, rows in every.groupby("tag"):
        more = rows["unit_id"].nunique() - 1
        if more:
            assert f"and {more} more" in between(html, f'id="ev-{tag}"', "</details>"), tag


def test_page_is_self_contained_and_its_policy_allows_only_its_own_code(con: duckdb.DuckDBPyConnection) -> None:
    html = page(con)
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * html.count("<svg xmlns")
    assert " src=" not in html and "<link" not in html and "<iframe" not in html
    assert html.count("<script") == 1 and html.count("<style") == 1
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    script = between(html, "<script>", "</script>")[len("<script>") :]
    style = between(html, "<style>", "</style>")[len("<style>") :]

    def sha(s: str) -> str:
        return "sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()

    policy = csp.group(1)
    assert "default-src &#x27;none&#x27;" in policy
    assert f"script-src &#x27;{sha(script)}&#x27;" in policy and f"style-src &#x27;{sha(style)}&#x27;" in policy


@pytest.fixture(scope="module")
def hostile_warehouse(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample warehouse with markup written into document text, names and an LA."""
    path = tmp_path_factory.mktemp("hostile") / "ofsted.duckdb"
    shutil.copy(sample_warehouse, path)
    c = duckdb.connect(str(path))
    c.execute("UPDATE units SET text = text || ? WHERE doc_id = 'fe4cd934214d41a7'", [" " + HOSTILE])
    c.execute("UPDATE letter_school SET matched_name = ? WHERE doc_id = 'fe4cd934214d41a7'", [HOSTILE_IMG])
    c.execute("UPDATE recommendations SET text = text || ?", [HOSTILE])
    c.execute("UPDATE case_study_items SET text = text || ?", [HOSTILE_IMG])
    c.execute("UPDATE la_categories SET academic_year = academic_year || ?", ["</title><script>alert(1)</script>"])
    c.close()
    return path


def test_document_text_is_escaped(hostile_warehouse: Path) -> None:
    c = duckdb.connect(str(hostile_warehouse), read_only=True)
    html = render(collect(c, None, None), ReportParams())
    c.close()
    assert html.count("<script") == 1 and "<img" not in html
    assert "&lt;script&gt;window.__pwned = 1; console.error(&#x27;pwned&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;window.__pwned = 2&quot;&gt;" in html


# ---------------------------------------------------------------- templates

TEMPLATES = ROOT / "pipeline" / "pages" / "templates"
SECTIONS = {"headline": "headline.html", "weaknesses": "weaknesses.html", "schools": "schools.html",
            "support": "support.html", "what-worked": "what_worked.html", "quality": "quality.html"}  # fmt: skip


def test_every_template_says_what_it_renders_and_what_it_receives() -> None:
    names = sorted(p.name for p in TEMPLATES.iterdir())
    assert names == sorted([*SECTIONS.values(), "macros.html", "page.html", "style.css"])
    for name in names:
        head = (TEMPLATES / name).read_text(encoding="utf-8").split("#}")[0]
        assert head.startswith(f"{{#\n  {name}: "), name
        assert "Receives" in head or "receives nothing" in head.lower() or name == "macros.html", name


def test_each_section_and_the_style_come_from_the_templates(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # an analyst's copy of every section template, each with a sentence added under its heading
    for name in SECTIONS.values():
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        assert text.count("<h2>{{ heading }}</h2>\n") == 1, name
        text = text.replace("<h2>{{ heading }}</h2>\n", f"<h2>{{{{ heading }}}}</h2>\n<p>Reworded in {name}.</p>\n")
        (tmp_path / name).write_text(text, encoding="utf-8")
    page_html = (TEMPLATES / "page.html").read_text(encoding="utf-8")
    (tmp_path / "page.html").write_text(page_html.replace('"Schools of concern"', '"Schools causing concern"'))
    style = (TEMPLATES / "style.css").read_text(encoding="utf-8") + "h2 { color: #5a2d82; }\n"
    (tmp_path / "style.css").write_text(style, encoding="utf-8")
    data = collect(con, "Luton", None)
    html = render(data, ReportParams(), templates=tmp_path)
    for anchor, name in SECTIONS.items():
        assert f"<p>Reworded in {name}.</p>" in between(html, f'<section id="{anchor}">', "</section>"), name
    assert '<a href="#schools">Schools causing concern</a>' in html  # the list of sections and the heading agree
    assert '<section id="schools">\n<h2>Schools causing concern</h2>' in html
    sheet = between(html, "<style>", "</style>")[len("<style>") :]
    assert sheet.endswith("h2 { color: #5a2d82; }\n")
    digest = base64.b64encode(hashlib.sha256(sheet.encode()).digest()).decode()
    assert f"style-src &#x27;sha256-{digest}&#x27;" in html  # the policy allows the restyled sheet
    # the packaged templates are untouched by the override, and a page without it is as before
    assert "Reworded" not in render(data, ReportParams())


def test_a_misspelt_name_in_a_template_fails_and_says_where(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    text = (TEMPLATES / "support.html").read_text(encoding="utf-8").replace("support.chart", "support.charts")
    (tmp_path / "support.html").write_text(text, encoding="utf-8")
    with pytest.raises(jinja2.UndefinedError, match="charts") as err:
        render(collect(con, "Luton", None), ReportParams(), templates=tmp_path)
    assert any(f.filename == str(tmp_path / "support.html") for f in traceback.extract_tb(err.value.__traceback__))


def _hostile_cells(df: Any, text: str) -> Any:
    """``df`` with ``text`` appended to every string, and to every string in a list."""

    def poison(v: Any) -> Any:
        if isinstance(v, str):
            return v + text
        if hasattr(v, "__len__") and not isinstance(v, (bytes, dict)):
            return [poison(x) for x in v]
        return v

    out = df.copy()
    for col in out.columns:
        if any(isinstance(v, str) or (hasattr(v, "__len__") and len(v) > 0) for v in out[col]):
            out[col] = out[col].map(poison)
    return out


def test_markup_in_any_name_or_text_is_escaped_in_every_section(con: duckdb.DuckDBPyConnection) -> None:
    hostile = " " + HOSTILE + HOSTILE_IMG
    d = collect(con, None, None, {"chosen": hostile, "n_test_units": 185, "macro_f1": 0.755})
    frames = {f.name: _hostile_cells(getattr(d, f.name), hostile) for f in dataclasses.fields(d)
              if hasattr(getattr(d, f.name), "columns")}  # fmt: skip
    d = dataclasses.replace(d, la="Luton" + hostile, **frames)  # an LA page: school, LA, tags, texts all hostile
    html = render(d, ReportParams(evidence_per_tag=1, max_schools=1))  # and the commands that list the rest
    assert html.count("<script") == 1 and "<img" not in html
    assert "<title>LA strategy report: Luton &lt;script&gt;window.__pwned" in html
    for anchor in SECTIONS:
        section = between(html, f'<section id="{anchor}">', "</section>")
        assert "&lt;script&gt;" in section and "&lt;img src=x onerror=&quot;" in section, anchor
    school = between(html, '<section id="schools">', "</section>")
    assert re.search(r'<th scope="row">[^<]+ &lt;script&gt;window.__pwned = 1; console.error\(&#x27;pwned', school)
    for query in ("weakness_evidence", "schools_of_concern"):  # the command that repeats the filter: quoted, escaped
        assert f"<code>ofsted-nlp query {query} --la &#x27;Luton &lt;script&gt;window.__pwned" in html, query


def test_cli_report_one_la_without_model_libraries(sample_warehouse: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from pipeline.cli import main; "
        "rc = main(['report', '--la', 'luton', '--warehouse', sys.argv[1], '--out', sys.argv[2], "
        "'--metrics', 'absent.json', '--params', sys.argv[3]]); "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'spacy', 'sklearn') if m in sys.modules]; "
        "sys.stderr.write(repr((rc, heavy)))"
    )
    args = [str(sample_warehouse), str(tmp_path), str(ROOT / "params.yaml")]
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert run.stderr.strip().endswith("(0, [])"), run.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["luton.html"]
    assert "<h1>LA strategy report: Luton</h1>" in (tmp_path / "luton.html").read_text()  # the LA's own spelling
    assert "No held-out figures for the tagger were given" in (tmp_path / "luton.html").read_text()


def test_cli_report_unknown_la(sample_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["report", "--la", "Nowhere", "--warehouse", str(sample_warehouse), "--out", str(tmp_path)]
    assert cli.main(args) == 2
    assert "no letter or report for LA 'Nowhere'; LAs in the warehouse: Derbyshire" in capsys.readouterr().err


# ---------------------------------------------------------------- in a real browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        message = "Debian's chromium is not installed (`make test` installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Visit:
    """A page opened from a file, with everything the browser reported while loading it."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.console: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)


def test_every_page_renders_its_charts_in_chromium(browser: Any, sample_warehouse: Path, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for path in report.run(sample_warehouse, tmp_path, ReportParams()):
        v = Visit(browser, path)
        assert v.console == [], path.name
        assert v.requests == [v.url], path.name  # nothing fetched but the page itself
        charts = v.page.evaluate(
            """() => Array.from(document.querySelectorAll('svg.chart')).map(s => ({
                id: s.id, width: s.getBoundingClientRect().width,
                bars: Array.from(s.querySelectorAll('rect')).filter(r => r.getBBox().width > 0).length}))"""
        )
        ids = [c["id"] for c in charts]
        assert "chart-weakness-share" in ids and "chart-weakness-years" in ids, path.name
        assert all(c["width"] > 300 and c["bars"] > 0 for c in charts), (path.name, charts)
        # a count printed on a dark cell is drawn in white, as its fill says (the style sheet must not override it)
        fills = v.page.evaluate(
            """() => Array.from(document.querySelectorAll('svg.chart text[fill]'))
                          .map(t => [t.getAttribute('fill'), getComputedStyle(t).fill])"""
        )
        rgb = {"#ffffff": "rgb(255, 255, 255)", "#000000": "rgb(0, 0, 0)"}
        assert fills and all(rgb[a] == c for a, c in fills), (path.name, fills)
        v.page.screenshot(path=str(ARTIFACTS / f"report-{path.stem}.png"), full_page=True)
        v.page.close()


def test_a_bar_opens_its_evidence_and_printing_opens_every_list(browser: Any, con: duckdb.DuckDBPyConnection,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    path = tmp_path / "luton.html"
    path.write_text(page(con, "Luton"), encoding="utf-8")
    v = Visit(browser, path)
    is_open = "id => document.getElementById(id).open"
    assert v.page.evaluate(is_open, "ev-governance") is False
    v.page.click('#chart-weakness-share a[href="#ev-governance"] rect')
    assert v.page.evaluate(is_open, "ev-governance") is True
    v.page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert v.page.evaluate("document.querySelectorAll('details:not([open])').length") == 0
    v.page.emulate_media(media="print")
    assert v.page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
    assert v.page.pdf()[:4] == b"%PDF"
    assert v.console == []
    v.page.close()


def test_markup_in_a_letter_runs_nothing_in_chromium(browser: Any, hostile_warehouse: Path, tmp_path: Path) -> None:
    for path in report.run(hostile_warehouse, tmp_path, ReportParams()):
        v = Visit(browser, path)
        assert v.page.evaluate("typeof window.__pwned") == "undefined", path.name
        assert v.dialogs == [] and v.console == [], path.name
        if path.stem in ("all", "luton"):
            assert HOSTILE in v.page.evaluate("document.body.textContent"), path.name  # shown as text
        v.page.close()
