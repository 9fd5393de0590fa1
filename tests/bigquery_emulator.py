"""A BigQuery emulator for the tests: bqemulator 1.4.0 (DuckDB 1.5.5 and sqlglot underneath) in a
virtualenv of its own, since its DuckDB differs from ours, started inside a network namespace
with only loopback up (`unshare -n`), so that whatever it tries to download fails at once. The
tests' commands join that namespace (`nsenter -n`) to reach it.

`python -m tests.bigquery_emulator` sets the virtualenv up (CI does it before the suite); the
tests call `ready()`, which sets it up when missing and says in one line why it cannot.
"""

from __future__ import annotations

import os
import shutil
import signal
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
)
HOME = Path(
    os.environ.get(
        "SCM_BQEMULATOR_HOME", Path.home() / ".cache" / "scm-export" / f"bqemulator-{VERSION}"
    )
)
PYTHON = HOME / "venv" / "bin" / "python"
PROJECT = "test-project"
PORT = 9050
ENDPOINT = f"http://127.0.0.1:{PORT}"


def ready() -> str | None:
    """None when the emulator can run here, else why not, in one line."""
    if not all(shutil.which(tool) for tool in ("unshare", "nsenter", "ip")):
        return "needs unshare, nsenter and ip (util-linux, iproute2) for a network namespace"
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


class Emulator:
    """The emulator in a network namespace of its own, for a `with` block; `run` runs a command
    inside that namespace (in `env`, else this process's environment), with
    BIGQUERY_EMULATOR_HOST pointing google's client at the emulator."""

    def __init__(self, log: Path) -> None:
        self._log = log
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Emulator:
        listening = f"(exec 3<>/dev/tcp/127.0.0.1/{PORT}) 2>/dev/null"
        script = f"""
ip link set lo up
HOME={HOME / "home"} {PYTHON} -m bqemulator start --rest-host 127.0.0.1 --rest-port {PORT} \\
  --grpc-host 127.0.0.1 --grpc-port {PORT + 10} --project {PROJECT} > {self._log} 2>&1 &
for _ in $(seq 240); do {listening} && echo listening && break; sleep 0.25; done
wait
"""
        self._process = subprocess.Popen(
            ["unshare", "-n", "bash", "-c", script],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # the emulator goes with the namespace's shell
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline() != "listening\n":
            self.__exit__()
            raise RuntimeError(f"the emulator did not listen: {self._log.read_text()[-2000:]}")
        return self

    def run(
        self, command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        assert self._process is not None
        return subprocess.run(
            ["nsenter", "-t", str(self._process.pid), "-n", *command],
            cwd=cwd,
            env={**(os.environ if env is None else env), "BIGQUERY_EMULATOR_HOST": ENDPOINT},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.communicate(timeout=30)


if __name__ == "__main__":
    print(ready() or f"BigQuery emulator ready in {HOME}")
