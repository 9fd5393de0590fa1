"""An Airflow DAG: one task per configured account, hourly, each loading its account into the
warehouse as `scm-export run` does (views installed, a failed account fails its task only).

Copy this file into your DAGs folder on workers that have `pip install <this repository>`;
settings come from the workers' environment (SOURCES__SCM_SOURCE__ACCOUNTS, each account's
SOURCES__SCM_SOURCE__<ALIAS>__* and DESTINATION__POSTGRES__CREDENTIALS) or their .dlt/ folder.
Each task has a pipeline of its own (its own state and lock); they run one after another
(`max_active_tasks=1`) because they share the dataset's staging tables.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import dlt

from scm_source import load, scm_source

DESTINATION = os.environ.get("SCM_EXPORT_DESTINATION", "postgres")
DATASET = os.environ.get("SCM_EXPORT_DATASET", "scm")


def configured_accounts() -> list[str]:
    """The aliases of `sources.scm_source.accounts`, or the single default account."""
    return list(dlt.config.get("sources.scm_source.accounts", list) or ["default"])


def load_account(alias: str) -> str:
    """One account into the shared dataset; raises (failing the task) if its lists failed."""
    accounts = None if alias == "default" else [alias]
    pipeline = dlt.pipeline(f"scm_export_{alias}", destination=DESTINATION, dataset_name=DATASET)
    return str(load(pipeline, scm_source(accounts=accounts)))


try:
    from airflow.decorators import dag, task
except ImportError:  # the task bodies above stay importable (and tested) without Airflow
    dag = task = None

if dag is not None and task is not None:

    @dag(
        schedule="17 * * * *",
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        max_active_tasks=1,  # accounts one after another: they share the staging dataset
        default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    )
    def scm_export() -> None:
        for alias in configured_accounts():
            task(task_id=f"load_{alias}")(load_account)(alias)

    scm_export()
