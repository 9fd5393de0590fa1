"""A Huawei Cloud organization, as the simulator serves it (scm-api.md, "Organizations and
agencies"): `GET /v1/organizations` (which account manages it) and `GET
/v1/organizations/accounts` for the management account (marker paging, the management account
listed too) and IAM's `assume_role`, which issues temporary keys for a member
that grants the caller's account the agency named; each member holds an inventory of its own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from scm_source.simulator.dataset import Dataset
from scm_source.simulator.gateway import AccessKey, Gateway, Reply

ORGANIZATION_PATH = "/v1/organizations"
ORGANIZATIONS_ACCOUNTS_PATH = "/v1/organizations/accounts"
SECURITY_TOKENS_PATH = "/v3.0/OS-CREDENTIAL/securitytokens"
MAX_ACCOUNTS_LIMIT = 1000
DURATION_SECONDS = (900, 86_400)


@dataclass(frozen=True)
class Member:
    """One account of the organization."""

    id: str  # the account's domain id
    name: str
    dataset: Dataset
    status: str = "active"  # active, suspended, pending_closure
    agency: str | None = "SCMReadOnlyAgency"  # what it grants the management account; None: none
    joined_at: str = "2024-03-01T08:00:00Z"
    join_method: str = "created"

    def listing(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "urn": f"organizations::{self.id}:account:o-sim/{self.id}",
            "join_method": self.join_method,
            "status": self.status,
            "joined_at": self.joined_at,
            "name": self.name,
        }


@dataclass
class Organization:
    """The management account (read with the caller's own credentials, listed first) and its
    members. `key_lifetime_seconds` overrides the asked `duration_seconds`, for tests of
    renewal."""

    management: Member
    members: tuple[Member, ...]
    key_lifetime_seconds: float | None = None

    def __post_init__(self) -> None:
        self._by_key: dict[str, Member] = {}

    @property
    def accounts(self) -> tuple[Member, ...]:
        return (self.management, *self.members)

    def member_of(self, access_key: str | None) -> Member | None:
        """The member whose temporary keys these are, if they are."""
        return self._by_key.get(access_key or "")

    def show(self) -> Reply:
        """ShowOrganization: which account manages it."""
        organization = {
            "id": "o-sim",
            "urn": "organizations::o-sim",
            "management_account_id": self.management.id,
            "management_account_name": self.management.name,
            "created_at": "2024-01-15T08:00:00Z",
        }
        return 200, {}, {"organization": organization}

    def list_accounts(self, query: dict[str, str]) -> Reply:
        limit_text, marker = query.get("limit", "200"), query.get("marker", "")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_ACCOUNTS_LIMIT:
            return _error(400, "Organizations.1000", "Invalid parameter: limit")
        if marker and not (marker.isdigit() and int(marker) < len(self.accounts)):
            return _error(400, "Organizations.1000", "Invalid parameter: marker")
        start = int(marker or 0)
        end = start + int(limit_text)
        page = [member.listing() for member in self.accounts[start:end]]
        following = str(end) if end < len(self.accounts) else None
        info = {"next_marker": following, "current_count": len(page)}
        return 200, {}, {"accounts": page, "page_info": info}

    def assume_role(self, body: bytes, gateway: Gateway) -> Reply:
        """POST securitytokens with the assume_role method: temporary keys for the member."""
        try:
            role = json.loads(body)["auth"]["identity"]["assume_role"]
            agency, duration = str(role["agency_name"]), int(role.get("duration_seconds", 900))
            wanted = role.get("domain_id") or role.get("domain_name")
        except (ValueError, KeyError, TypeError):
            return _error(400, "IAM.0003", "The request body is invalid.")
        if not DURATION_SECONDS[0] <= duration <= DURATION_SECONDS[1]:
            return _error(400, "IAM.0003", "duration_seconds must be within 900 and 86400")
        member = next((m for m in self.members if wanted in (m.id, m.name)), None)
        if member is None or member.agency != agency:
            return _error(403, "IAM.0002", "You are not authorized to assume this agency.")
        lifetime = self.key_lifetime_seconds
        lifetime = float(duration) if lifetime is None else lifetime
        key, expires = gateway.issue_temporary_key(lifetime)
        self._by_key[key.access_key] = member
        return 201, {}, {"credential": _credential(key, expires.isoformat())}


def _credential(key: AccessKey, expires_at: str) -> dict[str, Any]:
    return {
        "access": key.access_key,
        "secret": key.secret_key,
        "securitytoken": key.security_token,
        "expires_at": expires_at.replace("+00:00", "Z"),
    }


def _error(status: int, code: str, message: str) -> Reply:
    return status, {}, {"error_code": code, "error_msg": message}
