"""Running work a few at a time, results taken as they finish: the pages of a query, the queries
of a plan, the accounts of a run. Memory stays flat: at most a bounded number of results wait to
be taken."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class PagePool:
    """Threads shared by the queries of one list's walk, and a bound on the pages they fetched
    and have not yet taken: queries walked side by side then hold no more pages between them
    than one query alone, and a query left alone can use every thread."""

    def __init__(self, workers: int, name: str) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._budget = threading.Semaphore(2 * workers)

    def claim(self, wait: bool) -> bool:
        """A page's place in the bound; without `wait`, only if one is free at once."""
        return self._budget.acquire(blocking=wait)

    def release(self) -> None:
        self._budget.release()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def map_as_completed(
    work: Callable[[Item], Result],
    items: Iterable[Item],
    workers: int,
    name: str,
    pages: PagePool | None = None,
) -> Iterator[Result]:
    """`work(item)` for every item, `workers` at a time, results in the order they finish. At most
    2 x `workers` are started and not yet taken, so memory stays flat however many items there
    are; an exception is raised where its result would have been taken. With `pages`, its
    threads do the work and its bound is shared with the other callers: one waits for a free
    place only while it holds none (so that the holders, which take theirs, cannot all wait)."""
    if pages is None:
        with contextlib.closing(PagePool(workers, name)) as own:
            yield from map_as_completed(work, items, workers, name, own)
        return
    pending: set[Future[Result]] = set()
    queued = iter(items)
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < 2 * workers and pages.claim(wait=not pending):
                try:
                    item = next(queued)
                except StopIteration:
                    exhausted = True
                    pages.release()
                else:
                    pending.add(pages.executor.submit(work, item))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for _ in done:  # taken now: a consumer that stops at one of them leaks no place
                pages.release()
            for future in done:
                yield future.result()
    finally:
        for future in pending:
            future.cancel()
            pages.release()


@dataclass(frozen=True)
class StreamEnd:
    """Marks the end of one stream of `interleave`: its index, and what it raised, if it did."""

    index: int
    error: Exception | None


def interleave(
    streams: Sequence[Callable[[], Iterator[Result]]],
    workers: int,
    name: str,
    idle: float | None = None,
) -> Iterator[Result | StreamEnd | None]:
    """Runs the streams `workers` at a time and yields their items as they come, each stream
    followed by its StreamEnd; with `idle`, a None whenever no item came for that many seconds
    (the consumer can hand its thread back meanwhile). A bounded queue between them keeps
    memory flat (a stream waits while the consumer is behind); closing this iterator stops every
    stream at its next item."""
    handoff: queue.Queue[Result | StreamEnd] = queue.Queue(maxsize=2 * workers)
    stopped = threading.Event()

    def put(item: Result | StreamEnd) -> bool:
        while not stopped.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def drain(index: int) -> None:
        error: Exception | None = None
        try:
            stream = streams[index]()
            for item in stream:
                if not put(item):
                    return
        except Exception as raised:  # noqa: BLE001 - handed to the consumer with its stream
            error = raised
        put(StreamEnd(index, error))

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=name)
    try:
        for index in range(len(streams)):
            pool.submit(drain, index)
        ended = 0
        while ended < len(streams):
            try:
                item = handoff.get(timeout=idle)
            except queue.Empty:
                yield None
                continue
            ended += isinstance(item, StreamEnd)
            yield item
    finally:
        stopped.set()
        pool.shutdown(wait=True, cancel_futures=True)
