"""What a resource needs to know of the pipeline that runs it."""

from __future__ import annotations

import os

import dlt

DUCKDB_FILE_STATE = "duckdb_database"  # the local state key dlt reads a pipeline's file from


def destination_kind(pipeline: dlt.Pipeline) -> str | None:
    """`duckdb`, `postgres`, `bigquery`...: the destination's type without dlt's module path."""
    destination = pipeline.destination
    return destination.destination_type.rsplit(".", 1)[-1] if destination else None


def remember_duckdb_file(pipeline: dlt.Pipeline) -> None:
    """Keeps the DuckDB file a pipeline loads into in its local state, where dlt looks for it
    when the pipeline is attached by name (`dlt.attach(name).dataset()`, what analysts run):
    otherwise an explicit file is forgotten and attach opens an empty `<name>.duckdb`."""
    if destination_kind(pipeline) != "duckdb":
        return
    credentials = pipeline.destination.config_params.get("credentials")
    database = getattr(credentials, "database", credentials)
    if isinstance(database, str) and database.endswith(".duckdb"):
        if not os.path.isabs(database):
            database = os.path.join(pipeline.get_local_state_val("initial_cwd"), database)
        pipeline.set_local_state_val(DUCKDB_FILE_STATE, database)
