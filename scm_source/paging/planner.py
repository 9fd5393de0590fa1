"""Every row of a list, whatever one query can reach: the planner splits a query the API cannot
list in full into narrower ones, and `walk_pages` (the executor) walks each.

One query reaches a window of rows: the docs bound `offset` at 100 (150 rows when it counts
records, 5,050 when it counts pages) and a total at 10,000. A query whose total fits its window
is walked in full. One that does not takes the first of the list's steps it still can:
- `Reorder`: a query up to two windows long is walked once in its own order and then in the
  others (the reverse first) until its rows are in: both ends of a sorted list cover it.
- `Split`: a filter whose values partition the rows (a certificate's `status`, its
  `deploy_support`; a CSR's `private_key_algo`). Rows no value selects (two certificate
  statuses) are the remainder: the parent sorted so that they come together, walked from
  either end only while the totals say some are missing, and until the block of them ends.
- `Refine`: a substring search (a certificate's `content`, a CSR's `name`) with substrings of the
  rows already seen, chosen greedily so that each fits a window and together they cover the
  sample; a part still too large is refined again with longer ones, a query still short gets
  another round from what its parts found.
A query whose rows are all in (its own total, or an ancestor's, says so) is never asked; the walk
ends when the list's distinct rows reach its total. The plan is deterministic and bounded: each
step is taken once per query, refinements grow their substring, stop at `MAX_REFINE_DEPTH` and
after `REFINE_ROUNDS` rounds.

What no query reached is counted from the totals: exact when the list's total is below the cap;
at the cap a lower bound, the sum over the parts whose totals are below it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial

from scm_source.paging.cover import substrings
from scm_source.paging.pages import (
    ALL_IN,
    MAX_TOTAL,
    FetchPage,
    Page,
    PagingReport,
    Window,
    walk_pages,
)
from scm_source.paging.plan import Node
from scm_source.paging.steps import Query, Refine, Reorder, Split, Step
from scm_source.paging.workers import PagePool, StreamEnd, interleave
from scm_source.rows.values import Row

logger = logging.getLogger(__name__)

# A refinement's substring grows by at least one character per level, at most this deep.
MAX_REFINE_DEPTH = 3
# A refined query still short of rows is refined again, from what its parts found, this often.
REFINE_ROUNDS = 3


def walk_list(
    fetch_for: Callable[[Query], FetchPage],
    base: Query,
    steps: Sequence[Step],
    limit: int,
    offset_mode: str,
    report: PagingReport,
    concurrency: int = 1,
    window: Window | None = None,
) -> Iterator[list[Row]]:
    """Yields the list's rows not seen before, query after query. `report` sums the walks: its
    `total` is the first query's, `queries` how many were walked, `unreachable` what none
    reached."""
    window = window if window is not None else Window()
    root = Node(dict(base), _applicable(base, steps))
    # (node, revisit): a revisit takes a query's next step if its parts left it short.
    pending: deque[tuple[Node, bool]] = deque([(root, False)])
    asked: set[frozenset[tuple[str, str]]] = set()  # two refinements may reach one substring
    with closing(PagePool(concurrency, "scm-page")) as pages:
        walker = _Walker(fetch_for, limit, offset_mode, concurrency, window, report, pages)
        while pending and not root.complete:
            node, revisit = pending.popleft()
            if node.adds_nothing() or (not revisit and node.query_key in asked):
                continue
            asked.add(node.query_key)
            walked = [node]
            if not revisit:
                if walker.side_by_side(node):
                    walked += _siblings(pending, asked, walker, concurrency - 1)
                yield from walker.walk(walked)
            for each in walked:
                if not revisit and (
                    not (each.steps and each.cut) or each.complete or each.hunt_done
                ):
                    continue  # it listed all it holds, or its narrower queries would add nothing
                children, again = _expand(each, window.rows(limit, walker.mode), limit)
                each.children += children
                pending.extend((child, False) for child in children)
                if again:
                    pending.append((each, True))
    report.pages = walker.sent  # every request, its page taken or not (all have ended here)
    held, report.unreachable_exact = root.rows_held()
    report.unreachable = max(0, held - len(root.found))
    report.stop_reason = _stop_reason(report)
    if report.unreachable:
        logger.warning(
            "%s%d of the %d rows the API counted were not reached (%s)",
            "" if report.unreachable_exact else "at least ",
            report.unreachable,
            report.total,
            report.stop_reason,
        )
    if not report.unreachable_exact:
        logger.warning(
            "the API's total is at its cap of %d: rows past it are counted by no query",
            MAX_TOTAL,
        )


def _siblings(
    pending: deque[tuple[Node, bool]],
    asked: set[frozenset[tuple[str, str]]],
    walker: _Walker,
    count: int,
) -> list[Node]:
    """Up to `count` queries from the head of the plan that can be walked beside the first."""
    taken: list[Node] = []
    while pending and len(taken) < count:
        node, revisit = pending[0]
        if revisit or not walker.side_by_side(node):
            break
        pending.popleft()
        if not node.adds_nothing() and node.query_key not in asked:
            asked.add(node.query_key)
            taken.append(node)
    return taken


@dataclass
class _Walker:
    """Walks the plan's queries, several side by side once the first has shown how `offset`
    counts: the narrower queries of a split are mostly a few pages each, and one after another
    each would cost its round trips alone. Their pages share one pool of threads and its bound on
    pages held (`pages`); what the queries found is kept under one lock."""

    fetch_for: Callable[[Query], FetchPage]
    limit: int
    mode: str
    concurrency: int
    window: Window
    report: PagingReport
    pages: PagePool
    # Requests sent: a query stopped early may have pages in flight that it never takes.
    sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def side_by_side(self, node: Node) -> bool:
        """Whether `node` may be walked beside others: not while `offset` is unknown, nor when
        it is read only until its parent is whole (another order of it)."""
        return self.concurrency > 1 and self.mode != "auto" and not node.reordered

    def walk(self, nodes: list[Node]) -> Iterator[list[Row]]:
        """The queries' walks at once, their new rows as they arrive."""

        def stream(node: Node) -> Iterator[list[Row]]:
            part = PagingReport()
            concurrency = 1 if node.hunting or node.reordered else self.concurrency
            return self._take(node, self._pages(node, part, concurrency), part)

        streams = [partial(stream, node) for node in nodes]
        for item in interleave(streams, len(nodes), "scm-query"):
            if isinstance(item, StreamEnd):
                if item.error is not None:
                    raise item.error
            elif item is not None:
                yield item

    def _pages(
        self, node: Node, part: PagingReport, concurrency: int
    ) -> Generator[list[Row], None, None]:
        return walk_pages(
            self._counted(self.fetch_for(node.query)),
            self.limit,
            self.mode,
            part,
            concurrency,
            self.window,
            cut_above=_cut_above(node),
            pages=self.pages,
        )

    def _counted(self, fetch: FetchPage) -> FetchPage:
        def counted(offset: int) -> Page:
            with self._lock:
                self.sent += 1
            return fetch(offset)

        return counted

    def _take(
        self, node: Node, pages: Generator[list[Row], None, None], part: PagingReport
    ) -> Iterator[list[Row]]:
        """A query's pages, found by it and its ancestors, those new to the list yielded; a
        hunt stops where the remainder ends, any query once what it lists is all in."""
        watch = _RemainderWatch(node.hunting)
        with closing(pages):
            for rows in pages:
                with self._lock:
                    for each in node.lineage():
                        each.found_rows(rows)
                    fresh = [row for row in rows if row["id"] not in self.report.ids]
                    self.report.ids.update(row["id"] for row in fresh)
                    done = watch.ended(rows) or node.adds_nothing()
                if fresh:
                    yield fresh
                if done:
                    break
        with self._lock:
            self._finish(node, part, watch)

    def _finish(self, node: Node, part: PagingReport, watch: _RemainderWatch) -> None:
        logger.debug(
            "query %s: total %d, %d rows in %d pages (%s)",
            node.query,
            part.total,
            part.rows_unique,
            part.pages,
            part.stop_reason,
        )
        self.mode = part.offset_mode  # learned once: the queries after the first need no probe
        _add(self.report, part, first=node.parent is None)
        node.total, node.cut = part.total, _cut(part)
        if watch.seen_whole and node.is_remainder and node.parent is not None:
            node.parent.remainder_seen_whole = True
        node.hunt_done = watch.seen_whole


