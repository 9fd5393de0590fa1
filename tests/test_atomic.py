"""A SIGKILL at any instant inside the DuckDB merges leaves each table as it was or as the run
would have left it: never half of each (dlt's DuckDB factory does not declare transactions, so
without the DuckDB capability declared in destinations.py a merge's DELETE committed before its INSERT)."""

from __future__ import annotations

import glob
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from tests.conftest import LISTS_ONLY, UNBOUNDED, unconfigured_environment

CERTIFICATES = 3_000
MERGES = ("certificates", "certificates_history")
POLLS = (0, 5, 25)  # how many times the merge job was seen running before the kill


def _ids(database: Path) -> tuple[set[str], set[str]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        snapshot = connection.execute("SELECT id FROM scm.certificates").fetchall()
        current = connection.execute(
            "SELECT id FROM scm.certificates_history WHERE valid_to IS NULL"
        ).fetchall()
    return {row[0] for row in snapshot}, {row[0] for row in current}


@pytest.mark.parametrize("merge", MERGES)
def test_a_kill_inside_a_merge_leaves_the_old_state_or_the_new(tmp_path: Path, merge: str) -> None:
    dataset = Dataset.generate(certificates=CERTIFICATES, csrs=10, seed=1)
    env = unconfigured_environment()
    env["SOURCES__SCM_SOURCE__CERTIFICATES__OWNED_BY_SELF"] = "false"
    with Simulator(dataset, SimulatorOptions(**UNBOUNDED)) as sim:
        env = {**env, "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": sim.token}
        command = [
            sys.executable,
            "-m",
            "scm_export.cli",
            "run",
            "--endpoint",
            sim.url,
            *LISTS_ONLY,
        ]
        first = tmp_path / "first"
        first.mkdir()
        run = subprocess.run(
            command,
            cwd=first,
            env={**env, "DLT_DATA_DIR": str(first / "dlt")},
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        before = _ids(first / "scm_export.duckdb")
        changed = Dataset.generate(certificates=CERTIFICATES, csrs=10, seed=1)
        changed.churn(3000, seed=2)
        after_ids = {record.api["id"] for record in changed.certificates}
        sim.accounts[sim.token] = changed  # the second run sees the changed inventory
        outcomes = []
        for polls in POLLS:
            attempt = tmp_path / f"kill-{polls}"
            shutil.copytree(first, attempt)
            job = f"{attempt}/dlt/pipelines/scm_export/load/normalized/*/started_jobs/{merge}.*.sql"
            process = subprocess.Popen(
                command,
                cwd=attempt,
                env={**env, "DLT_DATA_DIR": str(attempt / "dlt")},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            seen = 0
            while process.poll() is None:
                if glob.glob(job):
                    seen += 1
                    if seen > polls:
                        process.send_signal(signal.SIGKILL)
                        break
                time.sleep(0.001)  # a look every millisecond leaves the run its core
            process.wait()
            snapshot, current = _ids(attempt / "scm_export.duckdb")
            assert snapshot in (before[0], after_ids), (polls, len(snapshot))
            assert current in (before[1], after_ids), (polls, len(current))
            outcomes.append(process.returncode)
        assert -signal.SIGKILL in outcomes  # the kills did land inside the run
