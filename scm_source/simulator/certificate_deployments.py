"""The simulator's deployments (`POST /v3/scm/deployed-resources`): where each issued or
uploaded certificate (not SM2) is deployed, deterministically from its id, with the API's quirks:
a region that answers `is_error`, a listing cut short (`resource_num` above what is listed), CDN
in the region `global`."""

from __future__ import annotations

import json
import random
from typing import Any

from scm_source.simulator.certificates import CertificateRecord
from scm_source.simulator.queries import BadParameter

SERVICES = {"ELB": ("ap-southeast-1", "cn-north-4"), "WAF": ("ap-southeast-1",), "CDN": ("global",)}
LOCATIONS = {"ELB": "region", "WAF": "region", "CDN": "global"}
MAX_IDS = 50


def deployable(record: CertificateRecord) -> bool:
    api = record.api
    return api["status"] in ("ISSUED", "UPLOAD") and "SM2" not in api["signature_algorithm"]


def deployed(record: CertificateRecord) -> list[dict[str, Any]]:
    """Its `deployed_resources`: per service, the regions and their resources."""
    rng = random.Random(f"deployed-{record.api['id']}")
    if not deployable(record) or rng.random() < 0.35:
        return []
    chosen = rng.sample(sorted(SERVICES), rng.randint(1, 3))
    services = []
    for service in chosen:
        regions = []
        counted = 0
        for region in SERVICES[service]:
            resources = [
                {
                    "resource_id": f"{service.lower()}-{record.api['id'][-6:]}-{region}-{n}",
                    "resource_name": f"{service.lower()}-listener-{n}",
                }
                for n in range(rng.randint(1, 3))
            ]
            in_error = rng.random() < 0.1
            regions.append({"region_id": region, "is_error": in_error, "resources": resources})
            counted += len(resources)
        cut = rng.random() < 0.15  # the API lists at most so many: the count says more
        services.append(
            {
                "service": service,
                "resource_num": counted + (rng.randint(1, 5) if cut else 0),
                "resource_location": LOCATIONS[service],
                "region_resources": regions,
            }
        )
    return services


def answer(records: dict[str, CertificateRecord], body: bytes) -> dict[str, Any]:
    """The results for the certificates a body asks about (1..50 ids, known services)."""
    try:
        asked = json.loads(body)
        ids, services = asked["certificate_ids"], asked["service_names"]
    except (ValueError, KeyError, TypeError):
        raise BadParameter("body") from None
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_IDS:
        raise BadParameter("certificate_ids")
    if not isinstance(services, list) or not set(services) <= {"ALL", *SERVICES}:
        raise BadParameter("service_names")
    results = []
    for certificate_id in ids:
        record = records.get(certificate_id)
        listed = deployed(record) if record is not None else []
        if "ALL" not in services:
            listed = [each for each in listed if each["service"] in services]
        results.append(
            {
                "certificate_id": certificate_id,
                "total_num": sum(each["resource_num"] for each in listed),
                "deployed_resources": listed,
            }
        )
    return {"results": results}
