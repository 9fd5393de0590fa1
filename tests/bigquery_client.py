"""Run by the emulator's own Python (tests/bigquery_emulator.py), inside its network namespace:
loads `folder`'s tables (parquet) into the emulator with google-cloud-bigquery, creates each view
from its BigQuery SQL in `order.json`'s order, and writes each view's rows (or its error) to
`emulator.json`. The emulator wants a table to exist before a load into it (BigQuery creates
it): each is created first, with the parquet file's schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

PROJECT, DATASET = "test-project", "scm"


def kind(arrow: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow):
        return "TIMESTAMP"
    if pa.types.is_integer(arrow):
        return "INT64"
    if pa.types.is_boolean(arrow):
        return "BOOL"
    if pa.types.is_floating(arrow):
        return "FLOAT64"
    return "STRING"


def main(endpoint: str, folder: Path) -> None:
    client = bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=endpoint),
    )
    client.create_dataset(DATASET, exists_ok=True)
    order = json.loads((folder / "order.json").read_text())
    for table in order["tables"]:
        path = folder / f"{table}.parquet"
        fields = [bigquery.SchemaField(f.name, kind(f.type)) for f in pq.read_schema(path)]
        client.create_table(bigquery.Table(f"{PROJECT}.{DATASET}.{table}", schema=fields))
        with path.open("rb") as data:
            client.load_table_from_file(
                data,
                f"{PROJECT}.{DATASET}.{table}",
                job_config=bigquery.LoadJobConfig(source_format="PARQUET"),
            ).result()
    answers: dict[str, object] = {}
    for view in order["views"]:
        sql = (folder / f"{view}.sql").read_text()
        try:
            client.query(sql).result()
            rows = client.query(f"SELECT * FROM `{PROJECT}`.`{DATASET}`.`{view}`").result()
            answers[view] = [[str(value) for value in row.values()] for row in rows]
        except Exception as error:  # noqa: BLE001 - the emulator's exact error is the finding
            answers[view] = {"error": str(error).splitlines()[0]}
    (folder / "emulator.json").write_text(json.dumps(answers))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
