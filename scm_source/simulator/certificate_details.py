"""The simulator's certificate details (`GET /v3/scm/certificates/{id}`): derived from each
certificate as listed now, deterministically from its id, with what the connector must never
store: an applicant's name, phone and e-mail (`application_info`) and domain-validation records
(`authentification`)."""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta
from typing import Any

from scm_source.simulator.account import AccountIdentity
from scm_source.simulator.certificates import CertificateRecord

ISSUED_LIKE = ("ISSUED", "UPLOAD", "EXPIRED", "REVOKED", "REVOKING", "SUPPLEMENTCHECKING")
VALIDATION_METHODS = ("DNS", "FILE", "EMAIL")
PUSH_SUPPORT = ("SUPPORT", "NOT_SUPPORT")


def applicant(certificate_id: str) -> dict[str, str]:
    """Who applied for a certificate: personal data the connector must drop."""
    suffix = certificate_id[-6:]
    return {
        "applicant_name": f"Applicant Person{suffix}",
        "applicant_phone": f"+86-138{suffix}",
        "applicant_email": f"applicant.{suffix}@mail.example.org",
        "contact_name": f"Contact Person{suffix}",
        "contact_phone": f"+65-9{suffix}",
        "contact_email": f"contact.{suffix}@mail.example.org",
        "company_name": "Example Holdings Ltd",
        "company_province": "Guangdong",
        "company_city": "Shenzhen",
        "country": "CN",
    }


def detail(record: CertificateRecord, account: AccountIdentity) -> dict[str, Any]:
    """The 26 fields of ShowCertificate, flat, as the SDK's model has them."""
    api = record.api
    rng = random.Random(f"detail-{api['id']}")
    issued = api["status"] in ISSUED_LIKE
    not_before = record.expires_at - timedelta(days=365)
    domain = str(api.get("domain") or "")
    return {
        "id": api["id"],
        "status": api["status"],
        "order_id": f"CS{api['id'][3:]}",
        "name": api.get("name"),
        "type": api.get("type"),
        "brand": api.get("brand"),
        "push_support": rng.choice(PUSH_SUPPORT),  # a string here, a bool elsewhere
        "revoke_reason": "KEY_COMPROMISE" if api["status"] == "REVOKED" else "",
        "signature_algorithm": api.get("signature_algorithm"),
        "issue_time": account.format_expire_time(not_before) if issued else "",
        "not_before": account.format_expire_time(not_before) if issued else "",
        "not_after": api["expire_time"] if issued else "",
        "validity_period": api.get("validity_period"),
        "validation_method": rng.choice(VALIDATION_METHODS),
        "domain_type": api.get("domain_type"),
        "multi_domain_type": "primary_wildcard" if domain.startswith("*.") else "primary_single",
        "domain": api.get("domain"),
        "sans": api.get("sans"),
        "domain_count": api.get("domain_count"),
        "wildcard_count": api.get("wildcard_count"),
        "fingerprint": hashlib.sha1(api["id"].encode()).hexdigest().upper(),
        "shared": False,
        "application_info": applicant(api["id"]),
        "description": api.get("description"),
        "enterprise_project_id": api.get("enterprise_project_id"),
        "authentification": [
            {
                "record_name": f"_dnsauth.{domain.removeprefix('*.')}",
                "record_type": "TXT",
                "record_value": hashlib.sha256(api["id"].encode()).hexdigest(),
                "domain": domain,
            }
        ],
    }
