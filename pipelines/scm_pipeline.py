"""The plain dlt pipeline script (what `dlt deploy` expects); `scm-export run` does the same.

Settings come from .dlt/config.toml, .dlt/secrets.toml and SOURCES__SCM_SOURCE__* variables.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo

from scm_source import ScmAccountsFailed, scm_source
from scm_source.accounts import DEFAULT_ALIAS
from scm_source.sync import FAILED
from scm_source.views import (
    DEFAULT_EXPIRING_WITHIN_DAYS,
    has_certificates,
    install_views,
    validate_days,
)

logger = logging.getLogger(__name__)

PIPELINE_NAME = "scm_export"
DATASET_NAME = "scm"


def make_pipeline(
    pipeline_name: str = PIPELINE_NAME,
    destination: Any = "duckdb",
    dataset_name: str = DATASET_NAME,
    **options: Any,
) -> dlt.Pipeline:
    """Progress goes to stderr every 10 s, so long runs show life and stdout stays for results."""
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=destination,
        dataset_name=dataset_name,
        progress=dlt.progress.log(10, logger=sys.stderr, dump_system_stats=False),
        **options,
    )


def last_sync(pipeline: dlt.Pipeline, source: Any) -> list[dict[str, Any]]:
    """This run's sync log entries (one per account and list) for the lists it read."""
    resources = pipeline.state.get("sources", {}).get(source.name, {}).get("resources", {})
    return [
        entry
        for name in source.selected_resources
        for entry in resources.get(name, {}).get("last_run", {}).values()
    ]


def raise_for_failed_accounts(entries: list[dict[str, Any]]) -> None:
    """After the others loaded: one line naming each account that did not, and why."""
    failed = [entry for entry in entries if entry["outcome"] == FAILED]
    if failed:
        raise ScmAccountsFailed(failed, DEFAULT_ALIAS)


def loader_file_format(pipeline: dlt.Pipeline) -> Any:
    """Parquet where the destination loads it natively (DuckDB, BigQuery). Elsewhere INSERT
    statements: dlt's CSV path for PostgreSQL COPYs with FORCE_NULL on every nullable column,
    which turns the API's empty strings (`sans` = "") into NULL."""
    destination = pipeline.destination.destination_type.rsplit(".", 1)[-1]
    return "parquet" if destination in ("duckdb", "bigquery") else "insert_values"


def load(pipeline: dlt.Pipeline, source: Any,
         expiring_within_days: int = DEFAULT_EXPIRING_WITHIN_DAYS) -> LoadInfo:  # fmt: skip
    """Loads, (re)installs the SQL views once the dataset has certificates to show, then raises
    `ScmAccountsFailed` if an account's list did not load (the others did)."""
    validate_days(expiring_within_days)
    if pipeline.has_pending_data:
        # Left by a run that failed or was killed. Loading them would load stale rows and, as
        # dlt does, skip this run's fresh extract; every run reads everything it loads, so they
        # are dropped and this run starts clean.
        logger.warning(
            "dropping load packages left by an earlier failed run of %s", pipeline.pipeline_name
        )
        pipeline.drop_pending_packages()
    info = pipeline.run(source, loader_file_format=loader_file_format(pipeline))
    info.raise_on_failed_jobs()
    if has_certificates(pipeline):
        install_views(pipeline, expiring_within_days)
    raise_for_failed_accounts(last_sync(pipeline, source))
    return info


if __name__ == "__main__":
    print(load(make_pipeline(), scm_source()))
