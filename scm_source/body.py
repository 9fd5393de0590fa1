"""Reading an answer's body within a deadline and a size: requests' read timeout restarts with
every byte, so a server that drips its body would hold a run forever, and one that sends a
gigabyte would fill memory. A page of 50 objects is well under a megabyte."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import requests
from urllib3.exceptions import HTTPError

from scm_source.errors import ScmResponseError

MAX_BODY_BYTES = 8 * 1024 * 1024


def read_body(
    response: requests.Response, started: float, seconds: float, limit: int = MAX_BODY_BYTES
) -> requests.Response:
    """Reads a streamed response's body, at most `limit` bytes, by `started + seconds`
    (monotonic): past the deadline its socket is shut, and the read fails as a timeout."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: the read ends by itself
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(max(0.0, started + seconds - time.monotonic()), expire)
    timer.daemon = True
    timer.start()
    try:
        body = response.raw.read(limit + 1, decode_content=True)
    except HTTPError as error:  # urllib3's own, raised past requests' translation
        raise (
            _timeout(response, seconds)
            if expired.is_set()
            else requests.ConnectionError(f"the answer broke off: {error}")
        ) from None
    finally:
        timer.cancel()
    if expired.is_set():
        raise _timeout(response, seconds)
    if len(body) > limit:
        response.close()
        raise ScmResponseError(
            f"{response.request.method} {str(response.url).split('?')[0]} answered more than"
            f" {limit // (1024 * 1024)} MB: far beyond any page the API documents"
        )
    response.raw.release_conn()  # read to its end: the connection can serve the next request
    response._content = body
    return response


def _timeout(response: requests.Response, seconds: float) -> requests.Timeout:
    response.close()
    return requests.Timeout(f"the whole answer did not arrive within {seconds:g} s")