@dataclass
class _RemainderWatch:
    """Watches an ordered walk for the remainder: rows `split` does not select come together,
    so a page without them after one with them ends the hunt."""

    split: Split | None
    seen: bool = False
    seen_whole: bool = False

    def ended(self, rows: list[Row]) -> bool:
        if self.split is None or not rows:
            return False
        here = not all(self.split.selects(row) for row in rows)
        self.seen_whole = self.seen and not here
        self.seen = self.seen or here
        return self.seen_whole


def _cut(part: PagingReport) -> bool:
    """Whether the query's rows go on past what it could list: it stopped to be split, the API
    refused an offset with rows still to come, or it listed as many as its cap allows. A list
    that simply ended (an empty or short page, a total that lies) is no reason to split."""
    if part.cut_short:
        return True
    if part.refused_offset is not None:
        return part.shortfall > 0
    return part.total == MAX_TOTAL and part.stop_reason == ALL_IN


def _applicable(query: Query, steps: Sequence[Step]) -> tuple[Step, ...]:
    """The steps a query can still take: a filter it already sets splits it no more."""
    return tuple(step for step in steps if not isinstance(step, Split) or step.param not in query)


def _expand(node: Node, window_rows: int, limit: int) -> tuple[list[Node], bool]:
    """The narrower queries that list what `node` could not, from its next step; and whether to
    come back to it when they are done (if it is still short)."""
    reorder = next((step for step in node.steps if isinstance(step, Reorder)), None)
    if (
        reorder is not None
        and not node.hunting
        and node.exact
        and (node.total or 0) <= 2 * window_rows
    ):
        node.steps = tuple(step for step in node.steps if step is not reorder)
        reordered = [
            Node({**node.query, **dict(order)}, (), node, reordered=True)
            for order in reorder.orders
        ]
        return reordered, True
    while node.next_step < len(node.steps):
        step = node.steps[node.next_step]
        # A hunt, which cannot tell how many it still misses, takes one round.
        rounds = 1 if node.hunting else REFINE_ROUNDS
        if isinstance(step, Refine) and node.rounds < rounds:
            node.rounds += 1
            children = _refined(node, step, window_rows, limit)
            if children:
                return children, True
        node.next_step += 1
        if isinstance(step, Split):
            return _parts(node, step, node.steps[node.next_step :]), False
    return [], False


