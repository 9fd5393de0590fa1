"""Private certificate authorities: CCM's `GET /v1/private-certificate-authorities`
(scm-api-more.md, 5.1), on CCM's host. One row per CA: its type (ROOT or SUBORDINATE), status,
issuer, key and signature algorithm, serial, validity, distinguished name and CRL configuration.
A CA's status changes over time: its versions are kept."""

from __future__ import annotations

from typing import Any

from dlt.common.configuration import configspec

from scm_source.config.endpoints import CCM
from scm_source.config.values import one_of
from scm_source.objects.kinds import PagedList, RowConverter, Table
from scm_source.objects.private_ca import (
    ISSUANCE_COLUMNS,
    REFUSED_PARAMETER,
    PcaListSettings,
    epoch_times,
    nested,
)
from scm_source.paging.pages import ListEndpoint
from scm_source.paging.steps import Split
from scm_source.rows.schema import columns
from scm_source.rows.values import Row, check_types, type_checks

CA_STATUSES = ("PENDING", "ACTIVED", "DISABLED", "DELETED", "EXPIRED")  # ACTIVED: the API's
CA_TYPES = ("ROOT", "SUBORDINATE")
_DISTINGUISHED_NAME = (
    "common_name",
    "country",
    "state",
    "locality",
    "organization",
    "organizational_unit",
)
_CRL = ("enabled", "crl_name", "obs_bucket_name", "valid_days", "crl_dis_point")


@configspec
class PrivateCaSettings(PcaListSettings):
    """`type`: ROOT or SUBORDINATE only."""

    type: str | None = None

    def check(self, section: str) -> None:
        super().check(section)
        if self.status is not None:
            one_of(f"{section}.status", self.status, CA_STATUSES)
        if self.type is not None:
            one_of(f"{section}.type", self.type, CA_TYPES)

    @property
    def narrows(self) -> bool:
        return super().narrows or self.type is not None

    def query(self) -> dict[str, str]:
        return {**super().query(), **({"type": self.type} if self.type else {})}


CA_COLUMNS = {
    **columns(id="text", type="text", status="text", path_length="bigint"),
    **ISSUANCE_COLUMNS,
    **columns(
        common_name="text",
        country="text",
        state="text",
        locality="text",
        organization="text",
        organizational_unit="text",
        crl_enabled="bool",
        crl_name="text",
        crl_obs_bucket_name="text",
        crl_valid_days="bigint",
        crl_dis_point="text",
        enterprise_project_id="text",
        free_quota="bigint",
        charging_mode="bigint",
        cluster_id="text",
    ),
}
_CHECKS = type_checks(CA_COLUMNS)


def ca_row(ca: dict[str, Any]) -> Row:
    """A CA flat: its distinguished name's and CRL configuration's fields as columns."""
    flat = ("ca_id", "distinguished_name", "crl_configuration")
    row: Row = {name: value for name, value in ca.items() if name not in flat}
    row["id"] = ca["ca_id"]
    for name in _DISTINGUISHED_NAME:
        row[name] = nested(ca, "distinguished_name").get(name)
    crl = nested(ca, "crl_configuration")
    for name in _CRL:
        row[name if name.startswith("crl_") else f"crl_{name}"] = crl.get(name)
    check_types(row, _CHECKS)
    epoch_times(ca, row)
    return row


def _converter(settings: PrivateCaSettings) -> RowConverter:
    return ca_row


PRIVATE_CAS = PagedList(
    name="private_cas",
    endpoint=ListEndpoint(
        "/v1/private-certificate-authorities",
        "certificate_authorities",
        "total",
        id_key="ca_id",
        refusal_codes=(REFUSED_PARAMETER,),
    ),
    settings=PrivateCaSettings,
    converter=_converter,
    tables=(Table.of("private_cas", CA_COLUMNS, history="private_cas_history"),),
    steps=(Split("status", CA_STATUSES), Split("type", CA_TYPES)),
    service=CCM,
)
