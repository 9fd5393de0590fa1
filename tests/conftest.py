"""Shared fixtures: simulators over real sockets, pipelines in a temp dir, and row readers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import psycopg2
import pytest
from scm_export.target import make_pipeline

from scm_source import ScmAccountsFailed, load, scm_source
from scm_source.simulator import Dataset, Simulator, SimulatorOptions

POSTGRES_DSN = os.environ.get(
    "SCM_TEST_POSTGRES", "postgresql://postgres:trust-auth-ignores-this@127.0.0.1:5432/test"
)
REPO = Path(__file__).resolve().parent.parent
# The simulator models the docs' bounds on one query by default (offset <= 100, totals capped at
# 10,000); tests about something else that count requests lift them (test_bounds tests them).
UNBOUNDED: dict[str, None] = {"max_offset": None, "max_total": None}
# The two lists alone, for tests about listing (the estate's objects read per certificate).
LISTS = ("certificates", "csr_list")
LISTS_ONLY = ("--resources", ",".join(LISTS))


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    """Sizes that need several pages at every page size, and >100 CSRs for page offsets."""
    return Dataset.generate(certificates=173, csrs=131, seed=7)


@pytest.fixture(scope="session", params=["record", "page"])
def simulator(request: pytest.FixtureRequest, dataset: Dataset) -> Iterator[Simulator]:
    """One simulator per reading of `offset`."""
    with Simulator(dataset, SimulatorOptions(offset_mode=request.param, **UNBOUNDED)) as running:
        yield running


@pytest.fixture
def sim(dataset: Dataset) -> Iterator[Simulator]:
    """A fresh record-offset simulator whose request log belongs to one test."""
    with Simulator(dataset) as running:
        yield running


@pytest.fixture
def duckdb_destination(tmp_path: Path) -> Any:
    return dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb"))


@dataclass(frozen=True)
class Warehouse:
    destination: Any
    dataset_name: str


@contextmanager
def warehouse_of(kind: str, folder: Path) -> Iterator[Warehouse]:
    """A DuckDB file in `folder`, or a schema of its own in the real local PostgreSQL (dropped
    afterwards)."""
    if kind == "duckdb":
        yield Warehouse(dlt.destinations.duckdb(str(folder / "warehouse.duckdb")), "scm")
        return
    name = f"scm_test_{uuid.uuid4().hex[:10]}"
    try:
        yield Warehouse(dlt.destinations.postgres(POSTGRES_DSN), name)
    finally:
        with psycopg2.connect(POSTGRES_DSN) as connection, connection.cursor() as cursor:
            for schema in (name, f"{name}_staging"):
                cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    with warehouse_of(request.param, tmp_path) as chosen:
        yield chosen


def lists_source(**settings: Any) -> Any:
    """The source with its two lists alone: what tests about listing load."""
    return scm_source(**settings).with_resources(*LISTS)


def every_list(**settings: Any) -> dict[str, dict[str, Any]]:
    """The same settings (a page size, an offset mode) for both lists."""
    return {name: dict(settings) for name in LISTS}


def run_load(
    simulator: Simulator,
    tmp_path: Path,
    destination: Any,
    dataset_name: str = "scm",
    pipeline_name: str = "scm_test",
    resources: tuple[str, ...] = LISTS,
    **settings: Any,
) -> dlt.Pipeline:
    """Loads the simulator's `resources` (the two lists unless told) as `scm-export run` does."""
    settings = {
        "credentials": {"auth_token": simulator.token},
        "endpoint": simulator.url,
        **settings,
    }
    source = scm_source(**settings).with_resources(*resources)
    return load_source(source, tmp_path, destination, dataset_name, pipeline_name)


def load_source(
    source: Any,
    tmp_path: Path,
    destination: Any,
    dataset_name: str = "scm",
    pipeline_name: str = "scm_test",
) -> dlt.Pipeline:
    """Loads a source the way `scm-export run` does, with the pipeline's files in `tmp_path`."""
    pipeline = make_pipeline(
        pipeline_name, destination, dataset_name, pipelines_dir=str(tmp_path / "pipelines")
    )
    load(pipeline, source)
    return pipeline


def load_failure(source: Any, tmp_path: Path) -> dict[str, Any]:
    """Loads a source whose one list fails: the failure as the run reports it (the sync log's
    entry), after checking that the line a user sees is that error itself."""
    with pytest.raises(ScmAccountsFailed) as caught:
        load_source(source, tmp_path, dlt.destinations.duckdb(str(tmp_path / "failed.duckdb")))
    [failure] = caught.value.failures
    assert str(caught.value) == failure["error"] and failure["outcome"] == "failed"
    return failure


def query(pipeline: dlt.Pipeline, sql: str) -> list[dict[str, Any]]:
    """Rows as dicts, through the destination's own client (DuckDB or PostgreSQL)."""
    with pipeline.sql_client() as client, client.execute_query(sql) as cursor:
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def table_rows(pipeline: dlt.Pipeline, table: str) -> dict[str, dict[str, Any]]:
    return {
        row["id"]: row for row in query(pipeline, f"SELECT * FROM {pipeline.dataset_name}.{table}")
    }


@contextmanager
def own_postgres_database(prefix: str) -> Iterator[str]:
    """A database of the caller's own on the local server, dropped after: for what writes to a
    fixed schema name (the command's default `scm`) while other tests run."""
    database = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(POSTGRES_DSN)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {database}")
    try:
        yield POSTGRES_DSN.rsplit("/", 1)[0] + f"/{database}"
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()


def unconfigured_environment() -> dict[str, str]:
    """This process's environment without scm-export's and dlt's settings in it."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "DESTINATION__"))
    }


def scm_export(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Runs the installed command as a user would, with dlt's data dir inside `cwd`."""
    environment = {
        **unconfigured_environment(),
        "DLT_DATA_DIR": str(cwd / "dlt-data"),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "scm_export.cli", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
