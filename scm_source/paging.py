"""Walks a limit/offset list endpoint until every row is in, whatever `offset` counts.

The docs do not say whether `offset` counts records or pages (see scm-api.md), so `auto` asks the
API: the second request is sent with offset=1. Counting records, it answers the first page shifted
by one row; counting pages, it answers the second page. Both readings load every row once.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from scm_source.concurrency import map_as_completed
from scm_source.errors import ScmResponseError

logger = logging.getLogger(__name__)

Row = dict[str, Any]
# The most rows one query lists (the docs: total_count and total at most 10,000): beyond it, a
# total is not a reason to keep paging.
MAX_TOTAL = 10_000


@dataclass(frozen=True)
class ListEndpoint:
    """Where one list lives and how its answer names the rows and their count."""

    path: str
    list_key: str
    total_key: str


CERTIFICATES = ListEndpoint("/v3/scm/certificates", "certificates", "total_count")
CSRS = ListEndpoint("/v3/scm/csr", "csr_list", "total")


@dataclass(frozen=True)
class Page:
    offset: int
    rows: list[Row]
    total: int


@dataclass
class PagingReport:
    """What a walk saw: the basis for the shortfall warning and, later, the sync log."""

    offset_mode: str = "auto"
    pages: int = 0
    rows_received: int = 0
    total: int = 0
    stop_reason: str = ""
    ids: set[str] = field(default_factory=set, repr=False)

    @property
    def rows_unique(self) -> int:
        return len(self.ids)

    @property
    def shortfall(self) -> int:
        return max(0, self.total - self.rows_unique)


FetchPage = Callable[[int], Page]


def fetch_page(
    get_json: Callable[[str, dict[str, str]], dict[str, Any]],
    endpoint: ListEndpoint,
    query: dict[str, str],
    limit: int,
    to_row: Callable[[Row], Row] = dict,
) -> FetchPage:
    """Binds an endpoint and its filters into `offset -> Page` of converted rows; an answer
    that is not what the docs promise is named with the request that brought it."""

    def fetch(offset: int) -> Page:
        params = {**query, "limit": str(limit), "offset": str(offset)}
        body = get_json(endpoint.path, params)
        rows, total = body.get(endpoint.list_key), body.get(endpoint.total_key)
        where = f"GET {endpoint.path} offset={offset} limit={limit}"
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ScmResponseError(f"{where}: answer has no list of objects `{endpoint.list_key}`")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ScmResponseError(
                f"{where}: answer has no whole-number `{endpoint.total_key}` (got {total!r})"
            )
        if len(rows) > limit:
            raise ScmResponseError(f"{where}: answer has {len(rows)} rows, more than the limit")
        for row in rows:
            if not isinstance(row.get("id"), str) or not row["id"]:
                raise ScmResponseError(f"{where}: a row has no string `id` (got {row.get('id')!r})")
        try:
            return Page(offset, [to_row(row) for row in rows], total)
        except ScmResponseError as error:
            raise ScmResponseError(f"{where}: {error}") from None

    return fetch


def detect_offset_mode(first: Page, probe: Page) -> str:
    """`record` when the probe at offset=1 mostly repeats the first page, `page` otherwise.

    Overlap rather than exact shift, so unstable sort ties or rows repeated across pages do not
    flip the answer.
    """
    first_ids = {row["id"] for row in first.rows}
    overlap = sum(1 for row in probe.rows if row["id"] in first_ids)
    return "record" if probe.rows and overlap * 2 > len(probe.rows) else "page"


def walk_pages(
    fetch: FetchPage,
    limit: int,
    offset_mode: str,
    report: PagingReport | None = None,
    concurrency: int = 1,
) -> Iterator[list[Row]]:
    """Yields each page's rows not seen before, stopping on the first of: every row in, an empty
    page, a short page, a page with nothing new, or more pages than the total can explain.

    Once the first page (and, for `auto`, the probe) has told the total and how `offset` counts,
    the pages the total calls for are fetched `concurrency` at a time, in any order; pages past
    them (the total grew) are walked one by one.
    """
    report = report if report is not None else PagingReport()
    report.offset_mode = offset_mode

    def take(page: Page) -> list[Row]:
        report.pages += 1
        report.rows_received += len(page.rows)
        report.total = page.total
        fresh = []
        for row in page.rows:  # one at a time: a page may repeat a row within itself too
            if row["id"] not in report.ids:
                report.ids.add(row["id"])
                fresh.append(row)
        return fresh

    def stop_reason(page: Page, fresh: list[Row]) -> str:
        if report.rows_unique >= page.total:
            return "all rows in"
        if not page.rows:
            return "empty page"
        if len(page.rows) < limit:
            return "short page"
        if not fresh:
            return "page brought no new row"
        # Twice the pages the total needs: rows repeated across pages cost pages, a runaway
        # API does not get to page forever, nor a total that grows or passes the docs' bound.
        listed = min(max(page.total, report.rows_unique), MAX_TOTAL)
        if report.pages >= 2 * math.ceil(listed / limit) + 2:
            return "more pages than the total explains"
        return ""

    def step() -> int:
        return limit if report.offset_mode == "record" else 1  # until detected: the probe, 1

    first = page = fetch(0)
    planned: list[int] = []
    while True:
        fresh = take(page)
        if fresh:
            yield fresh
        if report.offset_mode == "auto" and page is not first:
            report.offset_mode = detect_offset_mode(first, page)
            logger.info("offset_mode auto: the API counts `offset` in %ss", report.offset_mode)
        report.stop_reason = stop_reason(page, fresh)
        if report.stop_reason:
            break
        if concurrency > 1 and report.offset_mode != "auto" and not planned:
            planned = _offsets_for_total(page, limit, step())
            furthest, furthest_fresh = page, fresh
            ends: list[int] = []  # offsets of pages that came back empty or short
            offsets = itertools.takewhile(
                lambda offset, ends=ends: not ends or offset < min(ends), planned
            )
            for fetched in map_as_completed(fetch, offsets, concurrency, "scm-page"):
                fresh = take(fetched)
                if fresh:
                    yield fresh
                if len(fetched.rows) < limit:  # as the sequential walk: the list ends there
                    ends.append(fetched.offset)
                if fetched.offset > furthest.offset:
                    furthest, furthest_fresh = fetched, fresh
            if furthest is not page:
                report.stop_reason = stop_reason(furthest, furthest_fresh)
                if report.stop_reason:
                    break
                page = furthest
        page = fetch(page.offset + step())
    if report.shortfall:
        logger.warning(
            "received %d distinct rows but the API reported %d (stopped: %s)",
            report.rows_unique,
            report.total,
            report.stop_reason,
        )


def _offsets_for_total(page: Page, limit: int, step: int) -> range:
    """The offsets after `page` that the reported total calls for, within the docs' bound."""
    total = min(page.total, MAX_TOTAL)
    if step == 1:  # pages
        return range(page.offset + 1, math.ceil(total / limit))
    return range(page.offset + limit, total, limit)
