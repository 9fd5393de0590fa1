"""Credentials (a dlt secrets spec) and the requests auth objects built from them."""

from __future__ import annotations

from typing import Optional

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import CredentialsConfiguration
from dlt.common.typing import TSecretStrValue
from requests import PreparedRequest
from requests.auth import AuthBase

from scm_source.errors import ScmConfigError

CREDENTIALS_SECTION = "sources.scm_source.credentials"


@configspec
class ScmCredentials(CredentialsConfiguration):
    """Every field is optional so that a missing one is reported by us in one line, not by dlt."""

    auth_token: Optional[TSecretStrValue] = None


class TokenAuth(AuthBase):
    """Sends an IAM user token as `X-Auth-Token`."""

    name = "auth_token"

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["X-Auth-Token"] = self._token
        return request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"


def make_auth(credentials: ScmCredentials | None) -> TokenAuth:
    """Picks the one way of authenticating the credentials describe, or says what to set."""
    if credentials is None or not credentials.auth_token:
        raise ScmConfigError(
            "no SCM credentials: set auth_token under [sources.scm_source.credentials] in"
            " .dlt/secrets.toml or SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN"
        )
    return TokenAuth(str(credentials.auth_token))
