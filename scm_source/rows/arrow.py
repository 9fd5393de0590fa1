"""Rows to arrow: each row stamped with its account and a hash of its content (what SCD2
versions by), batches built with the declared types (arrow tables reach dlt's fastest load
path)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns

from scm_source.rows.schema import arrow_schema
from scm_source.rows.values import Row


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


def conform(table: pa.Table, declared: TTableSchemaColumns) -> pa.Table:
    """Rows read back from a warehouse, in the types `to_arrow` builds them with: the declared
    columns cast (absent ones null), the others (fields the API added later, JSON text) as text."""
    schema = arrow_schema(declared)
    present = set(table.column_names)
    arrays = [
        table.column(field.name).cast(field.type)
        if field.name in present
        else pa.nulls(table.num_rows, field.type)
        for field in schema
    ]
    extra = [name for name in table.column_names if name not in schema.names]
    arrays += [table.column(name).cast(pa.string()) for name in extra]
    fields = [*schema, *(pa.field(name, pa.string()) for name in extra)]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
