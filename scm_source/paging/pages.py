"""Walks a limit/offset list endpoint until every row is in, whatever `offset` counts.

The docs do not say whether `offset` counts records or pages (see scm-api.md), so `auto` asks the
API: the second request is sent with offset=1. Counting records, it answers the first page shifted
by one row; counting pages, it answers the second page. Both readings load every row once.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from scm_source.config.values import is_whole_number
from scm_source.errors import ScmApiError, ScmResponseError
from scm_source.paging.workers import PagePool, map_as_completed
from scm_source.rows.values import Row

logger = logging.getLogger(__name__)

# The most rows one query lists (the docs: total_count and total at most 10,000): beyond it, a
# total is not a reason to keep paging, and a total at it may hide more rows.
MAX_TOTAL = 10_000
# The current docs' largest `offset` (scm-api.md; the EU docs give none). Past it pages are asked
# for one at a time until the API shows whether it enforces the bound.
DOCS_MAX_OFFSET = 100
ALL_IN = "all rows in"


@dataclass(frozen=True)
class ListEndpoint:
    """Where one list lives, how one page is asked for, and how its answer names the rows, their
    ids and their count. Most lists take their filters, `limit` and `offset` in the query; one
    read with a POST (SCM's certificates by tag) takes them in a JSON body that `body` builds."""

    path: str
    list_key: str
    total_key: str
    id_key: str = "id"
    method: str = "GET"
    body: Callable[[dict[str, str], int, int], dict[str, Any]] | None = None
    # A 400 with one of these codes past the first page is the window's end (an offset past
    # the API's bound), not a failed list.
    refusal_codes: tuple[str, ...] = ("SCM.0005",)

    def ask(self, call: JsonCall, query: dict[str, str], limit: int, offset: int) -> Any:
        """One page's answer, asked as the endpoint takes its parameters."""
        if self.body is not None:
            return call(self.method, self.path, {}, self.body(query, limit, offset))
        return call(self.method, self.path, {**query, "limit": str(limit), "offset": str(offset)})


class JsonCall(Protocol):
    """One API call answered with a JSON object (http/client.py's `call`)."""

    def __call__(
        self, method: str, path: str, params: Mapping[str, str], body: Any = None
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Page:
    offset: int
    rows: list[Row]
    total: int
    refused: bool = False  # the API refused the offset: one query's window ends before it


@dataclass
class PagingReport:
    """What a walk saw: the basis for the warnings, the planner's choices and the sync log."""

    offset_mode: str = "auto"
    pages: int = 0
    queries: int = 0
    rows_received: int = 0
    total: int = 0
    stop_reason: str = ""
    refused_offset: int | None = None  # the first offset the API refused (or the window ends)
    cut_short: bool = False  # stopped after the first page: the total needs more than a window
    # What no query reached (set by the planner): exact, or a lower bound at the API's cap.
    unreachable: int | None = None
    unreachable_exact: bool = True
    ids: set[str] = field(default_factory=set, repr=False)

    @property
    def rows_unique(self) -> int:
        return len(self.ids)

    @property
    def shortfall(self) -> int:
        """Rows the API counted that did not arrive: exact below the cap, a lower bound at it."""
        if self.unreachable is not None:
            return self.unreachable
        return max(0, self.total - self.rows_unique)

    @property
    def shortfall_exact(self) -> bool:
        if self.unreachable is not None:
            return self.unreachable_exact
        return not self.total_at_cap

    @property
    def proves_complete(self) -> bool:
        """Whether every row the API counts arrived, provably: none short, and a total either
        below the docs' cap (or proven by its parts), or past it and matched (an API that does
        not cap its totals). A total at the cap alone may hide more rows."""
        if self.shortfall:
            return False
        return self.shortfall_exact or self.rows_unique >= self.total > MAX_TOTAL

    @property
    def total_at_cap(self) -> bool:
        """A total at the docs' cap says only that the query lists that many: more may exist."""
        return self.total >= MAX_TOTAL


@dataclass
class Window:
    """How far one query of a list reaches: learned from the API's first refused offset, and
    shared by the queries of one account's list so that each asks no offset past it."""

    max_offset: int | None = None

    def allows(self, offset: int) -> bool:
        return self.max_offset is None or offset <= self.max_offset

    def rows(self, limit: int, mode: str) -> int:
        """The most rows one query lists."""
        if self.max_offset is None:
            return MAX_TOTAL
        reach = self.max_offset + limit if mode == "record" else (self.max_offset + 1) * limit
        return min(reach, MAX_TOTAL)

    def refused(self, offset: int, step: int) -> None:
        last = offset - step
        self.max_offset = last if self.max_offset is None else min(self.max_offset, last)


FetchPage = Callable[[int], Page]


def fetch_page(
    call: JsonCall,
    endpoint: ListEndpoint,
    query: dict[str, str],
    limit: int,
    to_row: Callable[[Row], Row] = dict,
) -> FetchPage:
    """Binds an endpoint and its filters into `offset -> Page` of converted rows; an answer
    that is not what the docs promise is named with the request that brought it."""

    def fetch(offset: int) -> Page:
        try:
            body = endpoint.ask(call, query, limit, offset)
        except ScmApiError as error:
            # Past the first page only `offset` differs from a request the API took: its 400
            # is the window's end (the docs bound offset at 100), not a failed list.
            if offset > 0 and error.status == 400 and error.error_code in endpoint.refusal_codes:
                return Page(offset, [], 0, refused=True)
            raise
        rows, total = body.get(endpoint.list_key), body.get(endpoint.total_key)
        where = f"{endpoint.method} {endpoint.path} offset={offset} limit={limit}"
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ScmResponseError(f"{where}: answer has no list of objects `{endpoint.list_key}`")
        count = total if is_whole_number(total, 0) else None
        if count is None:
            raise ScmResponseError(
                f"{where}: answer has no whole-number `{endpoint.total_key}` (got {total!r})"
            )
        if len(rows) > limit:
            raise ScmResponseError(f"{where}: answer has {len(rows)} rows, more than the limit")
        key = endpoint.id_key
        for row in rows:
            if not isinstance(row.get(key), str) or not row[key]:
                raise ScmResponseError(
                    f"{where}: a row has no string `{key}` (got {row.get(key)!r})"
                )
        try:
            return Page(offset, [to_row(row) for row in rows], count)
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
    window: Window | None = None,
    cut_above: float | None = None,
    pages: PagePool | None = None,
) -> Generator[list[Row], None, None]:
    """Yields each page's rows not seen before in this query, stopping on the first of: every
    row in, an empty page, a short page, a page with nothing new, the end of the window, or more
    pages than the total can explain; with `cut_above`, after the first page when the total
    needs more than that many windows (the planner narrows the query instead).

    Once the first page (and, for `auto`, the probe) has told the total and how `offset` counts,
    the pages the total calls for are fetched `concurrency` at a time, in any order (by the
    threads of `pages`, when queries share them); pages past them (the total grew) are walked
    one by one.
    """
    walk = _QueryWalk(limit, report if report is not None else PagingReport(), window or Window())
    walk.report.offset_mode = offset_mode
    first = page = fetch(0)
    while True:
        fresh = walk.take(page)
        if fresh:
            yield fresh
        if walk.report.offset_mode == "auto" and page is not first:
            walk.report.offset_mode = detect_offset_mode(first, page)
            logger.info("offset_mode auto: the API counts `offset` in %ss", walk.report.offset_mode)
        walk.report.stop_reason = walk.stop_reason(page, fresh, cut_above)
        if walk.report.stop_reason:
            return
        if concurrency > 1 and walk.report.offset_mode != "auto":
            furthest = yield from walk.round(fetch, page, concurrency, pages)
            if furthest is not None:
                page, fresh = furthest
                walk.report.stop_reason = walk.stop_reason(page, fresh)
                if walk.report.stop_reason:
                    return
            concurrency = 1  # one round: pages past the total (it grew) come one by one
        following = walk.after(page.offset)
        if not walk.window.allows(following):
            walk.report.refused_offset = following
            walk.report.stop_reason = f"offset {following} is past the API's bound"
            return
        page = fetch(following)


@dataclass
class _QueryWalk:
    """The bookkeeping of one query's walk: rows seen, when to stop, the concurrent round."""

    limit: int
    report: PagingReport
    window: Window

    def step(self) -> int:
        return self.limit if self.report.offset_mode == "record" else 1  # auto: the probe, 1

    def after(self, offset: int) -> int:
        """The next page's offset: on a multiple of the step, so that after the probe (offset
        1) record offsets stay 50, 100, ... and reach the docs' bound exactly."""
        step = self.step()
        return (offset // step + 1) * step

    def offsets_for_total(self, page: Page) -> range:
        """The offsets after `page` that its total calls for, within the docs' cap."""
        total = min(page.total, MAX_TOTAL)
        step = self.step()
        end = math.ceil(total / self.limit) if step == 1 else total  # pages, or records
        return range(self.after(page.offset), end, step)

    def take(self, page: Page) -> list[Row]:
        report = self.report
        report.pages += 1
        if page.refused:
            refused = report.refused_offset
            report.refused_offset = page.offset if refused is None else min(refused, page.offset)
            self.window.refused(page.offset, self.step())
            return []
        report.rows_received += len(page.rows)
        report.total = page.total
        fresh = []
        for row in page.rows:  # one at a time: a page may repeat a row within itself too
            if row["id"] not in report.ids:
                report.ids.add(row["id"])
                fresh.append(row)
        return fresh

    def stop_reason(self, page: Page, fresh: list[Row], cut_above: float | None = None) -> str:
        report, limit = self.report, self.limit
        if page.refused:
            return f"offset {page.offset} refused: past the API's bound"
        if report.rows_unique >= page.total:
            return ALL_IN
        if not page.rows:
            return "empty page"
        if len(page.rows) < limit:
            return "short page"
        if not fresh:
            return "page brought no new row"
        reach = self.window.rows(limit, report.offset_mode)
        # Decided once, on the first page that knows how `offset` counts (the probe's, if any).
        first = report.pages == (1 if page.offset == 0 else 2) and report.offset_mode != "auto"
        cut = cut_above is not None and first
        # A total past the docs' cap is not one they allow: no reason to narrow.
        beyond = page.total > (cut_above or 0) * reach or page.total == MAX_TOTAL
        if cut and page.total <= MAX_TOTAL and beyond:
            report.cut_short = True
            return f"{page.total} rows, more than a query lists ({reach}): narrowed"
        # Twice the pages the total needs: rows repeated across pages cost pages, a runaway
        # API does not get to page forever, nor a total that grows or passes the docs' bound.
        listed = min(max(page.total, report.rows_unique), MAX_TOTAL)
        if report.pages >= 2 * math.ceil(listed / limit) + 2:
            return "more pages than the total explains"
        return ""

    def round(
        self, fetch: FetchPage, page: Page, concurrency: int, pages: PagePool | None
    ) -> Generator[list[Row], None, tuple[Page, list[Row]] | None]:
        """The pages the total calls for after `page`, `concurrency` at a time; returns the
        furthest page fetched and its fresh rows (None if none was)."""
        planned = self.offsets_for_total(page)
        furthest: tuple[Page, list[Row]] | None = None
        ends: list[int] = []  # offsets of pages that came back empty or short

        def before_the_end(offset: int) -> bool:
            return not ends or offset < min(ends)

        # Past the docs' bound, one request first: an API that enforces it refuses that one
        # alone, not a whole round of them; past a refusal, none.
        within = [offset for offset in planned if offset <= DOCS_MAX_OFFSET]
        beyond = planned[len(within) :]
        for batch in (within, beyond[:1], beyond[1:]):
            offsets = [
                o for o in itertools.takewhile(before_the_end, batch) if self.window.allows(o)
            ]
            for fetched in map_as_completed(fetch, offsets, concurrency, "scm-page", pages):
                fresh = self.take(fetched)
                if fresh:
                    yield fresh
                if len(fetched.rows) < self.limit:  # as the sequential walk: the list ends there
                    ends.append(fetched.offset)
                if furthest is None or fetched.offset > furthest[0].offset:
                    furthest = (fetched, fresh)
        return furthest
