"""scm-export on a BigQuery emulator (tests/bigquery_emulator.py), through dlt's BigQuery
destination as a user runs it, checked against the same on DuckDB: tests/bigquery_load.py runs
`run`, a day's churn, `run` again and `check --json` on both sides from one simulator. The two
engines must agree: every table's rows and types, every view the command installed, every
finding. Where unshare is not allowed, or the emulator cannot be installed, the tests are
skipped with one line saying why.

What this proves and what not: the load, the merges and the views run on BigQuery's API and
SQL as an emulator that is DuckDB underneath (its sqlglot translates BigQuery back) serves
them, so it catches what our SQL or dlt's use of the API breaks, not what BigQuery alone would
refuse; ZetaSQL (test_views.py) checks the GoogleSQL analysis. No real BigQuery."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from scm_source.warehouse.views import views
from tests import bigquery_emulator
from tests.conftest import REPO, unconfigured_environment

# Values of each side's own clock and dlt's ids: the two sides load seconds apart, so these
# agree in whether they are set, not in value.
RUN_CLOCK = {
    "_dlt_load_id",
    "_dlt_id",
    "started_at",  # sync_log: when each run ran
    "finished_at",
    "read_at",  # when a certificate's detail, deployments or renewals were read
    "valid_from",  # history: the load that saw a version
    "valid_to",
    "changed_seen_at",  # certificate_status_changes: the load that saw the change
    "last_sync_at",  # sync_status
    "last_loaded_at",
}
# The type dlt gives a column on each side.
BIGQUERY_TYPE = {
    "VARCHAR": "STRING",
    "BIGINT": "INTEGER",
    "BOOLEAN": "BOOLEAN",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "DOUBLE": "FLOAT",
}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    why = bigquery_emulator.ready()
    if why:
        pytest.skip(f"BigQuery emulator: {why}")
    folder = tmp_path_factory.mktemp("bigquery")
    environment = {**unconfigured_environment(), "DLT_DATA_DIR": str(folder / "dlt")}
    with bigquery_emulator.Emulator(folder / "emulator.log") as emulator:
        ran = emulator.run(
            [sys.executable, "-m", "tests.bigquery_load", str(folder)], REPO, environment
        )
    assert ran.returncode == 0, (ran.stderr[-3000:], (folder / "emulator.log").read_text()[-3000:])
    loaded: dict[str, Any] = json.loads((folder / "result.json").read_text())
    return loaded


def comparable(rows: list[dict[str, Any]], columns: set[str]) -> list[str]:
    """Rows as sorted text, the run's clock (and a hash that covers it) as set or not."""
    clock = RUN_CLOCK | ({"version_hash"} if "read_at" in columns else set())
    return sorted(
        json.dumps(
            {name: (value is not None) if name in clock else value for name, value in row.items()},
            sort_keys=True,
        )
        for row in rows
    )


def ours(held: dict[str, Any], kind: str) -> list[str]:
    return sorted(
        name for name, each in held.items() if each["kind"] == kind and not name.startswith("_dlt")
    )


def test_both_runs_load_on_bigquery_what_they_load_on_duckdb(result: dict[str, Any]) -> None:
    said = result["said"]
    for run in ("first run", "second run"):
        duckdb, bigquery = said[f"{run} on duckdb"], said[f"{run} on bigquery"]
        assert (duckdb["exit"], bigquery["exit"]) == (0, 0), (run, duckdb, bigquery)
        assert bigquery["printed"].startswith("Loaded into bigquery, dataset scm, in ")
        # one line per account and object, rows and requests: the same on both sides
        assert bigquery["printed"].splitlines()[1:] == duckdb["printed"].splitlines()[1:]
    # the second run read only what changed, carrying the rest over from the warehouse
    assert "certificate_details" in said["second run on bigquery"]["printed"]


def test_every_table_holds_the_same_rows_and_types(result: dict[str, Any]) -> None:
    duckdb, bigquery = result["held"]["duckdb before"], result["held"]["bigquery"]
    tables = ours(duckdb, "TABLE")
    assert ours(bigquery, "TABLE") == tables
    for table in tables:
        expected = {name: BIGQUERY_TYPE[kind] for name, kind in duckdb[table]["types"].items()}
        assert bigquery[table]["types"] == expected, table
        columns = set(expected)
        assert comparable(bigquery[table]["rows"], columns) == comparable(
            duckdb[table]["rows"], columns
        ), table
    # The merge ran: the certificates are those the simulator lists after the churn, the
    # deleted ones gone (independently of DuckDB).
    held = {row["id"] for row in bigquery["certificates"]["rows"]}
    assert held == set(result["listed"])
    assert not held & set(result["churn"]["deleted"])
    assert set(result["churn"]["added"]) <= held
    assert len(bigquery["certificate_details"]["rows"]) == len(result["listed"])


def test_every_view_answers_on_bigquery_as_on_duckdb(result: dict[str, Any]) -> None:
    held = result["held"]
    names = [view.name for view in views()]
    assert ours(held["bigquery"], "VIEW") == sorted(names)

    def verdict(name: str) -> str:
        columns = set(held["duckdb before"][name]["types"])
        answer = comparable(held["bigquery"][name]["rows"], columns)
        if answer in (
            comparable(held[f"duckdb {when}"][name]["rows"], columns)
            for when in ("before", "after")
        ):
            return "agrees"
        return f"differs: {len(answer)} rows on BigQuery, {len(held['duckdb before'][name]['rows'])} on DuckDB"

    assert {name: verdict(name) for name in names} == dict.fromkeys(names, "agrees")
    # Every view has rows to compare but this one (no account forgotten).
    assert [name for name in names if not held["duckdb before"][name]["rows"]] == [
        "forgotten_accounts"
    ]


def test_check_finds_on_bigquery_what_it_finds_on_duckdb(result: dict[str, Any]) -> None:
    said = result["said"]
    found = {
        when: (said[f"check on {when}"]["exit"], json.loads(said[f"check on {when}"]["printed"]))
        for when in ("duckdb before", "bigquery", "duckdb after")
    }
    assert found["bigquery"][0] == 3  # findings exist
    assert found["bigquery"] in (found["duckdb before"], found["duckdb after"])
    assert {finding["severity"] for finding in found["bigquery"][1]} >= {"critical", "low"}
