"""API objects to warehouse rows: zone-less and epoch times become timezone-aware instants;
each row is stamped with its account and a hash of its content (what SCD2 versions by), and
batches of rows become arrow tables of the declared types."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import orjson
import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns

from scm_source.errors import ScmResponseError
from scm_source.schema import CERTIFICATE_COLUMNS, CSR_COLUMNS, arrow_schema
from scm_source.settings import is_whole_number

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


def certificate_row(certificate: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """Keeps every field (new ones too) and adds the parsed expiry next to the original text."""
    _check_types(certificate, _CERTIFICATE_CHECKS)
    row = dict(certificate)
    raw = certificate.get("expire_time")
    if raw is not None:
        row["expire_time"] = _field(parse_expire_time, certificate, "expire_time", raw, zone)
    row["expire_time_raw"] = raw
    return row


def csr_row(csr: dict[str, Any]) -> dict[str, Any]:
    _check_types(csr, _CSR_CHECKS)
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
_Checks = tuple[tuple[str, type, str], ...]


def _checks(columns: TTableSchemaColumns) -> _Checks:
    return tuple(
        (name, *_API_TYPES[kind])
        for name, column in columns.items()
        if (kind := str(column.get("data_type"))) in _API_TYPES
    )


_CERTIFICATE_CHECKS, _CSR_CHECKS = _checks(CERTIFICATE_COLUMNS), _checks(CSR_COLUMNS)


_INT64 = range(-(2**63), 2**63)


def _check_types(item: dict[str, Any], checks: _Checks) -> None:
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


def _field(parse: Any, item: dict[str, Any], name: str, *args: Any) -> Any:
    try:
        return parse(*args)
    except (ValueError, OverflowError) as exc:
        raise ScmResponseError(f"field `{name}` of object id={item.get('id')!r}: {exc}") from None


def stamp(row: Row, account: str) -> Row:
    """Adds the account and the version hash: any change of any field, new ones included,
    gives another hash, and the same content always the same one."""
    row["account"] = account
    content = orjson.dumps(row, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    row["version_hash"] = hashlib.blake2b(content, digest_size=16).hexdigest()
    return row


def _json_text(value: Any) -> str | None:
    """An undeclared field's value as JSON text: its column's type cannot then depend on what
    the first rows held, so an int in one row and a string in the next load side by side."""
    return None if value is None else orjson.dumps(value).decode()


def to_arrow(rows: list[Row], declared: TTableSchemaColumns) -> pa.Table:
    """The declared columns typed as declared; fields the API added later as extra text columns
    of JSON, so that they land as new columns whatever their values."""
    schema = arrow_schema(declared)
    extra = sorted({name for row in rows for name in row} - set(schema.names))
    arrays = [pa.array([row.get(field.name) for row in rows], type=field.type) for field in schema]
    arrays += [pa.array([_json_text(row.get(name)) for row in rows], pa.string()) for name in extra]
    fields = [
        *schema,
        *(
            pa.field(name, array.type)
            for name, array in zip(extra, arrays[len(schema) :], strict=True)
        ),
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