def _cut_above(node: Node) -> int | None:
    """After how many windows' worth of total a query stops at its first page, to be narrowed.
    A hunt reads its window; so does a query about to be refined (the rows are the sample its
    substrings are chosen from) and one that its other orders can finish."""
    if node.hunting or not node.steps or isinstance(node.steps[node.next_step], Refine):
        return None
    return _ends(node)


def _ends(node: Node) -> int:
    """How many windows a query's rows may fill and still be reached: two when its other
    orders can list it from the far end."""
    reorders = any(isinstance(step, Reorder) for step in node.steps)
    return 2 if reorders and node.hunting is None else 1


def _parts(node: Node, split: Split, rest: tuple[Step, ...]) -> list[Node]:
    node.split = split
    node.remainder_ids.update(row["id"] for row in node.sample.rows() if not split.selects(row))
    parts = [
        Node({**node.query, split.param: value}, rest, node, part_of=split, hunting=node.hunting)
        for value in split.values
    ]
    remainders = [
        Node({**node.query, **dict(order)}, rest, node, hunting=split, is_remainder=True)
        for order in split.remainder_orders
    ]
    return parts + remainders


def _refined(node: Node, step: Refine, window_rows: int, limit: int) -> list[Node]:
    if node.depth >= MAX_REFINE_DEPTH:
        return []
    # A watch covers the rows it hunts (all it found, while it has seen none of them, so that
    # narrower queries list fewer rows before them); any other query, all it found.
    hunted = node.hunting
    sample = node.sample.rows()
    targets = [i for i, row in enumerate(sample) if hunted is None or not hunted.selects(row)]
    targets = targets or list(range(len(sample)))
    current = node.query.get(step.param, "")
    window = (window_rows * _ends(node), limit)
    texts = substrings(step, current, sample, targets, node.total or 0, window, node.asked)
    node.asked.update(texts)
    return [
        Node(
            {**node.query, step.param: text},
            node.steps[node.next_step :],
            node,
            hunting=node.hunting,
            depth=node.depth + 1,
        )
        for text in texts
    ]


def _add(total: PagingReport, part: PagingReport, first: bool) -> None:
    total.queries += 1
    total.rows_received += part.rows_received
    total.offset_mode = part.offset_mode
    if first:
        total.total, total.refused_offset = part.total, part.refused_offset
        total.stop_reason = part.stop_reason


def _stop_reason(report: PagingReport) -> str:
    if report.queries == 1:
        return report.stop_reason
    reached = ALL_IN if not report.unreachable else f"{report.unreachable} rows unreachable"
    return f"{reached} after {report.queries} queries"
