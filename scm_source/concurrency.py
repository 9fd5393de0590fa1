"""How many requests may be in flight: found out, not configured.

Slow start doubles the limit each time a full window of requests succeeds, up to the ceiling
(`max_concurrency`). The first 429 (APIG.0308) halves it and ends slow start; after that each
429 takes one off and the limit probes one higher only after 50 windows' worth of successes, so
against a gateway that allows N in flight the run settles at N with few 429s. A 429 answered to
a request sent before the last decrease is already accounted for and changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PROBE_AFTER_WINDOWS = 50


class AdaptiveLimit:
    def __init__(self, ceiling: int, start: int = 2) -> None:
        self.ceiling = ceiling
        self.limit = max(1, min(start, ceiling))
        self._slow_start = True
        self._successes = 0
        self._generation = 0
        self._in_flight = 0
        self._ready = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[Callable[[bool], None]]:
        """Waits for room; the caller reports whether the answer was a 429."""
        with self._ready:
            self._ready.wait_for(lambda: self._in_flight < self.limit)
            self._in_flight += 1
            generation = self._generation

        def report(throttled: bool) -> None:
            with self._ready:
                self._record(throttled, generation)

        try:
            yield report
        finally:
            with self._ready:
                self._in_flight -= 1
                self._ready.notify_all()

    def _record(self, throttled: bool, generation: int) -> None:
        if throttled:
            self._successes = 0
            if generation == self._generation:
                self.limit = max(1, self.limit // 2 if self._slow_start else self.limit - 1)
                self._slow_start = False
                self._generation += 1
            return
        self._successes += 1
        window = self.limit if self._slow_start else self.limit * PROBE_AFTER_WINDOWS
        if self._successes >= window and self.limit < self.ceiling:
            self.limit = min(self.ceiling, self.limit * 2 if self._slow_start else self.limit + 1)
            self._successes = 0
            self._ready.notify_all()
