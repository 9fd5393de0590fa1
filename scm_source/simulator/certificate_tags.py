"""The simulator's certificates by tag (`POST /v3/scm/resource_instances/action`): every
certificate of the account with its tags (an owner and an environment for most) and its
resource detail in the tag API's own names and encodings (millisecond strings), with renewal
lineage: a renewed certificate names its successor, another certificate of the list."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from scm_source.objects.certificate_tags import CERTIFICATE_TAGS
from scm_source.simulator.account import AccountIdentity
from scm_source.simulator.certificates import CertificateRecord
from scm_source.simulator.lists import SimulatedList

OWNERS = ("team-payments", "team-identity", "team-web", "team-platform")
ENVIRONMENTS = ("prod", "staging", "dev")
RENEWABLE = ("EXPIRED", "ISSUED", "UPLOAD")


def tags(record: CertificateRecord) -> list[dict[str, str]]:
    rng = random.Random(f"tags-{record.api['id']}")
    chosen = []
    if rng.random() < 0.7:
        chosen.append({"key": "owner", "value": rng.choice(OWNERS)})
    if rng.random() < 0.6:
        chosen.append({"key": "env", "value": rng.choice(ENVIRONMENTS)})
    if rng.random() < 0.2:
        chosen.append({"key": "cost-center", "value": f"cc-{rng.randrange(100, 999)}"})
    return chosen


def lineage(records: Sequence[CertificateRecord]) -> dict[str, tuple[str | None, str | None]]:
    """(origin_cert_id, renewal_cert_id) by certificate: some certificates expired or expiring
    were renewed by the latest-expiring issued one of the same account not yet taken, which names
    the first as its origin. Linear in the records: a new query must not cost seconds."""
    successors = sorted(
        (r for r in records if r.api["status"] == "ISSUED"),
        key=lambda r: (r.expires_at, r.api["id"]),
        reverse=True,
    )
    links: dict[str, tuple[str | None, str | None]] = {}
    latest = 0  # successors before it are taken
    for record in sorted(records, key=lambda r: r.api["id"]):
        first = record.api["id"]
        rng = random.Random(f"renewal-{first}")
        if first in links or record.api["status"] not in RENEWABLE or rng.random() >= 0.3:
            continue
        while latest < len(successors) and successors[latest].api["id"] in links:
            latest += 1
        if latest == len(successors):
            break
        successor = successors[latest]
        if successor.expires_at <= record.expires_at or successor.api["id"] == first:
            continue
        links[first] = (None, successor.api["id"])
        links[successor.api["id"]] = (first, None)
    return links


def _millis(record: CertificateRecord, days: int = 0) -> str:
    return str(int(record.expires_at.timestamp() * 1000) - days * 86_400_000)


def resource(
    record: CertificateRecord, links: dict[str, tuple[str | None, str | None]]
) -> dict[str, Any]:
    """A TagResource: the certificate's id, name, tags and its resource detail."""
    api = record.api
    rng = random.Random(f"tagged-{api['id']}")
    origin, renewal = links.get(api["id"], (None, None))
    detail = {
        "cert_id": api["id"],
        "cert_name": api["name"],
        "domain": api["domain"],
        "cert_type": api["type"],
        "cert_brand": api["brand"],
        "domain_type": api["domain_type"],
        "purchase_period": 1,
        "expired_time": _millis(record),
        "order_status": api["status"],
        "domain_num": api["domain_count"],
        "wildcard_number": api["wildcard_count"],
        "sans": api["sans"],
        "cert_des": api.get("description", ""),
        "signature_algorithm": api["signature_algorithm"],
        "fail_reason": "",
        "partner_order_id": f"PO{api['id'][3:]}",
        "push_support": api["deploy_support"],  # a bool here, a string in the detail
        "cert_issued_time": _millis(record, days=365),
        "resource_id": api["id"],
        "unsubscribe_support": False,
        "enterprise_project_id": api.get("enterprise_project_id", "0"),
        "origin_cert_id": origin or "",
        "renewal_cert_id": renewal or "",
        "auto_renew_status": rng.choice((0, 1)),
        "remain_cert_number": rng.choice((0, 0, 1, 2)),
        "auto_deploy_support": rng.random() < 0.5,
    }
    return {
        "resource_id": api["id"],
        "resource_name": api["name"],
        "tags": tags(record),
        "resource_detail": detail,
    }


def listing(
    records: Sequence[CertificateRecord], account: AccountIdentity, query: dict[str, str]
) -> list[dict[str, Any]]:
    """Every certificate of the account (no tag filter), by id; `resource_name` (a `matches`
    search) keeps those whose name holds it."""
    links = lineage(records)
    name = query.get("resource_name", "").lower()
    chosen = sorted(
        (r for r in records if not name or name in r.api["name"].lower()),
        key=lambda r: r.api["id"],
    )
    return [resource(record, links) for record in chosen]


SIMULATED = SimulatedList(
    CERTIFICATE_TAGS, "certificates", listing, "tags", ("resource_detail", "2021-05-27")
)
