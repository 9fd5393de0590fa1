"""A thin HTTP client for SCM (and Organizations, CCM): one call with retries, its answer checked
to be a JSON object."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from scm_source.errors import ScmResponseError
from scm_source.http.allowed import AllowedCall, allowed_call
from scm_source.http.answers import api_error, refuse_redirect
from scm_source.http.retry import RetryPolicy, send_with_retries
from scm_source.http.throttle import AdaptiveLimit, LearnedLevel
from scm_source.http.transport import HEADERS, Request, Response, Transport

OVERSHOOT_RESENDS = 3  # times a request refused for the limit's overshoot is sent again at once


class Credential(Protocol):
    """What signs a request (scm_source.auth): adds its credential to each attempt, names it
    (never its value), and renews it after a 401 where it can."""

    def __call__(self, request: Request) -> Request: ...

    def describe(self) -> str: ...

    def renew(self, refused: Response) -> bool: ...


class ScmClient:
    """Reads JSON objects from an SCM, CCM or Organizations endpoint, through the allow-list;
    safe to share between threads. Each client adapts its own in-flight limit (the gateway
    throttles per user)."""

    def __init__(
        self,
        endpoint: str,
        auth: Credential,
        retry: RetryPolicy,
        verify: str | bool = True,
        max_concurrency: int = 32,
        connections: threading.Semaphore | None = None,
        learned: LearnedLevel | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._auth = auth
        self._retry = retry
        self.in_flight = AdaptiveLimit(max_concurrency, learned=learned)
        # Shared by every account's client: the process's bound on connections in use.
        self._connections = connections or threading.Semaphore(max_concurrency)
        self._transport = Transport(endpoint, verify, max_concurrency)
        self.retries: Counter[str] = Counter()  # by call: the sync log's count per object
        self._retries_lock = threading.Lock()

    def close(self) -> None:
        """Closes the idle keep-alive connections: a finished account must not hold descriptors
        while the next ones load. Requests still in flight finish; later ones reconnect."""
        self._transport.close()

    def get_json(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        return self.call("GET", path, params)

    def call(
        self, method: str, path: str, params: Mapping[str, str], body: Any = None
    ) -> dict[str, Any]:
        """One allowed call (http/allowed.py), its answer a JSON object; a POST sends `body`
        as JSON. Retries are counted by the call (`retries[call.name]`)."""
        call = allowed_call(method, path)
        payload = b"" if body is None else json.dumps(body).encode()
        response = self._send(call, path, params, payload)
        if response.status == 401 and self._auth.renew(response):  # once: it may have expired
            response = self._send(call, path, params, payload)
        refuse_redirect(response)
        if response.status >= 400:
            raise api_error(response, self._auth.describe())
        asked = f"{method} {path} ({_describe_params(params)})"
        try:
            answer = response.json()
        except ValueError:
            raise ScmResponseError(
                f"{asked} answered HTTP {response.status}"
                f" with a body that is not JSON (Content-Type"
                f" {response.headers.get('Content-Type', '-')}, starting"
                f" {response.text[:60]!r}); is `endpoint` pointing at a proxy?"
            ) from None
        if not isinstance(answer, dict):
            raise ScmResponseError(
                f"{asked} answered a JSON {type(answer).__name__}, not an object"
            )
        return answer

    def _send(
        self, call: AllowedCall, path: str, params: Mapping[str, str], payload: bytes
    ) -> Response:
        url = self.endpoint + path
        target = f"{url}?{urlencode(params, quote_via=quote)}" if params else url
        headers = {**HEADERS, "Content-Type": "application/json"} if payload else HEADERS

        def count_retry() -> None:
            with self._retries_lock:
                self.retries[call.name] += 1

        def send() -> Response:
            """A 429 the in-flight limit has already corrected for is sent again at once (a
            few times at most); any other answer goes to the retry policy."""
            for _ in range(OVERSHOOT_RESENDS):
                response, overshot = send_once()
                if not overshot:
                    return response
                count_retry()
            return send_once()[0]

        def send_once() -> tuple[Response, bool]:
            with self.in_flight.slot() as report, self._connections:
                # Each attempt signed anew.
                request = self._auth(Request(call.method, target, headers, payload))
                response = self._transport.send(request, self._retry.request_timeout_seconds)
                throttled = response.status == 429
                return response, report(throttled, response.retry_after() if throttled else None)

        return send_with_retries(send, self._retry, f"{call.method} {url}", count_retry)


def _describe_params(params: Mapping[str, str]) -> str:
    return "&".join(f"{key}={value}" for key, value in params.items()) or "no parameters"
