"""The API's accepted values and the validated settings built from dlt config.

Everything a user can get wrong is checked here, before the first request, so a bad value costs
one clear line instead of a 400 from the gateway halfway through a run.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pendulum
from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration
from pendulum.tz.timezone import Timezone

from scm_source.errors import ScmConfigError
from scm_source.retry import RetryPolicy

DEFAULT_ENDPOINT = "https://scm.ap-southeast-1.myhuaweicloud.com"
DEFAULT_EXPIRE_TIME_ZONE = "Asia/Shanghai"

PAGE_SIZES = (10, 20, 50)
OFFSET_MODES = ("auto", "record", "page")
CERTIFICATE_STATUS_FILTERS = (
    "ALL",
    "PAID",
    "ISSUED",
    "CHECKING",
    "CANCELCHECKING",
    "UNPASSED",
    "EXPIRED",
    "REVOKING",
    "REVOKED",
    "UPLOAD",
    "CHECKING_ORG",
    "ISSUING",
    "SUPPLEMENTCHECKING",
)
# Statuses a certificate can carry: the filter values but ALL, plus two only answers use
# (CANCLEREVOKING is spelled so by the API).
CERTIFICATE_STATUSES = (
    *CERTIFICATE_STATUS_FILTERS[1:],
    "CANCLEREVOKING",
    "CANCELSUPPLEMENTING",
)
# Statuses under which the account holds a usable certificate (the views' "valid").
VALID_STATUSES = (
    "ISSUED",
    "UPLOAD",
    "SUPPLEMENTCHECKING",
    "CANCELSUPPLEMENTING",
    "REVOKING",
    "CANCLEREVOKING",
)
SORT_KEYS = ("certExpiredTime", "certStatus", "certUpdateTime")
SORT_DIRS = ("ASC", "DESC")
PRIVATE_KEY_ALGOS = ("RSA_2048", "RSA_3072", "RSA_4096", "EC_P256", "EC_P384", "SM2")
CERTIFICATE_TYPES = (
    "DV_SSL_CERT",
    "DV_SSL_CERT_BASIC",
    "EV_SSL_CERT",
    "EV_SSL_CERT_PRO",
    "OV_SSL_CERT",
    "OV_SSL_CERT_PRO",
)
BRANDS = ("GLOBALSIGN", "SYMANTEC", "GEOTRUST", "CFCA", "TRUSTASIA")
DOMAIN_TYPES = ("SINGLE_DOMAIN", "WILDCARD", "MULTI_DOMAIN")
MAX_EXPIRED_DAYS_SINCE = 1095
MAX_CSR_NAME_LENGTH = 32


SECTION = "sources.scm_source"


def is_whole_number(value: object, low: int | None = None, high: int | None = None) -> bool:
    """A whole number as JSON and TOML give one (a bool is not one), within the bounds given."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def whole_number_setting(setting: str, value: Any, low: int, high: int) -> int:
    """`value` if it is a whole number within the bounds, else one line naming the setting."""
    if not is_whole_number(value, low, high):
        raise ScmConfigError(
            f"{setting}={value!r} must be a whole number from {low} to {high} ({SECTION}.{setting})"
        )
    return int(value)


