"""Every account of a Huawei Cloud organization (scm-api.md, "Organizations and agencies"): the
management account lists them, reads itself with the caller's own credentials and every active
member through the agency the member grants it.

    [sources.scm_source.organization]
    agency_name = "SCMReadOnlyAgency"
    # endpoint = "https://organizations.myhuaweicloud.com"
    # duration_seconds = 3600     # of the temporary keys (900..86400)
    # include = ["prod-*", "0b4f..."]   # account names (glob) or ids; default: every account
    # exclude = []
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration

from scm_source.config.endpoints import refuse_plain_http, validate_endpoint
from scm_source.config.values import SECTION, is_whole_number
from scm_source.errors import ScmConfigError, ScmResponseError
from scm_source.http.client import ScmClient

DEFAULT_ORGANIZATIONS_ENDPOINT = "https://organizations.myhuaweicloud.com"
ORGANIZATION_PATH = "/v1/organizations"
ACCOUNTS_PATH = "/v1/organizations/accounts"
ACCOUNTS_PAGE = 200
DURATION_SECONDS = (900, 86_400)
ACTIVE = "active"
_NOT_ALIAS = re.compile(r"[^a-z0-9_]+")
MAX_ALIAS = 63


@configspec
class OrganizationSettings(BaseConfiguration):
    """`[sources.scm_source.organization]`: without `agency_name`, no organization is read."""

    agency_name: str | None = None
    endpoint: str = DEFAULT_ORGANIZATIONS_ENDPOINT
    duration_seconds: int = 3600
    include: list[str] | None = None
    exclude: list[str] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.agency_name)

    def check(self) -> None:
        """Raises ScmConfigError for the first value that cannot be used."""
        where = f"{SECTION}.organization"
        if not is_whole_number(self.duration_seconds, *DURATION_SECONDS):
            raise ScmConfigError(
                f"organization.duration_seconds={self.duration_seconds!r} is not accepted by IAM:"
                f" use a whole number from {DURATION_SECONDS[0]} to {DURATION_SECONDS[1]}"
                f" ({where}.duration_seconds)"
            )
        setting = "organization.endpoint"
        refuse_plain_http(validate_endpoint(self.endpoint, setting), setting)
        for name in ("include", "exclude"):
            patterns = getattr(self, name)
            if patterns is not None and (
                isinstance(patterns, str)
                or not all(isinstance(each, str) and each for each in patterns)
            ):
                raise ScmConfigError(
                    f"organization.{name}={patterns!r} must be a list of account names (globs"
                    f' allowed) or ids, e.g. ["prod-*"] ({where}.{name})'
                )

    @property
    def base_url(self) -> str:
        return validate_endpoint(self.endpoint, "organization.endpoint")

    def selects(self, member: ListedAccount) -> bool:
        """Whether `include` (default: all) names the account and `exclude` does not."""
        return (self.include is None or _names(member, self.include)) and not _names(
            member, self.exclude or []
        )


@dataclass(frozen=True)
class ListedAccount:
    """An account as the organization lists it."""

    id: str  # the account's domain id
    name: str
    status: str

    @property
    def active(self) -> bool:
        return self.status.lower() == ACTIVE  # some SDK comments spell it in capitals


def _names(member: ListedAccount, patterns: Sequence[str]) -> bool:
    return any(member.id == pattern or fnmatchcase(member.name, pattern) for pattern in patterns)


def management_account_id(client: ScmClient) -> str:
    """The caller's account, read with its own credentials (ShowOrganization)."""
    body = client.get_json(ORGANIZATION_PATH, {})
    organization = body.get("organization")
    found = organization.get("management_account_id") if isinstance(organization, dict) else None
    if not isinstance(found, str) or not found:
        raise ScmResponseError(f"GET {ORGANIZATION_PATH}: answer has no management_account_id")
    return found


def list_members(client: ScmClient) -> Iterator[ListedAccount]:
    """Every account, the management account included, page by page until no marker is left."""
    marker: str | None = None
    seen: set[str] = set()
    while True:
        params = {"limit": str(ACCOUNTS_PAGE), **({"marker": marker} if marker else {})}
        body = client.get_json(ACCOUNTS_PATH, params)
        accounts, info = body.get("accounts"), body.get("page_info") or {}
        if not isinstance(accounts, list) or not isinstance(info, dict):
            raise ScmResponseError(f"GET {ACCOUNTS_PATH}: answer has no accounts list")
        for listed in accounts:
            yield _member(listed)
        marker = info.get("next_marker") or None
        if marker is None:
            return
        if marker in seen:
            raise ScmResponseError(f"GET {ACCOUNTS_PATH}: next_marker {marker!r} came back twice")
        seen.add(marker)


def _member(listed: Any) -> ListedAccount:
    fields = listed if isinstance(listed, dict) else {}
    values = [fields.get(name) for name in ("id", "name", "status")]
    texts = [value for value in values if isinstance(value, str) and value]
    if len(texts) != len(values):
        raise ScmResponseError(f"GET {ACCOUNTS_PATH}: an account lacks its id, name or status")
    return ListedAccount(*texts)


def aliases(members: Sequence[ListedAccount]) -> dict[str, str]:
    """Each account's alias (by id): its name made a valid one (lower case, `_` for anything
    else, a letter first); names that come out alike get the start of their id appended."""
    base = {member.id: _alias_of(member.name) for member in members}
    counts = Counter(base.values())
    return {
        id_: f"{alias[: MAX_ALIAS - 9]}_{_NOT_ALIAS.sub('_', id_.lower())[:8]}"
        if counts[alias] > 1
        else alias
        for id_, alias in base.items()
    }


def _alias_of(name: str) -> str:
    alias = _NOT_ALIAS.sub("_", name.lower()).strip("_") or "account"
    return (alias if alias[0].isalpha() else f"a_{alias}")[:MAX_ALIAS]
