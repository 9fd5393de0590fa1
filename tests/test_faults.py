"""Real faults around the warehouse: PostgreSQL's connection cut mid-load (by a TCP forwarder the
test owns, so the shared server keeps serving the other tests)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import psycopg2

from scm_source.simulator import Dataset, Simulator
from tests.conftest import LISTS_ONLY, POSTGRES_DSN, lists_source, unconfigured_environment


class CuttingForwarder:
    """Forwards loopback connections to PostgreSQL until `cut_after` bytes went upstream, then
    closes every connection and refuses new ones: the server gone mid-load."""

    def __init__(self, cut_after: int) -> None:
        self.cut_after = cut_after
        self.upstream_bytes = 0
        self.cut = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.cut.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", 5432))
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, upstream: bool) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
                if upstream:
                    with self._lock:
                        self.upstream_bytes += len(data)
                        over = self.upstream_bytes > self.cut_after
                    if over:
                        self.close()
                        return
        except OSError:
            pass

    def close(self) -> None:
        self.cut.set()
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def test_postgres_gone_mid_load_is_one_line_and_leaves_the_tables(tmp_path: Path) -> None:
    schema = f"scm_cut_{uuid.uuid4().hex[:8]}"
    first, second = Dataset.generate(400, 20, seed=1), Dataset.generate(3000, 200, seed=2)
    env = unconfigured_environment()
    env["DLT_DATA_DIR"] = str(tmp_path / "dlt")
    command = [
        sys.executable,
        "-m",
        "scm_export.cli",
        "run",
        "--destination",
        "postgres",
        "--dataset-name",
        schema,
        *LISTS_ONLY,  # the lists alone: the load is what is cut, not what the estate reads
    ]

    def run(dataset: Dataset, dsn: str) -> subprocess.CompletedProcess[str]:
        with Simulator(dataset) as sim:
            env.update(
                {
                    "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": sim.token,
                    "DESTINATION__POSTGRES__CREDENTIALS": dsn,
                }
            )
            return subprocess.run(
                [*command, "--endpoint", sim.url],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )

    try:
        loaded = run(first, POSTGRES_DSN)
        assert loaded.returncode == 0, loaded.stderr
        forwarder = CuttingForwarder(cut_after=400_000)
        result = run(second, POSTGRES_DSN.replace("127.0.0.1:5432", f"127.0.0.1:{forwarder.port}"))
        forwarder.close()
        assert forwarder.upstream_bytes > 400_000  # the cut did happen, mid-load
        assert result.returncode == 1
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("scm-export: error: "), result.stderr[-3000:]
        with psycopg2.connect(POSTGRES_DSN) as connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {schema}.certificates")
            ids = {row[0] for row in cursor.fetchall()}
        assert ids == {r.api["id"] for r in first.certificates if r.owned_by_self}
        # the next run, with the warehouse back, settles what the cut run's sync log said
        again = run(second, POSTGRES_DSN)
        assert again.returncode == 0, again.stderr
        with psycopg2.connect(POSTGRES_DSN) as connection, connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {schema}.sync_log WHERE outcome = 'loaded' AND"
                f" _dlt_load_id NOT IN (SELECT load_id FROM {schema}._dlt_loads)"
            )
            assert cursor.fetchone() == (0,)
    finally:
        with psycopg2.connect(POSTGRES_DSN) as connection, connection.cursor() as cursor:
            for name in (schema, f"{schema}_staging"):
                cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_a_load_that_fails_leaves_its_sync_log_saying_failed(tmp_path: Path) -> None:
    """The sync log is appended by a job of its own: when a merge of the same load fails (here a
    trigger refuses it, on the real PostgreSQL), its rows must not say `loaded`."""
    import dlt
    import pytest

    from scm_source import load

    schema = f"scm_settle_{uuid.uuid4().hex[:8]}"
    dataset = Dataset.generate(40, 4, seed=6)
    try:
        with Simulator(dataset) as sim:
            pipeline = dlt.pipeline(
                "settle",
                destination=dlt.destinations.postgres(POSTGRES_DSN),
                dataset_name=schema,
                pipelines_dir=str(tmp_path),
            )
            load(pipeline, lists_source(credentials={"auth_token": sim.token}, endpoint=sim.url))
            with psycopg2.connect(POSTGRES_DSN) as connection, connection.cursor() as cursor:
                cursor.execute(f"SELECT id FROM {schema}.certificates")
                before = {row[0] for row in cursor.fetchall()}
                cursor.execute(
                    f"CREATE FUNCTION {schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS"
                    " $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;"
                    f" CREATE TRIGGER refuse BEFORE INSERT ON {schema}.certificates"
                    f" FOR EACH ROW EXECUTE FUNCTION {schema}.refuse()"
                )
            dataset.churn(6, seed=1)
            with pytest.raises(Exception, match="refused by the test"):
                load(
                    pipeline, lists_source(credentials={"auth_token": sim.token}, endpoint=sim.url)
                )
        with psycopg2.connect(POSTGRES_DSN) as connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {schema}.certificates")
            assert {row[0] for row in cursor.fetchall()} == before
            cursor.execute(
                f"SELECT _dlt_load_id, outcome, error FROM {schema}.sync_log ORDER BY started_at"
            )
            rows = cursor.fetchall()
            cursor.execute(f"SELECT load_id FROM {schema}._dlt_loads")
            landed = {row[0] for row in cursor.fetchall()}
        assert [outcome for _, outcome, _ in rows] == ["loaded", "loaded", "failed", "failed"]
        for load_id, outcome, error in rows:
            assert (load_id in landed) == (outcome == "loaded")
            assert outcome == "loaded" or error.startswith("the load did not complete: ")
    finally:
        with psycopg2.connect(POSTGRES_DSN) as connection, connection.cursor() as cursor:
            for name in (schema, f"{schema}_staging"):
                cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