def _one_of(setting: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    if value not in allowed:
        choices = ", ".join(str(choice) for choice in allowed)
        raise ScmConfigError(
            f"{setting}={value!r} is not accepted by the SCM API: use one of {choices}"
            f" ({SECTION}.{setting})"
        )
    return value


def _optional_bool(setting: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ScmConfigError(f"{setting}={value!r} must be true or false ({SECTION}.{setting})")
    return value


def _api_bool(value: bool) -> str:
    return "true" if value else "false"


def validate_endpoint(endpoint: str, setting: str = "endpoint") -> str:
    """Any base URL is accepted (regional, sovereign, a proxy, the simulator) if it is http(s)."""
    parts = urlsplit(str(endpoint).strip())
    if "@" in parts.netloc:
        raise ScmConfigError(
            f"{setting} carries user:password@: dlt would keep it in its trace, and it would go to"
            f" every host; give a proxy's credentials in HTTPS_PROXY ({SECTION}."
            f"{setting})"
        )
    malformed = not parts.hostname or any(char.isspace() for char in parts.netloc)
    if parts.scheme not in ("http", "https") or malformed or parts.query or parts.fragment:
        example = DEFAULT_ENDPOINT if setting == "endpoint" else "https://iam.myhuaweicloud.com"
        raise ScmConfigError(
            f"{setting}={endpoint!r} is not a base URL: give one like {example}"
            f" ({SECTION}.{setting})"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ScmConfigError(f"{setting}={endpoint!r} has a malformed port") from None
    return str(endpoint).strip().rstrip("/")


def refuse_plain_http(url: str, setting: str = "endpoint") -> str:
    """Credentials cross the network only inside TLS: plain http is for this machine alone (the
    simulator, a local proxy)."""
    parts = urlsplit(url)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        raise ScmConfigError(
            f"{setting}={url!r} is plain http to another machine: the credentials would cross"
            f" the network in clear; use https:// ({SECTION}.{setting})"
        )
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):  # loopback names (RFC 6761)
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _validate_zone(setting: str, name: str) -> Timezone:
    try:
        zone = pendulum.timezone(str(name))
    except ValueError:  # InvalidTimezone, or a plain ValueError for an empty name
        raise ScmConfigError(
            f"{setting}={name!r} is not an IANA time zone: use e.g. Asia/Shanghai or UTC"
            f" ({SECTION}.{setting})"
        ) from None
    if not isinstance(zone, Timezone):
        raise ScmConfigError(f"{setting}={name!r} must name a zone, not a fixed offset")
    return zone


@configspec
class ListSettings(BaseConfiguration):
    """How one list is walked, and its query parameters: `[sources.scm_source.<list name>]`.
    None means "not sent, the API's default"."""

    page_size: int = 50
    offset_mode: str = "auto"

    def check(self, section: str) -> None:
        """Raises ScmConfigError for the first value the API would refuse."""
        _one_of(f"{section}.page_size", self.page_size, PAGE_SIZES)
        _one_of(f"{section}.offset_mode", self.offset_mode, OFFSET_MODES)

    @property
    def narrows(self) -> bool:
        """True when the API will answer only part of the inventory."""
        return False

    def query(self) -> dict[str, str]:
        return {}


@configspec
class CertificateSettings(ListSettings):
    """GET /v3/scm/certificates; `expire_time_zone` reads the zone-less `expire_time`."""

    expire_time_zone: str = DEFAULT_EXPIRE_TIME_ZONE
    status: str = "ALL"
    sort_key: str | None = None
    sort_dir: str | None = None
    enterprise_project_id: str | None = None
    deploy_support: bool | None = None
    owned_by_self: bool | None = None
    expired_days_since: int | None = None
    content: str | None = None

    def check(self, section: str) -> None:
        super().check(section)
        _validate_zone(f"{section}.expire_time_zone", self.expire_time_zone)
        _one_of(f"{section}.status", self.status, CERTIFICATE_STATUS_FILTERS)
        if self.sort_key is not None:
            _one_of(f"{section}.sort_key", self.sort_key, SORT_KEYS)
        if self.sort_dir is not None:
            _one_of(f"{section}.sort_dir", self.sort_dir, SORT_DIRS)
        _optional_bool(f"{section}.deploy_support", self.deploy_support)
        _optional_bool(f"{section}.owned_by_self", self.owned_by_self)
        days = self.expired_days_since
        if days is not None and not is_whole_number(days, 0, MAX_EXPIRED_DAYS_SINCE):
            raise ScmConfigError(
                f"{section}.expired_days_since={days!r} is not accepted by the SCM API: use a"
                f" whole number from 0 to {MAX_EXPIRED_DAYS_SINCE}"
                f" ({SECTION}.{section}.expired_days_since)"
            )

    @property
    def zone(self) -> Timezone:
        return _validate_zone("expire_time_zone", self.expire_time_zone)

    @property
    def narrows(self) -> bool:
        return (
            self.status != "ALL"
            or self.deploy_support is not None
            or self.expired_days_since is not None
            or bool(self.content)
            or self.enterprise_project_id not in (None, "all")
        )

    def query(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.status != "ALL":
            params["status"] = self.status
        for key in ("sort_key", "sort_dir", "enterprise_project_id", "content"):
            if getattr(self, key) is not None:
                params[key] = getattr(self, key)
        for key in ("deploy_support", "owned_by_self"):
            if getattr(self, key) is not None:
                params[key] = _api_bool(getattr(self, key))
        if self.expired_days_since is not None:
            params["expired_days_since"] = str(self.expired_days_since)
        return params


@configspec
class CsrSettings(ListSettings):
    """GET /v3/scm/csr: `name` matches part of a CSR's name."""

    name: str | None = None
    private_key_algo: str | None = None

    def check(self, section: str) -> None:
        super().check(section)
        if self.name is not None and len(self.name) > MAX_CSR_NAME_LENGTH:
            raise ScmConfigError(
                f"{section}.name is {len(self.name)} characters long; the SCM API accepts at"
                f" most {MAX_CSR_NAME_LENGTH} ({SECTION}.{section}.name)"
            )
        if self.private_key_algo is not None:
            _one_of(f"{section}.private_key_algo", self.private_key_algo, PRIVATE_KEY_ALGOS)

    @property
    def narrows(self) -> bool:
        return bool(self.name or self.private_key_algo)

    def query(self) -> dict[str, str]:
        return {
            key: value
            for key, value in (("name", self.name), ("private_key_algo", self.private_key_algo))
            if value is not None
        }


@configspec
class HttpSettings(BaseConfiguration):
    """How requests are sent, for every list and account: `[sources.scm_source.http]`.
    `ca_bundle` is a CA file to verify TLS with instead of the system's (TLS is always verified);
    `max_concurrency` is the most requests in flight per account, which adapts below it to the
    gateway's throttling; `max_connections` bounds the requests in flight of every account
    together (the process's connections)."""

    max_attempts: int = 5
    max_retry_seconds: float = 120.0
    backoff_seconds: float = 1.0
    request_timeout_seconds: float = 60.0
    max_concurrency: int = 32
    max_connections: int = 64
    ca_bundle: str | None = None

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            max_retry_seconds=self.max_retry_seconds,
            backoff_seconds=self.backoff_seconds,
            request_timeout_seconds=self.request_timeout_seconds,
        )

    def verify(self) -> str | bool:
        """What TLS trusts: True (certifi's CAs) or a CA file; never False."""
        if self.ca_bundle is None or self.ca_bundle == "":
            return True
        if not Path(self.ca_bundle).is_file():
            raise ScmConfigError(
                f"http.ca_bundle={self.ca_bundle!r} is not a file ({SECTION}.http.ca_bundle)"
            )
        return str(self.ca_bundle)

    def concurrency(self) -> int:
        return whole_number_setting("http.max_concurrency", self.max_concurrency, 1, 64)

    def connections(self) -> int:
        return whole_number_setting("http.max_connections", self.max_connections, 1, 1024)
