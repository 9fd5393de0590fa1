"""A BigQuery emulator for the tests: bqemulator 1.4.0 (DuckDB 1.5.5 and sqlglot underneath) in a
virtualenv of its own, since its DuckDB differs from ours, started inside a network namespace
with only loopback up (`unshare -n`), so that whatever it tries to download fails at once.

`python -m tests.bigquery_emulator` sets the virtualenv up (CI does it before the suite); the
tests call `ready()`, which sets it up when missing and says in one line why it cannot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

VERSION = "1.4.0"
DUCKDB = "1.5.5"
PACKAGES = (
    f"bqemulator=={VERSION}",
    "numpy",  # bqemulator needs it and does not declare it
    f"duckdb-extension-spatial=={DUCKDB}",  # it loads spatial at start; PyPI ships it
    f"duckdb-extension-avro=={DUCKDB}",  # else it tries to download avro at start
    "google-cloud-bigquery",
    "pyarrow",
)
HOME = Path(
    os.environ.get(
        "SCM_BQEMULATOR_HOME", Path.home() / ".cache" / "scm-export" / f"bqemulator-{VERSION}"
    )
)
PYTHON = HOME / "venv" / "bin" / "python"
CLIENT = Path(__file__).with_name("bigquery_client.py")


def ready() -> str | None:
    """None when the emulator can run here, else why not, in one line."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare and ip (util-linux, iproute2) for a network namespace of its own"
    probe = subprocess.run(
        ["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        return "unshare -n is not allowed here (a network namespace needs CAP_SYS_ADMIN)"
    if not PYTHON.exists():
        problem = set_up()
        if problem:
            return problem
    return None


def set_up() -> str | None:
    """The virtualenv with the emulator, and DuckDB's extensions where the emulator's DuckDB
    looks for them (under its own HOME, not the user's)."""
    venv = HOME / "venv"
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", "-q", *PACKAGES],
    )
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return f"could not install the BigQuery emulator ({' '.join(step[-2:])}): {last}"
    extensions = HOME / "home" / ".duckdb" / "extensions" / f"v{DUCKDB}" / "linux_amd64"
    extensions.mkdir(parents=True, exist_ok=True)
    for name in ("spatial", "avro"):
        found = next(
            venv.glob(f"lib/python*/site-packages/duckdb_extension_{name}/**/*.duckdb_extension")
        )
        shutil.copy(found, extensions / found.name)
    return None


def run(folder: Path) -> subprocess.CompletedProcess[str]:
    """Starts the emulator inside a namespace of its own and runs the client there on `folder`
    (its tables as parquet, its views' SQL), which writes what each view returned."""
    script = f"""
set -e
ip link set lo up
HOME={HOME / "home"} {PYTHON} -m bqemulator start --rest-host 127.0.0.1 --rest-port 9050 \\
  --grpc-host 127.0.0.1 --grpc-port 9060 --project test-project > {folder}/emulator.log 2>&1 &
for _ in $(seq 1 120); do (exec 3<>/dev/tcp/127.0.0.1/9050) 2>/dev/null && break; sleep 0.5; done
{PYTHON} {CLIENT} http://127.0.0.1:9050 {folder}
"""
    return subprocess.run(
        ["unshare", "-n", "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


if __name__ == "__main__":
    print(ready() or f"BigQuery emulator ready in {HOME}")
