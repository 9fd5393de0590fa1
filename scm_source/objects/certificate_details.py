"""A certificate's detail: `GET /v3/scm/certificates/{id}` (scm-api-more.md, 1), one read per
certificate of the list. What the list lacks: when it was issued, its validity, fingerprint,
validation method, revocation reason, order. Never its applicant's data (`application_info`:
names, phones, e-mails) nor its validation records (`authentification`): both are dropped as the
answer is read, before a row, a log line or a file could hold them.

Cost-aware: a detail is read when its certificate is new or its list row changed since the
detail was read (the row's version hash), otherwise at most every `refresh_days`; the rest are
carried over from the warehouse, so an unchanged daily run sends no detail request."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from dlt.common.configuration import configspec

from scm_source.config.values import whole_number_setting, zone_setting
from scm_source.objects.certificates import DEFAULT_EXPIRE_TIME_ZONE
from scm_source.objects.kinds import (
    FRESHNESS_COLUMNS,
    DetailRead,
    ObjectSettings,
    RowConverter,
    Table,
)
from scm_source.rows.schema import INSTANT, columns
from scm_source.rows.values import Row, check_types, parse_api_time, parsed_field, type_checks

# Personal data and domain-validation records: never kept, anywhere.
NEVER_STORED = ("application_info", "authentification")
TIMES = ("issue_time", "not_before", "not_after")


@configspec
class DetailSettings(ObjectSettings):
    """`refresh_days`: a detail whose certificate did not change is read again after this many
    days (0: every run); `time_zone` reads its zone-less times, as `expire_time_zone` does."""

    refresh_days: int = 7
    time_zone: str = DEFAULT_EXPIRE_TIME_ZONE

    def check(self, section: str) -> None:
        whole_number_setting(f"{section}.refresh_days", self.refresh_days, 0, 3650)
        zone_setting(f"{section}.time_zone", self.time_zone)

    @property
    def refresh_hours(self) -> int:
        return 24 * self.refresh_days


DETAIL_COLUMNS = columns(
    id="text",
    name="text",
    status="text",
    type="text",
    brand="text",
    order_id="text",
    push_support="text",
    revoke_reason="text",
    signature_algorithm="text",
    issue_time=INSTANT,
    issue_time_raw="text",
    not_before=INSTANT,
    not_before_raw="text",
    not_after=INSTANT,
    not_after_raw="text",
    validity_period="bigint",
    validation_method="text",
    domain_type="text",
    multi_domain_type="text",
    domain="text",
    sans="text",
    domain_count="bigint",
    wildcard_count="bigint",
    fingerprint="text",
    shared="bool",
    description="text",
    enterprise_project_id="text",
    **FRESHNESS_COLUMNS,
)
_CHECKS = type_checks(DETAIL_COLUMNS)


def detail_row(detail: dict[str, Any], zone: tzinfo) -> Row:
    """The detail without what is never stored; its times read (epoch milliseconds or a
    zone-less string in `zone`, the original kept beside); `push_support` as text, whether the
    API sends it as the SDK says (a string) or as the list does (a bool)."""
    row = {name: value for name, value in detail.items() if name not in NEVER_STORED}
    push = row.get("push_support")
    if isinstance(push, bool):
        row["push_support"] = "true" if push else "false"
    for name in TIMES:
        raw = row.get(name)
        row[f"{name}_raw"] = None if raw in (None, "") else str(raw)
    check_types(row, _CHECKS)
    for name in TIMES:
        row[name] = parsed_field(parse_api_time, row, name, row.get(name), zone)
    return row


def _converter(settings: DetailSettings) -> RowConverter:
    zone = zone_setting("time_zone", settings.time_zone)
    return lambda detail: detail_row(detail, zone)


CERTIFICATE_DETAILS = DetailRead(
    name="certificate_details",
    parent="certificates",
    path="/v3/scm/certificates/{id}",
    settings=DetailSettings,
    converter=_converter,
    tables=(Table.of("certificate_details", DETAIL_COLUMNS),),
    # A certificate deleted since it was listed, or not the account's: no detail, no failure.
    gone_statuses=(404,),
    gone_codes=("SCM.0003", "SCM.0008", "SCM.0020"),
)
