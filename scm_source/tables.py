"""How each table is written: the snapshot, its history (SCD2) and the sync log.

Rows stream to dlt as their pages arrive, so an account that fails half-way has rows in the
staging tables. The merge takes only the accounts that loaded in full (dlt's `source_filter`)
and deletes or closes only what they saw (its `destination_scope`):
- a full run of an account replaces that account's snapshot rows and closes the versions of its
  objects that are gone; accounts that failed or were not read are untouched;
- a filtered run (status, name...) sees part of an inventory, so it only touches the objects it
  received: it upserts them and closes their old versions when they changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dlt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.extract.hints import TResourceHints

from scm_source.paging import CERTIFICATES, CSRS, ListEndpoint
from scm_source.schema import CERTIFICATE_COLUMNS, CSR_COLUMNS, INSTANT, columns

KEY = ("account", "id")
VALIDITY = ["valid_from", "valid_to"]
VERSION = "version_hash"
SYNC_LOG = "sync_log"
# The objects of this run's staging table, by account and id.
SEEN_OBJECTS = (
    "{table}.account || '/' || {table}.id IN (SELECT account || '/' || id FROM {staging_table})"
)
# What every loaded object row carries besides the API's fields.
_ROW_COLUMNS = columns(
    account={"data_type": "text", "nullable": False},
    version_hash={"data_type": "text", "nullable": False},
)


@dataclass(frozen=True)
class ObjectKind:
    """One list endpoint and the tables it fills."""

    table: str  # the snapshot, also the resource's name
    history: str
    endpoint: ListEndpoint
    columns: TTableSchemaColumns


CERTIFICATE_KIND = ObjectKind(
    "certificates",
    "certificates_history",
    CERTIFICATES,
    {**_ROW_COLUMNS, **CERTIFICATE_COLUMNS},
)
CSR_KIND = ObjectKind(
    "csr_list",
    "csr_history",
    CSRS,
    # The CSR list carries no account id: it is the account's configured domain_id.
    {**_ROW_COLUMNS, **CSR_COLUMNS, **columns(domain_id="text")},
)

SYNC_LOG_COLUMNS = columns(
    account={"data_type": "text", "nullable": False},
    domain_id="text",
    resource={"data_type": "text", "nullable": False},
    filtered="bool",
    started_at=INSTANT,
    finished_at=INSTANT,
    api_total="bigint",
    rows_received="bigint",
    rows="bigint",
    pages="bigint",
    retries="bigint",
    offset_mode="text",
    outcome={"data_type": "text", "nullable": False},
    error="text",
    http_status="bigint",
    error_code="text",
    request_id="text",
)


def accounts_scope(aliases: Sequence[str]) -> str:
    """The rows of these accounts (aliases are validated identifiers), or none."""
    if not aliases:
        return "1 = 0"
    return "account IN (" + ", ".join(f"'{alias}'" for alias in sorted(aliases)) + ")"


def run_scope(filtered: bool, loaded: Sequence[str]) -> str:
    """What a run may delete or close. Always set: dlt keeps a table's stored scope when a
    later run's hints leave it out, so a filtered run must name its own."""
    scope = accounts_scope(loaded)
    return f"{scope} AND {SEEN_OBJECTS}" if filtered and loaded else scope


def _merge(strategy: str, filtered: bool, loaded: Sequence[str]) -> dict[str, Any]:
    return {
        "disposition": "merge",
        "strategy": strategy,
        "source_filter": accounts_scope(loaded),
        "destination_scope": run_scope(filtered, loaded),
    }


def snapshot_hints(kind: ObjectKind, filtered: bool, loaded: Sequence[str]) -> TResourceHints:
    return dlt.mark.make_hints(
        table_name=kind.table,
        # Paging keeps each id once per account: no window over the staging rows to dedup.
        write_disposition={**_merge("delete-insert", filtered, loaded), "deduplicated": True},  # type: ignore[typeddict-item]
        primary_key=KEY,
        columns=kind.columns,
    )


def history_hints(kind: ObjectKind, filtered: bool, loaded: Sequence[str]) -> TResourceHints:
    return dlt.mark.make_hints(
        table_name=kind.history,
        write_disposition={
            **_merge("scd2", filtered, loaded),
            "row_version_column_name": VERSION,
            "validity_column_names": VALIDITY,
        },  # type: ignore[typeddict-item]
        columns=kind.columns,
    )


def sync_log_hints() -> TResourceHints:
    return dlt.mark.make_hints(
        table_name=SYNC_LOG, write_disposition="append", columns=SYNC_LOG_COLUMNS
    )
