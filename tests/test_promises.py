"""Promises a newcomer meets in the first hour, tested where users stand: the installed command
from a fresh folder, the real PostgreSQL, real sockets. One account's odd field stays its own;
the run lock holds on a new DuckDB file; Ctrl-C is one line; PostgreSQL without a password works
in library use and the Airflow DAG; every failure is one line; the HTML report works after the
README's install."""

from __future__ import annotations

import importlib.metadata
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import dlt
import pytest

from scm_source import load, scm_source
from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from tests.conftest import LISTS_ONLY, REPO, query, scm_export, unconfigured_environment

TOKENS = {"good": "good-token-0123456789abcdef012345", "odd": "odd-token-0123456789abcdef0123456"}
POSTGRES_NO_PASSWORD = "postgresql://postgres@127.0.0.1:5432/test"


def command_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    environment = unconfigured_environment()
    return {**environment, "DLT_DATA_DIR": str(tmp_path / "dlt-data"), **extra}


@pytest.mark.parametrize("odd_account", ["good", "odd"])
def test_an_odd_field_of_mixed_types_stays_its_accounts_in_either_account(
    tmp_path: Path, odd_account: str
) -> None:
    """A field the API does not declare, an int in one row and a string in another, in one of
    two accounts: both load, the field as JSON text, whichever account holds it."""
    datasets = {alias: Dataset.generate(60, 3, seed=n) for n, alias in enumerate(TOKENS, 40)}
    odd = datasets[odd_account]
    for index, record in enumerate(odd.certificates):
        record.api["later_field"] = index if index % 2 else f"text-{index}"
    with Simulator(
        Dataset.generate(1, 1), accounts={TOKENS[a]: d for a, d in datasets.items()}
    ) as sim:
        env = {"SOURCES__SCM_SOURCE__ACCOUNTS": json.dumps(list(TOKENS))}
        for alias, token in TOKENS.items():
            env[f"SOURCES__SCM_SOURCE__{alias.upper()}__ENDPOINT"] = sim.url
            env[f"SOURCES__SCM_SOURCE__{alias.upper()}__CREDENTIALS__AUTH_TOKEN"] = token
        result = scm_export("run", *LISTS_ONLY, cwd=tmp_path, env=env)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    import duckdb

    with duckdb.connect(str(tmp_path / "scm_export.duckdb"), read_only=True) as connection:
        loaded = dict(
            connection.execute(
                "SELECT account, count(*) FROM scm.certificates GROUP BY 1"
            ).fetchall()
        )
        values = {
            row[0]
            for row in connection.execute(
                f"SELECT later_field FROM scm.certificates WHERE account = '{odd_account}'"
            ).fetchall()
        }
    listed = {a: sum(r.owned_by_self for r in d.certificates) for a, d in datasets.items()}
    assert loaded == listed
    assert '"text-0"' in values or '"text-2"' in values
    assert any(value is not None and value.isdigit() for value in values)


