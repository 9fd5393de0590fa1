"""Reading an answer's body within a deadline and a size: a socket's read timeout restarts with
every byte, so a server that drips its body would hold a run forever, and one that sends a
gigabyte would fill memory. A page of 50 objects is well under a megabyte."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable

from urllib3 import BaseHTTPResponse
from urllib3.exceptions import HTTPError

from scm_source.errors import ExchangeFailed, ScmResponseError

MAX_BODY_BYTES = 8 * 1024 * 1024


class Watchdog:
    """Calls each watched `expire` once its deadline passes, unless cancelled first: one thread
    for every answer being read (a timer thread per request cost a tenth of a page's CPU)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, _Watch]] = []  # a heap, by deadline
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def watch(self, deadline: float, expire: Callable[[], None]) -> _Watch:
        watch = _Watch(expire)
        with self._changed:
            stopped = self._stopped
            if not stopped:
                self._push(deadline, watch)
        if stopped:  # watched after the stop: its deadline has passed already
            watch.fire()
        return watch

    def _push(self, deadline: float, watch: _Watch) -> None:
        while self._due and self._due[0][2].cancelled:  # answers read in time leave here
            heapq.heappop(self._due)
        heapq.heappush(self._due, (deadline, next(self._order), watch))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="scm-deadlines", daemon=True)
            self._thread.start()
        if self._due[0][2] is watch:
            self._changed.notify()

    def stop(self) -> None:
        """Fires every watch now, and from now on each one as it is watched (the run stops: no
        answer is waited for any more). Under one lock with `watch`, so that an exchange that
        began as the run stopped is cut off too."""
        with self._changed:
            self._stopped = True
            due, self._due = self._due, []
        for _, _, watch in due:
            watch.fire()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._due or (wait := self._due[0][0] - time.monotonic()) > 0:
                    self._changed.wait(wait if self._due else None)
                _, _, watch = heapq.heappop(self._due)
            watch.fire()


class _Watch:
    def __init__(self, expire: Callable[[], None]) -> None:
        self.expire = expire
        self.cancelled = False
        self._lock = threading.Lock()

    def fire(self) -> None:
        with self._lock:
            if not self.cancelled:
                self.expire()

    def cancel(self) -> None:
        """After this returns, `expire` is not running and will not run."""
        with self._lock:
            self.cancelled = True


DEADLINES = Watchdog()
# Set once the run is interrupted: no exchange starts any more, those under way end at once.
STOPPED = threading.Event()


def stop_every_exchange() -> None:
    """Ctrl-C: every answer being read is cut off now and no request is sent after, so that the
    run's threads end at once instead of when their answers come."""
    STOPPED.set()
    DEADLINES.stop()


def shut_at(deadline: float, sock: socket.socket | None, expired: threading.Event) -> _Watch:
    """Shuts `sock` at `deadline` (monotonic), so that a read blocked on it ends, and sets
    `expired`; unless the watch returned is cancelled first."""

    def expire() -> None:
        expired.set()
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: the read ends by itself
                sock.shutdown(socket.SHUT_RDWR)

    return DEADLINES.watch(deadline, expire)


def read_body(
    response: BaseHTTPResponse, what: str, started: float, seconds: float, limit: int
) -> bytes:
    """A streamed answer's body, at most `limit` bytes, by `started + seconds` (monotonic): past
    that, its socket is shut and the read fails as a timeout. `what` names the request."""
    expired = threading.Event()
    sock = getattr(getattr(response, "connection", None), "sock", None)
    watch = shut_at(started + seconds, sock, expired)
    try:
        body = response.read(limit + 1, decode_content=True)
    except (HTTPError, OSError) as error:
        response.close()
        raise (
            late(seconds) if expired.is_set() else ExchangeFailed(f"the answer broke off: {error}")
        ) from None
    finally:
        watch.cancel()
    if expired.is_set():
        response.close()
        raise late(seconds)
    if len(body) > limit:
        response.close()
        raise ScmResponseError(
            f"{what} answered more than {limit // (1024 * 1024)} MB: far beyond any page the API"
            " documents"
        )
    response.release_conn()  # read to its end: the connection can serve the next request
    return body


def late(seconds: float) -> ExchangeFailed:
    return ExchangeFailed(f"the whole answer did not arrive within {seconds:g} s")
