"""The sync log: one row per run, account and list, so that an empty table reads as "no
certificates" and not as "the run failed"."""

from __future__ import annotations

import types
import typing
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns

from scm_source.errors import ScmApiError
from scm_source.paging.pages import PagingReport
from scm_source.rows.schema import INSTANT, columns

LOADED, FAILED, SKIPPED = "loaded", "failed", "skipped"
FORGOTTEN = "forgotten"  # retired with `scm-export forget`: views leave the account out
# Marks a field whose column holds no NULL.
REQUIRED = {"nullable": False}


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class SyncEntry:
    account: str = field(metadata=REQUIRED)
    resource: str = field(metadata=REQUIRED)
    filtered: bool
    domain_id: str | None = None
    started_at: datetime = field(default_factory=_now)
    finished_at: datetime | None = None
    api_total: int | None = None
    rows_received: int = 0
    rows: int = 0
    pages: int = 0
    queries: int = 0  # the queries (filter combinations) the rows were listed with
    # Rows the API counted that no query reached: exact, or (at the API's cap of 10,000 per
    # query) a lower bound, as `unreachable_exact` says.
    rows_unreachable: int | None = None
    unreachable_exact: bool | None = None
    # Whether the list was read in full (unfiltered, every row the API counts reached): only
    # then are the account's earlier rows that it no longer lists retired. Of those earlier rows
    # not reached, `retired` were retired, `kept_unverified` kept live (a partial read); None
    # where the warehouse could not tell (a first run) or the run was filtered.
    read_in_full: bool | None = None
    retired: int | None = None
    kept_unverified: int | None = None
    retries: int = 0
    offset_mode: str | None = None
    outcome: str = field(default=LOADED, metadata=REQUIRED)
    error: str | None = None
    http_status: int | None = None
    error_code: str | None = None
    request_id: str | None = None

    def finish(self, report: PagingReport, retries: int, error: Exception | None = None) -> None:
        """What a list's walk saw, also when it failed half-way."""
        self.api_total = report.total if report.pages else None
        self.rows_received = report.rows_received
        self.rows = report.rows_unique
        self.pages = report.pages
        self.queries = report.queries
        self.rows_unreachable = report.shortfall if report.pages else None
        self.unreachable_exact = report.shortfall_exact if report.pages else None
        self.offset_mode = report.offset_mode
        self._end(retries, error, report.proves_complete)

    def finish_reads(
        self,
        wanted: int,
        rows: int,
        requests: int,
        retries: int,
        in_full: bool,
        error: Exception | None = None,
    ) -> None:
        """What a child object's reads saw (details, lookups): `wanted` rows of its parent,
        `rows` written, `requests` sent; in full when its parent was read in full."""
        self.api_total, self.rows_received, self.rows, self.pages = wanted, rows, rows, requests
        self._end(retries, error, in_full)

    def fail(self, error: Exception) -> None:
        """Failed before it read anything (its parent did not load, say)."""
        self._end(0, error, False)

    def _end(self, retries: int, error: Exception | None, complete: bool) -> None:
        self.finished_at = _now()
        self.retries = retries
        if error is not None:
            self.outcome = FAILED
            self.error = (str(error).strip().splitlines() or [type(error).__name__])[0]
            if isinstance(error, ScmApiError):
                self.http_status, self.error_code = error.status, error.error_code
                self.request_id = error.request_id
        else:
            self.read_in_full = complete and not self.filtered

    def settle(self, earlier: set[str] | None, reached: set[str]) -> None:
        """What the merge does to the account's earlier rows that this read did not reach."""
        if earlier is None:
            return
        missing = len(earlier - reached)
        self.retired, self.kept_unverified = (missing, 0) if self.read_in_full else (0, missing)

    def skip(self, reason: str) -> None:
        """Not read, on purpose (an organization member that is not active): not a failure."""
        self.finished_at = _now()
        self.outcome = SKIPPED
        self.error = reason

    def row(self) -> dict[str, Any]:
        return asdict(self)

    def state(self) -> dict[str, Any]:
        """For the pipeline state (kept as JSON): times as ISO strings."""
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in self.row().items()
        }


_COLUMN_TYPES: dict[type, TColumnSchema] = {
    str: {"data_type": "text"},
    bool: {"data_type": "bool"},
    int: {"data_type": "bigint"},
    datetime: INSTANT,
}


def _column(annotation: Any, metadata: Any) -> TColumnSchema:
    """`int | None` -> bigint; the field's metadata adds to it (e.g. not nullable)."""
    if isinstance(annotation, types.UnionType):
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    column: TColumnSchema = {**_COLUMN_TYPES[annotation], **metadata}
    return column


def _sync_log_columns() -> TTableSchemaColumns:
    hints = typing.get_type_hints(SyncEntry)
    return columns(
        **{each.name: _column(hints[each.name], each.metadata) for each in fields(SyncEntry)}
    )


SYNC_LOG_COLUMNS = _sync_log_columns()
