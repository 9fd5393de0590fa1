"""The plan's tree: one node per query, what its walks found, and a sample of its rows that
refinements choose substrings from."""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from scm_source.paging.pages import MAX_TOTAL
from scm_source.paging.steps import Query, Split, Step
from scm_source.rows.values import Row

# Rows a node keeps of what it found, as a sample to pick substrings from.
SAMPLE_ROWS = 500


class Sample:
    """Up to SAMPLE_ROWS distinct rows of those found, the ones whose ids hash lowest: the same
    rows whatever order their pages arrived in (queries walk side by side), and spread over the
    whole list rather than taken from its first pages."""

    def __init__(self) -> None:
        self._order: list[tuple[int, str]] = []  # (hash, id), ascending
        self._rows: dict[str, Row] = {}

    def offer(self, row: Row) -> None:
        ident = row["id"]
        entry = (zlib.crc32(ident.encode()), ident)
        full = len(self._order) >= SAMPLE_ROWS
        if ident in self._rows or (full and entry >= self._order[-1]):
            return
        bisect.insort(self._order, entry)
        self._rows[ident] = row
        if full:
            del self._rows[self._order.pop()[1]]

    def rows(self) -> list[Row]:
        return [self._rows[ident] for _, ident in self._order]


@dataclass(eq=False)
class Node:
    """One query of the plan and what its walks found."""

    query: Query
    steps: tuple[Step, ...]
    parent: Node | None = None
    part_of: Split | None = None  # one value of this split: a disjoint part of the parent
    hunting: Split | None = None  # lists, in an order that keeps them together, its remainder
    is_remainder: bool = False  # the parent itself, sorted for the remainder of its split
    depth: int = 0  # refinements above it
    next_step: int = 0
    rounds: int = 0  # refinement rounds taken
    total: int | None = None
    cut: bool = False  # its rows go on past what it listed
    reordered: bool = False  # its parent in another order, read until the parent is whole
    found: set[str] = field(default_factory=set)
    sample: Sample = field(default_factory=Sample, repr=False)  # of the rows found
    asked: set[str] = field(default_factory=set)  # substrings its refinements asked
    children: list[Node] = field(default_factory=list)
    split: Split | None = None  # what its parts are values of
    remainder_ids: set[str] = field(default_factory=set)  # rows found its split does not select
    remainder_seen_whole: bool = False  # a remainder query saw the block of them begin and end
    hunt_done: bool = False  # its own hunt did

    @property
    def query_key(self) -> frozenset[tuple[str, str]]:
        return frozenset(self.query.items())

    @property
    def exact(self) -> bool:
        return self.total is not None and self.total < MAX_TOTAL

    @property
    def complete(self) -> bool:
        return self.exact and len(self.found) >= (self.total or 0)

    def lineage(self) -> Iterator[Node]:
        node: Node | None = self
        while node is not None:
            yield node
            node = node.parent

    def adds_nothing(self) -> bool:
        """Whether asking it can bring nothing new: a query above it has all its rows, or the
        remainder it is sorted for is in."""
        return any(node.complete or node.remainder_in() for node in self.lineage())

    def remainder_in(self) -> bool:
        """Whether, as a remainder query, the remainder it is sorted for has all arrived."""
        parent = self.parent
        return (
            self.is_remainder
            and parent is not None
            and (parent.remainder_seen_whole or parent.remainder_missing() == 0)
        )

    def remainder_missing(self) -> int | None:
        """Rows its split does not select still to find: its total less its parts' (once each
        part told its own), less those found; None while unknown."""
        parts = [child for child in self.children if child.part_of is not None]
        if not self.exact or not parts or any(part.total is None for part in parts):
            return None
        remainder = (self.total or 0) - sum(part.total or 0 for part in parts)
        return max(0, remainder - len(self.remainder_ids))

    def found_rows(self, rows: list[Row]) -> None:
        self.found.update(row["id"] for row in rows)
        for row in rows:
            self.sample.offer(row)
        if self.split is not None:
            split = self.split
            self.remainder_ids.update(row["id"] for row in rows if not split.selects(row))

    def rows_held(self) -> tuple[int, bool]:
        """How many rows its query's filters select, and whether that is exact. Beyond the cap,
        at least its parts' and the remainder found: exactly when each part's count is and
        the remainder was seen whole."""
        if self.exact or self.total is None:
            return self.total or 0, self.total is not None
        parts = [child.rows_held() for child in self.children if child.part_of is not None]
        counted = sum(count for count, _ in parts) + len(self.remainder_ids)
        remainder_known = self.split is not None and (
            not self.split.remainder_orders or self.remainder_seen_whole
        )
        exact = bool(parts) and all(known for _, known in parts) and remainder_known
        return max(self.total, counted), exact and counted >= self.total
