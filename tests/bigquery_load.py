"""Run inside the BigQuery emulator's network namespace (tests/bigquery_emulator.py): the command,
in this process, as a user runs it, on a simulator, into DuckDB and into the emulator side by
side (a pipeline each): `scm-export run`, a day's churn, `run` again, `check --json`. Writes to
`result.json` what each command said and every table and view on both sides, DuckDB's read just
before and just after the emulator's (views and findings count days at query time).

The emulator needs what BigQuery does not; each workaround is here, in the test, never in the
product's code path:
- `anonymous_credentials`: the emulator takes none (a defect of neither side: a deployment
  configures a service account or the machine's default credentials, as dlt documents);
- `without_default_dataset`: the emulator's defect. dlt sets a default dataset on every query
  job; with one set, the emulator rewrites dlt's `INFORMATION_SCHEMA.COLUMNS` query of a dataset
  that holds no table yet into SQL its own sqlglot cannot tokenize (the subquery it inlines
  lands inside the backquoted name) and answers 500, which google's client retries for a minute
  per query: a first load seems to hang. Every statement dlt and scm-export send names its
  project and dataset, so none needs the default;
- `DATA_WRITER__DISABLE_COMPRESSION`: the emulator's defect. It reads a gzipped JSONL load as
  malformed JSON ("at byte 1"); BigQuery accepts gzip, and dlt writes its own tables as JSONL.
"""

from __future__ import annotations

import copy
import io
import json
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import duckdb
import google.auth
import google.cloud.bigquery as bigquery
from google.auth.credentials import AnonymousCredentials
from scm_export.cli import main as scm_export

from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from tests.bigquery_emulator import PROJECT

DATASET = "scm"
DUCKDB_FILE = "warehouse.duckdb"


def anonymous_credentials() -> None:
    """What dlt's `GcpServiceAccountCredentials` finds as the machine's default credentials."""
    google.auth.default = lambda *args, **kwargs: (AnonymousCredentials(), PROJECT)


def without_default_dataset() -> None:
    """Every query job sent without a default dataset."""

    def stripped(config: Any) -> Any:
        if config is None or config.default_dataset is None:
            return config
        config = copy.copy(config)
        config.default_dataset = None
        return config

    query, query_and_wait = bigquery.Client.query, bigquery.Client.query_and_wait

    def query_without(self: Any, sql: str, job_config: Any = None, **options: Any) -> Any:
        return query(self, sql, job_config=stripped(job_config), **options)

    def query_and_wait_without(
        self: Any, sql: str, *, job_config: Any = None, **options: Any
    ) -> Any:
        return query_and_wait(self, sql, job_config=stripped(job_config), **options)

    bigquery.Client.query = query_without  # type: ignore[method-assign]
    bigquery.Client.query_and_wait = query_and_wait_without  # type: ignore[method-assign]


def command(*args: str) -> dict[str, Any]:
    """`scm-export ARGS` in this process: its exit code and what it printed."""
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = scm_export(list(args))
    return {"exit": code, "printed": printed.getvalue()}


def on(destination: str, folder: Path, *args: str) -> dict[str, Any]:
    """The command on one side: DuckDB (a file in `folder`) or the emulator."""
    where = ("--duckdb-file", str(folder / DUCKDB_FILE)) if destination == "duckdb" else ()
    return command(
        *args, "--destination", destination, "--pipeline-name", f"scm_{destination}", *where
    )


def text(value: Any) -> Any:
    """A value as both sides can compare it: timestamps as UTC text."""
    return value if value is None or isinstance(value, (bool, int, str)) else str(value)


def emulator_holds() -> dict[str, Any]:
    """Every table and view of the dataset on the emulator: its kind, column types, rows."""
    client = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials())
    held: dict[str, Any] = {}
    for listed in client.list_tables(DATASET):
        table = client.get_table(listed)
        rows = client.query(f"SELECT * FROM `{PROJECT}.{DATASET}.{table.table_id}`").result()
        held[table.table_id] = {
            "kind": table.table_type,
            "types": {field.name: field.field_type for field in table.schema},
            "rows": [{key: text(value) for key, value in row.items()} for row in rows],
        }
    return held


def duckdb_holds(folder: Path) -> dict[str, Any]:
    """The same of the DuckDB file."""
    with duckdb.connect(str(folder / DUCKDB_FILE), read_only=True) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        listed = connection.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ?",
            [DATASET],
        ).fetchall()
        held: dict[str, Any] = {}
        for name, kind in listed:
            cursor = connection.execute(f'SELECT * FROM {DATASET}."{name}"')
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, map(text, row), strict=True)) for row in cursor.fetchall()]
            types = connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = ? AND table_name = ?",
                [DATASET, name],
            ).fetchall()
            kind = "VIEW" if kind == "VIEW" else "TABLE"
            held[name] = {"kind": kind, "types": dict(types), "rows": rows}
    return held


def main(folder: Path) -> None:
    anonymous_credentials()
    without_default_dataset()
    os.environ.update(
        DATA_WRITER__DISABLE_COMPRESSION="true",
        DESTINATION__BIGQUERY__CREDENTIALS__PROJECT_ID=PROJECT,
        DESTINATION__BIGQUERY__LOCATION="US",
    )
    dataset = Dataset.generate(certificates=60, csrs=5, seed=21, private_cas=5)
    said: dict[str, Any] = {}
    with Simulator(dataset, SimulatorOptions(max_offset=None, max_total=None)) as simulator:
        os.environ.update(
            SOURCES__SCM_SOURCE__ENDPOINT=simulator.url,
            SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN=simulator.token,
        )
        for side in ("duckdb", "bigquery"):
            said[f"first run on {side}"] = on(side, folder, "run")
        churn = dataset.churn(4, seed=3)
        for side in ("duckdb", "bigquery"):
            said[f"second run on {side}"] = on(side, folder, "run")
        listed = sorted(record.api["id"] for record in dataset.certificates if record.owned_by_self)
        said["check on duckdb before"] = on("duckdb", folder, "check", "--json")
        said["check on bigquery"] = on("bigquery", folder, "check", "--json")
        said["check on duckdb after"] = on("duckdb", folder, "check", "--json")
    held = {
        "duckdb before": duckdb_holds(folder),
        "bigquery": emulator_holds(),
        "duckdb after": duckdb_holds(folder),
    }
    result = {"said": said, "churn": churn, "listed": listed, "held": held}
    (folder / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
