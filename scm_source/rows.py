"""API objects to warehouse rows: zone-less and epoch times become timezone-aware instants."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pendulum
from dlt.common.schema.typing import TTableSchemaColumns
from pendulum.tz.timezone import Timezone

from scm_source.errors import ScmResponseError
from scm_source.schema import CERTIFICATE_COLUMNS, CSR_COLUMNS

# The forms SCM is known to use: "2021-05-27 16:46:25.0", with or without a fraction, a `T`
# separator, an explicit zone. pendulum.parse alone would also take "2021" or "2021-W21".
_EXPIRE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # stdlib arithmetic: 50x pendulum's here


def parse_expire_time(text: str, zone: Timezone) -> datetime:
    """Reads an SCM time string; one without a zone is taken to be in `zone`."""
    if not isinstance(text, str) or not _EXPIRE_TIME.fullmatch(text):
        raise ValueError(f"{text!r} is not a time like '2021-05-27 16:46:25.0'")
    return pendulum.parse(text, tz=zone)  # type: ignore[return-value]


def from_epoch_millis(millis: int) -> datetime:
    """Exact to the millisecond: no float division on the way."""
    if isinstance(millis, bool) or not isinstance(millis, int):
        raise ValueError(f"{millis!r} is not a whole number of epoch milliseconds")
    return _EPOCH + timedelta(milliseconds=millis)


def certificate_row(certificate: dict[str, Any], zone: Timezone) -> dict[str, Any]:
    """Keeps every field (new ones too) and adds the parsed expiry next to the original text."""
    _check_types(certificate, CERTIFICATE_COLUMNS)
    row = dict(certificate)
    raw = certificate.get("expire_time")
    if raw is not None:
        row["expire_time"] = _field(parse_expire_time, certificate, "expire_time", raw, zone)
    row["expire_time_raw"] = raw
    return row


def csr_row(csr: dict[str, Any]) -> dict[str, Any]:
    _check_types(csr, CSR_COLUMNS)
    row = dict(csr)
    for name in ("create_time", "update_time"):
        if csr.get(name) is not None:
            row[name] = _field(from_epoch_millis, csr, name, csr[name])
    return row


# What the API must send for each declared type; timestamps are checked by their parsers.
_API_TYPES: dict[str, tuple[type, str]] = {
    "text": (str, "a string"),
    "bool": (bool, "true or false"),
    "bigint": (int, "a whole number"),
}


def _check_types(item: dict[str, Any], columns: TTableSchemaColumns) -> None:
    for name, column in columns.items():
        value = item.get(name)
        expected = _API_TYPES.get(column.get("data_type", ""))
        if value is None or expected is None:
            continue
        kind, description = expected
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ScmResponseError(
                f"field `{name}` of object id={item.get('id')!r} is {value!r}, not {description}"
            )


def _field(parse: Any, item: dict[str, Any], name: str, *args: Any) -> Any:
    try:
        return parse(*args)
    except ValueError as exc:
        raise ScmResponseError(f"field `{name}` of object id={item.get('id')!r}: {exc}") from None
