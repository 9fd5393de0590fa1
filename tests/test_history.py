"""Scheduled runs keep history: after the simulator's data changes, the snapshot, the SCD2
versions, their validity and certificate_status_changes are exactly what the changes imply,
on DuckDB and on the real PostgreSQL. Expected values come from the simulator's data."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import dlt
import requests

from scm_source.simulator import Dataset, Simulator
from tests.conftest import Warehouse, query, run_load

OBJECT_TABLES = ("certificates", "csr_list", "certificates_history", "csr_history")


def listed_statuses(dataset: Dataset) -> dict[str, str]:
    return {r.api["id"]: r.api["status"] for r in dataset.certificates if r.owned_by_self}


def everything(pipeline: Any, tables: tuple[str, ...] = OBJECT_TABLES, where: str = "") -> dict:
    """Every row of the tables, as a reader sees them, in a stable order."""
    return {
        table: sorted(
            (
                tuple(row.values())
                for row in query(pipeline, f"SELECT * FROM {pipeline.dataset_name}.{table} {where}")
            ),
            key=repr,
        )
        for table in tables
    }


def versions(pipeline: Any, table: str, column: str) -> dict[str, list[dict[str, Any]]]:
    """Each object's versions, oldest first."""
    rows = query(
        pipeline,
        f"SELECT id, {column}, valid_from, valid_to FROM {pipeline.dataset_name}.{table}"
        " ORDER BY valid_from",
    )
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_id[row["id"]].append(row)
    return by_id


def test_changes_between_runs_give_exact_snapshots_versions_and_status_changes(
    tmp_path: Path, warehouse: Warehouse
) -> None:
    dataset = Dataset.generate(certificates=60, csrs=20, seed=31)
    with Simulator(dataset) as simulator:
        first = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)
        before = listed_statuses(dataset)
        ids = sorted(before)
        changed = {ids[0]: "REVOKED", ids[1]: "EXPIRED", ids[2]: "ISSUED"}
        changed = {i: s if s != before[i] else "UNPASSED" for i, s in changed.items()}
        for certificate_id, status in changed.items():
            dataset.set_status(certificate_id, status)
        deleted = {ids[3], ids[4]}
        dataset.delete_certificates(deleted)
        added = {r.api["id"] for r in dataset.add_certificates(2, seed=5)}
        renamed, original_name = dataset.csrs[0]["id"], dataset.csrs[0]["name"]
        dataset.update_csr(renamed, name="csr-renamed")
        second = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)
    assert first.pipeline_name == second.pipeline_name

    # The snapshot: what the API lists now, nothing else.
    now_listed = listed_statuses(dataset)
    snapshot = {
        r["id"]: r["status"]
        for r in query(second, f"SELECT id, status FROM {warehouse.dataset_name}.certificates")
    }
    assert snapshot == now_listed and not deleted & snapshot.keys() and added <= snapshot.keys()
    names = {
        r["id"]: r["name"]
        for r in query(second, f"SELECT id, name FROM {warehouse.dataset_name}.csr_list")
    }
    assert names == {csr["id"]: csr["name"] for csr in dataset.csrs}
    assert names[renamed] == "csr-renamed"

    # The history: one version per state seen; closed when changed or gone.
    history = versions(second, "certificates_history", "status")
    boundaries = sorted({v["valid_from"] for vs in history.values() for v in vs})
    assert len(boundaries) == 2  # one per load
    load_1, load_2 = boundaries
    assert history.keys() == before.keys() | added
    for certificate_id, seen in history.items():
        states = [(v["status"], v["valid_from"], v["valid_to"]) for v in seen]
        if certificate_id in changed:
            expected = [
                (before[certificate_id], load_1, load_2),
                (changed[certificate_id], load_2, None),
            ]
        elif certificate_id in deleted:
            expected = [(before[certificate_id], load_1, load_2)]
        elif certificate_id in added:
            expected = [(now_listed[certificate_id], load_2, None)]
        else:
            expected = [(before[certificate_id], load_1, None)]
        assert states == expected, certificate_id
    assert len(query(second, f"SELECT id FROM {warehouse.dataset_name}.certificates_history")) == (
        len(before) + len(changed) + len(added)
    )

    csr_history = versions(second, "csr_history", "name")
    assert {i: len(v) for i, v in csr_history.items() if len(v) != 1} == {renamed: 2}
    assert [v["name"] for v in csr_history[renamed]] == [original_name, "csr-renamed"]
    assert csr_history[renamed][0]["valid_to"] == csr_history[renamed][1]["valid_from"] == load_2

    # The view: exactly the three status changes, seen at the second load.
    changes = query(
        second,
        "SELECT account, id, previous_status, new_status, changed_seen_at"
        f" FROM {warehouse.dataset_name}.certificate_status_changes",
    )
    assert sorted(tuple(c.values()) for c in changes) == sorted(
        ("default", i, before[i], status, load_2) for i, status in changed.items()
    )


