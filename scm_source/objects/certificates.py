"""Certificates: `GET /v3/scm/certificates` (scm-api.md), one row per certificate, with its
expiry read in the configured zone next to the API's own string."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from dlt.common.configuration import configspec
from pendulum.tz.timezone import Timezone

from scm_source.config.values import (
    SECTION,
    api_bool,
    is_whole_number,
    one_of,
    optional_bool,
    zone_setting,
)
from scm_source.errors import ScmConfigError
from scm_source.objects.kinds import ListSettings, PagedList, RowConverter, Table
from scm_source.paging.pages import ListEndpoint
from scm_source.paging.steps import Refine, Reorder, Split
from scm_source.rows.schema import INSTANT, columns
from scm_source.rows.values import check_types, parse_expire_time, parsed_field, type_checks

DEFAULT_EXPIRE_TIME_ZONE = "Asia/Shanghai"
CERTIFICATE_STATUS_FILTERS = (
    "ALL",
    "PAID",
    "ISSUED",
    "CHECKING",
    "CANCELCHECKING",
    "UNPASSED",
    "EXPIRED",
    "REVOKING",
    "REVOKED",
    "UPLOAD",
    "CHECKING_ORG",
    "ISSUING",
    "SUPPLEMENTCHECKING",
)
# Statuses a certificate can carry: the filter values but ALL, plus two only answers use
# (CANCLEREVOKING is spelled so by the API).
CERTIFICATE_STATUSES = (
    *CERTIFICATE_STATUS_FILTERS[1:],
    "CANCLEREVOKING",
    "CANCELSUPPLEMENTING",
)
# Statuses under which the account holds a usable certificate (the views' "valid").
VALID_STATUSES = (
    "ISSUED",
    "UPLOAD",
    "SUPPLEMENTCHECKING",
    "CANCELSUPPLEMENTING",
    "REVOKING",
    "CANCLEREVOKING",
)
SORT_KEYS = ("certExpiredTime", "certStatus", "certUpdateTime")
SORT_DIRS = ("ASC", "DESC")
CERTIFICATE_TYPES = (
    "DV_SSL_CERT",
    "DV_SSL_CERT_BASIC",
    "EV_SSL_CERT",
    "EV_SSL_CERT_PRO",
    "OV_SSL_CERT",
    "OV_SSL_CERT_PRO",
)
BRANDS = ("GLOBALSIGN", "SYMANTEC", "GEOTRUST", "CFCA", "TRUSTASIA")
DOMAIN_TYPES = ("SINGLE_DOMAIN", "WILDCARD", "MULTI_DOMAIN")
MAX_EXPIRED_DAYS_SINCE = 1095


@configspec
class CertificateSettings(ListSettings):
    """GET /v3/scm/certificates; `expire_time_zone` reads the zone-less `expire_time`."""

    expire_time_zone: str = DEFAULT_EXPIRE_TIME_ZONE
    status: str = "ALL"
    sort_key: str | None = None
    sort_dir: str | None = None
    enterprise_project_id: str | None = None
    deploy_support: bool | None = None
    owned_by_self: bool | None = None
    expired_days_since: int | None = None
    content: str | None = None

    def check(self, section: str) -> None:
        super().check(section)
        zone_setting(f"{section}.expire_time_zone", self.expire_time_zone)
        one_of(f"{section}.status", self.status, CERTIFICATE_STATUS_FILTERS)
        if self.sort_key is not None:
            one_of(f"{section}.sort_key", self.sort_key, SORT_KEYS)
        if self.sort_dir is not None:
            one_of(f"{section}.sort_dir", self.sort_dir, SORT_DIRS)
        optional_bool(f"{section}.deploy_support", self.deploy_support)
        optional_bool(f"{section}.owned_by_self", self.owned_by_self)
        days = self.expired_days_since
        if days is not None and not is_whole_number(days, 0, MAX_EXPIRED_DAYS_SINCE):
            raise ScmConfigError(
                f"{section}.expired_days_since={days!r} is not accepted by the SCM API: use a"
                f" whole number from 0 to {MAX_EXPIRED_DAYS_SINCE}"
                f" ({SECTION}.{section}.expired_days_since)"
            )

    @property
    def zone(self) -> Timezone:
        return zone_setting("expire_time_zone", self.expire_time_zone)

    @property
    def narrows(self) -> bool:
        return (
            self.status != "ALL"
            or self.deploy_support is not None
            or self.expired_days_since is not None
            or bool(self.content)
            or self.enterprise_project_id not in (None, "all")
        )

    def query(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.status != "ALL":
            params["status"] = self.status
        for key in ("sort_key", "sort_dir", "enterprise_project_id", "content"):
            if getattr(self, key) is not None:
                params[key] = getattr(self, key)
        for key in ("deploy_support", "owned_by_self"):
            if getattr(self, key) is not None:
                params[key] = api_bool(getattr(self, key))
        if self.expired_days_since is not None:
            params["expired_days_since"] = str(self.expired_days_since)
        return params


CERTIFICATE_COLUMNS = columns(
    id="text",
    name="text",
    domain="text",
    sans="text",
    signature_algorithm="text",
    deploy_support="bool",
    type="text",
    brand="text",
    expire_time=INSTANT,
    expire_time_raw="text",
    domain_type="text",
    validity_period="bigint",
    status="text",
    domain_count="bigint",
    wildcard_count="bigint",
    description="text",
    domain_id="text",
    enterprise_project_id="text",
)


_CHECKS = type_checks(CERTIFICATE_COLUMNS)


def certificate_row(certificate: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """Keeps every field (new ones too) and adds the parsed expiry next to the original text."""
    check_types(certificate, _CHECKS)
    row = dict(certificate)
    raw = certificate.get("expire_time")
    if raw is not None:
        row["expire_time"] = parsed_field(parse_expire_time, certificate, "expire_time", raw, zone)
    row["expire_time_raw"] = raw
    return row


def _certificate_converter(settings: CertificateSettings) -> RowConverter:
    zone = settings.zone
    return lambda item: certificate_row(item, zone)


CERTIFICATES = PagedList(
    name="certificates",
    endpoint=ListEndpoint("/v3/scm/certificates", "certificates", "total_count"),
    settings=CertificateSettings,
    converter=_certificate_converter,
    tables=(Table.of("certificates", CERTIFICATE_COLUMNS, history="certificates_history"),),
    # What the detail, deployment and tag reads look at to decide which certificates to read.
    published=("status", "signature_algorithm"),
    steps=(
        # CANCLEREVOKING and CANCELSUPPLEMENTING match no status filter: sorted by status, they
        # come together, from one end or the other.
        Split(
            "status",
            CERTIFICATE_STATUS_FILTERS[1:],
            remainder_orders=tuple(
                (("sort_key", "certStatus"), ("sort_dir", direction)) for direction in SORT_DIRS
            ),
        ),
        Split("deploy_support", ("true", "false")),
        Refine("content", ("name", "domain")),
        # The default order is certUpdateTime DESC: its reverse first.
        Reorder(
            (
                (("sort_key", "certUpdateTime"), ("sort_dir", "ASC")),
                *(
                    (("sort_key", key), ("sort_dir", direction))
                    for key in SORT_KEYS
                    if key != "certUpdateTime"
                    for direction in SORT_DIRS
                ),
            )
        ),
    ),
)
