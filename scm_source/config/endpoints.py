"""Base URLs: any http(s) URL is accepted (regional, sovereign, a proxy, the simulator), but
never with userinfo, and plain http only to this machine, so that credentials cross the network
only inside TLS."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from scm_source.config.values import SECTION
from scm_source.errors import ScmConfigError

DEFAULT_ENDPOINT = "https://scm.ap-southeast-1.myhuaweicloud.com"
DEFAULT_IAM_ENDPOINT = "https://iam.myhuaweicloud.com"
# CCM (private CAs) is served from a host of its own on each of Huawei's sites, its region not
# always SCM's (scm-api-more.md, 0.1): SCM's host -> CCM's.
_CCM_HOSTS = {
    "scm.ap-southeast-1.myhuaweicloud.com": "ccm.ap-southeast-3.myhuaweicloud.com",
    "scm.cn-north-4.myhuaweicloud.com": "ccm.cn-north-4.myhuaweicloud.com",
    "scm.my-kualalumpur-1.myhuaweicloud.com": "ccm.my-kualalumpur-1.myhuaweicloud.com",
    "scm.eu-west-101.myhuaweicloud.eu": "ccm.eu-west-101.myhuaweicloud.eu",
    "scm.eu-west-101.myhuaweicloud.com": "ccm.eu-west-101.myhuaweicloud.com",
}


@dataclass(frozen=True)
class Service:
    """A host objects are read from, and the setting that names its base URL."""

    name: str
    setting: str


SCM = Service("scm", "endpoint")
CCM = Service("ccm", "ccm_endpoint")


# What each base URL setting looks like (an account's `<alias>.endpoint` as `endpoint`).
_EXAMPLES = {
    "endpoint": DEFAULT_ENDPOINT,
    "ccm_endpoint": "https://ccm.ap-southeast-3.myhuaweicloud.com",
    "iam_endpoint": DEFAULT_IAM_ENDPOINT,
    "organization.endpoint": "https://organizations.myhuaweicloud.com",
}


def default_ccm_endpoint(scm_endpoint: str) -> str:
    """CCM's base URL on the site of an SCM endpoint; for any other base URL (a proxy, the
    simulator) the same one, which then serves both."""
    parts = urlsplit(scm_endpoint)
    host = _CCM_HOSTS.get(parts.hostname or "")
    return (
        f"https://{host}" if host and not parts.port and parts.scheme == "https" else scm_endpoint
    )


def validate_endpoint(endpoint: str, setting: str = "endpoint") -> str:
    """The base URL without a trailing slash, or one line saying what is wrong with it."""
    parts = urlsplit(str(endpoint).strip())
    if "@" in parts.netloc:
        raise ScmConfigError(
            f"{setting} carries user:password@: dlt would keep it in its trace, and it would go to"
            f" every host; give a proxy's credentials in HTTPS_PROXY ({SECTION}."
            f"{setting})"
        )
    malformed = not parts.hostname or any(char.isspace() for char in parts.netloc)
    if parts.scheme not in ("http", "https") or malformed or parts.query or parts.fragment:
        example = _EXAMPLES.get(setting) or _EXAMPLES.get(setting.rsplit(".", 1)[-1])
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
