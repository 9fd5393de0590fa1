"""Every filter is sent to the API as the docs name it, and only the matching rows load."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from tests.conftest import UNBOUNDED, query, run_load

PROJECT = "6f4b1c1e-5d0f-4d3a-9a49-2a8f0c7d1e11"

# (settings, query sent, which rows the API answers): the rows as SQL over every listed
# certificate (owned_by_self=false) loaded beforehand, and whether only the account's own
# certificates are listed (the API's default; ownership is the data set's, not a field). SQL on
# the loaded columns, not the simulator's Python, so the simulator is not checked against itself.
CERTIFICATE_FILTERS: list[tuple[dict[str, Any], dict[str, str], str, bool]] = [
    ({"status": "REVOKED"}, {"status": "REVOKED"}, "status = 'REVOKED'", True),
    ({"status": "ALL"}, {}, "true", True),
    (
        {"enterprise_project_id": PROJECT},
        {"enterprise_project_id": PROJECT},
        f"enterprise_project_id = '{PROJECT}'",
        True,
    ),
    ({"enterprise_project_id": "all"}, {"enterprise_project_id": "all"}, "true", True),
    ({"deploy_support": False}, {"deploy_support": "false"}, "NOT deploy_support", True),
    ({"owned_by_self": False}, {"owned_by_self": "false"}, "true", False),
    ({"owned_by_self": True}, {"owned_by_self": "true"}, "true", True),
    (
        {"expired_days_since": 30},
        {"expired_days_since": "30"},
        "expire_time >= $now - INTERVAL 30 DAY",
        True,
    ),
    (
        {"content": "CORP2."},
        {"content": "CORP2."},
        "contains(lower(name), 'corp2.') OR contains(lower(domain), 'corp2.')",
        True,
    ),
    (
        {"sort_key": "certExpiredTime", "sort_dir": "ASC"},
        {"sort_key": "certExpiredTime", "sort_dir": "ASC"},
        "true",
        True,
    ),
]

CSR_FILTERS: list[tuple[dict[str, Any], dict[str, str], str]] = [
    ({"name": "CSR-0001"}, {"name": "CSR-0001"}, "contains(lower(name), 'csr-0001')"),
    ({"private_key_algo": "SM2"}, {"private_key_algo": "SM2"}, "private_key_algo = 'SM2'"),
]


def loaded_ids(
    simulator: Simulator, tmp_path: Path, destination: Any, table: str, **settings: Any
) -> set[str]:
    pipeline = run_load(simulator, tmp_path, destination, **settings)
    return {row["id"] for row in query(pipeline, f"SELECT id FROM scm.{table}")}


def ids_where(database: Path, table: str, condition: str, now: datetime) -> set[str]:
    """The ids of `table` in a DuckDB file that meet an SQL condition."""
    with duckdb.connect(str(database), read_only=True) as connection:
        found = connection.execute(
            f"SELECT id FROM scm.{table} WHERE {condition}",
            {"now": now} if "$now" in condition else {},
        ).fetchall()
    return {row[0] for row in found}


@pytest.fixture(scope="module")
def everything(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every certificate the API lists (owned or not) and every CSR, loaded into DuckDB."""
    folder = tmp_path_factory.mktemp("everything")
    database = folder / "all.duckdb"
    with Simulator(dataset, SimulatorOptions(**UNBOUNDED)) as simulator:
        run_load(
            simulator,
            folder,
            dlt.destinations.duckdb(str(database)),
            certificates={"owned_by_self": False},
        )
    return database


def sent(simulator: Simulator, path: str) -> list[dict[str, str]]:
    return [
        {k: v for k, v in request.query.items() if k not in ("limit", "offset")}
        for request in simulator.requests
        if request.path == path
    ]


@pytest.mark.parametrize(
    ("settings", "params", "condition", "owned_only"),
    CERTIFICATE_FILTERS,
    ids=[str(case[0]) for case in CERTIFICATE_FILTERS],
)
def test_certificate_filter_is_sent_and_honoured(
    sim: Simulator,
    dataset: Dataset,
    everything: Path,
    tmp_path: Path,
    duckdb_destination: Any,
    settings: dict[str, Any],
    params: dict[str, str],
    condition: str,
    owned_only: bool,
) -> None:
    owned = {r.api["id"] for r in dataset.certificates if r.owned_by_self}
    expected = ids_where(everything, "certificates", condition, dataset.now)
    expected = expected & owned if owned_only else expected
    assert len(expected) > 0, "the data set must exercise the filter"
    ids = loaded_ids(sim, tmp_path, duckdb_destination, "certificates", certificates=settings)
    assert ids == expected
    # The first query is the user's own; narrower ones (the simulator bounds a query, so the
    # planner splits this one) keep every filter, and may only list in another order.
    queries = sent(sim, "/v3/scm/certificates")
    filters = {key: value for key, value in params.items() if not key.startswith("sort_")}
    assert queries[0] == params
    assert all(filters.items() <= query_.items() for query_ in queries)


@pytest.mark.parametrize(
    ("settings", "params", "condition"), CSR_FILTERS, ids=[str(case[0]) for case in CSR_FILTERS]
)
def test_csr_filter_is_sent_and_honoured(
    sim: Simulator,
    dataset: Dataset,
    everything: Path,
    tmp_path: Path,
    duckdb_destination: Any,
    settings: dict[str, Any],
    params: dict[str, str],
    condition: str,
) -> None:
    expected = ids_where(everything, "csr_list", condition, dataset.now)
    assert 0 < len(expected) < len(dataset.csrs)
    assert loaded_ids(sim, tmp_path, duckdb_destination, "csr_list", csr_list=settings) == expected
    assert all(query_ == params for query_ in sent(sim, "/v3/scm/csr"))


def test_a_filtered_run_keeps_the_rows_it_did_not_ask_for(
    sim: Simulator, dataset: Dataset, tmp_path: Path, duckdb_destination: Any
) -> None:
    everything = loaded_ids(sim, tmp_path, duckdb_destination, "certificates")
    after = loaded_ids(
        sim, tmp_path, duckdb_destination, "certificates", certificates={"status": "REVOKED"}
    )
    assert after == everything


def test_the_simulator_sorts_as_asked(sim: Simulator, dataset: Dataset) -> None:
    by_expiry = dataset.listing("certificates", {"sort_key": "certExpiredTime", "sort_dir": "ASC"})
    instants = {r.api["id"]: r.expires_at for r in dataset.certificates}
    assert [instants[c["id"]] for c in by_expiry] == sorted(instants[c["id"]] for c in by_expiry)
    by_status = dataset.listing("certificates", {"sort_key": "certStatus"})
    assert [c["status"] for c in by_status] == sorted(
        (c["status"] for c in by_status), reverse=True
    )
