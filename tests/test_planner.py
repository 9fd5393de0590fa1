"""The planner against an in-memory API with a window of `max_offset` records and, at times, a
cap on totals, for random data: it never loops, never yields a row twice, reaches every row of
every status-and-deploy part that its two ends can list, and counts what it missed as the data
says."""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from scm_source.paging import cover, plan, planner
from scm_source.paging import pages as paging
from scm_source.paging.pages import FetchPage, Page, PagingReport
from scm_source.paging.planner import walk_list
from scm_source.paging.steps import Query, Refine, Reorder, Split

FILTERABLE = ("EXPIRED", "ISSUED", "REVOKED")
UNFILTERABLE = ("CANCLEREVOKING",)  # sorts before every filterable status here
BY_STATUS = tuple((("sort_key", "certStatus"), ("sort_dir", d)) for d in ("ASC", "DESC"))
REVERSE = (("sort_key", "certUpdateTime"), ("sort_dir", "ASC"))
STEPS = (
    Split("status", FILTERABLE, remainder_orders=BY_STATUS),
    Split("deploy_support", ("true", "false")),
    Refine("content", ("name",)),
    Reorder((REVERSE,)),
)
LIMIT = 10


@dataclass
class Api:
    rows: list[dict[str, Any]]
    max_offset: int
    cap: int | None = None
    fetches: int = 0
    offsets: dict[tuple[tuple[str, str], ...], list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def listing(self, query: Query) -> list[dict[str, Any]]:
        content = query.get("content", "").lower()
        chosen = [
            row
            for row in self.rows
            if query.get("status", row["status"]) == row["status"]
            and query.get("deploy_support", str(row["deploy_support"]).lower())
            == str(row["deploy_support"]).lower()
            and content in row["name"].lower()
        ]
        key = query.get("sort_key", "certUpdateTime")
        descending = query.get("sort_dir", "DESC") == "DESC"
        field_of = {"certStatus": "status", "certUpdateTime": "updated"}[key]
        return sorted(chosen, key=lambda row: row[field_of], reverse=descending)

    def fetch_for(self, query: Query) -> FetchPage:
        def fetch(offset: int) -> Page:
            with self.lock:  # the planner walks several queries at once when windows are small
                self.fetches += 1
                self.offsets.setdefault(tuple(sorted(query.items())), []).append(offset)
            if offset > self.max_offset:
                return Page(offset, [], 0, refused=True)
            listing = self.listing(query)[: self.cap]
            return Page(offset, [dict(r) for r in listing[offset : offset + LIMIT]], len(listing))

        return fetch


def walk(api: Api, concurrency: int = 1) -> tuple[list[str], PagingReport]:
    report = PagingReport()
    yielded = [
        row["id"]
        for page in walk_list(api.fetch_for, {}, STEPS, LIMIT, "record", report, concurrency)
        for row in page
    ]
    return yielded, report


def _rows(count: int, seed: int, remainder_share: float) -> list[tuple[str, bool, str]]:
    rng = random.Random(seed)
    return [
        (
            rng.choice(UNFILTERABLE) if rng.random() < remainder_share else rng.choice(FILTERABLE),
            rng.random() < 0.5,
            "".join(rng.choice("abcd") for _ in range(rng.randint(1, 4))),
        )
        for _ in range(count)
    ]


# Sizes drawn evenly (not hypothesis's small lists): most cases need several windows.
rows_strategy = st.builds(
    _rows,
    st.integers(0, 300),
    st.integers(0, 2**32),
    st.sampled_from([0.0, 0.05, 0.3]),
)


def api_for(rows: list[tuple[str, bool, str]], max_offset: int, cap: int | None = None) -> Api:
    # Update times are distinct: a list and its reverse are each other's mirror.
    return Api(
        [
            {"id": f"r{i}", "status": s, "deploy_support": d, "name": n, "updated": i}
            for i, (s, d, n) in enumerate(rows)
        ],
        max_offset,
        cap,
    )


@settings(max_examples=300, deadline=None)
@given(
    rows=rows_strategy,
    max_offset=st.integers(0, 60),
    cap=st.sampled_from([None, 45]),
    concurrency=st.sampled_from([1, 4]),
)
def test_the_planner_never_loops_never_doubles_and_counts_what_it_missed(
    rows: list[tuple[str, bool, str]], max_offset: int, cap: int | None, concurrency: int
) -> None:
    api = api_for(rows, max_offset, cap)
    # The docs' cap of 10,000, brought down to the data's scale.
    with (
        patch.object(paging, "MAX_TOTAL", cap or paging.MAX_TOTAL),
        patch.object(planner, "MAX_TOTAL", cap or planner.MAX_TOTAL),
        patch.object(plan, "MAX_TOTAL", cap or plan.MAX_TOTAL),
    ):
        yielded, report = walk(api, concurrency)
    assert len(yielded) == len(set(yielded))  # never twice
    # Never loops: no query asked twice, no offset twice within one.
    assert report.queries == len(api.offsets)
    assert all(len(offsets) == len(set(offsets)) for offsets in api.offsets.values())
    assert api.fetches == report.pages
    missed = len(rows) - len(yielded)
    if report.unreachable_exact:
        assert report.unreachable == missed
    else:
        assert report.unreachable is not None and report.unreachable <= missed


@settings(max_examples=300, deadline=None)
@given(rows=rows_strategy, max_offset=st.integers(0, 60))
def test_every_part_its_two_ends_can_list_arrives(
    rows: list[tuple[str, bool, str]], max_offset: int
) -> None:
    """A status-and-deploy part no longer than two windows is read from both ends, and the
    remainder, when the status-sorted list holds it within one window, is found there."""
    api = api_for(rows, max_offset)
    yielded, _ = walk(api)
    window = max_offset - max_offset % LIMIT + LIMIT
    expected: set[str] = set()
    for status in FILTERABLE:
        for deploy in ("true", "false"):
            part = api.listing({"status": status, "deploy_support": deploy})
            if len(part) <= 2 * window:
                expected |= {row["id"] for row in part}
    # Sorted by status, the remainder comes first (CANCLEREVOKING sorts before the others).
    remainder = [row["id"] for row in api.rows if row["status"] in UNFILTERABLE]
    if len(remainder) <= window:
        expected |= set(remainder)
    assert expected <= set(yielded)


@settings(max_examples=200, deadline=None)
@given(rows=rows_strategy)
def test_data_the_parts_fit_arrives_whole_with_few_requests(
    rows: list[tuple[str, bool, str]],
) -> None:
    """When every part fits two windows and the remainder fits the sorted one, every row
    arrives, and the requests stay within three times the pages the rows need, plus one per
    query asked."""
    api = api_for(rows, max_offset=20)
    parts = [
        len(api.listing({"status": status, "deploy_support": deploy}))
        for status in FILTERABLE
        for deploy in ("true", "false")
    ]
    remainder = [row for row in api.rows if row["status"] in UNFILTERABLE]
    if max(parts, default=0) > 60 or len(remainder) > 30:
        return
    yielded, report = walk(api)
    assert set(yielded) == {row["id"] for row in api.rows}
    assert report.unreachable == 0 and report.unreachable_exact
    assert api.fetches <= 3 * math.ceil(len(rows) / LIMIT) + report.queries


@settings(max_examples=200, deadline=None)
@given(
    covers=st.dictionaries(
        st.text("abc", min_size=1, max_size=4), st.sets(st.integers(0, 30), max_size=12)
    ),
    targets=st.sets(st.integers(0, 30)),
    per_page=st.integers(1, 5),
)
def test_the_greedy_cover_chooses_as_scoring_every_text_each_round_would(
    covers: dict[str, set[int]], targets: set[int], per_page: int
) -> None:
    def pages(rows: set[int]) -> int:
        return math.ceil(max(1, len(rows)) / per_page)

    expected: list[str] = []  # each round, every text scored again
    uncovered, left = set(targets), dict(covers)
    while uncovered and left:
        best = max(
            left,
            key=lambda text: (len(left[text] & uncovered) / pages(left[text]), -len(text), text),
        )
        if not left[best] & uncovered:
            break
        expected.append(best)
        uncovered -= left.pop(best)
    assert cover._greedy_cover(covers, set(targets), pages) == expected


def test_the_sample_holds_the_same_rows_whatever_order_they_came_in() -> None:
    """Queries walk side by side, so pages answer in any order; refinements are chosen from the
    sample, so what loads would depend on that order if the sample did."""
    rows = [{"id": f"row-{n}", "name": str(n)} for n in range(3 * plan.SAMPLE_ROWS)]
    samples = []
    for seed in range(3):
        sample = plan.Sample()
        for row in random.Random(seed).sample(rows, len(rows)) + rows[:50]:  # and some again
            sample.offer(row)
        samples.append([row["id"] for row in sample.rows()])
    assert samples[0] == samples[1] == samples[2]
    assert len(set(samples[0])) == plan.SAMPLE_ROWS
