"""What the warehouse already holds from earlier loads, read while a run extracts: which rows of
an account a partial read did not reach (kept, not retired) and which a full read retires.

Read through the pipeline's own SQL client, one account at a time, under one lock: the
resource's walks end in threads of their own. A warehouse that has no such dataset or table yet
(a first run), or that cannot be read, knows nothing: the counts are then left unknown."""

from __future__ import annotations

import logging
import threading
from typing import Any

import dlt

logger = logging.getLogger(__name__)


class Earlier:
    """The ids an account's rows have in a snapshot table of the pipeline's dataset."""

    def __init__(self, pipeline: dlt.Pipeline | None) -> None:
        self._pipeline = pipeline
        self._lock = threading.Lock()

    def ids(self, table: str, account: str) -> set[str] | None:
        """None when the warehouse cannot tell (no pipeline, no table yet, out of reach)."""
        pipeline = self._pipeline
        if pipeline is None or table not in _loaded_tables(pipeline):
            return None
        with self._lock:
            try:
                with pipeline.sql_client() as client:
                    qualified = client.make_qualified_table_name(table)
                    rows = client.execute_sql(
                        f"SELECT id FROM {qualified} WHERE account = %s", account
                    )
            except Exception as error:  # noqa: BLE001 - the counts are informative, not vital
                logger.info("could not read the earlier rows of %s: %s", table, error)
                return None
        return {row[0] for row in rows or []}


def _loaded_tables(pipeline: dlt.Pipeline) -> set[str]:
    """Tables a completed load has put data in (the schema knows them from the last load)."""
    schema: Any = pipeline.default_schema if pipeline.default_schema_name else None
    return set(schema.data_table_names(seen_data_only=True)) if schema is not None else set()


NOTHING_EARLIER = Earlier(None)
