"""The command's side of a run: which pipeline and destination, where the DuckDB file goes, and
how much the run says while it works. The run itself is `scm_source.load`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import dlt
from dlt.common.destination import Destination
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from scm_source.errors import ScmConfigError
from scm_source.warehouse.destinations import (
    DESTINATIONS,
    POSTGRES_CREDENTIALS_SETTING,
    configured_value,
    postgres_credentials,
)

logger = logging.getLogger(__name__)

PIPELINE_NAME = "scm_export"
DATASET_NAME = "scm"
# DuckDB takes 80% of the machine's memory unless told; bounded, its merges spill to a temporary
# folder beyond this. Measured with benchmarks/run.py (peak RSS of the whole run, 2 cores), with
# a run's load jobs one after another (destinations.py): 96 MB without insertion order (which no
# table here relies on) loads 1,000,000 rows (50 accounts at the API's cap) at 644 MB, 200,000
# rows at 536 MB and an organization of 200 accounts at 333 MB, no job refused; 64 MB runs out
# of memory at 220,000 rows. 128 MB, the bound while jobs loaded side by side: 365 MB there.
DUCKDB_SETTINGS = {"memory_limit": "96MB", "preserve_insertion_order": False}
DUCKDB_FILE_SETTING = "destination.duckdb.credentials"


def duckdb_file(pipeline_name: str, given: str | None = None) -> Path:
    """Where a DuckDB run writes: `--duckdb-file`, else DESTINATION__DUCKDB__CREDENTIALS (or
    secrets.toml), else `<pipeline name>.duckdb` in the folder the command runs in. Always
    decided here: dlt would otherwise pin the file to the folder of the pipeline's first run."""
    configured = configured_value(DUCKDB_FILE_SETTING)
    given = given or (configured if isinstance(configured, str) else None)
    return Path(given or f"{pipeline_name}.duckdb").expanduser().resolve()


def destination(name: str, pipeline_name: str, duckdb_path: Path | None = None) -> Any:
    """The destination by name (one of DESTINATIONS, which the command's arguments enforce);
    DuckDB at its decided file with its memory bounded."""
    if name == "duckdb":
        path = duckdb_path or duckdb_file(pipeline_name)
        credentials = DuckDbCredentials(str(path), global_config=dict(DUCKDB_SETTINGS))
        return dlt.destinations.duckdb(credentials=credentials, **DESTINATIONS[name].capabilities)
    if name == "postgres":
        return _postgres()
    return Destination.from_reference(name)


def _postgres() -> Any:
    """PostgreSQL as configured, a DSN without a password included; one line when nothing is."""
    configured = configured_value(POSTGRES_CREDENTIALS_SETTING)
    if isinstance(configured, str):
        return dlt.destinations.postgres(credentials=postgres_credentials(configured))
    if not configured:
        raise ScmConfigError(
            "no PostgreSQL credentials: set DESTINATION__POSTGRES__CREDENTIALS to the database's"
            " DSN (a password in it or not), or credentials under [destination.postgres] in"
            " .dlt/secrets.toml"
        )
    return Destination.from_reference("postgres")


def make_pipeline(
    pipeline_name: str = PIPELINE_NAME,
    destination: Any = "duckdb",
    dataset_name: str = DATASET_NAME,
    **options: Any,
) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=destination,
        dataset_name=dataset_name,
        progress=progress(),
        **options,
    )


def progress() -> Any:
    """On a terminal, dlt's progress every 10 s on stderr; in a scheduler's log, nothing: the
    summary says what the run did."""
    if not sys.stderr.isatty():
        return None
    return dlt.progress.log(10, logger=sys.stderr, dump_system_stats=False)
