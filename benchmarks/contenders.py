"""The three ways of loading the simulator into DuckDB that the benchmark compares, each run in a
process of its own: `python -m benchmarks.contenders NAME URL TOKEN[,TOKEN...] FOLDER LISTS`, one
token per account behind the endpoint; LISTS is the registry's lists as JSON (`{name: [path,
list key, total key]}`), handed in so that the floor need not import dlt to know them. Ours is
the command itself; `ours_outcome` reads what it loaded afterwards."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

Lists = dict[str, tuple[str, str, str]]


def rows_loaded(trace: Any, lists: Lists) -> int:
    return sum(trace.last_normalize_info.row_counts.get(table, 0) for table in lists)


# Every contender imports what it uses itself: the floor's time and memory must not hold dlt,
# nor ours the modules of the others.


def ours(
    url: str,
    tokens: list[str],
    folder: Path,
    lists: Lists,
    parallel: int = 8,
    destination: str = "duckdb",
) -> NoReturn:
    """`scm-export run`, as a user runs it, configured through the environment: this process
    becomes the command (exec), so the time measured is the command's alone; what it loaded is
    read afterwards by `ours_outcome`, in a process of its own. One credential `AK:SK` is an
    organization's management account: every account of it is read. Into PostgreSQL: the local
    server's database `test`, a dataset of this folder's own, dropped by `ours_outcome`."""
    import os

    settings = {
        "DLT_DATA_DIR": str(folder / "dlt"),
        "DESTINATION__DUCKDB__CREDENTIALS": str(folder / "ours.duckdb"),
        "DESTINATION__POSTGRES__CREDENTIALS": POSTGRES,
        "SOURCES__SCM_SOURCE__CERTIFICATES__OWNED_BY_SELF": "false",
        "SOURCES__SCM_SOURCE__MAX_PARALLEL_ACCOUNTS": str(parallel),
    }
    if len(tokens) == 1 and ":" in tokens[0]:
        access_key, secret_key = tokens[0].split(":")
        settings |= {
            "SOURCES__SCM_SOURCE__ENDPOINT": url,
            "SOURCES__SCM_SOURCE__CREDENTIALS__ACCESS_KEY": access_key,
            "SOURCES__SCM_SOURCE__CREDENTIALS__SECRET_KEY": secret_key,
            "SOURCES__SCM_SOURCE__CREDENTIALS__IAM_ENDPOINT": url,
            "SOURCES__SCM_SOURCE__ORGANIZATION__AGENCY_NAME": "SCMReadOnlyAgency",
            "SOURCES__SCM_SOURCE__ORGANIZATION__ENDPOINT": url,
        }
    elif len(tokens) == 1:
        settings["SOURCES__SCM_SOURCE__ENDPOINT"] = url
        settings["SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN"] = tokens[0]
    else:
        aliases = [f"account_{n}" for n in range(len(tokens))]
        settings["SOURCES__SCM_SOURCE__ACCOUNTS"] = json.dumps(aliases)
        for alias, token in zip(aliases, tokens, strict=True):
            settings[f"SOURCES__SCM_SOURCE__{alias.upper()}__ENDPOINT"] = url
            settings[f"SOURCES__SCM_SOURCE__{alias.upper()}__CREDENTIALS__AUTH_TOKEN"] = token
    # The two lists unless the case reads the estate too (the benchmark's own variable).
    resources = os.environ.get("SCM_BENCH_RESOURCES", "certificates,csr_list")
    command = [
        "run",
        *("--destination", destination, "--dataset-name", dataset_of(folder)),
        *("--resources", resources),
    ]
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the summary is not this protocol's
    os.execve(
        sys.executable, [sys.executable, "-m", "scm_export.cli", *command], os.environ | settings
    )


def ours_outcome(folder: Path, lists: Lists) -> int:
    """What `ours` loaded, from its pipeline's trace (rows, and on stderr its extract step)."""
    import os

    import dlt

    os.environ["DLT_DATA_DIR"] = str(folder / "dlt")
    pipeline = dlt.attach("scm_export")
    trace = pipeline.last_trace
    if trace is None or any(step.step_exception for step in trace.steps):
        raise SystemExit("scm-export run failed")
    extract = next(step for step in trace.steps if step.step == "extract")
    seconds = (extract.finished_at - extract.started_at).total_seconds()
    print(f"extract_seconds={seconds:.2f}", file=sys.stderr)
    print(f"extract_finished_at={extract.finished_at.timestamp():.3f}", file=sys.stderr)
    print(f"load_retries={load_retries(trace)}", file=sys.stderr)
    if str(pipeline.state.get("destination_type", "")).endswith("postgres"):
        drop_postgres_dataset(dataset_of(folder))
    return rows_loaded(trace, lists)