def test_the_run_lock_holds_on_a_new_duckdb_file(tmp_path: Path) -> None:
    """Two runs of one pipeline into a folder with no DuckDB file yet, started together: one
    loads, the other stops at once with one line; neither dies inside dlt."""
    hold = threading.Event()
    data = Dataset.generate(80, 4, seed=44)
    with Simulator(data, SimulatorOptions(hold=hold, hold_after=2)) as sim:
        env = command_env(tmp_path, SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN=sim.token)
        command = [sys.executable, "-m", "scm_export.cli", "run", "--endpoint", sim.url]
        runs = [
            subprocess.Popen(
                command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        assert sim.wait_for_received(3, timeout=60)  # one of them is mid-extract, held
        deadline = time.monotonic() + 60  # the held one cannot end: wait for the other to
        while not [run for run in runs if run.poll() is not None] and time.monotonic() < deadline:
            time.sleep(0.05)
        finished = [run for run in runs if run.poll() is not None]
        assert len(finished) == 1  # the other stopped, while the first is held
        hold.set()
        outcomes = sorted(
            (run.wait(timeout=300), run.stderr.read().decode() if run.stderr else "")
            for run in runs
        )
    lock = tmp_path / "dlt-data" / "scm_export_locks" / "scm_export.lock"
    assert outcomes[0] == (0, "")
    assert outcomes[1] == (
        1,
        f"scm-export: error: another run holds pipeline 'scm_export' ({lock}): wait for it to"
        " finish, or give this run another --pipeline-name\n",
    )


def test_library_use_loads_into_postgres_without_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dlt.pipeline(destination="postgres")` and `load()`, the DSN without a password (trust,
    peer, ~/.pgpass), as the README promises."""
    dataset = f"scm_nopw_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", POSTGRES_NO_PASSWORD)
    data = Dataset.generate(20, 2, seed=46)
    with Simulator(data) as sim:
        pipeline = dlt.pipeline(
            "nopw", destination="postgres", dataset_name=dataset, pipelines_dir=str(tmp_path)
        )
        try:
            load(
                pipeline,
                scm_source(credentials={"auth_token": sim.token}, endpoint=sim.url),
            )
            count = query(pipeline, f"SELECT count(*) AS n FROM {dataset}.certificates")
            assert count == [{"n": sum(r.owned_by_self for r in data.certificates)}]
        finally:
            with pipeline.sql_client() as client:
                client.drop_dataset()


def test_the_airflow_dag_loads_into_postgres_without_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_deploy import _dag_module

    dataset = f"scm_dag_{uuid.uuid4().hex[:8]}"
    data = Dataset.generate(15, 2, seed=47)
    with Simulator(data) as sim:
        module = _dag_module(
            monkeypatch,
            {
                "SCM_EXPORT_DATASET": dataset,
                "DESTINATION__POSTGRES__CREDENTIALS": POSTGRES_NO_PASSWORD,
                "DLT_DATA_DIR": str(tmp_path / "dlt"),
                "SOURCES__SCM_SOURCE__ENDPOINT": sim.url,
                "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": sim.token,
            },
        )
        assert module.DESTINATION == "postgres"
        try:
            assert "LOADED" in module.load_account("default")
        finally:
            import psycopg2

            with (
                psycopg2.connect(POSTGRES_NO_PASSWORD) as connection,
                connection.cursor() as cursor,
            ):
                for schema in (dataset, f"{dataset}_staging"):
                    cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_a_refused_token_is_one_short_line(tmp_path: Path) -> None:
    with Simulator(Dataset.generate(10, 2, seed=48)) as sim:
        env = {"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": "wrong-token-0123456789abcdef0123"}
        result = scm_export("run", "--endpoint", sim.url, cwd=tmp_path, env=env)
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"scm-export: error: GET {sim.url}/v3/scm/certificates answered")
    assert lines[0].endswith(
        "; also not loaded: csr_list, certificate_details, certificate_deployments,"
        " certificate_tags, private_cas, private_certificates"
    )


def test_a_dead_endpoint_is_one_line_naming_no_connection_object(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once this closes
    env = {"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": "a-token-0123456789abcdef01234567"}
    result = scm_export("run", "--endpoint", f"http://127.0.0.1:{port}", cwd=tmp_path, env=env)
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"scm-export: error: GET http://127.0.0.1:{port}/v3/scm/")
    assert "Connection refused" in lines[0]
    assert "object at 0x" not in lines[0] and "HTTPConnection" not in lines[0]
    verbose = scm_export(
        "-v", "run", "--endpoint", f"http://127.0.0.1:{port}", *LISTS_ONLY, cwd=tmp_path, env=env
    )
    retried = [line for line in verbose.stderr.splitlines() if "retrying GET" in line]
    assert len(retried) <= 2  # a refused connection is tried twice per list, not five times


def test_report_on_postgres_without_credentials_names_the_variable(tmp_path: Path) -> None:
    result = scm_export("report", "--destination", "postgres", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "scm-export: error: no PostgreSQL credentials: set DESTINATION__POSTGRES__CREDENTIALS to"
        " the database's DSN (a password in it or not), or credentials under"
        " [destination.postgres] in .dlt/secrets.toml\n"
    )


@pytest.mark.parametrize(
    ("file", "text", "line"),
    [
        (
            "secrets.toml",
            "[sources.scm_sorce.credentials]\nauth_token = 'a-token-0123456789abcdef'\n",
            "unknown section sources.scm_sorce (in secrets.toml): did you mean sources.scm_source?",
        ),
        (
            "config.toml",
            "[sources.scm]\nendpoint = 'http://127.0.0.1:9'\n",
            "unknown section sources.scm (in config.toml): did you mean sources.scm_source?",
        ),
    ],
)
def test_a_misspelt_source_section_is_named(
    tmp_path: Path, file: str, text: str, line: str
) -> None:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / file).write_text(text)
    result = scm_export("run", "--endpoint", "http://127.0.0.1:9", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, f"scm-export: error: {line}\n")


def test_the_html_report_works_after_the_readmes_install() -> None:
    """`pip install -e .` (the README's) brings what the HTML report draws with."""
    requires = importlib.metadata.requires("scm-export") or []
    plain = [req.split(";")[0].strip() for req in requires if "extra ==" not in req]
    assert any(req.startswith("matplotlib") for req in plain)
    source = (REPO / "pipelines" / "report" / "html.py").read_text()
    assert "scm-export[report]" not in source