def test_a_rerun_with_no_change_adds_rows_only_to_the_sync_log(
    tmp_path: Path, warehouse: Warehouse
) -> None:
    dataset = Dataset.generate(certificates=50, csrs=15, seed=32)
    with Simulator(dataset) as simulator:
        pipeline = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)
        before = everything(pipeline)
        pipeline = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)
    assert everything(pipeline) == before
    log = query(
        pipeline,
        "SELECT resource, outcome, api_total, rows, pages"
        f" FROM {warehouse.dataset_name}.sync_log ORDER BY started_at",
    )
    listed = len(listed_statuses(dataset))
    expected = [
        {
            "resource": "certificates",
            "outcome": "loaded",
            "api_total": listed,
            "rows": listed,
            "pages": math.ceil(listed / 50),
        },
        {"resource": "csr_list", "outcome": "loaded", "api_total": 15, "rows": 15, "pages": 1},
    ]
    key = lambda row: row["resource"]  # noqa: E731
    assert sorted(log[:2], key=key) == expected and sorted(log[2:], key=key) == expected


def test_a_filtered_run_touches_only_what_it_received(tmp_path: Path, warehouse: Warehouse) -> None:
    dataset = Dataset.generate(certificates=80, csrs=10, seed=33)
    with Simulator(dataset) as simulator:
        pipeline = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)
        statuses = listed_statuses(dataset)
        now_revoked = next(i for i, s in sorted(statuses.items()) if s == "ISSUED")
        elsewhere = next(i for i, s in sorted(statuses.items()) if s == "UPLOAD")
        gone = next(i for i, s in sorted(statuses.items()) if s == "EXPIRED")
        before = everything(pipeline, where=f"WHERE id <> '{now_revoked}'")
        dataset.set_status(now_revoked, "REVOKED")  # selected by the filter
        dataset.set_status(elsewhere, "ISSUED")  # not selected
        dataset.delete_certificates({gone})  # not selected either
        pipeline = run_load(
            simulator,
            tmp_path,
            warehouse.destination,
            warehouse.dataset_name,
            certificates={"status": "REVOKED"},
        )
    # Every other object, the unselected changed and deleted ones too, exactly as before...
    assert everything(pipeline, where=f"WHERE id <> '{now_revoked}'") == before
    # ...and the one it received moved on.
    history = versions(pipeline, "certificates_history", "status")[now_revoked]
    assert [(v["status"], v["valid_to"] is None) for v in history] == [
        ("ISSUED", False),
        ("REVOKED", True),
    ]
    assert history[0]["valid_to"] == history[1]["valid_from"]
    assert query(
        pipeline,
        f"SELECT status FROM {warehouse.dataset_name}.certificates WHERE id = '{now_revoked}'",
    ) == [{"status": "REVOKED"}]


def test_the_simulator_changes_its_data_when_asked_over_http(tmp_path: Path) -> None:
    dataset = Dataset.generate(certificates=40, csrs=10, seed=34)
    with Simulator(dataset) as simulator:
        pipeline = run_load(simulator, tmp_path, duckdb(tmp_path))
        before = listed_statuses(dataset)
        response = requests.post(f"{simulator.url}/simulator/churn?count=4&seed=2", timeout=10)
        changed = response.json()
        pipeline = run_load(simulator, tmp_path, duckdb(tmp_path))
    assert response.status_code == 200
    assert [
        len(changed[key]) for key in ("status_changed", "deleted", "added", "csrs_renamed")
    ] == [2, 2, 4, 4]
    after = listed_statuses(dataset)
    assert set(changed["deleted"]) <= before.keys() and not set(changed["deleted"]) & after.keys()
    assert all(before[i] != after[i] for i in changed["status_changed"])
    snapshot = {
        r["id"]: r["status"] for r in query(pipeline, "SELECT id, status FROM scm.certificates")
    }
    assert snapshot == after
    seen = query(pipeline, "SELECT id FROM scm.certificate_status_changes")
    assert sorted(r["id"] for r in seen) == sorted(changed["status_changed"])


def duckdb(tmp_path: Path) -> Any:
    return dlt.destinations.duckdb(str(tmp_path / "churn.duckdb"))
