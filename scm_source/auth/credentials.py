"""What the user configured (a dlt secrets spec), the one way of authenticating it chooses, and
the auth object that way builds. Chosen once, when the source is made: an account carries its
way; the directory only builds clients from it.

Three ways, chosen by which fields are set: an IAM token as is; an IAM user's password, traded
for a token; or an access key pair signing every request (temporary keys add a security token).
With nothing set, the Huawei SDK's own environment variables are used. Two more ways are not
configured but given: an agency another account grants the caller's, and the caller's own
credentials (an organization's management account).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import CredentialsConfiguration
from dlt.common.typing import TSecretStrValue

from scm_source.auth.iam import AgencyAuth, PasswordAuth
from scm_source.auth.signers import AccessKeyAuth, ScmAuth, TokenAuth
from scm_source.config.endpoints import DEFAULT_IAM_ENDPOINT, refuse_plain_http, validate_endpoint
from scm_source.errors import ScmConfigError
from scm_source.http.retry import RetryPolicy
from scm_source.redaction import register

logger = logging.getLogger(__name__)

SECTION = "sources.scm_source.credentials"
# The Huawei SDK's variables, used when nothing is configured: field -> variable.
SDK_ENVIRONMENT = {
    "access_key": "HUAWEICLOUD_SDK_AK",
    "secret_key": "HUAWEICLOUD_SDK_SK",
    "security_token": "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "domain_id": "HUAWEICLOUD_SDK_DOMAIN_ID",
}
# Each configurable way: the fields it needs, then the optional ones.
WAYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "auth_token": (("auth_token",), ()),
    "password": (("username", "password", "domain_name"), ()),
    "access_key": (("access_key", "secret_key"), ("security_token",)),
}


@configspec
class ScmCredentials(CredentialsConfiguration):
    """Every field is optional so that what is missing is reported by us in one line."""

    auth_token: TSecretStrValue | None = None
    username: str | None = None
    password: TSecretStrValue | None = None
    domain_name: str | None = None
    iam_endpoint: str | None = None
    access_key: str | None = None
    secret_key: TSecretStrValue | None = None
    security_token: TSecretStrValue | None = None
    domain_id: str | None = None


@dataclass(frozen=True)
class TokenWay:
    token: str = field(repr=False)


@dataclass(frozen=True)
class PasswordWay:
    username: str
    domain_name: str
    iam_endpoint: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class KeyWay:
    access_key: str
    domain_id: str | None
    secret_key: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AgencyWay:
    """Temporary keys through the agency the account grants the caller's account."""

    agency_name: str
    domain_id: str


@dataclass(frozen=True)
class CallerWay:
    """The caller's own credentials (the source's): an organization's management account."""


AuthWay = TokenWay | PasswordWay | KeyWay | AgencyWay | CallerWay


def any_set(credentials: ScmCredentials | None) -> bool:
    return any(
        getattr(credentials, name, None) not in (None, "")
        for name in ScmCredentials.__annotations__
    )


def choose_way(
    credentials: ScmCredentials | None, environ: Mapping[str, str], section: str = SECTION
) -> TokenWay | PasswordWay | KeyWay:
    """The one way the credentials describe, or one line saying what to set. `section` names
    where they are configured (an account's own section for several accounts); `environ` is
    where the SDK's variables are looked for ({} for a named account)."""
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
    register(values.get("auth_token"), values.get("password"), values.get("secret_key"))
    register(values.get("security_token"))
    if way == "auth_token":
        return TokenWay(values["auth_token"])
    if way == "password":
        return PasswordWay(
            values["username"],
            values["domain_name"],
            iam_endpoint(credentials, environ),
            values["password"],
        )
    domain_id = values.get("domain_id") or environ.get(SDK_ENVIRONMENT["domain_id"])
    if not domain_id:
        logger.info("no domain_id: X-Domain-Id is not sent (the Huawei SDK sends it for SCM)")
    return KeyWay(
        values["access_key"], domain_id, values["secret_key"], values.get("security_token")
    )


def iam_endpoint(credentials: ScmCredentials | None, environ: Mapping[str, str]) -> str:
    """Where IAM issues tokens and temporary keys: `credentials.iam_endpoint`, else the SDK's
    HUAWEICLOUD_SDK_IAM_ENDPOINT, else Huawei's global IAM."""
    configured = getattr(credentials, "iam_endpoint", None)
    given = configured or environ.get("HUAWEICLOUD_SDK_IAM_ENDPOINT") or DEFAULT_IAM_ENDPOINT
    return refuse_plain_http(validate_endpoint(given, "iam_endpoint"), "iam_endpoint")


@dataclass(frozen=True)
class IamReach:
    """What the IAM ways need besides the way itself: how requests are retried and verified,
    where agencies are assumed and for how long."""

    retry: RetryPolicy
    verify: str | bool
    iam_endpoint: str
    duration_seconds: int


def build_auth(way: AuthWay, caller: ScmAuth | None, iam: IamReach) -> ScmAuth:
    """The auth object of a way; the agency and caller ways sign with `caller`'s credentials."""
    if isinstance(way, TokenWay):
        return TokenAuth(way.token)
    if isinstance(way, PasswordWay):
        return PasswordAuth(
            way.username, way.password, way.domain_name, way.iam_endpoint, iam.retry, iam.verify
        )
    if isinstance(way, KeyWay):
        return AccessKeyAuth(way.access_key, way.secret_key, way.security_token, way.domain_id)
    if caller is None:
        raise ScmConfigError("an agency is named but the source has no credentials to assume it")
    if isinstance(way, CallerWay):
        return caller
    return AgencyAuth(
        caller,
        way.agency_name,
        way.domain_id,
        iam.duration_seconds,
        iam.iam_endpoint,
        iam.retry,
        iam.verify,
    )


_SDK_HINT = ", or the SDK's HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK"


def _fields_of(way: str, values: Mapping[str, str]) -> str:
    needed, optional = WAYS[way]
    return ", ".join(name for name in (*needed, *optional) if name in values)
