"""The three ways of loading the simulator into DuckDB that the benchmark compares, each run in a
process of its own: `python -m benchmarks.contenders NAME URL TOKEN FOLDER`."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dlt
import duckdb
import requests

ENDPOINTS = {
    "certificates": ("/v3/scm/certificates", "certificates", "total_count"),
    "csr_list": ("/v3/scm/csr", "csr_list", "total"),
}


def ours(url: str, token: str, folder: Path) -> int:
    from pipelines.runner import load, make_pipeline
    from scm_source import scm_source

    pipeline = make_pipeline(
        "bench_ours",
        dlt.destinations.duckdb(str(folder / "ours.duckdb")),
        "scm",
        pipelines_dir=str(folder / "p"),
    )
    load(pipeline, scm_source(credentials={"auth_token": token}, endpoint=url, owned_by_self=False))
    extract = next(step for step in pipeline.last_trace.steps if step.step == "extract")
    print(f"extract_seconds={(extract.finished_at - extract.started_at).total_seconds():.2f}",
          file=sys.stderr)  # fmt: skip
    return sum(pipeline.last_trace.last_normalize_info.row_counts.get(t, 0) for t in ENDPOINTS)


def rest_api(url: str, token: str, folder: Path) -> int:
    """dlt's generic REST source, declared for the same two endpoints."""
    from dlt.sources.rest_api import rest_api_source

    def resource(name: str) -> dict[str, Any]:
        path, data, total = ENDPOINTS[name]
        return {
            "name": name,
            "primary_key": "id",
            "endpoint": {
                "path": path,
                "data_selector": data,
                "params": {"owned_by_self": "false"},
                "paginator": {"type": "offset", "limit": 50, "total_path": total},
            },
        }

    source = rest_api_source(
        {
            "client": {"base_url": url, "headers": {"X-Auth-Token": token}},
            "resources": [resource("certificates"), resource("csr_list")],
        }
    )
    pipeline = dlt.pipeline(
        "bench_rest_api",
        destination=dlt.destinations.duckdb(str(folder / "rest.duckdb")),
        dataset_name="scm",
        pipelines_dir=str(folder / "p"),
    )
    pipeline.run(source)
    return sum(pipeline.last_trace.last_normalize_info.row_counts.get(t, 0) for t in ENDPOINTS)


def floor(url: str, token: str, folder: Path) -> int:
    """Plain requests with 8 threads, one DuckDB read_json per table: the hand-written floor."""
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))

    def get(path: str, offset: int) -> dict[str, Any]:
        params = {"limit": 50, "offset": offset, "owned_by_self": "false"}
        return session.get(
            url + path, params=params, headers={"X-Auth-Token": token}, timeout=60
        ).json()

    loaded = 0
    with duckdb.connect(str(folder / "floor.duckdb")) as connection, ThreadPoolExecutor(8) as pool:
        for table, (path, data, total_key) in ENDPOINTS.items():
            first = get(path, 0)
            pages = [
                first,
                *pool.map(
                    lambda offset: get(path, offset),  # noqa: B023
                    range(50, first[total_key], 50),
                ),
            ]
            rows = folder / f"{table}.jsonl"
            with rows.open("w") as out:
                for page in pages:
                    out.writelines(json.dumps(row) + "\n" for row in page[data])
            connection.execute(
                f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_json('{rows}')"
            )
            loaded += connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
    return loaded


if __name__ == "__main__":
    name, url, token, folder = sys.argv[1:5]
    print(
        json.dumps(
            {
                "rows": {"ours": ours, "rest_api": rest_api, "floor": floor}[name](
                    url, token, Path(folder)
                )
            }
        )
    )
