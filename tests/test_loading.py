"""Both tables load completely, typed and value for value, under every page size and reading of
`offset`; expected values come from the simulator's data, never from our own parsing."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dlt
import pytest
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from scm_source.simulator import CertificateRecord, Dataset, Simulator, SimulatorOptions
from tests.conftest import Warehouse, every_list, query, run_load, table_rows

CERTIFICATE_TYPES = {
    "id": "VARCHAR",
    "name": "VARCHAR",
    "domain": "VARCHAR",
    "sans": "VARCHAR",
    "signature_algorithm": "VARCHAR",
    "deploy_support": "BOOLEAN",
    "type": "VARCHAR",
    "brand": "VARCHAR",
    "expire_time": "TIMESTAMP WITH TIME ZONE",
    "expire_time_raw": "VARCHAR",
    "domain_type": "VARCHAR",
    "validity_period": "BIGINT",
    "status": "VARCHAR",
    "domain_count": "BIGINT",
    "wildcard_count": "BIGINT",
    "description": "VARCHAR",
    "domain_id": "VARCHAR",
    "enterprise_project_id": "VARCHAR",
}
# What every object row carries besides the API's fields (CSRs also get the account's domain_id).
ROW_TYPES = {"account": "VARCHAR", "version_hash": "VARCHAR"}
CSR_TYPES = {
    "id": "VARCHAR",
    "name": "VARCHAR",
    "csr": "VARCHAR",
    "domain_name": "VARCHAR",
    "sans": "VARCHAR",
    "private_key_algo": "VARCHAR",
    "usage": "VARCHAR",
    "company_country": "VARCHAR",
    "company_province": "VARCHAR",
    "company_city": "VARCHAR",
    "company_name": "VARCHAR",
    "create_time": "TIMESTAMP WITH TIME ZONE",
    "update_time": "TIMESTAMP WITH TIME ZONE",
}


def column_types(pipeline: dlt.Pipeline, table: str) -> dict[str, str]:
    rows = query(
        pipeline,
        "SELECT column_name, data_type FROM information_schema.columns"
        f" WHERE table_schema = '{pipeline.dataset_name}' AND table_name = '{table}'",
    )
    return {
        row["column_name"]: row["data_type"].upper()
        for row in rows
        if not row["column_name"].startswith("_dlt")
    }


def listed(dataset: Dataset) -> dict[str, CertificateRecord]:
    """What the API lists by default (owned_by_self=true), from the data itself."""
    return {record.api["id"]: record for record in dataset.certificates if record.owned_by_self}


def from_millis(millis: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=millis)


def expected_requests(total: int, limit: int, api_mode: str, setting: str) -> int:
    """The fewest requests that can bring every row: one per page, plus the probe at offset=1
    that `auto` sends; on a record-counting API the pages after it start at offset `limit` again
    (so that offsets reach the docs' bound of 100 exactly), which repeats one row."""
    if setting == "auto" and api_mode == "record" and total > limit:
        return 2 + math.ceil((total - limit) / limit)
    return max(1, math.ceil(total / limit))


@pytest.mark.parametrize("page_size", [10, 20, 50])
@pytest.mark.parametrize("setting", ["auto", "declared"])
def test_every_row_loads_once_for_each_page_size_and_offset_reading(
    simulator: Simulator,
    dataset: Dataset,
    tmp_path: Path,
    duckdb_destination: Any,
    page_size: int,
    setting: str,
) -> None:
    api_mode = simulator.options.offset_mode
    simulator.clear_log()
    offset_mode = api_mode if setting == "declared" else "auto"
    pipeline = run_load(
        simulator,
        tmp_path,
        duckdb_destination,
        **every_list(page_size=page_size, offset_mode=offset_mode),
    )

    certificates = query(pipeline, "SELECT id FROM scm.certificates")
    csrs = query(pipeline, "SELECT id FROM scm.csr_list")
    assert sorted(row["id"] for row in certificates) == sorted(listed(dataset))
    assert sorted(row["id"] for row in csrs) == sorted(csr["id"] for csr in dataset.csrs)

    state = pipeline.state["sources"]["scm_source"]["resources"]
    for table, path, total in (
        ("certificates", "/v3/scm/certificates", len(listed(dataset))),
        ("csr_list", "/v3/scm/csr", len(dataset.csrs)),
    ):
        last_run = state[table]["last_run"]["default"]
        assert (last_run["api_total"], last_run["rows"]) == (total, total)
        assert last_run["outcome"] == "loaded" and last_run["retries"] == 0
        assert last_run["offset_mode"] == api_mode
        sent = [request for request in simulator.requests if request.path == path]
        assert all(request.query["limit"] == str(page_size) for request in sent)
        assert len(sent) == expected_requests(total, page_size, api_mode, setting)


def in_dialect(types: dict[str, str], warehouse: Warehouse) -> dict[str, str]:
    """PostgreSQL's information_schema says CHARACTER VARYING where DuckDB says VARCHAR."""
    if "postgres" not in str(warehouse.destination.destination_name):
        return types
    return {name: kind.replace("VARCHAR", "CHARACTER VARYING") for name, kind in types.items()}


def test_columns_have_their_declared_types(
    sim: Simulator, tmp_path: Path, warehouse: Warehouse
) -> None:
    pipeline = run_load(sim, tmp_path, warehouse.destination, warehouse.dataset_name)
    assert column_types(pipeline, "certificates") == in_dialect(
        {**ROW_TYPES, **CERTIFICATE_TYPES}, warehouse
    )
    assert column_types(pipeline, "csr_list") == in_dialect(
        {**ROW_TYPES, **CSR_TYPES, "domain_id": "VARCHAR"}, warehouse
    )


def test_every_value_equals_the_simulators(
    sim: Simulator, dataset: Dataset, tmp_path: Path, warehouse: Warehouse
) -> None:
    pipeline = run_load(sim, tmp_path, warehouse.destination, warehouse.dataset_name)

    certificates = table_rows(pipeline, "certificates")
    assert certificates.keys() == listed(dataset).keys()
    # Empty strings stay empty, not NULL (PostgreSQL loads parquet through ADBC, not dlt's CSV).
    assert any(record.api["sans"] == "" for record in listed(dataset).values())
    for certificate_id, record in listed(dataset).items():
        row = certificates[certificate_id]
        for field in CERTIFICATE_TYPES.keys() - {"expire_time", "expire_time_raw"}:
            assert row[field] == record.api.get(field), (certificate_id, field)
        assert row["expire_time"] == record.expires_at
        assert row["expire_time_raw"] == record.api["expire_time"]

    csrs = table_rows(pipeline, "csr_list")
    assert csrs.keys() == {csr["id"] for csr in dataset.csrs}
    for csr in dataset.csrs:
        row = csrs[csr["id"]]
        for field in CSR_TYPES.keys() - {"create_time", "update_time"}:
            assert row[field] == csr[field], (csr["id"], field)
        assert row["create_time"] == from_millis(csr["create_time"])
        assert row["update_time"] == from_millis(csr["update_time"])


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/Los_Angeles", "UTC"])
def test_expire_time_is_read_in_the_configured_zone(
    tmp_path: Path, duckdb_destination: Any, zone: str
) -> None:
    """The simulator writes wall times in `zone`; read in the same zone, every instant matches,
    except that a wall time the zone shows twice (the hour its clocks go back) is read as the
    earlier instant: the string cannot say which, and an expiry is then never reported late."""
    dataset = Dataset.generate(certificates=40, csrs=1, seed=3, zone=zone)
    with Simulator(dataset) as simulator:
        settings = {} if zone == "Asia/Shanghai" else {"expire_time_zone": zone}
        pipeline = run_load(simulator, tmp_path, duckdb_destination, certificates=settings)
    rows = table_rows(pipeline, "certificates")
    expected = {
        record.api["id"]: earlier_reading(record.expires_at, zone)
        for record in listed(dataset).values()
    }
    assert {key: row["expire_time"] for key, row in rows.items()} == expected


def earlier_reading(instant: datetime, zone: str) -> datetime:
    """The earlier of the instants `instant`'s wall time in `zone` may mean (the same one but
    for the hour a year when the zone's clocks go back)."""
    wall = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return min(
        wall.replace(tzinfo=ZoneInfo(zone), fold=fold).astimezone(timezone.utc) for fold in (0, 1)
    )


def test_a_wall_time_shown_twice_is_read_as_the_earlier_instant(
    tmp_path: Path, duckdb_destination: Any
) -> None:
    dataset = Dataset.generate(certificates=5, csrs=1, seed=3, zone="America/Los_Angeles")
    record = next(iter(listed(dataset).values()))
    # 01:30 on 2 Nov 2025 happened twice in Los Angeles: 08:30 UTC (PDT), then 09:30 UTC (PST).
    record.expires_at = datetime(2025, 11, 2, 9, 30, tzinfo=timezone.utc)
    record.api["expire_time"] = dataset.format_expire_time(record.expires_at)
    dataset.invalidate()
    with Simulator(dataset) as simulator:
        pipeline = run_load(
            simulator,
            tmp_path,
            duckdb_destination,
            certificates={"expire_time_zone": "America/Los_Angeles"},
        )
    row = table_rows(pipeline, "certificates")[record.api["id"]]
    assert row["expire_time"] == datetime(2025, 11, 2, 8, 30, tzinfo=timezone.utc)


def test_wrong_zone_shifts_every_instant_by_the_zone_difference(
    tmp_path: Path, duckdb_destination: Any
) -> None:
    dataset = Dataset.generate(certificates=20, csrs=1, seed=3, zone="UTC")
    with Simulator(dataset) as simulator:
        pipeline = run_load(simulator, tmp_path, duckdb_destination)  # read as Asia/Shanghai
    rows = table_rows(pipeline, "certificates")
    shifts = {
        record.api["id"]: (record.expires_at - rows[record.api["id"]]["expire_time"])
        for record in listed(dataset).values()
    }
    assert rows.keys() == shifts.keys() and len(shifts) > 10
    assert {shift.total_seconds() for shift in shifts.values()} == {8 * 3600}


def test_missing_optional_fields_give_the_same_table(tmp_path: Path) -> None:
    """Older APIs omit domain_id and enterprise_project_id; description is often absent."""
    dataset = Dataset.generate(certificates=30, csrs=5, seed=5, legacy_fields=True)
    for record in dataset.certificates:
        record.api.pop("description", None)
    with Simulator(dataset) as simulator:
        pipeline = run_load(
            simulator, tmp_path, dlt.destinations.duckdb(str(tmp_path / "a.duckdb"))
        )
    assert column_types(pipeline, "certificates") == {**ROW_TYPES, **CERTIFICATE_TYPES}
    nulls = query(
        pipeline,
        "SELECT count(*) AS n FROM scm.certificates"
        " WHERE domain_id IS NULL AND enterprise_project_id IS NULL AND description IS NULL",
    )
    assert nulls == [{"n": len(listed(dataset))}]


def test_a_field_the_api_adds_later_lands_as_a_new_column(
    sim: Simulator, dataset: Dataset, tmp_path: Path, duckdb_destination: Any
) -> None:
    run_load(sim, tmp_path, duckdb_destination)
    changed = Dataset.generate(certificates=12, csrs=3, seed=11)
    for record in changed.certificates:
        record.api["key_usage"] = "digitalSignature"
        record.api["renewal_count"] = 2
    with Simulator(changed) as simulator:
        pipeline = run_load(simulator, tmp_path, duckdb_destination)
    types = column_types(pipeline, "certificates")
    assert types == {
        **ROW_TYPES,
        **CERTIFICATE_TYPES,
        "key_usage": "VARCHAR",
        "renewal_count": "VARCHAR",  # undeclared fields are JSON text, whatever their values
    }
    values = query(pipeline, "SELECT DISTINCT key_usage, renewal_count FROM scm.certificates")
    assert values == [{"key_usage": '"digitalSignature"', "renewal_count": "2"}]


def test_a_runs_load_jobs_take_duckdbs_memory_one_after_another(tmp_path: Path) -> None:
    """The snapshot, history and sync log jobs of a run load one after another: side by side they
    share the DuckDB memory bound, and 20,000 rows under 32 MB (as 220,000 under the shipped
    128 MB) ran it out, each job retried after a traceback on stderr."""
    dataset = Dataset.generate(certificates=10_000, csrs=10_000, seed=3)
    bounded = DuckDbCredentials(
        str(tmp_path / "bounded.duckdb"),
        global_config={"memory_limit": "32MB", "preserve_insertion_order": False},
    )
    with Simulator(dataset, SimulatorOptions(max_offset=None)) as simulator:
        pipeline = run_load(
            simulator,
            tmp_path,
            dlt.destinations.duckdb(credentials=bounded),
            certificates={"owned_by_self": False},
        )
    counts = query(
        pipeline,
        "SELECT (SELECT COUNT(*) FROM scm.certificates) AS certificates,"
        " (SELECT COUNT(*) FROM scm.csr_list) AS csrs",
    )
    assert counts == [{"certificates": 10_000, "csrs": 10_000}]
    info = pipeline.last_trace.last_load_info
    assert info is not None
    [package] = info.load_packages
    retried = {
        job.job_file_info.table_name: job.job_file_info.retry_count
        for job in package.jobs["completed_jobs"]
        if job.job_file_info.retry_count
    }
    assert retried == {}  # a job DuckDB refused for memory loads again as a retry
