"""Substrings that split a query by a text search: chosen from the rows already seen, each small
enough to fit a window, together covering the rows still to be reached (a greedy set cover)."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

from scm_source.paging.steps import Refine
from scm_source.rows.values import Row

MAX_SUBSTRING = 12
# A substring is chosen only if the sample says its part fills at most this share of a window.
FILL = 0.9


def substrings(
    step: Refine,
    current: str,
    sample: list[Row],
    targets: list[int],
    total: int,
    window: tuple[int, int],
    asked: set[str],
) -> list[str]:
    """Substrings longer than `current` and containing it, each estimated (from the sample's
    share) to fill at most FILL of a window, chosen greedily by target rows covered per page."""
    if not sample or not targets:
        return []
    candidates = _containing(current.lower(), step.fields, sample)
    (window_rows, limit), scale = window, total / len(sample)
    fitting = {
        text: rows
        for text, rows in candidates.items()
        if len(rows) * scale <= FILL * window_rows and text not in asked
    }

    def pages(rows: set[int]) -> int:
        return math.ceil(max(1.0, len(rows) * scale) / limit)

    return sorted(_greedy_cover(fitting, set(targets), pages))


def _containing(low: str, fields: tuple[str, ...], sample: list[Row]) -> dict[str, set[int]]:
    """Every substring of the sample's fields, up to MAX_SUBSTRING long, that contains `low` and
    is longer: the rows (by index) each appears in."""
    candidates: dict[str, set[int]] = {}
    for index, row in enumerate(sample):
        for name in fields:
            text = str(row.get(name) or "").lower()
            for start in range(len(text)):
                found = text.find(low, start)  # the first `low` from here ends the shortest
                if found < 0:
                    break
                shortest = max(start + len(low) + 1, found + len(low))
                for end in range(shortest, min(len(text), start + MAX_SUBSTRING) + 1):
                    candidates.setdefault(text[start:end], set()).add(index)
    return candidates


def _greedy_cover(
    candidates: dict[str, set[int]], uncovered: set[int], pages: Callable[[set[int]], int]
) -> list[str]:
    """Greedy cover of `uncovered`: each round the text covering most rows per page (then the
    shortest, then the last in order). Lazily: a text's cover only shrinks as rows are covered,
    so its score from an earlier round bounds its score now, and only texts that reach the top
    are scored again; the choices are those of scoring every text each round."""
    rank = {text: order for order, text in enumerate(sorted(candidates))}

    def key(text: str) -> tuple[float, int, int]:
        rows = candidates[text]
        return (-len(rows & uncovered) / pages(rows), len(text), -rank[text])

    heap = [(key(text), text) for text in candidates]
    heapq.heapify(heap)
    chosen: list[str] = []
    while uncovered and heap:
        scored, text = heapq.heappop(heap)
        now = key(text)
        if not now[0]:
            continue  # it covers nothing left: never chosen
        if now != scored:
            heapq.heappush(heap, (now, text))
            continue
        chosen.append(text)
        uncovered -= candidates[text]
    return chosen
