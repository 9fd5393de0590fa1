"""What CCM's private-CA API lists (scm-api-more.md, 5) and its two lists share: a host of its
own (`ccm_endpoint`), pages of up to 1,000 rows with the total in `total`, times in epoch
milliseconds, a distinguished name as an object, and PCA's own code for a refused parameter."""

from __future__ import annotations

from typing import Any

from dlt.common.configuration import configspec

from scm_source.config.values import one_of, whole_number_setting
from scm_source.errors import ScmResponseError
from scm_source.objects.kinds import OFFSET_MODES, ListSettings
from scm_source.rows.schema import INSTANT, columns
from scm_source.rows.values import Row, from_epoch_millis, parsed_field

MAX_PAGE_SIZE = 1000
REFUSED_PARAMETER = "PCA.00020001"
TIMES = ("create_time", "delete_time", "not_before", "not_after")
# What a CA and a private certificate both carry, in the order both tables hold it.
ISSUANCE_COLUMNS = columns(
    issuer_id="text",
    issuer_name="text",
    key_algorithm="text",
    signature_algorithm="text",
    freeze_flag="bigint",
    gen_mode="text",
    serial_number="text",
    **dict.fromkeys(TIMES, INSTANT),
)


@configspec
class PcaListSettings(ListSettings):
    """`page_size` from 1 to 1,000 (CCM's limit; 0 is never sent); `status` and `name` filter."""

    page_size: int = MAX_PAGE_SIZE
    status: str | None = None
    name: str | None = None

    def check(self, section: str) -> None:
        whole_number_setting(f"{section}.page_size", self.page_size, 1, MAX_PAGE_SIZE)
        one_of(f"{section}.offset_mode", self.offset_mode, OFFSET_MODES)

    @property
    def narrows(self) -> bool:
        return bool(self.status or self.name)

    def query(self) -> dict[str, str]:
        return {
            key: value
            for key, value in (("status", self.status), ("name", self.name))
            if value is not None
        }


def epoch_times(item: dict[str, Any], row: Row) -> None:
    """The epoch-millisecond times of `item` as instants in `row` (null stays null)."""
    for name in TIMES:
        value = item.get(name)
        row[name] = None if value is None else parsed_field(from_epoch_millis, item, name, value)


def nested(item: dict[str, Any], key: str) -> dict[str, Any]:
    """An object field, {} when absent or null; one line naming it when it is something else."""
    value = item.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ScmResponseError(f"field `{key}` of object id={item.get('id')!r} is not an object")
    return value
