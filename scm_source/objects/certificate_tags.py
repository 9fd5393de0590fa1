"""Tags and renewal lineage: `POST /v3/scm/resource_instances/action` (ListCertificatesByTag,
scm-api-more.md, 3.3), read-only despite its verb; with no tag filter it lists every certificate,
paged by `limit` and `offset` in its body as the certificate list is in its query. Its rows fan
out to two tables: one row per certificate and tag (`certificate_tags`), and per certificate its
renewal lineage (`certificate_renewals`: the first certificate of its chain, the one its renewal
bought, auto-renewal). Its names and time encoding differ from the list API's (`cert_name`,
`expired_time` as millisecond strings): they become ours (`name`, `expire_time` as timestamps).

Read again only when a certificate of the account is new or changed since, or the last read is
older than `refresh_hours`."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from dlt.common.configuration import configspec

from scm_source.config.values import whole_number_setting
from scm_source.errors import ScmResponseError
from scm_source.objects.kinds import (
    FRESHNESS_COLUMNS,
    ListSettings,
    PagedList,
    RowConverter,
    Table,
)
from scm_source.paging.pages import ListEndpoint
from scm_source.paging.steps import Refine
from scm_source.rows.schema import INSTANT, columns
from scm_source.rows.values import Row, check_types, parse_api_time, parsed_field, type_checks

PATH = "/v3/scm/resource_instances/action"
TAGS, RENEWALS = "certificate_tags", "certificate_renewals"
# Searched as `matches` (a resource_name substring) when one query cannot list every row.
NAME_SEARCH = "resource_name"


@configspec
class TagSettings(ListSettings):
    """Paging as the certificate list's; `refresh_hours` as an unchanged account's tags wait."""

    refresh_hours: int = 24

    def check(self, section: str) -> None:
        super().check(section)
        whole_number_setting(f"{section}.refresh_hours", self.refresh_hours, 0, 24 * 365)


def request_body(query: dict[str, str], limit: int, offset: int) -> dict[str, Any]:
    """Every certificate (no tag filter), one page; a name search where the planner asks one."""
    body: dict[str, Any] = {"action": "filter", "limit": limit, "offset": offset}
    if NAME_SEARCH in query:
        body["matches"] = [{"key": NAME_SEARCH, "value": query[NAME_SEARCH]}]
    return body


TAG_COLUMNS = columns(certificate_id="text", key="text", value="text")
RENEWAL_COLUMNS = columns(
    certificate_id="text",
    name="text",
    expire_time=INSTANT,
    issue_time=INSTANT,
    origin_cert_id="text",
    renewal_cert_id="text",
    auto_renew_status="bigint",
    remain_cert_number="bigint",
    auto_deploy_support="bool",
    push_support="bool",
    order_status="text",
    **FRESHNESS_COLUMNS,
)
_TAG_CHECKS, _RENEWAL_CHECKS = type_checks(TAG_COLUMNS), type_checks(RENEWAL_COLUMNS)
# The API's names in `resource_detail` for ours.
_RENAMED = {
    "cert_name": "name",
    "origin_cert_id": "origin_cert_id",
    "renewal_cert_id": "renewal_cert_id",
    "auto_renew_status": "auto_renew_status",
    "remain_cert_number": "remain_cert_number",
    "auto_deploy_support": "auto_deploy_support",
    "push_support": "push_support",
    "order_status": "order_status",
}


def resource_row(resource: dict[str, Any]) -> Row:
    """One certificate as the tag API lists it: its id, name, tags and renewal fields."""
    detail = resource.get("resource_detail") or {}
    tags = resource.get("tags") or []
    if not isinstance(detail, dict) or not isinstance(tags, list):
        raise _malformed(resource, "resource_detail` or `tags")
    renewal: Row = {"certificate_id": resource["resource_id"]}
    for theirs, ours in _RENAMED.items():
        value = detail.get(theirs)
        renewal[ours] = None if value == "" else value
    renewal["name"] = renewal["name"] or resource.get("resource_name") or None
    check_types({"id": resource["resource_id"], **renewal}, _RENEWAL_CHECKS)
    for theirs, ours in (("expired_time", "expire_time"), ("cert_issued_time", "issue_time")):
        renewal[ours] = parsed_field(parse_api_time, resource, theirs, detail.get(theirs), UTC)
    rows = []
    for tag in tags:
        row = {"certificate_id": resource["resource_id"], "key": None, "value": None}
        if isinstance(tag, dict):
            row.update(key=tag.get("key"), value=tag.get("value"))
        check_types({"id": resource["resource_id"], **row}, _TAG_CHECKS)
        if row["key"] is None:
            raise _malformed(resource, "tags")
        rows.append(row)
    return {
        "id": resource["resource_id"],
        "name": renewal["name"],
        "renewal": renewal,
        "tags": rows,
    }


UTC = timezone.utc  # millisecond timestamps: instants, no zone to read them in


def _malformed(resource: dict[str, Any], name: str) -> ScmResponseError:
    return ScmResponseError(
        f"field `{name}` of resource id={resource.get('resource_id')!r} is not of the"
        " documented shape"
    )


def spread(row: Row) -> dict[str, list[Row]]:
    return {RENEWALS: [row["renewal"]], TAGS: list(row["tags"])}


def _converter(settings: TagSettings) -> RowConverter:
    return resource_row


CERTIFICATE_TAGS = PagedList(
    name="certificate_tags",
    endpoint=ListEndpoint(
        PATH, "resources", "total_count", id_key="resource_id", method="POST", body=request_body
    ),
    settings=TagSettings,
    converter=_converter,
    tables=(
        Table.of(
            TAGS,
            TAG_COLUMNS,
            key=("certificate_id", "key"),
            unit="certificate_id",
            history="certificate_tags_history",
        ),
        Table.of(RENEWALS, RENEWAL_COLUMNS, key=("certificate_id",), unit="certificate_id"),
    ),
    steps=(Refine(NAME_SEARCH, ("name",)),),
    fan_out=spread,
    parent="certificates",
)
