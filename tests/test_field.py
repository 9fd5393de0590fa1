"""Where users stand: the installed command run from the repository's root (where .dlt/ is read)
and from empty folders, the source used as a library, and dlt's dataset API over the tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import dlt
import duckdb
import psycopg2
import pytest
from scm_export.target import destination

from scm_source import ScmAccountsFailed, finish, load
from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from tests.conftest import (
    POSTGRES_DSN,
    REPO,
    every_list,
    lists_source,
    scm_export,
    unconfigured_environment,
)


def _token_env(simulator: Simulator, data_dir: Path) -> dict[str, str]:
    return {
        "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": simulator.token,
        "DLT_DATA_DIR": str(data_dir),
    }


def _views(database: Path) -> set[str]:
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW'"
        ).fetchall()
    return {row[0] for row in rows}


def _listed(dataset: Dataset) -> set[str]:
    return {record.api["id"] for record in dataset.certificates if record.owned_by_self}


def test_run_report_and_views_from_the_repository_root(sim: Simulator, tmp_path: Path) -> None:
    """The committed .dlt/config.toml is read there, and must not break any command."""
    name = f"field_{uuid.uuid4().hex[:8]}"
    database = REPO / f"{name}.duckdb"
    env = _token_env(sim, tmp_path / "dlt")
    try:
        ran = scm_export("run", "--endpoint", sim.url, "--pipeline-name", name, cwd=REPO, env=env)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.startswith(f"Loaded into DuckDB file {database}, dataset scm, in ")
        assert ran.stderr == ""  # quiet: no progress lines, no warnings
        assert "certificates_expiring" in _views(database)
        for command in ("report", "views"):
            result = scm_export(command, "--pipeline-name", name, cwd=REPO, env=env)
            assert result.returncode == 0, result.stderr
        # page_size = 50 from the committed config.toml: 131 CSRs in the first page, the
        # probe of what `offset` counts (auto) and two more pages
        assert "131 rows  (API total 131, requests: 4, retries: 0," in ran.stdout
    finally:
        for leftover in (database, database.with_suffix(".duckdb.wal")):
            leftover.unlink(missing_ok=True)


def test_each_folder_gets_its_own_file_and_no_packages_pile_up(
    sim: Simulator, tmp_path: Path
) -> None:
    """dlt pins a pipeline's default file to the folder of its first run; ours is always the
    folder the command runs in, and it says so."""
    env = _token_env(sim, tmp_path / "dlt")  # one dlt data folder for both, as on a machine
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
        ran = scm_export("run", "--endpoint", sim.url, cwd=folder, env=env)
        assert ran.returncode == 0, ran.stderr
        assert f"DuckDB file {folder / 'scm_export.duckdb'}," in ran.stdout
        assert "certificates_expiring" in _views(folder / "scm_export.duckdb")
        with duckdb.connect(str(folder / "scm_export.duckdb"), read_only=True) as connection:
            ids = {
                row[0] for row in connection.execute("SELECT id FROM scm.certificates").fetchall()
            }
        assert ids == _listed(sim.dataset)
    loaded = tmp_path / "dlt" / "pipelines" / "scm_export" / "load" / "loaded"
    assert not loaded.exists() or not any(loaded.iterdir())


def test_report_of_an_unknown_pipeline_creates_no_file(tmp_path: Path) -> None:
    result = scm_export("report", "--pipeline-name", "typo", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"scm-export: error: no DuckDB file at {tmp_path / 'typo.duckdb'}: run `scm-export run`"
        " first, or pass the --pipeline-name or --duckdb-file it used\n"
    )
    assert not (tmp_path / "typo.duckdb").exists()


def test_the_commands_defaults_do_not_depend_on_the_folder(tmp_path: Path) -> None:
    """What .dlt/config.toml used to set only where it was read."""
    credentials = destination("duckdb", "any", tmp_path / "x.duckdb").config_params["credentials"]
    assert credentials.global_config == {"memory_limit": "96MB", "preserve_insertion_order": False}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import scm_export.cli, dlt; print(dlt.config['runtime.dlthub_telemetry'])",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("RUNTIME__")},
    )
    assert probe.stdout.strip().lower() == "false"


@pytest.mark.parametrize(
    ("where", "line"),
    [
        (
            "env",
            "unknown setting SOURCES__SCM_SOURCE__CERTIFICATES__PAGESIZE (an environment variable): did you mean SOURCES__SCM_SOURCE__CERTIFICATES__PAGE_SIZE?",
        ),
        (
            "config",
            "unknown setting sources.scm_source.http.max_atempts (in config.toml): did you mean sources.scm_source.http.max_attempts?",
        ),
        (
            "moved",
            "setting sources.scm_source.status (in config.toml) has moved: set sources.scm_source.certificates.status",
        ),
        (
            "misspelt and moved",
            "unknown setting SOURCES__SCM_SOURCE__PAGESIZE (an environment variable): did you mean SOURCES__SCM_SOURCE__CERTIFICATES__PAGE_SIZE or SOURCES__SCM_SOURCE__CSR_LIST__PAGE_SIZE?",
        ),
        (
            "moved env",
            "setting SOURCES__SCM_SOURCE__PAGE_SIZE (an environment variable) has moved: set SOURCES__SCM_SOURCE__CERTIFICATES__PAGE_SIZE and SOURCES__SCM_SOURCE__CSR_LIST__PAGE_SIZE",
        ),
        (
            "secrets",
            "unknown setting sources.scm_source.credentials.acess_key (in secrets.toml): did you mean sources.scm_source.credentials.access_key?",
        ),
    ],
)
def test_a_misspelt_setting_stops_the_run_naming_the_nearest(
    sim: Simulator, tmp_path: Path, where: str, line: str
) -> None:
    env = _token_env(sim, tmp_path / "dlt")
    (tmp_path / ".dlt").mkdir()
    if where == "env":
        env["SOURCES__SCM_SOURCE__CERTIFICATES__PAGESIZE"] = "20"
    elif where == "moved env":
        env["SOURCES__SCM_SOURCE__PAGE_SIZE"] = "20"
    elif where == "misspelt and moved":
        env["SOURCES__SCM_SOURCE__PAGESIZE"] = "20"
    elif where == "config":
        (tmp_path / ".dlt" / "config.toml").write_text(
            "[sources.scm_source.http]\nmax_atempts = 2\n"
        )
    elif where == "moved":
        (tmp_path / ".dlt" / "config.toml").write_text("[sources.scm_source]\nstatus = 'ISSUED'\n")
    else:
        (tmp_path / ".dlt" / "secrets.toml").write_text(
            "[sources.scm_source.credentials]\nacess_key = 'AK'\n"
        )
    result = scm_export("run", "--endpoint", sim.url, cwd=tmp_path, env=env)
    assert (result.returncode, result.stderr) == (2, f"scm-export: error: {line}\n")
    assert sim.requests == [] and not list(tmp_path.glob("*.duckdb"))


def test_library_users_get_the_failed_account_raised_and_the_views(tmp_path: Path) -> None:
    """`pipeline.run` alone ends LOADED with a failed account; `load` and `finish` do not."""
    alpha, beta = Dataset.generate(certificates=30, csrs=5, seed=1), Dataset.generate(5, 2, seed=2)
    with Simulator(alpha, accounts={"beta-token-0123456789abcdef": beta}) as sim:
        accounts = [
            {"alias": "alpha", "credentials": {"auth_token": sim.token}, "endpoint": sim.url},
            {
                "alias": "beta",
                "credentials": {"auth_token": "wrong-0123456789abcdef"},
                "endpoint": sim.url,
            },
        ]
        for finish_it in (False, True):
            pipeline = dlt.pipeline(
                f"library_{finish_it}",
                destination=dlt.destinations.duckdb(str(tmp_path / f"{finish_it}.duckdb")),
                dataset_name="scm",
                pipelines_dir=str(tmp_path / "pipelines"),
            )
            with pytest.raises(ScmAccountsFailed) as failed:
                if finish_it:
                    source = lists_source(accounts=accounts)
                    finish(pipeline, source, pipeline.run(source))
                else:
                    load(pipeline, lists_source(accounts=accounts))
            assert {failure["account"] for failure in failed.value.failures} == {"beta"}
            assert "certificates_expiring" in _views(tmp_path / f"{finish_it}.duckdb")
            # what analysts use: dlt's dataset API over the tables
            table = pipeline.dataset()["certificates"].select("id", "expire_time").arrow()
            assert set(table.column("id").to_pylist()) == _listed(alpha)
            with pipeline.sql_client() as client:  # views are not in dlt's schema: plain SQL
                days = client.execute_sql("SELECT days_left FROM certificates_expiring")
            assert days and all(0 <= left <= 30 for (left,) in days)


def test_postgres_without_a_password_in_the_dsn_loads(sim: Simulator, tmp_path: Path) -> None:
    """Trust, peer or ~/.pgpass: the usual way on a server."""
    schema = f"scm_nopw_{uuid.uuid4().hex[:8]}"
    env = {
        **_token_env(sim, tmp_path / "dlt"),
        "DESTINATION__POSTGRES__CREDENTIALS": "postgresql://postgres@127.0.0.1:5432/test",
    }
    try:
        result = scm_export(
            "run",
            "--endpoint",
            sim.url,
            "--destination",
            "postgres",
            "--dataset-name",
            schema,
            cwd=tmp_path,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""  # no notices about the INSERT format chosen on purpose
        with psycopg2.connect(POSTGRES_DSN) as connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {schema}.certificates")
            assert cursor.fetchone() == (len(_listed(sim.dataset)),)
    finally:
        with psycopg2.connect(POSTGRES_DSN) as connection, connection.cursor() as cursor:
            for name in (schema, f"{schema}_staging"):
                cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_ctrl_c_prints_one_line_exits_130_and_loads_nothing(tmp_path: Path) -> None:
    """Interrupted with requests in flight on several workers (held by the simulator until the
    command has exited): no worker's late error, no traceback, nothing loaded."""
    dataset = Dataset.generate(certificates=600, csrs=10, seed=5)
    hold = threading.Event()
    options = SimulatorOptions(hold=hold)
    with Simulator(dataset, options) as sim:
        env = {
            **unconfigured_environment(),
            **_token_env(sim, tmp_path / "dlt"),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "scm_export.cli", "run", "--endpoint", sim.url],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert sim.wait_for_received(3, timeout=60)  # mid-extract: three requests held
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        hold.set()
    assert (process.returncode, stderr) == (130, "scm-export: interrupted\n")
    assert stdout == ""
    database = tmp_path / "scm_export.duckdb"
    if database.exists():
        with duckdb.connect(str(database), read_only=True) as connection:
            tables = {
                row[0]
                for row in connection.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'scm'"
                ).fetchall()
            }
        assert "certificates" not in tables


