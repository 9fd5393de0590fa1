"""The `scm-export` command as a user runs it: demo, run (DuckDB and PostgreSQL), simulate."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg2
import pytest
import requests

from scm_source.simulator import DEFAULT_TOKEN, Dataset, Simulator
from tests.conftest import POSTGRES_DSN, REPO, scm_export


def test_demo_loads_the_simulator_into_a_duckdb_file(tmp_path: Path) -> None:
    result = scm_export(
        "demo", "--certificates", "120", "--csrs", "45", "--seed", "3", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "leaked" not in result.stderr and "Traceback" not in result.stderr
    database = tmp_path / "scm_demo.duckdb"
    assert f"DuckDB file: {database}" in result.stdout
    with duckdb.connect(str(database), read_only=True) as connection:
        counts = {
            table: connection.execute(f"SELECT count(*) FROM scm.{table}").fetchone()[0]  # type: ignore[index]
            for table in ("certificates", "csr_list")
        }
    listed = sum(
        r.owned_by_self for r in Dataset.generate(certificates=120, csrs=45, seed=3).certificates
    )
    assert counts == {"certificates": listed, "csr_list": 45}
    printed = re.findall(r"^  (\w+) +(\w+) +(\d+) rows", result.stdout, flags=re.MULTILINE)
    rows = {name: int(count) for account, name, count in printed if account == "default"}
    deployments = rows.pop("certificate_deployments")  # resources and counts: see test_estate
    assert deployments > 0
    assert rows == {
        "certificates": listed,
        "csr_list": 45,
        "certificate_details": listed,  # one each
        "certificate_tags": 120,  # the tag API lists every certificate, owned or not
        "private_cas": 3,
        "private_certificates": 8,
    }
    by_status = re.search(r"^Certificates by status: (.*)$", result.stdout, flags=re.MULTILINE)
    assert by_status is not None
    assert sum(int(part.split()[1]) for part in by_status.group(1).split(", ")) == listed


def test_run_uses_dlt_config_from_the_environment(sim: Simulator, tmp_path: Path) -> None:
    database = tmp_path / "chosen.duckdb"
    env = {
        "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": sim.token,
        "SOURCES__SCM_SOURCE__ENDPOINT": sim.url,
        "SOURCES__SCM_SOURCE__CSR_LIST__PAGE_SIZE": "20",
        "DESTINATION__DUCKDB__CREDENTIALS": str(database),
    }
    result = scm_export(
        "run", "--dataset-name", "certs", "--resources", "csr_list", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(database), read_only=True) as connection:
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'certs'"
            ).fetchall()
        }
        count = connection.execute("SELECT count(*) FROM certs.csr_list").fetchone()
    assert "certificates" not in tables and count == (len(sim.dataset.csrs),)
    assert {request.query["limit"] for request in sim.requests} == {"20"}
    assert {request.path for request in sim.requests} == {"/v3/scm/csr"}


def test_run_into_the_local_postgresql(sim: Simulator, tmp_path: Path) -> None:
    dataset = f"scm_cli_{os.getpid()}"
    env = {
        "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": sim.token,
        "DESTINATION__POSTGRES__CREDENTIALS": POSTGRES_DSN,
    }
    try:
        result = scm_export(
            "run",
            "--destination",
            "postgres",
            "--dataset-name",
            dataset,
            "--endpoint",
            sim.url,
            cwd=tmp_path,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        with psycopg2.connect(POSTGRES_DSN) as connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), count(DISTINCT id) FROM {dataset}.certificates")
            certificates = cursor.fetchone()
            cursor.execute(f"SELECT count(*) FROM {dataset}.csr_list")
            csrs = cursor.fetchone()
    finally:
        with psycopg2.connect(POSTGRES_DSN) as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {dataset} CASCADE")
    owned = sum(record.owned_by_self for record in sim.dataset.certificates)
    assert certificates == (owned, owned) and csrs == (len(sim.dataset.csrs),)


@pytest.mark.parametrize(
    ("flags", "offset_150", "total"),
    [
        ((), 400, 300),  # the current docs' bounds, on by default
        (("--unbounded",), 200, 300),
        (("--max-offset", "200", "--max-total", "250"), 200, 250),
    ],
)
def test_simulate_serves_until_stopped_with_the_docs_bounds_unless_lifted(
    tmp_path: Path, flags: tuple[str, ...], offset_150: int, total: int
) -> None:
    command = ["simulate", "--port", "0", "--certificates", "300", "--csrs", "1", *flags]
    process = subprocess.Popen(
        [sys.executable, "-m", "scm_export.cli", *command],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.split(" at ")[1].split()[0]

        def get(offset: int) -> requests.Response:
            params = {"limit": 50, "offset": offset, "owned_by_self": "false"}
            headers = {"X-Auth-Token": DEFAULT_TOKEN}
            return requests.get(
                f"{url}/v3/scm/certificates", headers=headers, params=params, timeout=10
            )

        assert get(100).status_code == 200 and get(100).json()["total_count"] == total
        refused = get(150)
        assert refused.status_code == offset_150
        if offset_150 == 400:
            assert refused.json()["error_code"] == "SCM.0005"
    finally:
        process.terminate()
        process.wait(timeout=10)
