"""The calls the connector may make, and nothing else: checked before every request, whatever the
verb. Read-only GETs of SCM, CCM and Organizations; SCM's two read-only POSTs (deployed resources,
the resource instances filter); IAM's POSTs for a token and for an agency's temporary keys. Never
an export or private-key API: ShowCsrPrivateKey is a GET, so calls are allowed by exact method
and path, never by verb."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from scm_source.errors import ScmError

# One id in a path: what SCM's and CCM's ids are made of (`scs1554192131150`, UUIDs).
_ID = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"


@dataclass(frozen=True)
class AllowedCall:
    method: str
    pattern: str  # a path; `{id}` stands for one id segment

    @property
    def name(self) -> str:
        return f"{self.method} {self.pattern}"

    @cached_property
    def _path(self) -> re.Pattern[str]:
        parts = re.split(r"({id})", self.pattern)
        return re.compile("".join(_ID if part == "{id}" else re.escape(part) for part in parts))

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self._path.fullmatch(path) is not None


ALLOWED_CALLS = (
    AllowedCall("GET", "/v3/scm/certificates"),
    AllowedCall("GET", "/v3/scm/certificates/{id}"),
    AllowedCall("GET", "/v3/scm/csr"),
    AllowedCall("POST", "/v3/scm/deployed-resources"),
    AllowedCall("POST", "/v3/scm/resource_instances/action"),
    AllowedCall("GET", "/v1/private-certificate-authorities"),
    AllowedCall("GET", "/v1/private-certificates"),
    AllowedCall("GET", "/v1/organizations"),
    AllowedCall("GET", "/v1/organizations/accounts"),
    AllowedCall("POST", "/v3/auth/tokens"),
    AllowedCall("POST", "/v3.0/OS-CREDENTIAL/securitytokens"),
)


class ScmCallRefused(ScmError):
    """A call outside the allow-list: refused before anything is sent."""


def allowed_call(method: str, path: str) -> AllowedCall:
    """The allowed call a request is, or ScmCallRefused: nothing outside the list is sent."""
    for call in ALLOWED_CALLS:
        if call.matches(method, path):
            return call
    raise ScmCallRefused(
        f"{method} {path} is not a call scm-export makes: the connector only reads, through an"
        " allow-list of exact calls (scm_source/http/allowed.py); nothing was sent"
    )