def test_add_limit_cuts_lists_short_and_so_merges_nothing(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the README says of dlt's add_limit: a list cut short is an account not read in full,
    and the merge leaves such an account's tables as they were. (Items of 10 rows stand for the
    20,000 of a large inventory: a list of fewer rows arrives whole in its one item.)"""
    monkeypatch.setattr("scm_source.extract.walk.BATCH_ROWS", 10)
    monkeypatch.setattr("scm_source.extract.resources.ITEM_ROWS", 10)
    pipeline = dlt.pipeline(
        "limited",
        destination=dlt.destinations.duckdb(str(tmp_path / "l.duckdb")),
        dataset_name="scm",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    source = lists_source(
        credentials={"auth_token": sim.token}, endpoint=sim.url, **every_list(page_size=10)
    )
    pipeline.run(source.add_limit(1))
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*) FROM scm.certificates") == [(0,)]


@pytest.mark.parametrize("token_is_right", [True, False])
def test_the_plain_dlt_script_runs_as_the_command_does(
    sim: Simulator, tmp_path: Path, token_is_right: bool
) -> None:
    """`python pipelines/scm_pipeline.py` from the repository root: the command's summary, its
    one-line failure and exit code, into the DuckDB file the environment names."""
    database = tmp_path / "script.duckdb"
    env = {
        **unconfigured_environment(),
        **_token_env(sim, tmp_path / "dlt"),
        "SOURCES__SCM_SOURCE__ENDPOINT": sim.url,
        "DESTINATION__DUCKDB__CREDENTIALS": str(database),
    }
    if not token_is_right:
        env["SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN"] = "wrong-token-0123456789abcdef01234"
    script = subprocess.run(
        [sys.executable, "pipelines/scm_pipeline.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if token_is_right:
        assert (script.returncode, script.stderr) == (0, "")
        assert script.stdout.startswith(f"Loaded into DuckDB file {database}, dataset scm, in ")
        assert "certificates_expiring" in _views(database)
        return
    assert script.returncode == 1 and script.stdout.startswith("FAILED: 7 of 7 objects")
    [line] = [row for row in script.stderr.splitlines() if row.startswith("scm-export:")]
    assert line.startswith(
        f"scm-export: error: GET {sim.url}/v3/scm/certificates answered HTTP 401"
    )
    assert "wrong-token" not in script.stdout + script.stderr
