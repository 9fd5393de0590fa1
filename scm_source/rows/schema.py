"""Declared column types, so the tables are the same whatever the first page happens to hold,
and the arrow types rows are built with."""

from __future__ import annotations

import pyarrow as pa
from dlt.common.data_types import TDataType
from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns


def columns(**types: TDataType | TColumnSchema) -> TTableSchemaColumns:
    declared: TTableSchemaColumns = {}
    for name, spec in types.items():
        column: TColumnSchema = spec if isinstance(spec, dict) else {"data_type": spec}
        declared[name] = {"name": name, "nullable": name != "id", **column}
    return declared


INSTANT: TColumnSchema = {"data_type": "timestamp", "timezone": True, "precision": 6}

# What every loaded object row carries besides the API's fields.
STAMP_COLUMNS = columns(
    account={"data_type": "text", "nullable": False},
    version_hash={"data_type": "text", "nullable": False},
)


_ARROW_TYPES = {
    "text": pa.string(),
    "bool": pa.bool_(),
    "bigint": pa.int64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def arrow_schema(declared: TTableSchemaColumns) -> pa.Schema:
    return pa.schema(
        pa.field(
            name, _ARROW_TYPES[str(column["data_type"])], nullable=column.get("nullable", True)
        )
        for name, column in declared.items()
    )
