"""Every view's BigQuery SQL executed on a BigQuery emulator (tests/bigquery_emulator.py), on the
rows a load put in DuckDB, and its rows compared with the same view's on DuckDB: the two must
agree. The emulator runs inside a network namespace with only loopback up; where that is not
allowed, or the emulator cannot be installed, the test is skipped with one line saying why.

What this proves and what not: the SQL we render for BigQuery runs and answers as DuckDB's
does, on an emulator that is itself DuckDB underneath (sqlglot translates BigQuery back), so it
catches what the translation breaks, not what BigQuery alone would refuse; ZetaSQL
(test_views.py) checks the GoogleSQL analysis. No real BigQuery, and no dlt load into it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from scm_source.objects.registry import OBJECT_NAMES
from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from scm_source.warehouse.policy import POLICY_TABLE
from scm_source.warehouse.views import LOADED_TABLES, loaded_tables, render_create, views
from tests import bigquery_emulator
from tests.conftest import UNBOUNDED, run_load


@pytest.fixture(scope="module")
def emulator() -> None:
    why = bigquery_emulator.ready()
    if why:
        pytest.skip(f"BigQuery emulator: {why}")


def duckdb_rows(database: Path, names: list[str]) -> dict[str, list[list[str]]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return {
            name: sorted(
                [str(value) for value in row]
                for row in connection.execute(f"SELECT * FROM scm.{name}").fetchall()
            )
            for name in names
        }


def test_every_view_answers_on_the_emulator_as_on_duckdb(emulator: None, tmp_path: Path) -> None:
    dataset = Dataset.generate(certificates=150, csrs=5, seed=21, private_cas=5)
    database = tmp_path / "warehouse.duckdb"
    with Simulator(dataset, SimulatorOptions(**UNBOUNDED)) as simulator:
        pipeline = run_load(
            simulator,
            tmp_path,
            dlt.destinations.duckdb(str(database)),
            resources=(*OBJECT_NAMES, POLICY_TABLE),
        )
    present = loaded_tables(pipeline) & LOADED_TABLES
    folder = tmp_path / "bigquery"
    folder.mkdir()
    with duckdb.connect(str(database), read_only=True) as connection:
        for table in sorted(present):
            connection.execute(
                f"COPY (SELECT * FROM scm.{table}) TO '{folder / table}.parquet' (FORMAT parquet)"
            )
    names = [view.name for view in views()]
    for view in views():
        sql = render_create(
            view, "bigquery", lambda name: ["test-project", "scm", name], 30, present
        )
        (folder / f"{view.name}.sql").write_text(sql)
    (folder / "order.json").write_text(json.dumps({"tables": sorted(present), "views": names}))

    # Views compute days at query time: the emulator's answer must be DuckDB's just before or
    # just after it.
    before = duckdb_rows(database, names)
    ran = bigquery_emulator.run(folder)
    after = duckdb_rows(database, names)
    assert ran.returncode == 0, (ran.stderr[-3000:], (folder / "emulator.log").read_text()[-3000:])
    answers: dict[str, Any] = json.loads((folder / "emulator.json").read_text())
    verdicts = {
        name: "error: " + answers[name]["error"]
        if isinstance(answers[name], dict)
        else "agrees"
        if sorted(answers[name]) in (before[name], after[name])
        else f"differs: {len(answers[name])} rows on the emulator, {len(before[name])} on DuckDB"
        for name in names
    }
    assert verdicts == dict.fromkeys(names, "agrees")
    # Every view has rows to compare but these two (one load: no status change, none forgotten).
    assert [name for name in names if not before[name]] == [
        "forgotten_accounts",
        "certificate_status_changes",
    ]
