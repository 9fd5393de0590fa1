"""Declared column types, so the tables are the same whatever the first page happens to hold,
and the arrow types rows are built with (arrow tables reach dlt's fastest load path)."""

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

CSR_COLUMNS = columns(
    id="text",
    name="text",
    csr="text",
    domain_name="text",
    sans="text",
    private_key_algo="text",
    usage="text",
    company_country="text",
    company_province="text",
    company_city="text",
    company_name="text",
    create_time=INSTANT,
    update_time=INSTANT,
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
