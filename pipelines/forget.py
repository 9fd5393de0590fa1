"""`scm-export forget ACCOUNT`: retires an account that is gone (removed from the configuration,
or left out by an organization's `include`). A row in the sync log marks it forgotten; every view
then leaves it out, so it neither fails `check` nor shows in the report. Its rows and history
stay in the tables, and a later run that loads it again brings it back.
"""

from __future__ import annotations

from datetime import datetime, timezone

import dlt

from scm_source.errors import ScmConfigError
from scm_source.extract.sync import FORGOTTEN, SYNC_LOG_COLUMNS, SyncEntry
from scm_source.extract.tables import SYNC_LOG
from scm_source.warehouse.finish import run_lock
from scm_source.warehouse.views import install_views, loaded_tables

EVERY_OBJECT = "*"  # the sync log's resource for a row about the whole account


def forget(pipeline: dlt.Pipeline, account: str) -> None:
    """Marks `account` forgotten, under the pipeline's run lock (a run may be appending to the
    same sync log), then reinstalls the views."""
    with run_lock(pipeline.pipelines_dir, pipeline.pipeline_name):
        known = _accounts(pipeline)
        if account not in known:
            raise ScmConfigError(
                f"no account {account!r} in dataset {pipeline.dataset_name!r}: the sync log"
                f" knows {', '.join(sorted(known)) or 'none'}"
            )
        now = datetime.now(timezone.utc)
        entry = SyncEntry(
            account,
            EVERY_OBJECT,
            filtered=False,
            started_at=now,
            finished_at=now,
            outcome=FORGOTTEN,
            error="retired with scm-export forget",
        )
        pipeline.run(
            dlt.resource(
                [entry.row()], name=SYNC_LOG, write_disposition="append", columns=SYNC_LOG_COLUMNS
            )
        )
        install_views(pipeline)


def _accounts(pipeline: dlt.Pipeline) -> set[str]:
    if SYNC_LOG not in loaded_tables(pipeline):
        return set()
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(SYNC_LOG)
        return {row[0] for row in client.execute_sql(f"SELECT DISTINCT account FROM {table}") or []}
