"""What the warehouse already holds from earlier loads, read while a run extracts: which rows of
an account a partial read did not reach (kept, not retired) and which a full read retires; when
each unit a child object reads was read last, and for which version of its parent's row; and the
rows a child object carries over instead of reading them again.

Read through the pipeline's own SQL client, one read at a time in the process: the resources'
walks run in threads of their own, two DuckDB connections opened at once to one file fail
("Unique file handle conflict"), and dlt may reload the pipeline's schema in place while another
thread reads it. A warehouse that has no such dataset or table yet
(a first run), or that cannot be read, knows nothing: everything is then due, and the counts of
what was kept or retired are left unknown."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import dlt
import pyarrow as pa
from dlt.destinations.sql_client import SqlClientBase

logger = logging.getLogger(__name__)

Read = TypeVar("Read")
# A unit's last read: the version hash of its parent's row then, and when.
LastRead = tuple[str | None, datetime | None]
# One for every Earlier: each object's run has its own, and they read the same warehouse.
_ONE_READ_AT_A_TIME = threading.Lock()
# Rows of the warehouse's answer read at a time.
PAGE_ROWS = 20_000


class Earlier:
    """An account's rows in a snapshot table of the pipeline's dataset."""

    def __init__(self, pipeline: dlt.Pipeline | None) -> None:
        self._pipeline = pipeline

    def ids(self, table: str, account: str, unit: str = "id") -> set[str] | None:
        """The units the account's rows hold; None when the warehouse cannot tell."""
        rows = self._select(
            table, f"SELECT DISTINCT {unit} FROM {{table}} WHERE account = %s", account
        )
        return None if rows is None else {row[0] for row in rows}

    def last_reads(self, table: str, account: str, unit: str) -> dict[str, LastRead] | None:
        """Each unit's last read (its `list_version_hash` and `read_at`)."""
        rows = self._select(
            table,
            f"SELECT {unit}, MAX(list_version_hash), MAX(read_at) FROM {{table}}"
            f" WHERE account = %s GROUP BY {unit}",
            account,
        )
        return None if rows is None else {row[0]: (row[1], row[2]) for row in rows}

    def rows(self, table: str, account: str) -> pa.Table | None:
        """Every row of the account, as arrow (the warehouse's types). Every page of the
        answer: dlt's `cursor.arrow()` is its first page alone on BigQuery (a record batch),
        which may hold fewer rows than the answer or none (the emulator's first page is empty)."""

        def arrow(client: SqlClientBase[Any], qualified: str) -> pa.Table:
            sql = f"SELECT * FROM {qualified} WHERE account = %s"
            with client.execute_query(sql, account) as cursor:
                pages = [pa.table(page) for page in cursor.iter_arrow(chunk_size=PAGE_ROWS)]
            return pa.concat_tables(pages, promote_options="permissive") if pages else pa.table({})

        return self._read(table, arrow)

    def _select(self, table: str, sql: str, *args: Any) -> list[tuple[Any, ...]] | None:
        def fetch(client: SqlClientBase[Any], qualified: str) -> list[tuple[Any, ...]]:
            rows = client.execute_sql(sql.format(table=qualified), *args) or []
            return [tuple(row) for row in rows]

        return self._read(table, fetch)

    def _read(self, table: str, read: Callable[[SqlClientBase[Any], str], Read]) -> Read | None:
        pipeline = self._pipeline
        if pipeline is None:
            return None
        with _ONE_READ_AT_A_TIME:  # the schema too: dlt may reload it in place when asked for it
            if table not in _loaded_tables(pipeline):
                return None
            try:
                with pipeline.sql_client() as client:
                    return read(client, client.make_qualified_table_name(table))
            except Exception as error:  # noqa: BLE001 - what the warehouse cannot tell is unknown
                logger.warning("could not read the earlier rows of %s: %s", table, error)
                return None


def _loaded_tables(pipeline: dlt.Pipeline) -> set[str]:
    """Tables a completed load has put data in (the schema knows them from the last load)."""
    schema: Any = pipeline.default_schema if pipeline.default_schema_name else None
    return set(schema.data_table_names(seen_data_only=True)) if schema is not None else set()


NOTHING_EARLIER = Earlier(None)
