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

import dlt
from dlt.common.schema.typing import TDeleteInsertStrategyDict, TScd2StrategyDict
from dlt.extract.hints import TResourceHints

from scm_source.lists import ScmList
from scm_source.sync import SYNC_LOG_COLUMNS

KEY = ("account", "id")
VALIDITY = ["valid_from", "valid_to"]
VERSION = "version_hash"
SYNC_LOG = "sync_log"
# The objects of this run's staging table, by account and id.
SEEN_OBJECTS = (
    "{table}.account || '/' || {table}.id IN (SELECT account || '/' || id FROM {staging_table})"
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


def snapshot_hints(scm_list: ScmList, filtered: bool, loaded: Sequence[str]) -> TResourceHints:
    disposition: TDeleteInsertStrategyDict = {
        "disposition": "merge",
        "strategy": "delete-insert",
        "source_filter": accounts_scope(loaded),
        "destination_scope": run_scope(filtered, loaded),
        "deduplicated": True,  # paging keeps each id once per account: no window to dedup
    }
    return dlt.mark.make_hints(
        table_name=scm_list.name,
        write_disposition=disposition,
        primary_key=KEY,
        columns=scm_list.columns,
    )


def history_hints(scm_list: ScmList, filtered: bool, loaded: Sequence[str]) -> TResourceHints:
    disposition: TScd2StrategyDict = {
        "disposition": "merge",
        "strategy": "scd2",
        "source_filter": accounts_scope(loaded),
        "destination_scope": run_scope(filtered, loaded),
        "row_version_column_name": VERSION,
        "validity_column_names": VALIDITY,
    }
    return dlt.mark.make_hints(
        table_name=scm_list.history, write_disposition=disposition, columns=scm_list.columns
    )


def sync_log_hints() -> TResourceHints:
    return dlt.mark.make_hints(
        table_name=SYNC_LOG, write_disposition="append", columns=SYNC_LOG_COLUMNS
    )
