"""Properties of the paging walk, against in-memory APIs of every shape the docs leave open."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scm_source.errors import ScmResponseError
from scm_source.objects.certificates import CERTIFICATES
from scm_source.paging.pages import Page, PagingReport, fetch_page, walk_pages

Fetch = Callable[[int], Page]


def api(
    ids: list[str],
    limit: int,
    counts: str,
    reported_total: int | None = None,
    calls: list[int] | None = None,
) -> Fetch:
    """A list endpoint over `ids` whose `offset` counts records or pages."""

    def fetch(offset: int) -> Page:
        if calls is not None:
            calls.append(offset)
        start = offset * limit if counts == "page" else offset
        rows = [{"id": item} for item in ids[start : start + limit]]
        return Page(offset, rows, len(ids) if reported_total is None else reported_total)

    return fetch


def walk(fetch: Fetch, limit: int, mode: str) -> tuple[list[str], PagingReport]:
    report = PagingReport()
    ids = [row["id"] for page in walk_pages(fetch, limit, mode, report) for row in page]
    return ids, report


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(0, 400),
    limit=st.sampled_from([10, 20, 50]),
    counts=st.sampled_from(["record", "page"]),
    declared=st.booleans(),
)
def test_every_row_arrives_exactly_once_under_either_reading(
    total: int, limit: int, counts: str, declared: bool
) -> None:
    ids = [f"id{i:04d}" for i in range(total)]
    calls: list[int] = []
    got, report = walk(api(ids, limit, counts, calls=calls), limit, counts if declared else "auto")
    assert sorted(got) == ids and len(got) == len(set(got))
    assert report.shortfall == 0
    assert len(calls) <= math.ceil(total / limit) + 1  # at most the probe more than the pages
    if total > limit:
        assert report.offset_mode == counts


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(1, 300),
    limit=st.sampled_from([10, 20, 50]),
    counts=st.sampled_from(["record", "page"]),
    mode=st.sampled_from(["auto", "record", "page"]),
    claimed=st.integers(0, 10_000),
)
def test_a_wrong_total_never_loops_and_never_doubles(
    total: int, limit: int, counts: str, mode: str, claimed: int
) -> None:
    """Whatever the API claims and however its offset is read, the walk ends and ids are unique."""
    ids = [f"id{i:04d}" for i in range(total)]
    calls: list[int] = []
    got, report = walk(api(ids, limit, counts, reported_total=claimed, calls=calls), limit, mode)
    assert len(got) == len(set(got)) and set(got) <= set(ids)
    assert len(calls) <= 2 * math.ceil(max(total, claimed) / limit) + 3
    assert report.shortfall == max(0, claimed - len(got))


def test_an_api_that_ignores_offset_stops_after_one_repeated_page() -> None:
    ids = [f"id{i}" for i in range(10)]
    calls: list[int] = []

    def same_page(offset: int) -> Page:
        calls.append(offset)
        return Page(offset, [{"id": item} for item in ids], 1000)

    got, report = walk(same_page, 10, "record")
    assert got == ids and len(calls) == 2
    assert report.stop_reason == "page brought no new row" and report.shortfall == 990


@pytest.mark.parametrize("counts", ["record", "page"])
def test_rows_repeated_across_pages_are_loaded_once(counts: str) -> None:
    ids = [f"id{i:03d}" for i in range(95)]
    repeated = ids[:20] + ids[15:]  # five rows served twice, as a shifting inventory would
    got, report = walk(api(repeated, 10, counts, reported_total=95), 10, "auto")
    assert sorted(got) == ids and report.offset_mode == counts


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"total_count": 1}, "answer has no list of objects `certificates`"),
        (
            {"certificates": [], "total_count": "1"},
            "answer has no whole-number `total_count` (got '1')",
        ),
        (
            {"certificates": [{"name": "x"}], "total_count": 1},
            "a row has no string `id` (got None)",
        ),
        ({"certificates": ["x"], "total_count": 1}, "answer has no list of objects `certificates`"),
    ],
)
def test_an_answer_without_list_total_or_ids_is_named(
    body: dict[str, object], message: str
) -> None:
    fetch = fetch_page(lambda *call: body, CERTIFICATES.endpoint, {}, 10)
    with pytest.raises(ScmResponseError) as error:
        fetch(20)
    assert str(error.value) == f"GET /v3/scm/certificates offset=20 limit=10: {message}"
