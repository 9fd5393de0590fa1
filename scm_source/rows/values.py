"""Reading the API's values: zone-less and epoch times become timezone-aware instants, and every
declared field is checked to be of its type and storable in any warehouse, so that an odd value
fails its account in one line naming the field and the object."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from dlt.common.schema.typing import TTableSchemaColumns

from scm_source.config.values import is_whole_number
from scm_source.errors import ScmResponseError

Row = dict[str, Any]

# The forms SCM is known to use: "2021-05-27 16:46:25.0", with or without a fraction, a `T`
# separator, an explicit zone. Read from the match itself: 10x pendulum.parse, which would also
# take "2021" or "2021-W21".
_EXPIRE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # stdlib arithmetic: 50x pendulum's here


def parse_expire_time(text: str, zone: tzinfo) -> datetime:
    """Reads an SCM time string; one without a zone is a wall time in `zone`."""
    match = _EXPIRE_TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a time like '2021-05-27 16:46:25.0'")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "0").ljust(6, "0")[:6])
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second),
        micros,
        tzinfo=_offset(offset) if offset else zone,
    )


def _offset(text: str) -> tzinfo:
    if text == "Z":
        return timezone.utc
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(-delta if text[0] == "-" else delta)


def from_epoch_millis(millis: int) -> datetime:
    """Exact to the millisecond: no float division on the way."""
    if not is_whole_number(millis):
        raise ValueError(f"{millis!r} is not a whole number of epoch milliseconds")
    return _EPOCH + timedelta(milliseconds=millis)


def parse_api_time(value: Any, zone: tzinfo) -> datetime | None:
    """A time in any form SCM's read APIs use: nothing (None or "": unknown), epoch milliseconds
    (a whole number, or its digits as a string, as the certificates-by-tag API sends them), or a
    zone-less string like `expire_time`'s, read in `zone`."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return from_epoch_millis(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return from_epoch_millis(value)
    return parse_expire_time(value, zone)


def parsed_field(parse: Callable[..., Any], item: Row, name: str, *args: Any) -> Any:
    """`parse(*args)` for the field `name` of `item`; its failure named with the field and id."""
    try:
        return parse(*args)
    except (ValueError, OverflowError) as exc:
        raise ScmResponseError(f"field `{name}` of object id={item.get('id')!r}: {exc}") from None


# What the API must send for each declared type; timestamps are checked by their parsers.
_API_TYPES: dict[str, tuple[type, str]] = {
    "text": (str, "a string"),
    "bool": (bool, "true or false"),
    "bigint": (int, "a whole number"),
}
TypeChecks = tuple[tuple[str, type, str], ...]
_INT64 = range(-(2**63), 2**63)


def type_checks(columns: TTableSchemaColumns) -> TypeChecks:
    """(field, type, description) of each declared column whose type the API sends as is."""
    return tuple(
        (name, *_API_TYPES[kind])
        for name, column in columns.items()
        if (kind := str(column.get("data_type"))) in _API_TYPES
    )


def check_types(item: Row, checks: TypeChecks) -> None:
    """Exact types (JSON gives no subclasses), which also tells a bool from a whole number;
    and values the warehouse column can hold (int64; UTF-8 without lone surrogates or NUL)."""
    for name, kind, description in checks:
        value = item.get(name)
        if value is None:
            continue
        if type(value) is not kind:
            raise ScmResponseError(
                f"field `{name}` of object id={item.get('id')!r} is {value!r}, not {description}"
            )
        if (type(value) is int and value not in _INT64) or (
            type(value) is str and not _storable(value)
        ):
            raise ScmResponseError(
                f"field `{name}` of object id={item.get('id')!r} is {value!r:.80}, which no"
                " warehouse column of its type can hold"
            )


def _storable(text: str) -> bool:
    """UTF-8 without NUL: what every warehouse's text holds (PostgreSQL's holds no NUL, and its
    loader would drop it silently, so a NUL fails the account on every destination alike)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
