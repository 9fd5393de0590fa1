"""Declared column types, so the tables are the same whatever the first page happens to hold."""

from __future__ import annotations

from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns


def _columns(**types: str | TColumnSchema) -> TTableSchemaColumns:
    columns: TTableSchemaColumns = {}
    for name, spec in types.items():
        column: TColumnSchema = {"data_type": spec} if isinstance(spec, str) else spec  # type: ignore[typeddict-item]
        columns[name] = {"name": name, "nullable": name != "id", **column}
    return columns


_INSTANT: TColumnSchema = {"data_type": "timestamp", "timezone": True, "precision": 6}

CERTIFICATE_COLUMNS = _columns(
    id="text",
    name="text",
    domain="text",
    sans="text",
    signature_algorithm="text",
    deploy_support="bool",
    type="text",
    brand="text",
    expire_time=_INSTANT,
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

CSR_COLUMNS = _columns(
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
    create_time=_INSTANT,
    update_time=_INSTANT,
)
