"""Credentials (a dlt secrets spec), the one way of authenticating they choose, and its auth object.

Three ways, chosen by which fields are set: an IAM token as is; an IAM user's password, traded for
a token that is renewed before it expires and once after a 401; or an access key pair signing
every request (temporary keys add a security token). With nothing set, the Huawei SDK's own
environment variables are used.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, Optional
from urllib.parse import parse_qsl, urlsplit

import pendulum
from dlt.common.configuration import configspec
from dlt.common.configuration.specs import CredentialsConfiguration
from dlt.common.typing import TSecretStrValue

from scm_source import signing
from scm_source.errors import ScmApiError, ScmConfigError, ScmResponseError, refuse_redirect
from scm_source.redaction import register
from scm_source.retry import RetryPolicy, send_with_retries
from scm_source.settings import refuse_plain_http, validate_endpoint
from scm_source.transport import HEADERS, Answer, Request, Transport

logger = logging.getLogger(__name__)

DEFAULT_IAM_ENDPOINT = "https://iam.myhuaweicloud.com"
SECTION = "sources.scm_source.credentials"
# The Huawei SDK's variables, used when nothing is configured: field -> variable.
SDK_ENVIRONMENT = {
    "access_key": "HUAWEICLOUD_SDK_AK",
    "secret_key": "HUAWEICLOUD_SDK_SK",
    "security_token": "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "domain_id": "HUAWEICLOUD_SDK_DOMAIN_ID",
}
# Each way: the fields it needs, then the optional ones.
WAYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "auth_token": (("auth_token",), ()),
    "password": (("username", "password", "domain_name"), ()),
    "access_key": (("access_key", "secret_key"), ("security_token",)),
}


@configspec
class ScmCredentials(CredentialsConfiguration):
    """Every field is optional so that what is missing is reported by us in one line."""

    auth_token: Optional[TSecretStrValue] = None
    username: Optional[str] = None
    password: Optional[TSecretStrValue] = None
    domain_name: Optional[str] = None
    iam_endpoint: Optional[str] = None
    access_key: Optional[str] = None
    secret_key: Optional[TSecretStrValue] = None
    security_token: Optional[TSecretStrValue] = None
    domain_id: Optional[str] = None


class ScmAuth:
    """Adds a credential to each request (each attempt); can say which credential it uses
    (never its value) and, where the credential is renewable, renew it after a 401."""

    def __call__(self, request: Request) -> Request:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def renew(self, refused: Answer) -> bool:
        """After a 401 to `refused`: True when a retry with a renewed credential may pass."""
        return False

    def identity(self) -> str | None:
        """The value a request carries that tells this credential from a renewed one."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.describe()}>"


class TokenAuth(ScmAuth):
    """Sends an IAM user token as `X-Auth-Token`."""

    def __init__(self, token: str) -> None:
        register(token)
        self._token = token

    def describe(self) -> str:
        return "auth_token"

    def identity(self) -> str:
        return self._token

    def __call__(self, request: Request) -> Request:
        return replace(request, headers={**request.headers, "X-Auth-Token": self._token})


class RenewedAuth(ScmAuth):
    """A credential IAM issues for a while (a user token, temporary keys), fetched on first use
    and kept until shortly before it expires (a fifth of its life, at most 5 minutes early) or
    until the API answers 401. Subclasses say what to POST and how to read and send the answer."""

    SENT_IN = ""  # the header that tells which credential a request went with
    HINTS: ClassVar[Mapping[int, str]] = {}  # what to do about a refusal, where IAM tells more

    def __init__(self, url: str, retry: RetryPolicy, verify: str | bool) -> None:
        self._url = url
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

    def renew(self, refused: Answer) -> bool:
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

    def _read(self, response: Answer) -> tuple[ScmAuth, Any]:
        """The credential in a 201 answer, and its `expires_at` as the answer gives it."""
        raise NotImplementedError

    def _fetch(self) -> None:
        response = post_json(self._url, self._body(), self._retry, self._verify, self._caller())
        if response.status != 201:
            raise ScmApiError.from_response(response, self.describe(), self.HINTS)
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
        super().__init__(f"{iam_endpoint}/v3/auth/tokens", retry, verify)
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

    def _read(self, response: Answer) -> tuple[ScmAuth, Any]:
        token = response.headers.get("X-Subject-Token")
        if not token:
            raise ScmResponseError(f"POST {self._url}: answer has no X-Subject-Token header")
        return TokenAuth(token), _field(response, self._url, "token", "expires_at")


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
        super().__init__(f"{iam_endpoint}/v3.0/OS-CREDENTIAL/securitytokens", retry, verify)
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

    def _read(self, response: Answer) -> tuple[ScmAuth, Any]:
        fields = {
            name: _field(response, self._url, "credential", name)
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


def _field(response: Answer, url: str, *path: str) -> Any:
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
    url: str,
    body: dict[str, Any],
    retry: RetryPolicy,
    verify: str | bool,
    auth: ScmAuth | None = None,
) -> Answer:
    """One POST to IAM with retries; never follows a redirect (it would carry the body)."""
    transport = Transport(url, verify, connections=1)
    headers = {**HEADERS, "Content-Type": "application/json"}
    unsigned = Request("POST", url, headers, json.dumps(body).encode())

    def post() -> Answer:
        request = auth(unsigned) if auth else unsigned  # each attempt signed anew
        return transport.send(request, retry.request_timeout_seconds)

    try:
        response = send_with_retries(post, retry, f"POST {url}")
    finally:
        transport.close()
    refuse_redirect(response)
    return response


