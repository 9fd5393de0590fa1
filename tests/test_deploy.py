"""What ships for schedulers, run here as far as this machine allows: the GitHub Actions
workflow's steps as a script (a fresh install of this repository, then its load into the local
PostgreSQL, against the simulator), and the Airflow DAG's task bodies."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import yaml

from scm_source import ScmAccountsFailed
from scm_source.simulator import AccessKey, Dataset, Simulator, SimulatorOptions
from tests.conftest import REPO, own_postgres_database

WORKFLOW = REPO / ".github" / "workflows" / "scm-export.yml"
DAG = REPO / "deploy" / "airflow" / "scm_export_dag.py"
KEY = AccessKey("WORKFLOWAK0123456789", "workflow-secret-key-0123456789abcdef")


def _checkout(target: Path) -> Path:
    """The committed files, as actions/checkout gives them."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


def _python_with_our_dependencies(folder: Path) -> Path:
    """A fresh venv that sees this one's packages (no download), as setup-python's would after
    the install step fetched them."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    site = subprocess.run(
        [
            str(folder / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    (Path(site) / "scm_export_test_dependencies.pth").write_text(ours + "\n")
    return folder / "bin"


def _secret_expression(text: str, secrets: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", lambda m: secrets[m.group(1)], text)


def test_the_github_workflow_loads_into_postgres(tmp_path: Path) -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["load"]["steps"]
    assert [step.get("uses", "").split("@")[0] for step in steps[:2]] == [
        "actions/checkout",
        "actions/setup-python",
    ]
    dataset = Dataset.generate(certificates=60, csrs=12, seed=11)
    schema = "scm"  # what the workflow names; a database of the test's own keeps it apart
    checkout = _checkout(tmp_path / "checkout")
    bin_dir = _python_with_our_dependencies(tmp_path / "venv")
    with (
        own_postgres_database("scm_workflow") as database_dsn,
        Simulator(dataset, SimulatorOptions(access_keys=(KEY,))) as sim,
    ):
        secrets = {
            "SCM_ACCESS_KEY": KEY.access_key,
            "SCM_SECRET_KEY": KEY.secret_key,
            "SCM_DOMAIN_ID": dataset.domain_id,
            "POSTGRES_CREDENTIALS": database_dsn.replace(":trust-auth-ignores-this", ""),
        }
        base = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SOURCES__", "DESTINATION__", "VIRTUAL_ENV"))
        }
        base |= {
            "PATH": f"{bin_dir}{os.pathsep}{base['PATH']}",
            "DLT_DATA_DIR": str(tmp_path / "runner-home"),
            "SOURCES__SCM_SOURCE__ENDPOINT": sim.url,  # a repository variable's job
        }
        for step in steps[2:]:
            env = {
                **base,
                **{k: _secret_expression(str(v), secrets) for k, v in step.get("env", {}).items()},
            }
            result = subprocess.run(
                ["bash", "-eo", "pipefail", "-c", step["run"]],
                cwd=checkout,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert result.returncode == 0, (step["name"], result.stdout, result.stderr)
        connection = psycopg2.connect(database_dsn)
        with connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {schema}.certificates")
            loaded = {row[0] for row in cursor.fetchall()}
            cursor.execute(f"SELECT count(*) FROM {schema}.certificates_expiring")  # installed
        connection.close()
    assert loaded == {r.api["id"] for r in dataset.certificates if r.owned_by_self}
    signed = [r for r in sim.requests if r.path.startswith("/v3/scm/")]
    assert signed and all(
        r.headers["authorization"].startswith("SDK-HMAC-SHA256 Access=WORKFLOWAK") for r in signed
    )


def _dag_module(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Any:
    for key in [key for key in os.environ if key.startswith(("SOURCES__", "DESTINATION__"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location("scm_export_dag", DAG)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_airflow_tasks_load_each_account_and_fail_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    alpha, beta = Dataset.generate(40, 6, seed=1), Dataset.generate(9, 3, seed=2)
    with Simulator(alpha, accounts={"beta-token-0123456789abcdef0": beta}) as sim:
        module = _dag_module(
            monkeypatch,
            {
                "SCM_EXPORT_DESTINATION": "duckdb",
                "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "airflow.duckdb"),
                "DLT_DATA_DIR": str(tmp_path / "dlt"),
                "SOURCES__SCM_SOURCE__ACCOUNTS": '["alpha", "beta"]',
                "SOURCES__SCM_SOURCE__ENDPOINT": sim.url,
                "SOURCES__SCM_SOURCE__ALPHA__CREDENTIALS__AUTH_TOKEN": sim.token,
                "SOURCES__SCM_SOURCE__BETA__CREDENTIALS__AUTH_TOKEN": "wrong-beta-0123456789abcdef",
            },
        )
        assert module.configured_accounts() == ["alpha", "beta"]
        assert "LOADED" in module.load_account("alpha")
        with pytest.raises(ScmAccountsFailed, match="account 'beta', certificates: GET "):
            module.load_account("beta")
    import duckdb

    with duckdb.connect(str(tmp_path / "airflow.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "SELECT account, count(*) FROM scm.certificates GROUP BY 1"
        ).fetchall()
    assert rows == [("alpha", sum(r.owned_by_self for r in alpha.certificates))]
