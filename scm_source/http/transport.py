"""HTTP exchanges over urllib3's connection pools, the layer requests is built on. We use nothing
requests adds above it (sessions, cookies, hooks, redirects, its own retries), and it cost a
fifth of each request's CPU (0.2 ms a page): a run is bound by Python's CPU (README,
Performance). Our connections also hold the request's deadline while its headers arrive."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import unquote, urlsplit

import certifi
import urllib3
from requests.utils import get_environ_proxies
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError, InvalidHeader, SSLError
from urllib3.response import HTTPResponse
from urllib3.util.retry import Retry

from scm_source.errors import ExchangeFailed
from scm_source.http.deadlines import MAX_BODY_BYTES, STOPPED, late, read_body, shut_at

HEADERS = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate"}


@dataclass(frozen=True)
class Request:
    """What is sent: auth (scm_source.auth) returns it with its credential added."""

    method: str
    url: str  # absolute, query included
    headers: Mapping[str, str] = field(default_factory=lambda: dict(HEADERS))
    body: bytes = b""

    @property
    def base_url(self) -> str:
        """The URL without its query: what messages name (a query may carry filters)."""
        return self.url.split("?")[0]

    @property
    def named(self) -> str:
        return f"{self.method} {self.base_url}"


@dataclass(frozen=True)
class Response:
    """An answer read whole: its status, headers and body, and the request it answers."""

    request: Request
    status: int
    headers: Mapping[str, str]  # case-insensitive (urllib3's HTTPHeaderDict)
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not. The standard library's, not orjson's:
        orjson reads a whole number beyond 64 bits as a float, which the rows' checks must see
        as it was sent (and detecting those costs more than orjson saves)."""
        return json.loads(self.body)

    @cached_property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def retry_after(self) -> float | None:
        """Seconds the answer asks to wait (Retry-After: a number or an HTTP date), if it says;
        the in-flight limit (client.py) and the backoff (retry.py) both read it here."""
        header = self.headers.get("Retry-After")
        try:
            return Retry().parse_retry_after(header) if header else None
        except InvalidHeader:
            return None


class Transport:
    """Keep-alive connections to one endpoint (through the environment's proxy, where
    HTTP(S)_PROXY and NO_PROXY say so), at most `connections` kept; safe to share between
    threads. Redirects are answers, never followed (errors.refuse_redirect)."""

    def __init__(self, endpoint: str, verify: str | bool = True, connections: int = 32) -> None:
        tls: dict[str, Any] = {
            "cert_reqs": "CERT_REQUIRED",
            "ca_certs": verify if isinstance(verify, str) else certifi.where(),
        }
        proxies = get_environ_proxies(endpoint)  # read once: requests read it every request
        proxy = proxies.get(urlsplit(endpoint).scheme) or proxies.get("all")
        self._pool: urllib3.PoolManager = (
            urllib3.ProxyManager(
                proxy, maxsize=connections, proxy_headers=_proxy_headers(proxy), **tls
            )
            if proxy
            else urllib3.PoolManager(maxsize=connections, **tls)
        )
        self._pool.pool_classes_by_scheme = {"http": _HttpPool, "https": _HttpsPool}

    def send(self, request: Request, timeout: float, limit: int = MAX_BODY_BYTES) -> Response:
        """One exchange, its body read by `timeout` seconds from now and at most `limit` bytes;
        ExchangeFailed when it does not complete."""
        if STOPPED.is_set():
            raise ExchangeFailed("the run was interrupted", retryable=False)
        started = time.monotonic()
        expired = threading.Event()
        _EXCHANGE.deadline = (started + timeout, expired)
        try:
            response = self._pool.urlopen(
                request.method,
                request.url,
                body=request.body or None,
                headers=dict(request.headers),
                redirect=False,
                retries=False,
                preload_content=False,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
            )
        except SSLError as error:  # a certificate that fails verification: not worth a retry
            raise ExchangeFailed(_reason(error), retryable=False) from None
        except (HTTPError, OSError) as error:
            if expired.is_set():
                raise late(timeout) from None
            raise ExchangeFailed(_reason(error), refused=_refused(error)) from None
        if expired.is_set():  # its headers cut short at the deadline may look complete
            response.close()
            raise late(timeout)
        body = read_body(response, request.named, started, timeout, limit)
        return Response(request, response.status, response.headers, body)

    def close(self) -> None:
        """Closes the idle connections; an exchange still under way finishes, later ones
        connect again."""
        self._pool.clear()


# The deadline of the exchange this thread is sending, and what tells that it passed.
_EXCHANGE = threading.local()


@contextmanager
def _headers_by_deadline(connection: HTTPConnection) -> Iterator[None]:
    """The status line and headers must arrive by the exchange's deadline too: a socket's read
    timeout restarts with every byte, so a server that drips its headers would hold the request
    for as long as it likes."""
    deadline, expired = _EXCHANGE.deadline
    watch = shut_at(deadline, connection.sock, expired)
    try:
        yield
    finally:
        watch.cancel()


class _HttpConnection(HTTPConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # as urllib3 declares it
        with _headers_by_deadline(self):
            return super().getresponse()


class _HttpsConnection(HTTPSConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # as urllib3 declares it
        with _headers_by_deadline(self):
            return super().getresponse()


class _HttpPool(HTTPConnectionPool):
    ConnectionCls = _HttpConnection


class _HttpsPool(HTTPSConnectionPool):
    ConnectionCls = _HttpsConnection


def _proxy_headers(proxy: str) -> dict[str, str]:
    """A proxy's `user:password@`, as Proxy-Authorization (redaction.py keeps it out of
    messages)."""
    parts = urlsplit(proxy)
    if parts.username is None:
        return {}
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return urllib3.make_headers(proxy_basic_auth=credentials)


def _refused(error: BaseException) -> bool:
    """Whether nothing listens where the request went (a connection refused)."""
    causes = (error, error.__context__, getattr(error, "reason", None))
    return any(isinstance(cause, ConnectionRefusedError) for cause in causes) or (
        "Connection refused" in str(error)
    )


def _reason(error: BaseException) -> str:
    """urllib3's message without the connection object's repr it starts with."""
    text = str(error)
    head, separator, rest = text.partition(">: ")
    return rest if separator and head.startswith("<") else text
