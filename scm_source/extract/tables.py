"""How each table is written: the snapshot, its history (SCD2) and the sync log.

Rows stream to dlt as their pages arrive, so an account that fails half-way has rows in the
staging tables. The merge takes only the accounts whose walk ended without failing (dlt's
`source_filter`) and deletes or closes only what it may (its `destination_scope`):
- an account whose list was read in full (unfiltered, and every row the API counts reached) has
  its snapshot rows replaced, and the versions of its objects that are gone closed: only then is
  a row's absence proof that it was deleted;
- an account read in part (a filter: status, name...; or rows no query reached, at the API's
  bounds) has only the objects it received touched: they are upserted and their old versions
  closed when they changed; every other row stays as it was, still live;
- accounts that failed or were not read are untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dlt
from dlt.common.schema.typing import TDeleteInsertStrategyDict, TScd2StrategyDict
from dlt.extract.hints import TResourceHints

from scm_source.extract.sync import SYNC_LOG_COLUMNS
from scm_source.objects.kinds import Table

VALIDITY = ["valid_from", "valid_to"]
VERSION = "version_hash"
SYNC_LOG = "sync_log"


def seen_units(unit: str) -> str:
    """The rows of the units (an object's id, a certificate's id) this run's staging table
    holds, by account."""
    return (
        f"{{table}}.account || '/' || {{table}}.{unit} IN"
        f" (SELECT account || '/' || {unit} FROM {{staging_table}})"
    )


def accounts_scope(aliases: Sequence[str]) -> str:
    """The rows of these accounts (aliases are validated identifiers), or none."""
    if not aliases:
        return "1 = 0"
    return "account IN (" + ", ".join(f"'{alias}'" for alias in sorted(aliases)) + ")"


@dataclass(frozen=True)
class Loaded:
    """The accounts a merge takes: read in full (their missing rows retire), or in part."""

    in_full: tuple[str, ...] = ()
    in_part: tuple[str, ...] = ()

    @property
    def accounts(self) -> tuple[str, ...]:
        return (*self.in_full, *self.in_part)


NONE_LOADED = Loaded()


def run_scope(unit: str, loaded: Loaded) -> str:
    """What a run may delete or close: every row of an account read in full, only the units
    received of one read in part. Always set: dlt keeps a table's stored scope when a later
    run's hints leave it out, so every run names its own."""
    scopes = [accounts_scope(loaded.in_full)] if loaded.in_full else []
    if loaded.in_part:
        scopes.append(f"{accounts_scope(loaded.in_part)} AND {seen_units(unit)}")
    return " OR ".join(f"({scope})" for scope in scopes) if scopes else accounts_scope(())


def snapshot_hints(table: Table, loaded: Loaded) -> TResourceHints:
    disposition: TDeleteInsertStrategyDict = {
        "disposition": "merge",
        "strategy": "delete-insert",
        "source_filter": accounts_scope(loaded.accounts),
        "destination_scope": run_scope(table.unit, loaded),
        "deduplicated": True,  # each unit comes once per account: no window to dedup
    }
    return dlt.mark.make_hints(
        table_name=table.name,
        write_disposition=disposition,
        primary_key=table.key,
        columns=table.columns,
    )


def history_hints(table: Table, loaded: Loaded) -> TResourceHints:
    disposition: TScd2StrategyDict = {
        "disposition": "merge",
        "strategy": "scd2",
        "source_filter": accounts_scope(loaded.accounts),
        "destination_scope": run_scope(table.unit, loaded),
        "row_version_column_name": VERSION,
        "validity_column_names": VALIDITY,
    }
    return dlt.mark.make_hints(
        table_name=table.history, write_disposition=disposition, columns=table.columns
    )


def sync_log_hints() -> TResourceHints:
    return dlt.mark.make_hints(
        table_name=SYNC_LOG, write_disposition="append", columns=SYNC_LOG_COLUMNS
    )
