"""The query string of a Browse page read and checked: its filters, date range, sort and page.

Every value is read by hand from the query string, so that a bad one (a state there is not, a
date that is no date, a page that is no number) is a 400 page that names it, never a 500.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from tradewind.metastore.models import ID_LENGTH
from tradewind.metastore.store import browsing
from tradewind.ui.pages import PageError

PAGE_SIZES = (25, 50, 100)
DEFAULT_SIZE = 50
MAX_PAGE = 100_000
SEARCH_LENGTH = 200
# The page numbers shown on either side of the current one.
NEAR = 3


def bad_filter(message: str) -> PageError:
    return PageError(400, "Bad filter", message)


@dataclass(frozen=True)
class Browse:
    """What a Browse page was asked for: ``given`` holds each filter as typed (for the form and
    the links), ``window`` the page and date range to read."""

    path: str
    given: dict[str, str]
    window: browsing.Window
    page: int
    size: int

    def value(self, name: str) -> str | None:
        return self.given.get(name) or None

    def link(self, **changes: object) -> str:
        """This page's URL with some parameters changed (an empty value drops one)."""
        params: dict[str, object] = {**self.given, **changes}
        kept = {k: v for k, v in params.items() if v not in ("", None)}
        return self.path + ("?" + urlencode(kept) if kept else "")

    def page_link(self, page: int) -> str:
        return self.link(page=page if page > 1 else "")

    @property
    def filtered(self) -> bool:
        return any(v for k, v in self.given.items() if k not in ("page", "size", "sort"))


def read(
    path: str,
    query: Mapping[str, str],
    *,
    texts: Collection[str] = (),
    choices: Mapping[str, Collection[str]] | None = None,
) -> Browse:
    """The parameters of a Browse page: ``texts`` are id filters, ``choices`` filters with a
    fixed set of values; every page has ``q`` (search), ``since``/``until``, ``sort``
    (``newest``/``oldest``), ``page`` and ``size``."""
    given: dict[str, str] = {}
    for name in texts:
        given[name] = _text(name, query.get(name, ""), ID_LENGTH)
    for name, allowed in (choices or {}).items():
        given[name] = _choice(name, query.get(name, ""), allowed)
    given["q"] = _text("search", query.get("q", ""), SEARCH_LENGTH)
    since = _date("since", query.get("since", ""), end=False)
    until = _date("until", query.get("until", ""), end=True)
    if since and until and since > until:
        raise bad_filter("The date range ends before it starts ('since' is after 'until').")
    given["since"] = query.get("since", "").strip()
    given["until"] = query.get("until", "").strip()
    given["sort"] = _choice("sort", query.get("sort", ""), ("newest", "oldest"))
    size = _number("size", query.get("size", ""), DEFAULT_SIZE)
    if size not in PAGE_SIZES:
        raise bad_filter(f"size must be one of {', '.join(map(str, PAGE_SIZES))}, not {size}.")
    page = _number("page", query.get("page", ""), 1)
    if not 1 <= page <= MAX_PAGE:
        raise bad_filter(f"page must be a number from 1 to {MAX_PAGE}, not {page}.")
    given["size"] = "" if size == DEFAULT_SIZE else str(size)
    given["page"] = "" if page == 1 else str(page)
    window = browsing.Window(
        limit=size,
        offset=(page - 1) * size,
        since=since,
        until=until,
        newest_first=given["sort"] != "oldest",
    )
    return Browse(path, given, window, page, size)


def _text(name: str, value: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        too_long = f"The {name} filter is too long ({len(value)} characters; at most {limit})."
        raise bad_filter(too_long)
    return value


def _choice(name: str, value: str, allowed: Collection[str]) -> str:
    value = value.strip()
    if value and value not in allowed:
        shown = value if len(value) <= 60 else value[:60] + "…"
        raise bad_filter(f"{name} {shown!r} is not one of: {', '.join(allowed)}.")
    return value


def _number(name: str, value: str, default: int) -> int:
    value = value.strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise bad_filter(f"{name} must be a whole number, not {value[:20]!r}.")
    return int(value)


def _date(name: str, value: str, *, end: bool) -> datetime | None:
    """A date (``YYYY-MM-DD``: that whole day) or a date and time, UTC when it names no zone."""
    value = value.strip()
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        message = f"{name} must be a date (YYYY-MM-DD) or a date and time, not {value[:40]!r}."
        raise bad_filter(message) from None
    if len(value) == 10 and end:
        when = datetime.combine(when.date(), time.max)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if not 1000 <= when.year <= 9990:
        raise bad_filter(f"{name} must be within the years 1000-9990.")
    return when


@dataclass(frozen=True)
class Pager:
    """The links under a listing: page numbers around the current one (None: a gap)."""

    numbers: list[int | None]
    previous: int | None
    next: int | None
    total: int
    capped: bool


def pager(browse: Browse, listing: browsing.Listing[object]) -> Pager:
    last = max(1, -(-listing.total // browse.size))
    near = range(max(1, browse.page - NEAR), min(last, browse.page + NEAR) + 1)
    shown = sorted({1, *near} if listing.capped else {1, *near, last})
    numbers: list[int | None] = []
    for n in shown:
        if numbers and numbers[-1] is not None and n > numbers[-1] + 1:
            numbers.append(None)
        numbers.append(n)
    more = browse.page < last or (listing.capped and len(listing.rows) == browse.size)
    return Pager(
        numbers,
        browse.page - 1 if browse.page > 1 else None,
        browse.page + 1 if more else None,
        listing.total,
        listing.capped,
    )
