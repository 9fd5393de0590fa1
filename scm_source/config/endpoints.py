"""Base URLs: any http(s) URL is accepted (regional, sovereign, a proxy, the simulator), but
never with userinfo, and plain http only to this machine, so that credentials cross the network
only inside TLS."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from scm_source.config.values import SECTION
from scm_source.errors import ScmConfigError

DEFAULT_ENDPOINT = "https://scm.ap-southeast-1.myhuaweicloud.com"
DEFAULT_IAM_ENDPOINT = "https://iam.myhuaweicloud.com"


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
        example = DEFAULT_ENDPOINT if setting == "endpoint" else DEFAULT_IAM_ENDPOINT
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