class AccessKeyAuth(ScmAuth):
    """Signs each request (each attempt) with SDK-HMAC-SHA256, as the Huawei SDK does."""

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        security_token: str | None = None,
        domain_id: str | None = None,
    ) -> None:
        register(secret_key, security_token)
        self._access_key = access_key
        self._secret_key = secret_key
        self._security_token = security_token
        self._domain_id = domain_id

    def describe(self) -> str:
        kind = "temporary access key" if self._security_token else "access key"
        return f"{kind} {self._access_key[:4]}…{self._access_key[-4:]}"

    def identity(self) -> str | None:
        return self._security_token

    def __call__(self, request: Request) -> Request:
        parts = urlsplit(request.url)
        # Send the query exactly as it is signed (%20, not "+"), as the SDK does.
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = signing.canonical_query(pairs)
        headers = {"Host": parts.netloc, signing.DATE_HEADER: signing.sdk_date()}
        if self._security_token:
            headers["X-Security-Token"] = self._security_token
        if self._domain_id:
            headers["X-Domain-Id"] = self._domain_id
        lower = {name.lower(): value for name, value in headers.items()}
        signed_headers = sorted(lower)
        canonical = signing.canonical_request(
            request.method, parts.path, pairs, lower, signed_headers, request.body
        )
        headers["Authorization"] = signing.authorization(
            self._access_key,
            signed_headers,
            signing.signature(self._secret_key, headers[signing.DATE_HEADER], canonical),
        )
        return replace(
            request,
            url=parts._replace(query=query).geturl(),
            headers={**request.headers, **headers},
        )


def make_auth(
    credentials: ScmCredentials | None,
    retry: RetryPolicy,
    environ: Mapping[str, str] = os.environ,
    verify: str | bool = True,
    section: str = SECTION,
) -> ScmAuth:
    """Picks the one way the credentials describe, or says in one line what to set. `section`
    names where they are configured (an account's own section for several accounts)."""
    env_prefix = section.upper().replace(".", "__") + "__"
    given = {name: getattr(credentials, name, None) for name in ScmCredentials.__annotations__}
    values = {name: str(value) for name, value in given.items() if value not in (None, "")}
    ways = [way for way, (needed, optional) in WAYS.items() if values.keys() & {*needed, *optional}]
    if not ways:
        sdk = {name: environ[var] for name, var in SDK_ENVIRONMENT.items() if environ.get(var)}
        if sdk.keys() & {"access_key", "secret_key", "security_token"}:
            values, ways = {**sdk, **values}, ["access_key"]
    if not ways:
        raise ScmConfigError(
            f"no SCM credentials: under [{section}] set auth_token; or username, password and"
            " domain_name; or access_key and secret_key (env"
            f" {env_prefix}<NAME>{_SDK_HINT if environ else ''})"
        )
    if len(ways) > 1:
        raise ScmConfigError(
            f"conflicting SCM credentials: {' and '.join(_fields_of(w, values) for w in ways)}"
            f" are all set under [{section}]; keep exactly one way"
        )
    way = ways[0]
    missing = [name for name in WAYS[way][0] if name not in values]
    if missing:
        raise ScmConfigError(
            f"incomplete SCM credentials: {_fields_of(way, values)} set but"
            f" {', '.join(missing)} missing (under [{section}] or {env_prefix}{missing[0].upper()})"
        )
    if way == "auth_token":
        return TokenAuth(values["auth_token"])
    if way == "password":
        return PasswordAuth(
            values["username"],
            values["password"],
            values["domain_name"],
            iam_endpoint(credentials, environ),
            retry,
            verify,
        )
    domain_id = values.get("domain_id") or environ.get(SDK_ENVIRONMENT["domain_id"])
    if not domain_id:
        logger.info("no domain_id: X-Domain-Id is not sent (the Huawei SDK sends it for SCM)")
    return AccessKeyAuth(
        values["access_key"], values["secret_key"], values.get("security_token"), domain_id
    )


def iam_endpoint(credentials: ScmCredentials | None, environ: Mapping[str, str]) -> str:
    """Where IAM issues tokens and temporary keys: `credentials.iam_endpoint`, else the SDK's
    HUAWEICLOUD_SDK_IAM_ENDPOINT, else Huawei's global IAM."""
    configured = getattr(credentials, "iam_endpoint", None)
    given = configured or environ.get("HUAWEICLOUD_SDK_IAM_ENDPOINT") or DEFAULT_IAM_ENDPOINT
    return refuse_plain_http(validate_endpoint(given, "iam_endpoint"), "iam_endpoint")


_SDK_HINT = ", or the SDK's HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK"


def _fields_of(way: str, values: Mapping[str, str]) -> str:
    needed, optional = WAYS[way]
    return ", ".join(name for name in (*needed, *optional) if name in values)
