"""The simulator's private CAs (CCM's `GET /v1/private-certificate-authorities`): a root and
subordinates of every status, expiries spread around now, CRL on for some; listed with CCM's
filters (status, type, name) and its page limits (1 to 1,000), the total in `total`."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from scm_source.objects.private_cas import CA_STATUSES, CA_TYPES, PRIVATE_CAS
from scm_source.simulator.account import AccountIdentity
from scm_source.simulator.lists import SimulatedList
from scm_source.simulator.queries import choice

# (status, days until not_after) of the subordinates, in order; then random ones.
_SUBORDINATES = (("ACTIVED", 20), ("ACTIVED", 400), ("DISABLED", 90), ("EXPIRED", -15))


def millis(account: AccountIdentity, days: float) -> int:
    return int((account.now + timedelta(days=days)).timestamp() * 1000)


def generate(account: AccountIdentity, rng: random.Random, count: int) -> list[dict[str, Any]]:
    """`count` CAs: the first a root, the others subordinates it issued."""
    cas: list[dict[str, Any]] = []
    for index in range(count):
        root = index == 0
        status, days = (
            ("ACTIVED", 3650)
            if root
            else _SUBORDINATES[index - 1]
            if index - 1 < len(_SUBORDINATES)
            else (rng.choice(CA_STATUSES), rng.uniform(-60, 900))
        )
        crl = rng.random() < 0.5
        cas.append(
            {
                "ca_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "type": CA_TYPES[0] if root else CA_TYPES[1],
                "status": status,
                "path_length": 7 if root else 0,
                "issuer_id": None if root else cas[0]["ca_id"],
                "issuer_name": None if root else cas[0]["distinguished_name"]["common_name"],
                "key_algorithm": rng.choice(("RSA2048", "RSA4096", "EC256", "EC384")),
                "signature_algorithm": rng.choice(("SHA256", "SHA384", "SHA512")),
                "freeze_flag": 0,
                "gen_mode": "GENERATE",
                "serial_number": f"{rng.getrandbits(80):024d}"[:24],
                "create_time": millis(account, days - 3650 if root else days - 730),
                "delete_time": None,
                "not_before": millis(account, days - 3650 if root else days - 730),
                "not_after": millis(account, days),
                "distinguished_name": {
                    "common_name": f"Example {'Root' if root else 'Issuing'} CA {index}",
                    "country": "CN",
                    "state": "Guangdong",
                    "locality": "Shenzhen",
                    "organization": "Example Corp",
                    "organizational_unit": "PKI",
                },
                "crl_configuration": {
                    "enabled": crl,
                    "crl_name": f"crl-{index}" if crl else None,
                    "obs_bucket_name": "example-crl" if crl else None,
                    "valid_days": 7 if crl else None,
                    "crl_dis_point": f"https://example-crl.obs.example.com/crl-{index}.crl"
                    if crl
                    else None,
                },
                "enterprise_project_id": "0",
                "free_quota": 0 if root else 100,
                "charging_mode": 0,
                "cluster_id": None,
                "domain_id": account.domain_id,
            }
        )
    return cas


def ordered(
    records: Sequence[dict[str, Any]], query: dict[str, str], keys: dict[str, Any]
) -> list[dict[str, Any]]:
    """CCM's order: `sort_key` (default create_time), `sort_dir` (default DESC), then by id."""
    key = choice(query, "sort_key", tuple(keys), "create_time")
    descending = choice(query, "sort_dir", ("ASC", "DESC"), "DESC") == "DESC"
    chosen = sorted(records, key=lambda row: str(row.get("ca_id") or row.get("certificate_id")))
    return sorted(chosen, key=lambda row: keys[key](row), reverse=descending)


def listing(
    records: Sequence[dict[str, Any]], account: AccountIdentity, query: dict[str, str]
) -> list[dict[str, Any]]:
    status = choice(query, "status", CA_STATUSES, None)
    kind = choice(query, "type", CA_TYPES, None)
    name = query.get("name", "").lower()
    chosen = [
        ca
        for ca in records
        if (status is None or ca["status"] == status)
        and (kind is None or ca["type"] == kind)
        and (not name or name in ca["distinguished_name"]["common_name"].lower())
    ]
    keys = {
        "create_time": lambda ca: ca["create_time"],
        "common_name": lambda ca: ca["distinguished_name"]["common_name"],
        "type": lambda ca: ca["type"],
        "not_after": lambda ca: ca["not_after"],
    }
    return ordered(chosen, query, keys)


SIMULATED = SimulatedList(
    PRIVATE_CAS,
    "private_cas",
    listing,
    "path_length",
    ("not_after", "2031-01-01"),
    max_limit=1000,
    bounded=False,
)
