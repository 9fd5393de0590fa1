"""The simulator's private certificates (CCM's `GET /v1/private-certificates`), issued by its
private CAs: expiries spread around now; a subject whose parts beyond the common name name a
person (the connector keeps only the common name)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import Any

from scm_source.objects.private_certificates import (
    PRIVATE_CERTIFICATE_STATUSES,
    PRIVATE_CERTIFICATES,
)
from scm_source.simulator.account import AccountIdentity
from scm_source.simulator.lists import SimulatedList
from scm_source.simulator.private_cas import millis, ordered
from scm_source.simulator.queries import choice

_EXPIRY_DAYS = (-20, 5, 12, 25, 45, 200, 400)


def subject_person(index: int) -> str:
    """A person's name in a certificate's subject: never to be stored."""
    return f"Holder Person{index:04d}"


def generate(
    account: AccountIdentity, rng: random.Random, cas: Sequence[dict[str, Any]], count: int
) -> list[dict[str, Any]]:
    issuers = [ca for ca in cas if ca["type"] == "SUBORDINATE"] or list(cas)
    certificates = []
    for index in range(count if issuers else 0):
        issuer = issuers[index % len(issuers)]
        days = _EXPIRY_DAYS[index] if index < len(_EXPIRY_DAYS) else rng.uniform(-60, 700)
        status = "EXPIRED" if days < 0 else ("REVOKED" if rng.random() < 0.1 else "ISSUED")
        certificates.append(
            {
                "certificate_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "status": status,
                "issuer_id": issuer["ca_id"],
                "issuer_name": issuer["distinguished_name"]["common_name"],
                "key_algorithm": rng.choice(("RSA2048", "EC256")),
                "signature_algorithm": "SHA256",
                "freeze_flag": 0,
                "gen_mode": "GENERATE",
                "serial_number": f"{rng.getrandbits(80):024d}"[:24],
                "create_time": millis(account, days - 365),
                "delete_time": None,
                "not_before": millis(account, days - 365),
                "not_after": millis(account, days),
                "distinguished_name": {
                    "common_name": f"svc-{index:03d}.internal.example.com",
                    "country": "CN",
                    "state": "Guangdong",
                    "locality": "Shenzhen",
                    "organization": "Example Corp",
                    "organizational_unit": subject_person(index),
                },
                "enc_cert_info": {"enc_serial_number": f"{rng.getrandbits(64):x}"},
                "enterprise_project_id": "0",
            }
        )
    return certificates


def listing(
    records: Sequence[dict[str, Any]], account: AccountIdentity, query: dict[str, str]
) -> list[dict[str, Any]]:
    status = choice(query, "status", PRIVATE_CERTIFICATE_STATUSES, None)
    name = query.get("name", "").lower()
    chosen = [
        each
        for each in records
        if (status is None or each["status"] == status)
        and (not name or name in each["distinguished_name"]["common_name"].lower())
    ]
    keys = {
        "create_time": lambda row: row["create_time"],
        "common_name": lambda row: row["distinguished_name"]["common_name"],
        "issuer_name": lambda row: row["issuer_name"],
        "not_after": lambda row: row["not_after"],
    }
    return ordered(chosen, query, keys)


SIMULATED = SimulatedList(
    PRIVATE_CERTIFICATES,
    "private_certificates",
    listing,
    "freeze_flag",
    ("not_after", "2031-01-01"),
    max_limit=1000,
    bounded=False,
)
