"""The simulator's certificates: generated from a seed so that every status, type, brand and
domain type appears and expiries spread around now, and listed as `GET /v3/scm/certificates`
lists them (every filter and sort order)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scm_source.objects.certificates import (
    BRANDS,
    CERTIFICATE_STATUS_FILTERS,
    CERTIFICATE_STATUSES,
    CERTIFICATE_TYPES,
    CERTIFICATES,
    DOMAIN_TYPES,
    MAX_EXPIRED_DAYS_SINCE,
    SORT_DIRS,
    SORT_KEYS,
)
from scm_source.simulator.account import AccountIdentity
from scm_source.simulator.lists import SimulatedList
from scm_source.simulator.queries import boolean, choice, integer

# Days from now for the first certificates, so that every report bucket is populated even in a
# small data set: long expired, just expired, within 7, 14, 30, 60, 90 days, and far off.
_EXPIRY_PATTERN_DAYS = (-400, -20, -1, 2, 6, 10, 13, 25, 29, 45, 75, 88, 200, 700)
HOSTS = ("www", "api", "mail", "shop", "cdn", "vpn", "app", "portal", "auth", "static")
# Most certificates are issued, expired or uploaded; states on the way are rare, and rarest the
# two no status filter selects (the planner finds them by sorting).
_COMMON_STATUSES = {"ISSUED": 32, "EXPIRED": 12, "UPLOAD": 8, "REVOKED": 4}
_STATUS_WEIGHTS = (*(_COMMON_STATUSES.get(status, 2) for status in CERTIFICATE_STATUSES[:-2]), 1, 1)
_SIGNATURES = ("SHA256WITHRSA", "SHA384WITHECDSA", "SM3WITHSM2")
_PROJECTS = (
    "0",
    "0",
    "0",
    "6f4b1c1e-5d0f-4d3a-9a49-2a8f0c7d1e11",
    "b1f5a3d2-77c4-4c8e-8a0e-3f9d2e6c4a55",
)


@dataclass
class CertificateRecord:
    """A certificate as the API lists it, and what the API does not return (its expiry instant,
    the update time `certUpdateTime` sorts by, ownership), so that tests can compute expected
    results without re-parsing what the connector parses."""

    api: dict[str, Any]
    expires_at: datetime
    updated_at: datetime
    owned_by_self: bool = True


def generate(
    account: AccountIdentity, rng: random.Random, index: int, legacy: bool
) -> CertificateRecord:
    """The `index`th certificate of an account; `legacy` drops the fields older APIs lack."""

    def cycle(values: tuple[str, ...]) -> str:
        """Every value once, in order, then random picks."""
        return values[index] if index < len(values) else rng.choice(values)

    status = (
        CERTIFICATE_STATUSES[index]
        if index < len(CERTIFICATE_STATUSES)
        else rng.choices(CERTIFICATE_STATUSES, _STATUS_WEIGHTS)[0]
    )
    domain_type = DOMAIN_TYPES[index % len(DOMAIN_TYPES)]
    apex = f"corp{rng.randrange(max(4, index // 25 + 1))}.example.com"
    host = f"{rng.choice(HOSTS)}.{apex}"
    if domain_type == "WILDCARD":
        domain, names = f"*.{apex}", [f"*.{apex}"]
    elif domain_type == "MULTI_DOMAIN":
        extra = rng.sample(HOSTS, rng.randint(1, 3))
        names = [host, apex, *(f"{name}.{apex}" for name in extra if f"{name}.{apex}" != host)]
        if rng.random() < 0.3:
            names.append(f"*.{rng.choice(HOSTS)}.{apex}")
        domain = host
    else:
        domain, names = host, [host]
    sans = ";".join(names[1:]) if domain_type == "MULTI_DOMAIN" else rng.choice(("", domain))
    days = (
        _EXPIRY_PATTERN_DAYS[index] if index < len(_EXPIRY_PATTERN_DAYS) else rng.uniform(-400, 800)
    )
    if status == "EXPIRED":  # the API marks a certificate EXPIRED after its date, not before
        days = -abs(days) - 1
    # Whole seconds: the API's string carries no more.
    expires_at = (account.now + timedelta(days=days, seconds=rng.randrange(86_400))).replace(
        microsecond=0
    )
    api: dict[str, Any] = {
        "id": account.next_certificate_id(rng),
        "name": f"cert-{index:05d}-{host.split('.')[0]}",
        "domain": domain,
        "sans": sans,
        "signature_algorithm": rng.choice(_SIGNATURES),
        "deploy_support": rng.random() < 0.7,
        "type": cycle(CERTIFICATE_TYPES),
        "brand": cycle(BRANDS),
        "expire_time": account.format_expire_time(expires_at),
        "domain_type": domain_type,
        "validity_period": 12,
        "status": status,
        "domain_count": len(names),
        "wildcard_count": sum(name.startswith("*.") for name in names),
    }
    if rng.random() < 0.6:  # optional in the API: often simply absent
        api["description"] = f"{apex} {status.lower()} certificate"
    if not legacy:
        api["domain_id"] = account.domain_id
        api["enterprise_project_id"] = rng.choice(_PROJECTS)
    updated_at = account.now - timedelta(seconds=rng.randrange(365 * 86_400))
    return CertificateRecord(api, expires_at, updated_at, owned_by_self=rng.random() < 0.9)


def listing(
    records: Sequence[CertificateRecord], account: AccountIdentity, query: dict[str, str]
) -> list[dict[str, Any]]:
    """`GET /v3/scm/certificates` over the account's certificates, paging aside."""
    status = choice(query, "status", ("ALL", *CERTIFICATE_STATUS_FILTERS[1:]), "ALL")
    sort_key = choice(query, "sort_key", SORT_KEYS, "certUpdateTime")
    descending = choice(query, "sort_dir", SORT_DIRS, "DESC") == "DESC"
    project = query.get("enterprise_project_id")
    deploy = boolean(query, "deploy_support")
    owned_only = boolean(query, "owned_by_self")
    days = integer(query, "expired_days_since", 0, MAX_EXPIRED_DAYS_SINCE)
    content = query.get("content", "").lower()

    def keep(record: CertificateRecord) -> bool:
        api = record.api
        return (
            (status == "ALL" or api["status"] == status)
            and (project in (None, "all") or api.get("enterprise_project_id") == project)
            and (deploy is None or api["deploy_support"] == deploy)
            and (owned_only is False or record.owned_by_self)
            and (days is None or record.expires_at >= account.now - timedelta(days=days))
            and (not content or content in api["name"].lower() or content in api["domain"].lower())
        )

    sort_value: Callable[[CertificateRecord], Any] = {
        "certExpiredTime": lambda record: record.expires_at,
        "certStatus": lambda record: record.api["status"],
        "certUpdateTime": lambda record: record.updated_at,
    }[sort_key]
    chosen = sorted((r for r in records if keep(r)), key=lambda r: r.api["id"])
    chosen.sort(key=sort_value, reverse=descending)
    return [record.api for record in chosen]


SIMULATED = SimulatedList(
    CERTIFICATES, "certificates", listing, "deploy_support", ("expire_time", "27/05/2021 16:46")
)
