"""No secret (secret key, password, security token, IAM token) appears anywhere a run leaves a
trace: stdout, stderr at DEBUG, the pipeline's working directory, or the warehouse."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest
from dlt.common.versioned_state import decompress_state

from scm_source.simulator import Dataset, Simulator
from tests.conftest import scm_export
from tests.test_auth import AK, DOMAIN_ID, OPTIONS, SECURITY_TOKEN, SK, TEMP_AK, TEMP_SK, USER

ENV = "SOURCES__SCM_SOURCE__CREDENTIALS__"
WAYS = {
    "auth_token": lambda sim: {f"{ENV}AUTH_TOKEN": sim.token},
    "password": lambda sim: {
        f"{ENV}USERNAME": USER.name,
        f"{ENV}PASSWORD": USER.password,
        f"{ENV}DOMAIN_NAME": USER.domain_name,
        f"{ENV}IAM_ENDPOINT": sim.url,
    },
    "access_key": lambda sim: {
        f"{ENV}ACCESS_KEY": AK,
        f"{ENV}SECRET_KEY": SK,
        f"{ENV}DOMAIN_ID": DOMAIN_ID,
    },
    "temporary_access_key": lambda sim: {
        f"{ENV}ACCESS_KEY": TEMP_AK,
        f"{ENV}SECRET_KEY": TEMP_SK,
        f"{ENV}SECURITY_TOKEN": SECURITY_TOKEN,
    },
}


def file_texts(root: Path) -> dict[Path, bytes]:
    """Every file's bytes, gzip-compressed load files opened."""
    texts = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.name.endswith((".duckdb", ".duckdb.wal")):
            data = path.read_bytes()
            texts[path] = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    return texts


def warehouse_text(database: Path) -> str:
    """Every value of every table, the compressed pipeline state unpacked."""
    parts = []
    with duckdb.connect(str(database), read_only=True) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
        for schema, table in tables:
            rows = connection.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            parts.append(repr(rows))
            if table == "_dlt_pipeline_state":
                states = connection.execute(f'SELECT state FROM "{schema}"."{table}"').fetchall()
                parts.extend(repr(decompress_state(state)) for (state,) in states)
    assert len(tables) >= 5
    return "\n".join(parts)


@pytest.mark.parametrize("way", list(WAYS))
def test_no_secret_leaks_from_a_full_load(dataset: Dataset, tmp_path: Path, way: str) -> None:
    database = tmp_path / "warehouse.duckdb"
    with Simulator(dataset, OPTIONS) as simulator:
        env = {
            **WAYS[way](simulator),
            "DESTINATION__DUCKDB__CREDENTIALS": str(database),
            "RUNTIME__LOG_LEVEL": "DEBUG",
        }
        result = scm_export("-v", "run", "--endpoint", simulator.url, cwd=tmp_path, env=env)
        issued = list(simulator.gateway.ever_issued)
    assert result.returncode == 0, result.stderr
    assert "DEBUG" in result.stderr  # the run really logged at DEBUG
    secrets = [SK, TEMP_SK, SECURITY_TOKEN, USER.password, simulator.token, *issued]
    if way == "password":
        assert issued, "the password way must have fetched a token"

    files = file_texts(tmp_path)
    assert any("state.json" in str(path) for path in files)
    assert any("trace" in str(path) for path in files)
    # the loaded packages are deleted after a run, so that none lingers with what it held
    assert not any("load_package_state" in str(path) for path in files)
    warehouse = warehouse_text(database)
    for secret in secrets:
        assert secret not in result.stdout and secret not in result.stderr
        assert not [path for path, text in files.items() if secret.encode() in text]
        assert secret not in warehouse