def load_retries(trace: Any) -> int:
    """Load jobs the destination refused and dlt ran again (DuckDB out of memory, say): the
    retry count is in each completed job's file name."""
    info = trace.last_load_info
    packages = info.load_packages if info else []
    jobs = [job for package in packages for job in package.jobs.get("completed_jobs", [])]
    return sum(job.job_file_info.retry_count for job in jobs)


def dataset_of(folder: Path) -> str:
    """The folder's own: a rerun into the same folder finds the dataset its first run loaded."""
    import zlib

    return f"bench_{zlib.crc32(str(folder).encode())}"


POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def drop_postgres_dataset(dataset: str) -> None:
    import psycopg2

    with psycopg2.connect(POSTGRES) as connection, connection.cursor() as cursor:
        for schema in (dataset, f"{dataset}_staging"):
            cursor.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def rest_api(url: str, tokens: list[str], folder: Path, lists: Lists) -> int:
    """dlt's generic REST source, declared for the same two endpoints (one account)."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    def resource(name: str) -> dict[str, Any]:
        path, data, total = lists[name]
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

    (token,) = tokens
    source = rest_api_source(
        {
            "client": {"base_url": url, "headers": {"X-Auth-Token": token}},
            "resources": [resource(name) for name in lists],
        }
    )
    pipeline = dlt.pipeline(
        "bench_rest_api",
        destination=dlt.destinations.duckdb(str(folder / "rest.duckdb")),
        dataset_name="scm",
        pipelines_dir=str(folder / "p"),
    )
    pipeline.run(source)
    return rows_loaded(pipeline.last_trace, lists)


def floor_pages(url: str, tokens: list[str], lists: Lists) -> Iterator[tuple[str, list[Any]]]:
    """Plain requests with 8 threads: each list's rows, (table, rows) page by page. Accounts and
    lists one after the other, each list's pages after the first 8 at a time."""
    import requests

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))

    def get(token: str, path: str, offset: int) -> dict[str, Any]:
        params = {"limit": 50, "offset": offset, "owned_by_self": "false"}
        return session.get(
            url + path, params=params, headers={"X-Auth-Token": token}, timeout=60
        ).json()

    with ThreadPoolExecutor(8) as pool:
        for table, (path, data, total_key) in lists.items():
            for token in tokens:
                first = get(token, path, 0)
                offsets = range(50, first[total_key], 50)
                for page in [first, *pool.map(lambda o: get(token, path, o), offsets)]:  # noqa: B023
                    yield table, page[data]


def floor(url: str, tokens: list[str], folder: Path, lists: Lists) -> int:
    """The hand-written floor: `floor_pages`, then one DuckDB read_json per table."""
    import duckdb

    files = {table: folder / f"{table}.jsonl" for table in lists}
    handles = {table: file.open("w") for table, file in files.items()}
    for table, rows in floor_pages(url, tokens, lists):
        handles[table].writelines(json.dumps(row) + "\n" for row in rows)
    for handle in handles.values():
        handle.close()
    with duckdb.connect(str(folder / "floor.duckdb")) as connection:
        for table, file in files.items():
            connection.execute(
                f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_json('{file}')"
            )
        counts = [connection.execute(f"SELECT count(*) FROM {table}").fetchone() for table in lists]
        return sum(count[0] for count in counts if count is not None)


def floor_dlt(url: str, tokens: list[str], folder: Path, lists: Lists) -> int:
    """The floor's pages through the least a dlt pipeline does: each list one arrow table,
    replaced in DuckDB (no merge, no history, no views). What dlt itself costs a run."""
    import dlt
    import pyarrow as pa

    rows: dict[str, list[Any]] = {table: [] for table in lists}
    for table, page in floor_pages(url, tokens, lists):
        rows[table].extend(page)
    pipeline = dlt.pipeline(
        "bench_floor_dlt",
        destination=dlt.destinations.duckdb(str(folder / "floor_dlt.duckdb")),
        dataset_name="scm",
        pipelines_dir=str(folder / "p"),
    )
    arrow = {table: pa.Table.from_pylist(rows[table]) for table in lists}
    pipeline.run(
        [dlt.resource([arrow[table]], name=table, write_disposition="replace") for table in lists]
    )
    return rows_loaded(pipeline.last_trace, lists)


if __name__ == "__main__":
    name, url, tokens, folder, lists = sys.argv[1:6]
    if name == "ours_outcome":
        print(json.dumps({"rows": ours_outcome(Path(folder), json.loads(lists))}))
        raise SystemExit
    contender = {
        "ours": ours,
        "ours_1_by_1": partial(ours, parallel=1),  # accounts one after another
        "ours_postgres": partial(ours, destination="postgres"),
        "rest_api": rest_api,
        "floor": floor,
        "floor_dlt": floor_dlt,
    }[name]
    print(json.dumps({"rows": contender(url, tokens.split(","), Path(folder), json.loads(lists))}))
