"""Credentials IAM issues for a while: a user token for a password, temporary keys through an
agency. Fetched on first use, renewed before they expire and once after a 401."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import pendulum

from scm_source.auth.signers import AccessKeyAuth, ScmAuth, TokenAuth
from scm_source.errors import ScmResponseError
from scm_source.http.allowed import allowed_call
from scm_source.http.answers import api_error, refuse_redirect
from scm_source.http.retry import RetryPolicy, send_with_retries
from scm_source.http.transport import HEADERS, Request, Response, Transport
from scm_source.redaction import register

logger = logging.getLogger(__name__)


class RenewedAuth(ScmAuth):
    """A credential IAM issues for a while (a user token, temporary keys), fetched on first use
    and kept until shortly before it expires (a fifth of its life, at most 5 minutes early) or
    until the API answers 401. Subclasses say what to POST and how to read and send the answer."""

    SENT_IN = ""  # the header that tells which credential a request went with
    HINTS: ClassVar[Mapping[int, str]] = {}  # what to do about a refusal, where IAM tells more

    def __init__(self, endpoint: str, path: str, retry: RetryPolicy, verify: str | bool) -> None:
        self._endpoint, self._path = endpoint, path
        self._url = endpoint + path
        self._retry = retry
        self._verify = verify
        self._lock = threading.Lock()
        self._current: ScmAuth | None = None
        self._renew_at = 0.0

    def __call__(self, request: Request) -> Request:
        with self._lock:
            if self._current is None or time.monotonic() >= self._renew_at:
                self._fetch()
            current = self._current
        assert current is not None  # _fetch sets it or raises
        return current(request)

    def renew(self, refused: Response) -> bool:
        with self._lock:
            # Several requests in flight may come back 401 on one credential: fetch once.
            if refused.request.headers.get(self.SENT_IN) == self._sent_value():
                self._fetch()
        return True

    def _sent_value(self) -> str | None:
        return None if self._current is None else self._current.identity()

    def _body(self) -> dict[str, Any]:
        raise NotImplementedError

    def _caller(self) -> ScmAuth | None:
        """How the POST itself authenticates (None: its body does)."""
        return None

    def _read(self, response: Response) -> tuple[ScmAuth, Any]:
        """The credential in a 201 answer, and its `expires_at` as the answer gives it."""
        raise NotImplementedError

    def _fetch(self) -> None:
        response = post_json(
            self._endpoint, self._path, self._body(), self._retry, self._verify, self._caller()
        )
        if response.status != 201:
            raise api_error(response, self.describe(), self.HINTS)
        current, expires_at = self._read(response)
        try:
            expires = pendulum.parse(str(expires_at))
        except ValueError:
            expires = None
        if not isinstance(expires, pendulum.DateTime):
            raise ScmResponseError(f"POST {self._url}: expires_at is not a date and time")
        lifetime = max(0.0, (expires - pendulum.now("UTC")).total_seconds())
        self._current = current
        self._renew_at = time.monotonic() + lifetime - min(300.0, lifetime / 5)
        logger.info("fetched %s, valid %.0f s", self.describe(), lifetime)


class PasswordAuth(RenewedAuth):
    """Trades an IAM user's password for a domain-scoped token."""

    SENT_IN = "X-Auth-Token"

    def __init__(
        self,
        username: str,
        password: str,
        domain_name: str,
        iam_endpoint: str,
        retry: RetryPolicy,
        verify: str | bool = True,
    ) -> None:
        super().__init__(iam_endpoint, "/v3/auth/tokens", retry, verify)
        register(password)
        self._username = username
        self._password = password
        self._domain_name = domain_name

    def describe(self) -> str:
        return f"password of IAM user {self._username!r} in domain {self._domain_name!r}"

    def _body(self) -> dict[str, Any]:
        identity = {
            "name": self._username,
            "password": self._password,
            "domain": {"name": self._domain_name},
        }
        return {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": identity}},
                "scope": {"domain": {"name": self._domain_name}},
            }
        }

    def _read(self, response: Response) -> tuple[ScmAuth, Any]:
        token = response.headers.get("X-Subject-Token")
        if not token:
            raise ScmResponseError(f"POST {self._url}: answer has no X-Subject-Token header")
        return TokenAuth(token), _answer_field(response, self._url, "token", "expires_at")


class AgencyAuth(RenewedAuth):
    """Temporary keys for another account, through the agency it grants the caller's account
    (IAM's `assume_role`): the caller's own credential signs only the POST to IAM; the keys
    sign every request to that account's SCM, with its id as X-Domain-Id."""

    SENT_IN = "X-Security-Token"
    HINTS: ClassVar[Mapping[int, str]] = {
        403: (
            ": the account does not grant this agency to yours, or your IAM user may not assume"
            " it; create the agency in that account (README: Every account of an organization)"
        )
    }

    def __init__(
        self,
        caller: ScmAuth,
        agency_name: str,
        domain_id: str,
        duration_seconds: int,
        iam_endpoint: str,
        retry: RetryPolicy,
        verify: str | bool = True,
    ) -> None:
        super().__init__(iam_endpoint, "/v3.0/OS-CREDENTIAL/securitytokens", retry, verify)
        self._caller_auth = caller
        self._agency_name = agency_name
        self._domain_id = domain_id
        self._duration_seconds = duration_seconds

    def describe(self) -> str:
        return f"agency {self._agency_name!r} into account {self._domain_id}"

    def _caller(self) -> ScmAuth:
        return self._caller_auth

    def _body(self) -> dict[str, Any]:
        role = {
            "agency_name": self._agency_name,
            "domain_id": self._domain_id,
            "duration_seconds": self._duration_seconds,
        }
        return {"auth": {"identity": {"methods": ["assume_role"], "assume_role": role}}}

    def _read(self, response: Response) -> tuple[ScmAuth, Any]:
        fields = {
            name: _answer_field(response, self._url, "credential", name)
            for name in ("access", "secret", "securitytoken", "expires_at")
        }
        register(str(fields["secret"]), str(fields["securitytoken"]))
        keys = AccessKeyAuth(
            str(fields["access"]),
            str(fields["secret"]),
            str(fields["securitytoken"]),
            self._domain_id,
        )
        return keys, fields["expires_at"]


def _answer_field(response: Response, url: str, *path: str) -> Any:
    """A value nested in a JSON answer, or one line saying it is missing."""
    try:
        value: Any = response.json()
        for key in path:
            value = value[key]
    except (ValueError, KeyError, TypeError):
        value = None
    if value in (None, ""):
        raise ScmResponseError(f"POST {url}: answer has no {'.'.join(path)}")
    return value


def post_json(
    endpoint: str,
    path: str,
    body: dict[str, Any],
    retry: RetryPolicy,
    verify: str | bool,
    auth: ScmAuth | None = None,
) -> Response:
    """One POST to IAM (`endpoint` + `path`) with retries; never follows a redirect (it would
    carry the body)."""
    allowed_call("POST", path)
    url = endpoint + path
    transport = Transport(url, verify, connections=1)
    headers = {**HEADERS, "Content-Type": "application/json"}
    unsigned = Request("POST", url, headers, json.dumps(body).encode())

    def post() -> Response:
        request = auth(unsigned) if auth else unsigned  # each attempt signed anew
        return transport.send(request, retry.request_timeout_seconds)

    try:
        response = send_with_retries(post, retry, f"POST {url}")
    finally:
        transport.close()
    refuse_redirect(response)
    return response
