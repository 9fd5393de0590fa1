"""How many requests may be in flight: found out, not configured.

The limit starts at 4 and grows by half (at least two) each time a full window of requests
succeeds (as many successes as the limit, with the limit reached in flight at least once: a
level never used has not been shown to pass), up to the ceiling (`max_concurrency`). By half,
not double as TCP's slow start would: the 429s (APIG.0308) that tell of the gateway's limit
arrive a round trip late, and every request sent past that limit meanwhile is refused, so the
overshoot is what the 429s cost. A 429 takes the limit back to the last level a full window
succeeded at, or one lower if it was there. After the first 429 the limit probes one higher only
after 50 windows of successes, and twice as long after each further 429, so against a gateway
that allows N in flight the run settles at N with few 429s. A 429 answered to a request sent
before the last decrease is already accounted for. A `Retry-After` holds back every request, not
only the retried one, until it has passed.

A 429 to a request sent while the limit stood above the last level a full window succeeded at
is an overshoot the limit corrects, not a busy gateway: the caller may send it again at once
rather than back off (the gateway refuses whichever requests arrive last, not those sent last).
Accounts behind one endpoint share what they learn (`LearnedLevel`): a gateway gives every user
the same limit, so an account that starts after another met it starts there, and one still
growing stops there, instead of each account paying for the same overshoot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PROBE_AFTER_WINDOWS = 50

Report = Callable[[bool, float | None], bool]


class LearnedLevel:
    """The in-flight level the last 429 settled an endpoint's accounts at; shared between
    their limits."""

    def __init__(self) -> None:
        self._level: int | None = None
        self._lock = threading.Lock()

    def remember(self, level: int) -> None:
        with self._lock:
            self._level = level

    def recall(self) -> int | None:
        with self._lock:
            return self._level


class AdaptiveLimit:
    def __init__(self, ceiling: int, start: int = 4, learned: LearnedLevel | None = None) -> None:
        self.ceiling = ceiling
        self.limit = max(1, min(start, ceiling))
        self._learned = learned
        self._started = False
        self._probe_windows = 0  # windows of successes between raises; 0 until the first 429
        self._confirmed = self.limit  # the last level a full window of requests succeeded at
        self._successes = 0
        self._generation = 0
        self._in_flight = 0
        self._busiest = 0  # the most in flight at once since the limit last changed
        self._paused_until = 0.0
        self._ready = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[Report]:
        """Waits for room; the caller reports whether the answer was a 429 and its Retry-After
        in seconds, and learns whether that 429 was an overshoot to send again at once."""
        with self._ready:
            if not self._started:
                self._start_from_learned()
            while (pause := self._paused_until - time.monotonic()) > 0 or (
                self._in_flight >= self.limit
            ):
                self._ready.wait(pause if pause > 0 else None)
            self._in_flight += 1
            self._busiest = max(self._busiest, self._in_flight)
            generation, sent_at = self._generation, self.limit

        def report(throttled: bool, retry_after: float | None) -> bool:
            with self._ready:
                if not throttled:
                    self._succeeded()
                    return False
                overshoot = sent_at > self._confirmed
                self._throttled(generation, retry_after)
                return overshoot and not retry_after

        try:
            yield report
        finally:
            with self._ready:
                self._in_flight -= 1
                self._ready.notify()  # one slot: one waiter (all of them woke, to wait again)

    def _start_from_learned(self) -> None:
        """When first used, not when made: the accounts of an organization are made together,
        before any has learned anything."""
        self._started = True
        level = self._learned.recall() if self._learned else None
        if level is not None:
            self.limit = self._confirmed = max(1, min(level, self.ceiling))
            self._probe_windows = PROBE_AFTER_WINDOWS

    def _throttled(self, generation: int, retry_after: float | None) -> None:
        self._successes = 0
        if retry_after:
            self._paused_until = max(self._paused_until, time.monotonic() + retry_after)
        if generation != self._generation:
            return
        if self._probe_windows:
            self._probe_windows *= 2
        else:
            self._probe_windows = PROBE_AFTER_WINDOWS
        self._set(max(1, min(self.limit - 1, self._confirmed)))
        self._confirmed = min(self._confirmed, self.limit)
        self._generation += 1
        if self._learned is not None:
            self._learned.remember(self.limit)

    def _succeeded(self) -> None:
        """A window is full when `limit` requests succeeded and, at some point, `limit` were in
        flight at once: a level never used has not been shown to pass."""
        self._successes += 1
        if (
            self._successes < self.limit * max(1, self._probe_windows)
            or self._busiest < self.limit
            or self.limit >= self.ceiling
        ):
            return
        self._successes = 0
        learned = self._learned.recall() if self._learned and not self._probe_windows else None
        if learned is not None:  # another account met the gateway's limit meanwhile: go there
            self._probe_windows = PROBE_AFTER_WINDOWS
            if learned <= self.limit:
                return
            grown = learned
        elif self._probe_windows:
            grown = self.limit + 1
        else:
            grown = self.limit + max(2, self.limit // 2)
        self._confirmed = self.limit
        self._set(min(self.ceiling, grown))
        self._ready.notify_all()

    def _set(self, limit: int) -> None:
        self.limit, self._busiest = limit, self._in_flight
