"""The API's accepted values and the validated settings built from dlt config.

Everything a user can get wrong is checked here, before the first request, so a bad value costs
one clear line instead of a 400 from the gateway halfway through a run.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pendulum
from pendulum.tz.timezone import Timezone

from scm_source.errors import ScmConfigError

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
    "ISSUED", "UPLOAD", "SUPPLEMENTCHECKING", "CANCELSUPPLEMENTING", "REVOKING", "CANCLEREVOKING",
)  # fmt: skip
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


def _one_of(setting: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    if value not in allowed:
        choices = ", ".join(str(choice) for choice in allowed)
        raise ScmConfigError(
            f"{setting}={value!r} is not accepted by the SCM API: use one of {choices}"
            f" (sources.scm_source.{setting})"
        )
    return value


def _optional_bool(setting: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ScmConfigError(
            f"{setting}={value!r} must be true or false (sources.scm_source.{setting})"
        )
    return value


def _api_bool(value: bool) -> str:
    return "true" if value else "false"


def validate_endpoint(endpoint: str, setting: str = "endpoint") -> str:
    """Any base URL is accepted (regional, sovereign, a proxy, the simulator) if it is http(s)."""
    parts = urlsplit(str(endpoint).strip())
    if "@" in parts.netloc:
        raise ScmConfigError(
            f"{setting} carries user:password@: dlt would keep it in its trace, and it would go to"
            " every host; give a proxy's credentials in HTTPS_PROXY (sources.scm_source."
            f"{setting})"
        )
    malformed = not parts.hostname or any(char.isspace() for char in parts.netloc)
    if parts.scheme not in ("http", "https") or malformed or parts.query or parts.fragment:
        example = DEFAULT_ENDPOINT if setting == "endpoint" else "https://iam.myhuaweicloud.com"
        raise ScmConfigError(
            f"{setting}={endpoint!r} is not a base URL: give one like {example}"
            f" (sources.scm_source.{setting})"
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
            f" the network in clear; use https:// (sources.scm_source.{setting})"
        )
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):  # loopback names (RFC 6761)
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_ca_bundle(path: str | None) -> str | bool:
    """requests' `verify`: True (the system's CAs) or a CA file; never False."""
    if path is None or path == "":
        return True
    if not Path(path).is_file():
        raise ScmConfigError(f"ca_bundle={path!r} is not a file (sources.scm_source.ca_bundle)")
    return str(path)


def validate_concurrency(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        raise ScmConfigError(
            f"max_concurrency={value!r} must be a whole number from 1 to 64"
            " (sources.scm_source.max_concurrency)"
        )
    return value


def validate_zone(name: str) -> Timezone:
    try:
        zone = pendulum.timezone(str(name))
    except ValueError:  # InvalidTimezone, or a plain ValueError for an empty name
        raise ScmConfigError(
            f"expire_time_zone={name!r} is not an IANA time zone: use e.g. Asia/Shanghai or UTC"
            " (sources.scm_source.expire_time_zone)"
        ) from None
    if not isinstance(zone, Timezone):
        raise ScmConfigError(f"expire_time_zone={name!r} must name a zone, not a fixed offset")
    return zone


@dataclass(frozen=True)
class CertificateFilters:
    """Query parameters of GET /v3/scm/certificates; None means "not sent, API default"."""

    status: str = "ALL"
    sort_key: str | None = None
    sort_dir: str | None = None
    enterprise_project_id: str | None = None
    deploy_support: bool | None = None
    owned_by_self: bool | None = None
    expired_days_since: int | None = None
    content: str | None = None

    def __post_init__(self) -> None:
        _one_of("status", self.status, CERTIFICATE_STATUS_FILTERS)
        if self.sort_key is not None:
            _one_of("sort_key", self.sort_key, SORT_KEYS)
        if self.sort_dir is not None:
            _one_of("sort_dir", self.sort_dir, SORT_DIRS)
        _optional_bool("deploy_support", self.deploy_support)
        _optional_bool("owned_by_self", self.owned_by_self)
        days = self.expired_days_since
        if days is not None and (
            isinstance(days, bool)
            or not isinstance(days, int)
            or not 0 <= days <= MAX_EXPIRED_DAYS_SINCE
        ):
            raise ScmConfigError(
                f"expired_days_since={days!r} is not accepted by the SCM API: use a whole number"
                f" from 0 to {MAX_EXPIRED_DAYS_SINCE} (sources.scm_source.expired_days_since)"
            )

    @property
    def narrows(self) -> bool:
        """True when the API will answer only part of the inventory."""
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


@dataclass(frozen=True)
class CsrFilters:
    """Query parameters of GET /v3/scm/csr."""

    name: str | None = None
    private_key_algo: str | None = None

    def __post_init__(self) -> None:
        if self.name is not None and len(self.name) > MAX_CSR_NAME_LENGTH:
            raise ScmConfigError(
                f"csr_name is {len(self.name)} characters long; the SCM API accepts at most"
                f" {MAX_CSR_NAME_LENGTH} (sources.scm_source.csr_name)"
            )
        if self.private_key_algo is not None:
            _one_of("private_key_algo", self.private_key_algo, PRIVATE_KEY_ALGOS)

    @property
    def narrows(self) -> bool:
        return bool(self.name or self.private_key_algo)

    def query(self) -> dict[str, str]:
        return {
            key: value
            for key, value in (("name", self.name), ("private_key_algo", self.private_key_algo))
            if value is not None
        }


@dataclass(frozen=True)
class PagingSettings:
    """How list endpoints are walked."""

    page_size: int = 50
    offset_mode: str = "auto"

    def __post_init__(self) -> None:
        _one_of("page_size", self.page_size, PAGE_SIZES)
        _one_of("offset_mode", self.offset_mode, OFFSET_MODES)
