"""Readers of the pages the fetch stage walks: Ofsted's reports site and GOV.UK's content API.

Each function is pure: it takes a page's bytes (or decoded JSON) and the URL it
came from, and returns rows. A page that no longer has an element the reader
needs raises `PageChanged`, naming the element and the URL, so the fetch stage
can write a manifest row saying so and go on with the next page. Nothing here
touches the network.

What the readers rely on (the markup public scrapers of the site describe; a
change to it is reported, not guessed around):

- a school's page: its name in ``h1.heading--title`` (else the first ``h1``);
  its documents as ``ol.timeline > li.timeline__day`` items, each with an
  ``a.publication-link`` whose ``href`` is the file and whose
  ``span.nonvisual`` reads ``<event name>, <format> - <date>``, e.g.
  ``Monitoring inspection report, PDF - 12 March 2019``. An item marked
  ``timeline__day--opened`` records that the school opened: it has no file.
- a page of search results: ``ul.results-list > li > h3 > a`` links to the
  schools' pages, and ``a.pagination__next`` to the next page of results.
- GOV.UK's content API: JSON whose ``details.attachments[]`` have ``url``,
  ``title`` and ``content_type``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag


class PageChanged(Exception):
    """A page lacks an element the reader needs: the site has changed, or the URL is not such a page.

    Args:
        url: the page.
        element: the CSS selector of what is missing.
        advice: what the user can do.
    """

    def __init__(self, url: str, element: str, advice: str) -> None:
        self.url = url
        self.element = element
        self.message = f"no {element} on {url}: {advice}"
        super().__init__(self.message)


@dataclass(frozen=True)
class Listing:
    """One document a school's page lists."""

    url: str
    """The file's absolute URL (the ``href``, resolved against the page's URL)."""
    listed_as: str
    """The link's description as on the page, e.g. ``Monitoring inspection report, PDF - 12 March 2019``."""
    event: str
    """The event name, e.g. ``Monitoring inspection report``."""
    format: str | None
    """The file format the page gives (``PDF``), or None when it gives none."""
    date_text: str | None
    """The date as the page writes it, or None when it gives none."""
    date: dt.date | None
    """That date, or None when it is missing or not a date `parse_site_date` reads."""


@dataclass(frozen=True)
class ProviderPage:
    """What a school's page lists."""

    url: str
    school: str | None
    listings: tuple[Listing, ...]
    problems: tuple[str, ...]
    """Items of the timeline that could not be read, each naming the missing element; they are not listings."""


@dataclass(frozen=True)
class Attachment:
    """One attachment of a GOV.UK page (content API ``details.attachments[]``)."""

    url: str
    title: str
    content_type: str | None
    filename: str | None


_FORMATS = r"PDF|DOCX?|ODT|RTF|HTML?|XLSX?|ODS|CSV|TXT"
_LISTED = re.compile(r"^(?P<head>.+?)\s+[-–]\s+(?P<date>[^-–]+?)\s*$", re.S)
_HEAD = re.compile(rf"^(?P<event>.+?),\s*(?P<format>{_FORMATS})\s*$", re.I | re.S)
_WHOLE = re.compile(rf"^(?P<event>.+?),\s*(?P<format>{_FORMATS})\s+[-–]\s+(?P<date>.+?)\s*$", re.I | re.S)
_DATE_FORMATS = ("%d %B %Y", "%d %b %Y", "%d/%m/%Y", "%Y-%m-%d", "%B %d, %Y")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def parse_site_date(text: str) -> dt.date | None:
    """A date as the site writes it (``12 March 2019``; also ``12 Mar 2019``, ``12/03/2019``, ``2019-03-12``).

    Args:
        text: the date text.

    Returns:
        The date, or None when the text is not one of those forms or not a real day.
    """
    text = _squash(text).replace("Sept ", "Sep ")
    text = re.sub(r"^(\d{1,2})(?:st|nd|rd|th)\b", r"\1", text)
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_listed_as(text: str) -> tuple[str, str | None, str | None]:
    """Split a link's description into event name, format and date text.

    ``Monitoring inspection report, PDF - 12 March 2019`` gives
    ``("Monitoring inspection report", "PDF", "12 March 2019")``. The date is
    what follows the spaced dash (``-`` or ``–``) after the format; without a
    format, what follows the last spaced dash, if it holds a digit. An event
    name may itself hold commas and dashes.

    Args:
        text: the description as on the page.

    Returns:
        ``(event, format, date_text)``; format and date text are None when the
        description has none.
    """
    text = _squash(text)
    whole = _WHOLE.match(text)
    if whole:  # the site's form: whatever follows "<format> - " is the date, read or not
        return whole.group("event").strip(), whole.group("format").upper(), whole.group("date")
    head, date_text = text, None
    m = _LISTED.match(text)
    if m and re.search(r"\d", m.group("date")):
        head, date_text = m.group("head"), m.group("date")
    h = _HEAD.match(head)
    if h:
        return h.group("event").strip(), h.group("format").upper(), date_text
    return head.strip(), None, date_text


