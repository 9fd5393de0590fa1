"""Finishing a run the way `scm-export run` does, for every caller: the command, the plain dlt
script, a user's own pipeline, an Airflow or Dagster task.

`pipeline.run(scm_source())` alone ends "LOADED" even when an account failed: the failing account
is left out of the merge so that the others load, and dlt sees nothing wrong. `load()` (or
`finish()` after your own `pipeline.run`) installs the views and raises `ScmAccountsFailed`
naming every account whose list did not load.

    pipeline = dlt.pipeline("scm_export", destination="duckdb", dataset_name="scm")
    scm_source.load(pipeline, scm_source.scm_source())
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.common.storages import LoadStorage
from dlt.pipeline.exceptions import PipelineStepFailed

from scm_source.accounts.configured import DEFAULT_ALIAS
from scm_source.errors import ScmAccountsFailed, ScmError
from scm_source.extract.sync import FAILED, LOADED
from scm_source.extract.tables import SYNC_LOG
from scm_source.warehouse.destinations import accept_passwordless_postgres, traits_of
from scm_source.warehouse.views import (
    DEFAULT_EXPIRING_WITHIN_DAYS,
    has_certificates,
    install_views,
    validate_days,
)

logger = logging.getLogger(__name__)


class ScmPipelineBusy(ScmError):
    """Another run holds the pipeline's working folder."""


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


_HELD: set[Path] = set()  # the locks this process holds: a run's lock is taken once
_HELD_LOCK = threading.Lock()


@contextmanager
def run_lock(pipelines_dir: str, pipeline_name: str) -> Iterator[None]:
    """Holds a pipeline for one run: a second run of the same pipeline stops at once instead of
    dropping the first one's live load package. Taken before the pipeline is made: dlt wipes a
    new pipeline's working folder, the first run's files with it. So the lock lives beside the
    pipelines' folder, not in it. The OS releases it if the run dies."""
    path = Path(pipelines_dir).parent / "scm_export_locks" / f"{pipeline_name}.lock"
    with _HELD_LOCK:
        if path in _HELD:  # the command took it before making the pipeline: `load` holds it
            held_here = False
        else:
            _HELD.add(path)
            held_here = True
    if not held_here:
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ScmPipelineBusy(
                    f"another run holds pipeline {pipeline_name!r} ({path}): wait for it to"
                    " finish, or give this run another --pipeline-name"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        with _HELD_LOCK:
            _HELD.discard(path)


def prepare(pipeline: dlt.Pipeline) -> None:
    """Drops load packages left by a run that failed or was killed: loading them would load stale
    rows and, as dlt does, skip this run's fresh extract. Every run reads everything it loads.
    Call it while holding `run_lock`, so that no live run's package is dropped."""
    if pipeline.has_pending_data:
        logger.warning(
            "dropping load packages left by an earlier failed run of %s", pipeline.pipeline_name
        )
        pipeline.drop_pending_packages()
        if pipeline.default_schema_name and SYNC_LOG in pipeline.default_schema.tables:
            settle_sync_log(pipeline, "an earlier run stopped before its load was complete")


def settle_sync_log(pipeline: dlt.Pipeline, reason: str, load_ids: Sequence[str] = ()) -> None:
    """Marks `failed` the sync log rows of loads that did not land: the sync log is appended by
    a job of its own, so it can land while a merge of the same load fails. `load_ids` names the
    loads; without them, every load missing from dlt's `_dlt_loads` (which dlt writes only once
    a load is complete) is settled. Best effort: a destination that is gone cannot be told."""
    try:
        with pipeline.sql_client() as client:
            sync_log = client.make_qualified_table_name(SYNC_LOG)
            if load_ids:
                which = "_dlt_load_id IN (" + ", ".join(["%s"] * len(load_ids)) + ")"
            else:
                loads = client.make_qualified_table_name(pipeline.default_schema.loads_table_name)
                which = f"_dlt_load_id NOT IN (SELECT load_id FROM {loads} WHERE status = 0)"
            client.execute_sql(
                f"UPDATE {sync_log} SET outcome = %s, error = %s WHERE outcome = %s AND {which}",
                FAILED,
                f"the load did not complete: {reason}"[:500],
                LOADED,
                *load_ids,
            )
    except Exception as error:  # noqa: BLE001 - the failure being reported matters more
        # the next run settles it: the failed load's package is still pending then
        logger.info("could not mark the sync log of a failed load yet: %s", error)


def drop_completed_packages(pipeline: dlt.Pipeline, info: LoadInfo) -> None:
    """Deletes this run's loaded packages: dlt keeps every one (1.7 MB a run at 5,500 objects),
    so a scheduled job's folder would grow without end. The trace and state stay."""
    loaded = Path(pipeline.working_dir) / "load" / LoadStorage.LOADED_FOLDER
    for load_id in info.loads_ids:
        shutil.rmtree(loaded / load_id, ignore_errors=True)


def finish(
    pipeline: dlt.Pipeline,
    source: Any,
    info: LoadInfo,
    expiring_within_days: int = DEFAULT_EXPIRING_WITHIN_DAYS,
) -> LoadInfo:
    """After `pipeline.run(source)`: (re)installs the SQL views once the dataset has
    certificates, drops the loaded packages, then raises `ScmAccountsFailed` if an account's
    list did not load (the others did)."""
    if info.has_failed_jobs:
        settle_sync_log(pipeline, "a load job failed", info.loads_ids)
    info.raise_on_failed_jobs()
    if has_certificates(pipeline):
        install_views(pipeline, expiring_within_days)
    drop_completed_packages(pipeline, info)
    raise_for_failed_accounts(last_sync(pipeline, source))
    return info


class _ChosenWriterNotice(logging.Filter):
    """dlt warns on every arrow item bound for INSERT files (PostgreSQL) that its writer converts
    them: that is the format destinations.py chose on purpose, not news for the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "ArrowToInsertValuesWriter" not in record.getMessage()


@contextmanager
def _quiet_about_chosen_writer() -> Iterator[None]:
    notice = _ChosenWriterNotice()
    dlt_logger = logging.getLogger("dlt")
    dlt_logger.addFilter(notice)
    try:
        yield
    finally:
        dlt_logger.removeFilter(notice)


def load(
    pipeline: dlt.Pipeline,
    source: Any,
    expiring_within_days: int = DEFAULT_EXPIRING_WITHIN_DAYS,
    **run_options: Any,
) -> LoadInfo:
    """One run as `scm-export run` does it: the pipeline held, stale packages dropped, the
    source loaded, then `finish`. Raises `ScmAccountsFailed` after the other accounts loaded."""
    validate_days(expiring_within_days)
    destination = traits_of(pipeline)
    pipeline.destination.caps_params.update(destination.capabilities)
    accept_passwordless_postgres(pipeline)
    with run_lock(pipeline.pipelines_dir, pipeline.pipeline_name), _quiet_about_chosen_writer():
        prepare(pipeline)
        run_options.setdefault("loader_file_format", destination.loader_file_format)
        try:
            info = pipeline.run(source, **run_options)
        except PipelineStepFailed as failed:
            if failed.step == "load":
                settle_sync_log(pipeline, str(failed.exception).strip().splitlines()[0])
            raise
        return finish(pipeline, source, info, expiring_within_days)
