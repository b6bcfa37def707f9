"""Safe HTML and inline SVG charts for the report stage.

The page around the charts is written by Jinja2 templates (``templates/``),
whose every ``{{ value }}`` goes through `esc`, as does every piece of text
given to `el`: both escape it, and only `Markup` (HTML built here or by a
template) is inserted as it is. So a letter that contains ``<script>`` shows
those characters and runs nothing. Charts are plain SVG drawn here (no
script, no network): each has a title, a description and, beside it, the
same numbers as a table.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
"""Okabe–Ito colours: distinguishable with the common colour-vision deficiencies."""


def esc(value: object) -> Markup:
    """``value`` as HTML text: escaped unless it is already `Markup`; ``None`` is empty.

    The templates' ``finalize``, so a page escapes the same way whether code or a template wrote it.
    """
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(html.escape(str(value), quote=True))


def _children(children: Iterable[object]) -> str:
    parts: list[str] = []
    for c in children:
        if isinstance(c, (str, int, float)) or c is None:
            parts.append(esc(c))
        else:
            parts.append(_children(c))  # type: ignore[arg-type]
    return "".join(parts)


_VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})


def el(tag: str, *children: object, **attrs: object) -> Markup:
    """An element: children escaped (lists flattened), attribute values escaped.

    A trailing underscore is dropped from an attribute name (``class_``) and
    other underscores become hyphens (``aria_label``); ``True`` gives a bare
    attribute, ``None`` or ``False`` leaves it out.
    """
    parts = [tag]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(name if value is True else f'{name}="{esc(value)}"')
    start = "<" + " ".join(parts) + ">"
    if tag in _VOID:
        return Markup(start)
    return Markup(f"{start}{_children(children)}</{tag}>")


@dataclass(frozen=True)
class Bar:
    """One bar: its value (the length), the text printed beside it and its series."""

    value: float
    text: str
    series: int = 0


@dataclass(frozen=True)
class BarRow:
    """A row of a bar chart: its label, an optional link, and its bars (grouped or stacked)."""

    label: str
    bars: Sequence[Bar]
    href: str | None = None


_W = 900  # viewBox width
_LABEL_W = 300
_VALUE_W = 200
_FONT = 15


def _svg(chart_id: str, title: str, desc: str, height: int, body: Iterable[Markup]) -> Markup:
    t_id, d_id = f"{chart_id}-title", f"{chart_id}-desc"
    return el(
        "svg",
        el("title", title, id=t_id),
        el("desc", desc, id=d_id),
        list(body),
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {_W} {height}",
        width="100%",
        role="img",
        aria_labelledby=f"{t_id} {d_id}",
        class_="chart",
        id=chart_id,
        font_size=_FONT,
    )


def _link(href: str | None, *children: Markup) -> Markup:
    return el("a", *children, href=href) if href else Markup("".join(children))


def _clip(text: str, n: int = 32) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def bar_chart(
    chart_id: str, title: str, desc: str, rows: Sequence[BarRow], *, stacked: bool = False, maximum: float | None = None
) -> Markup:
    """A horizontal bar chart: grouped bars per row, or one stacked bar of segments.

    Bars are scaled to ``maximum`` (default: the largest bar or stack). Each
    bar has a tooltip; grouped bars print their text beside them, stacked
    segments print theirs inside when there is room.
    """
    bar_h, gap = 22, 12
    n_series = 1 if stacked else max((len(r.bars) for r in rows), default=1)
    row_h = n_series * bar_h + gap
    top = 8
    height = top + max(len(rows), 1) * row_h + 8
    plot_w = _W - _LABEL_W - _VALUE_W
    totals = [sum(b.value for b in r.bars) if stacked else max((b.value for b in r.bars), default=0) for r in rows]
    scale_to = maximum if maximum is not None else max(totals, default=0) or 1.0
    body: list[Markup] = []
    for i, r in enumerate(rows):
        y0 = top + i * row_h
        label = el(
            "text",
            _clip(r.label),
            el("title", r.label),
            x=_LABEL_W - 10,
            y=y0 + bar_h * 0.75 * n_series,
            text_anchor="end",
            class_="label",
        )
        body.append(_link(r.href, label))
        x = float(_LABEL_W)
        for j, b in enumerate(r.bars):
            w = max(plot_w * b.value / scale_to, 0.0)
            y = y0 if stacked else y0 + j * bar_h
            colour = PALETTE[b.series % len(PALETTE)]
            rect = el(
                "rect",
                el("title", b.text),
                x=round(x, 1),
                y=y,
                width=round(max(w, 1.5), 1),
                height=bar_h - 3,
                fill=colour,
                class_="bar",
            )
            body.append(_link(r.href, rect))
            if stacked:
                if w > 8 * len(b.text.split(" ")[0]) + 6:
                    fg = text_colour_on(colour)
                    body.append(el("text", b.text.split(" ")[0], x=round(x + 4, 1), y=y + bar_h - 8, fill=fg))
                x += w
            else:
                body.append(el("text", b.text, x=round(x + w + 6, 1), y=y + bar_h - 8, class_="value"))
        if stacked:
            total_text = f"{totals[i]:g}"
            body.append(el("text", total_text, x=round(x + 6, 1), y=y0 + bar_h - 8, class_="value"))
    return _svg(chart_id, title, desc, height, body)


def grid_chart(
    chart_id: str,
    title: str,
    desc: str,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    values: Sequence[Sequence[int]],
    hrefs: Sequence[str | None] | None = None,
) -> Markup:
    """A grid of counts (rows × columns), each cell shaded by its count and printing it; zero cells are blank."""
    cell_w = max(min(90, (_W - _LABEL_W - 10) // max(len(col_labels), 1)), 40)
    cell_h, top = 28, 34
    height = top + len(row_labels) * cell_h + 8
    hi = max((v for row in values for v in row), default=0) or 1
    body: list[Markup] = []
    for j, c in enumerate(col_labels):
        body.append(el("text", c, x=_LABEL_W + j * cell_w + cell_w / 2, y=22, text_anchor="middle", class_="label"))
    for i, label in enumerate(row_labels):
        y = top + i * cell_h
        href = hrefs[i] if hrefs else None
        body.append(
            _link(
                href,
                el(
                    "text",
                    _clip(label),
                    el("title", label),
                    x=_LABEL_W - 10,
                    y=y + 19,
                    text_anchor="end",
                    class_="label",
                ),
            )
        )
        for j, v in enumerate(values[i]):
            x = _LABEL_W + j * cell_w
            share = v / hi
            # light to dark blue; the count is black or white, whichever contrasts more
            fill = "#f2f2f2" if v == 0 else _blend("#DCEBF7", "#0B4F8A", share)
            cell = el(
                "rect",
                el("title", f"{label}, {col_labels[j]}: {v}"),
                x=x + 1,
                y=y + 1,
                width=cell_w - 2,
                height=cell_h - 2,
                fill=fill,
                class_="cell",
            )
            parts = [cell]
            if v:
                fg = text_colour_on(fill)
                parts.append(el("text", v, x=x + cell_w / 2, y=y + 19, text_anchor="middle", fill=fg))
            body.append(_link(href, *parts))
    return _svg(chart_id, title, desc, height, body)


def _blend(a: str, b: str, t: float) -> str:
    pa = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    pb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(pa, pb))


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""

    def channel(c: int) -> float:
        x = c / 255
        return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21; text needs 4.5)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_colour_on(fill: str) -> str:
    """Black or white, whichever contrasts more with ``fill``."""
    return "#000000" if contrast(fill, "#000000") >= contrast(fill, "#ffffff") else "#ffffff"