def _classes(tag: Tag) -> list[str]:
    value = tag.get("class")
    return list(value) if isinstance(value, list) else ([value] if isinstance(value, str) else [])


def _school_name(soup: BeautifulSoup) -> str | None:
    h1 = soup.select_one("h1.heading--title") or soup.find("h1")
    if not isinstance(h1, Tag):
        return None
    name = _squash(h1.get_text(" "))
    return name or None


def parse_provider_page(html: str | bytes, url: str) -> ProviderPage:
    """The documents a school's page lists.

    Args:
        html: the page (bytes are decoded as the page declares, else guessed).
        url: where it came from; relative links are resolved against it.

    Returns:
        The school's name as listed, one `Listing` per ``a.publication-link``
        in page order, and a problem for each timeline item that is neither an
        opening nor a readable link.

    Raises:
        PageChanged: the page has no ``ol.timeline`` (the site changed, the URL
            is not a school's page, or the school has no published documents).
    """
    soup = BeautifulSoup(html, "html.parser")
    timeline = soup.select_one("ol.timeline")
    if timeline is None:
        raise PageChanged(
            url,
            "ol.timeline (the list of documents)",
            "the site may have changed, or this is not a school's page, or the school has no published "
            "documents; open it in a browser, and if documents are listed there, report the change "
            "(docs/fetch.md, 'When the site changes')",
        )
    listings: list[Listing] = []
    problems: list[str] = []
    for n, item in enumerate(timeline.select("li.timeline__day"), 1):
        if "timeline__day--opened" in _classes(item):
            continue
        link = item.select_one("a.publication-link")
        if link is None:
            problems.append(
                f"timeline item {n} ({_squash(item.get_text(' '))[:80]!r}) has no a.publication-link on {url}"
            )
            continue
        href = link.get("href")
        if not isinstance(href, str) or not href.strip():
            problems.append(f"the a.publication-link of timeline item {n} has no href on {url}")
            continue
        span = link.select_one("span.nonvisual")
        if span is None:
            problems.append(
                f"the a.publication-link of timeline item {n} has no span.nonvisual on {url}; "
                "its own text was read instead"
            )
        listed_as = _squash((span or link).get_text(" "))
        event, fmt, date_text = parse_listed_as(listed_as)
        date = parse_site_date(date_text) if date_text else None
        if date is None:
            problems.append(
                f"timeline item {n} on {url}: date {date_text!r} not read (in {listed_as!r}); "
                "the file is listed without a date"
            )
        listings.append(Listing(urljoin(url, href.strip()), listed_as, event or listed_as, fmt, date_text, date))
    return ProviderPage(url, _school_name(soup), tuple(listings), tuple(problems))


_URN_IN_PATH = re.compile(r"/(\d{5,7})(?:\.\w+)?/?$")


def urn_of(url: str) -> int | None:
    """The URN a school's page URL ends with (``/provider/21/103980`` → 103980), or None."""
    m = _URN_IN_PATH.search(urlsplit(url).path)
    return int(m.group(1)) if m else None


def parse_search_page(html: str | bytes, url: str) -> tuple[list[str], str | None]:
    """The schools' pages a page of search results links to, and the next page of results.

    Args:
        html: the page.
        url: where it came from.

    Returns:
        ``(page URLs in order, without repeats; the next page's URL or None)``.

    Raises:
        PageChanged: the page has no ``ul.results-list``.
    """
    soup = BeautifulSoup(html, "html.parser")
    results = soup.select_one("ul.results-list")
    if results is None:
        raise PageChanged(
            url,
            "ul.results-list (the search results)",
            "the site may have changed, or the URL is not a page of search results; "
            "copy the URL of a results page from your browser",
        )
    pages: list[str] = []
    for a in results.select("li > h3 > a"):
        href = a.get("href")
        if isinstance(href, str) and href.strip():
            page = urljoin(url, href.strip())
            if page not in pages:
                pages.append(page)
    nxt = soup.select_one("a.pagination__next")
    href = nxt.get("href") if nxt is not None else None
    return pages, urljoin(url, href.strip()) if isinstance(href, str) and href.strip() else None


def parse_attachments(data: Any, url: str) -> list[Attachment]:
    """The attachments of a GOV.UK content API response.

    Args:
        data: the decoded JSON.
        url: where it came from.

    Returns:
        One `Attachment` per item of ``details.attachments`` that has a URL, in order.

    Raises:
        PageChanged: the JSON has no ``details.attachments`` list.
    """
    details = data.get("details") if isinstance(data, dict) else None
    items = details.get("attachments") if isinstance(details, dict) else None
    if not isinstance(items, list):
        raise PageChanged(
            url,
            "details.attachments (the files of the page)",
            "the content API's answer has changed, or the page has no attachments; "
            "check fetch.mi_page in params.yaml against the page on www.gov.uk",
        )
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        ctype, name = item.get("content_type"), item.get("filename")
        out.append(
            Attachment(
                urljoin(url, item["url"]),
                _squash(str(item.get("title") or "")),
                ctype if isinstance(ctype, str) else None,
                name if isinstance(name, str) else None,
            )
        )
    return out
