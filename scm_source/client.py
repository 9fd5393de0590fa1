"""A thin HTTP client for SCM: one GET with retries, and errors turned into one readable line.

Retrying is done by tenacity around the whole request (not around `Session.send`, as dlt's
requests helper does) so that auth runs again for every attempt: a retried AK/SK request gets a
fresh signature and date.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from dlt.sources.helpers.requests.retry import wait_exponential_retry_after
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_random,
)

from scm_source.errors import ScmApiError, ScmConfigError, ScmError, ScmResponseError

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for retrying throttled (429), failing (5xx) and dropped requests."""

    max_attempts: int = 5
    max_retry_seconds: float = 120.0
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    request_timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ScmConfigError(f"max_attempts={self.max_attempts} must be at least 1")
        for name in (
            "max_retry_seconds",
            "backoff_seconds",
            "max_backoff_seconds",
            "request_timeout_seconds",
        ):
            if getattr(self, name) < 0:
                raise ScmConfigError(f"{name}={getattr(self, name)} must not be negative")


class ScmClient:
    """GETs JSON objects from an SCM endpoint; safe to share between threads."""

    def __init__(
        self,
        endpoint: str,
        auth: AuthBase,
        credential_name: str,
        retry: RetryPolicy = RetryPolicy(),
        max_connections: int = 16,
    ) -> None:
        self.endpoint = endpoint
        self._auth = auth
        self._credential_name = credential_name
        self._retry = retry
        self._adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max_connections)
        self._local = threading.local()

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.mount("http://", self._adapter)
            session.mount("https://", self._adapter)
        return session

    def get_json(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        response = self._retrying()(self._send, path, params)
        if response.status_code >= 400:
            raise self._api_error(response, path)
        try:
            body = response.json()
        except ValueError:
            raise ScmResponseError(
                f"GET {path} ({_describe_params(params)}) answered HTTP {response.status_code}"
                f" with a body that is not JSON (Content-Type"
                f" {response.headers.get('Content-Type', '-')}, starting"
                f" {response.text[:60]!r}); is `endpoint` pointing at a proxy?"
            ) from None
        if not isinstance(body, dict):
            raise ScmResponseError(
                f"GET {path} ({_describe_params(params)}) answered a JSON {type(body).__name__},"
                " not an object"
            )
        return body

    def _send(self, path: str, params: Mapping[str, str]) -> requests.Response:
        try:
            return self._session.get(
                self.endpoint + path,
                params=params,
                auth=self._auth,
                timeout=self._retry.request_timeout_seconds,
            )
        except RETRY_EXCEPTIONS:
            raise
        except requests.RequestException as exc:
            raise ScmError(f"GET {self.endpoint}{path} failed: {exc}") from None

    def _retrying(self) -> Retrying:
        policy = self._retry
        return Retrying(
            retry=retry_if_result(lambda response: response.status_code in RETRY_STATUSES)
            | retry_if_exception_type(RETRY_EXCEPTIONS),
            wait=wait_exponential_retry_after(
                multiplier=policy.backoff_seconds, max=policy.max_backoff_seconds
            )
            + wait_random(0, policy.backoff_seconds),
            stop=stop_after_attempt(policy.max_attempts)
            | stop_after_delay(policy.max_retry_seconds),
            before_sleep=_log_retry,
            retry_error_callback=self._give_up,
        )

    def _give_up(self, state: RetryCallState) -> requests.Response:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            exc = outcome.exception()
            raise ScmError(
                f"GET {self.endpoint} failed after {state.attempt_number} attempts: {exc}"
            ) from None
        return outcome.result()

    def _api_error(self, response: requests.Response, path: str) -> ScmApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"error_msg": f"non-JSON body starting {response.text[:60]!r}"}
        return ScmApiError(
            status=response.status_code,
            endpoint=f"{self.endpoint}{path}",
            error_code=body.get("error_code"),
            error_msg=body.get("error_msg"),
            request_id=body.get("request_id") or response.headers.get("X-Request-Id"),
            credential=self._credential_name,
        )


def _describe_params(params: Mapping[str, str]) -> str:
    return "&".join(f"{key}={value}" for key, value in params.items()) or "no parameters"


def _log_retry(state: RetryCallState) -> None:
    outcome = state.outcome
    assert outcome is not None
    reason = (
        type(outcome.exception()).__name__
        if outcome.failed
        else f"HTTP {outcome.result().status_code}"
    )
    delay = state.next_action.sleep if state.next_action else 0.0
    logger.warning(
        "retrying GET %s after %s (attempt %d, waiting %.1f s)",
        state.args[0] if state.args else "?",
        reason,
        state.attempt_number,
        delay,
    )
