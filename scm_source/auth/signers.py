"""What adds a credential to each request (each attempt): an IAM token as is, or an access key
pair's SDK-HMAC-SHA256 signature, exactly as Huawei's SDK signs."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

from scm_source.auth import signing
from scm_source.http.transport import Request, Response
from scm_source.redaction import register


class ScmAuth:
    """Adds a credential to each request (each attempt); can say which credential it uses
    (never its value) and, where the credential is renewable, renew it after a 401."""

    def __call__(self, request: Request) -> Request:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def renew(self, refused: Response) -> bool:
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
