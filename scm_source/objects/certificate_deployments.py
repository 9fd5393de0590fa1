"""Where each certificate is deployed: `POST /v3/scm/deployed-resources` (scm-api-more.md, 2),
read-only despite its verb, up to 50 certificate ids a request, no paging. Asked only for
certificates the API accepts (ISSUED or UPLOAD, not SM2); others get no row and no request.

Two tables: one row per certificate, service, region and resource (`certificate_deployments`),
and per certificate and service what the API reported (`certificate_deployment_counts`), with a
row per certificate for all its services (`service = 'ALL'`). The API caps its lists (100
resources a region) and its counts (1,000); a region that answers `is_error` has figures that
are not to be trusted. So a count is kept as reported beside what was listed, `complete` says
whether every resource was listed and every region answered, and `resource_num` is NULL
(unknown, never 0) where a region answered `is_error`."""

from __future__ import annotations

from typing import Any

from dlt.common.configuration import configspec

from scm_source.errors import ScmConfigError, ScmResponseError
from scm_source.objects.kinds import FRESHNESS_COLUMNS, BatchedLookup, RefreshedSettings, Table
from scm_source.rows.schema import columns
from scm_source.rows.values import Row, check_types, type_checks

PATH = "/v3/scm/deployed-resources"
BATCH = 50  # certificate ids a request takes at most (docs)
SERVICES = ("ALL", "WAF", "CDN", "ELB")
ALL_SERVICES = "ALL"
DEPLOYABLE_STATUSES = ("ISSUED", "UPLOAD")


@configspec
class DeploymentSettings(RefreshedSettings):
    """`services`: which services to ask about (`ALL`, or any of WAF, CDN, ELB)."""

    services: list[str] | None = None

    def check(self, section: str) -> None:
        super().check(section)
        unknown = [name for name in self.asked_services if name not in SERVICES]
        if unknown or not self.asked_services:
            raise ScmConfigError(
                f"{section}.services={self.services!r}: use a list of {', '.join(SERVICES)}"
                f" (sources.scm_source.{section}.services)"
            )

    @property
    def asked_services(self) -> list[str]:
        return list(self.services) if self.services is not None else [ALL_SERVICES]


DEPLOYMENT_COLUMNS = columns(
    certificate_id="text",
    service="text",
    region_id="text",
    resource_id="text",
    resource_name="text",
    resource_location="text",
)
COUNT_COLUMNS = columns(
    certificate_id="text",
    service="text",
    resource_num="bigint",  # as reported, NULL when a region answered is_error
    reported_resource_num="bigint",
    listed="bigint",
    complete="bool",
    regions_in_error="bigint",
    **FRESHNESS_COLUMNS,
)
_DEPLOYMENT_CHECKS = type_checks(DEPLOYMENT_COLUMNS)
_COUNT_CHECKS = type_checks(COUNT_COLUMNS)
DEPLOYMENTS, COUNTS = "certificate_deployments", "certificate_deployment_counts"


def deployable(certificate: Row) -> bool:
    """What the API answers for: issued or uploaded, not an SM2 (国密) certificate."""
    algorithm = str(certificate.get("signature_algorithm") or "")
    return certificate.get("status") in DEPLOYABLE_STATUSES and "SM2" not in algorithm.upper()


def request_body(certificate_ids: list[str], settings: DeploymentSettings) -> dict[str, Any]:
    return {"certificate_ids": certificate_ids, "service_names": settings.asked_services}


def answer_rows(answer: dict[str, Any], asked: list[str]) -> dict[str, list[Row]]:
    """The answer's resources and counts, by table. A certificate the answer does not mention
    gets a count row of unknown figures: nothing proves it is deployed nowhere."""
    results = answer.get("results")
    if not isinstance(results, list) or not all(isinstance(item, dict) for item in results):
        raise ScmResponseError(f"POST {PATH}: answer has no list of objects `results`")
    deployments: list[Row] = []
    counts: list[Row] = []
    answered: set[str] = set()
    for result in results:
        certificate_id = result.get("certificate_id")
        if certificate_id not in asked or certificate_id in answered:
            continue  # not asked about (or said twice): nothing to trust it for
        answered.add(certificate_id)
        services = _list_of(result, "deployed_resources")
        all_listed = all_in_error = 0
        all_complete = True
        for detail in services:
            service = detail.get("service") or ""
            listed = in_error = 0
            for region in _list_of(detail, "region_resources"):
                in_error += region.get("is_error") is True
                for resource in _list_of(region, "resources"):
                    listed += 1
                    deployments.append(
                        _checked(
                            {
                                "certificate_id": certificate_id,
                                "service": service,
                                "region_id": region.get("region_id") or "",
                                "resource_id": resource.get("resource_id") or "",
                                "resource_name": resource.get("resource_name") or "",
                                "resource_location": detail.get("resource_location"),
                            },
                            _DEPLOYMENT_CHECKS,
                        )
                    )
            reported = detail.get("resource_num")
            counts.append(_count(certificate_id, service, reported, listed, in_error))
            all_listed, all_in_error = all_listed + listed, all_in_error + in_error
            all_complete = all_complete and counts[-1]["complete"]
        total = result.get("total_num")
        counts.append(
            _count(certificate_id, ALL_SERVICES, total, all_listed, all_in_error, all_complete)
        )
    for missing in sorted(set(asked) - answered):
        counts.append(_count(missing, ALL_SERVICES, None, 0, 0, False))
    return {DEPLOYMENTS: deployments, COUNTS: counts}


def _count(
    certificate_id: str,
    service: Any,
    reported: Any,
    listed: int,
    in_error: int,
    parts_complete: bool = True,
) -> Row:
    known = in_error == 0 and reported is not None
    row = {
        "certificate_id": certificate_id,
        "service": service,
        "resource_num": reported if known else None,
        "reported_resource_num": reported,
        "listed": listed,
        "complete": known and parts_complete and reported == listed,
        "regions_in_error": in_error,
    }
    return _checked(row, _COUNT_CHECKS)


def _list_of(item: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = item.get(key) or []
    if not isinstance(value, list) or not all(isinstance(each, dict) for each in value):
        raise ScmResponseError(f"POST {PATH}: `{key}` is not a list of objects")
    return value


def _checked(row: Row, checks: Any) -> Row:
    try:
        check_types(row, checks)
    except ScmResponseError as error:
        raise ScmResponseError(f"POST {PATH}: {error}") from None
    return row


CERTIFICATE_DEPLOYMENTS = BatchedLookup(
    name="certificate_deployments",
    parent="certificates",
    path=PATH,
    batch=BATCH,
    settings=DeploymentSettings,
    body=request_body,
    rows=answer_rows,
    tables=(
        Table.of(
            DEPLOYMENTS,
            DEPLOYMENT_COLUMNS,
            key=("certificate_id", "service", "region_id", "resource_id", "resource_name"),
            unit="certificate_id",
            history="certificate_deployments_history",
        ),
        Table.of(COUNTS, COUNT_COLUMNS, key=("certificate_id", "service"), unit="certificate_id"),
    ),
    wants=deployable,
)
