"""Running a load: the pipeline, stale packages dropped, the views installed afterwards, and a
failure for accounts that did not load. Used by `scm-export` and by scm_pipeline.py."""

from __future__ import annotations

import logging
import sys
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo

from scm_source import ScmAccountsFailed
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
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=destination,
        dataset_name=dataset_name,
        progress=progress(),
        **options,
    )


def progress() -> Any:
    """To stderr every 10 s, so long runs show life and stdout stays for results."""
    return dlt.progress.log(10, logger=sys.stderr, dump_system_stats=False)


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


def prepare(pipeline: dlt.Pipeline) -> None:
    """Drops load packages left by a run that failed or was killed: loading them would load stale
    rows and, as dlt does, skip this run's fresh extract. Every run reads everything it loads."""
    if pipeline.has_pending_data:
        logger.warning(
            "dropping load packages left by an earlier failed run of %s", pipeline.pipeline_name
        )
        pipeline.drop_pending_packages()


def finish(
    pipeline: dlt.Pipeline,
    source: Any,
    info: LoadInfo,
    expiring_within_days: int = DEFAULT_EXPIRING_WITHIN_DAYS,
) -> LoadInfo:
    """(Re)installs the SQL views once the dataset has certificates to show, then raises
    `ScmAccountsFailed` if an account's list did not load (the others did)."""
    info.raise_on_failed_jobs()
    if has_certificates(pipeline):
        install_views(pipeline, expiring_within_days)
    raise_for_failed_accounts(last_sync(pipeline, source))
    return info


def load(pipeline: dlt.Pipeline, source: Any,
         expiring_within_days: int = DEFAULT_EXPIRING_WITHIN_DAYS) -> LoadInfo:  # fmt: skip
    validate_days(expiring_within_days)
    prepare(pipeline)
    info = pipeline.run(source, loader_file_format=loader_file_format(pipeline))
    return finish(pipeline, source, info, expiring_within_days)
