"""Private certificates: CCM's `GET /v1/private-certificates` (scm-api-more.md, 5.2), on CCM's
host. One row per certificate a private CA issued: status, issuer, key and signature algorithm,
serial, validity. Of its subject only the common name is kept: the rest of a client or e-mail
certificate's distinguished name can name a person, and an inventory does not need it."""

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

PRIVATE_CERTIFICATE_STATUSES = ("ISSUED", "REVOKED", "EXPIRED")


@configspec
class PrivateCertificateSettings(PcaListSettings):
    def check(self, section: str) -> None:
        super().check(section)
        if self.status is not None:
            one_of(f"{section}.status", self.status, PRIVATE_CERTIFICATE_STATUSES)


PRIVATE_CERTIFICATE_COLUMNS = {
    **columns(id="text", status="text"),
    **ISSUANCE_COLUMNS,
    **columns(common_name="text", enc_serial_number="text", enterprise_project_id="text"),
}
_CHECKS = type_checks(PRIVATE_CERTIFICATE_COLUMNS)
# Read, never stored: the subject beyond its common name.
_DROPPED = ("certificate_id", "distinguished_name", "enc_cert_info")


def private_certificate_row(certificate: dict[str, Any]) -> Row:
    row: Row = {name: value for name, value in certificate.items() if name not in _DROPPED}
    row["id"] = certificate["certificate_id"]
    row["common_name"] = nested(certificate, "distinguished_name").get("common_name")
    row["enc_serial_number"] = nested(certificate, "enc_cert_info").get("enc_serial_number")
    check_types(row, _CHECKS)
    epoch_times(certificate, row)
    return row


def _converter(settings: PrivateCertificateSettings) -> RowConverter:
    return private_certificate_row


PRIVATE_CERTIFICATES = PagedList(
    name="private_certificates",
    endpoint=ListEndpoint(
        "/v1/private-certificates",
        "certificates",
        "total",
        id_key="certificate_id",
        refusal_codes=(REFUSED_PARAMETER,),
    ),
    settings=PrivateCertificateSettings,
    converter=_converter,
    tables=(
        Table.of(
            "private_certificates",
            PRIVATE_CERTIFICATE_COLUMNS,
            history="private_certificates_history",
        ),
    ),
    steps=(Split("status", PRIVATE_CERTIFICATE_STATUSES),),
    service=CCM,
)
