"""A row is retired (gone from the snapshot, its version closed) only when its account's list was
read in full: a read behind the API's bounds, with rows no query reached, keeps every earlier
row it did not reach exactly as it was, and says so in the sync log. On DuckDB and PostgreSQL;
expected rows come from the simulator's data and the first load's own tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from tests.conftest import UNBOUNDED, Warehouse, query, run_load, scm_export

BOUNDED = SimulatorOptions(offset_mode="record", max_offset=100)


def rows_of(pipeline: Any, table: str) -> dict[str, tuple[Any, ...]]:
    """Every row of a table by id (the history: every version, by id and valid_from)."""
    rows = query(pipeline, f"SELECT * FROM {pipeline.dataset_name}.{table}")
    if table.endswith("_history"):
        return {f"{row['id']}@{row['valid_from']}": tuple(row.values()) for row in rows}
    return {row["id"]: tuple(row.values()) for row in rows}


def last_sync(pipeline: Any, resource: str) -> dict[str, Any]:
    return query(
        pipeline,
        "SELECT outcome, rows, rows_unreachable, read_in_full, retired, kept_unverified"
        f" FROM {pipeline.dataset_name}.sync_log WHERE resource = '{resource}'"
        " ORDER BY started_at DESC LIMIT 1",
    )[0]


def listed(dataset: Dataset) -> set[str]:
    return {record.api["id"] for record in dataset.certificates if record.owned_by_self}


def test_a_read_with_unreachable_rows_retires_nothing(tmp_path: Path, warehouse: Warehouse) -> None:
    """300 certificates alike in every field a query can filter or sort by: read whole while
    offsets are unbounded, then behind the docs' bound (150 rows a query), where some of them no
    query reaches. Those keep their rows and versions; one deleted upstream is kept too (the
    read cannot tell it from one not reached); one reached with a new status is updated."""
    dataset = Dataset.generate(certificates=60, csrs=5, seed=41, twins=300)
    with Simulator(dataset, SimulatorOptions(**UNBOUNDED)) as simulator:
        first = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)
    assert last_sync(first, "certificates")["read_in_full"] is True
    before = {table: rows_of(first, table) for table in ("certificates", "certificates_history")}
    assert before["certificates"].keys() == listed(dataset)

    ordinary = sorted(i for i in listed(dataset) if not i.startswith("scs-twin"))
    changed, deleted = ordinary[0], ordinary[1]
    new_status = "REVOKED" if dataset.certificate(changed).api["status"] != "REVOKED" else "ISSUED"
    dataset.set_status(changed, new_status)
    dataset.delete_certificates({deleted})
    with Simulator(dataset, BOUNDED) as simulator:
        second = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)

    sync = last_sync(second, "certificates")
    assert sync["outcome"] == "loaded" and sync["rows_unreachable"] > 0
    assert sync["read_in_full"] is False and sync["retired"] == 0
    # Every earlier row but the ones this read reached (all of them still listed) is kept.
    assert sync["kept_unverified"] == len(before["certificates"]) - sync["rows"] > 1

    after = rows_of(second, "certificates")
    assert after.keys() == before["certificates"].keys()  # nothing retired, `deleted` included
    unchanged = {i: row for i, row in before["certificates"].items() if i != changed}
    assert {i: row for i, row in after.items() if i != changed} == unchanged
    status = query(
        second, f"SELECT status FROM {warehouse.dataset_name}.certificates WHERE id = '{changed}'"
    )
    assert status == [{"status": new_status}]

    history = rows_of(second, "certificates_history")
    assert {k: v for k, v in history.items() if not k.startswith(changed)} == {
        k: v for k, v in before["certificates_history"].items() if not k.startswith(changed)
    }
    versions = query(
        second,
        f"SELECT status, valid_to FROM {warehouse.dataset_name}.certificates_history"
        f" WHERE id = '{changed}' ORDER BY valid_from",
    )
    assert [(v["status"], v["valid_to"] is None) for v in versions][-1] == (new_status, True)
    assert len(versions) == 2 and versions[0]["valid_to"] is not None


def test_a_read_in_full_still_retires_a_deleted_row(tmp_path: Path, warehouse: Warehouse) -> None:
    dataset = Dataset.generate(certificates=40, csrs=5, seed=42)
    with Simulator(dataset, SimulatorOptions(**UNBOUNDED)) as simulator:
        first = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)
        before = rows_of(first, "certificates").keys()
        deleted = sorted(listed(dataset))[0]
        dataset.delete_certificates({deleted})
        second = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)
    assert before - rows_of(second, "certificates").keys() == {deleted}
    assert rows_of(second, "certificates").keys() == listed(dataset)
    closed = query(
        second,
        f"SELECT valid_to FROM {warehouse.dataset_name}.certificates_history"
        f" WHERE id = '{deleted}'",
    )
    assert len(closed) == 1 and closed[0]["valid_to"] is not None
    sync = last_sync(second, "certificates")
    assert (sync["read_in_full"], sync["retired"], sync["kept_unverified"]) == (True, 1, 0)


def test_an_empty_accounts_list_is_refused_before_any_request(
    sim: Simulator, tmp_path: Path
) -> None:
    """`accounts = []` reads nothing, rather than silently the source's own account."""
    env = {
        "SOURCES__SCM_SOURCE__ACCOUNTS": "[]",
        "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": sim.token,
    }
    result = scm_export("run", "--endpoint", sim.url, cwd=tmp_path, env=env)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "scm-export: error: accounts is an empty list: list the aliases of the accounts to read"
        ' (e.g. ["prod"]), or remove the setting to read the source\'s own account'
        " (sources.scm_source.accounts)\n"
    )
    assert sim.requests == []
