"""The sync log: one row per run, account and list, so that an empty table reads as "no
certificates" and not as "the run failed"."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from scm_source.errors import ScmApiError
from scm_source.paging import PagingReport

LOADED, FAILED = "loaded", "failed"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class SyncEntry:
    account: str
    resource: str
    filtered: bool
    domain_id: str | None = None
    started_at: datetime = field(default_factory=_now)
    finished_at: datetime | None = None
    api_total: int | None = None
    rows_received: int = 0
    rows: int = 0
    pages: int = 0
    retries: int = 0
    offset_mode: str | None = None
    outcome: str = LOADED
    error: str | None = None
    http_status: int | None = None
    error_code: str | None = None
    request_id: str | None = None

    def finish(self, report: PagingReport, retries: int, error: Exception | None = None) -> None:
        """What the walk saw, also when it failed half-way."""
        self.finished_at = _now()
        self.api_total = report.total if report.pages else None
        self.rows_received = report.rows_received
        self.rows = report.rows_unique
        self.pages = report.pages
        self.retries = retries
        self.offset_mode = report.offset_mode
        if error is not None:
            self.outcome = FAILED
            self.error = (str(error).strip().splitlines() or [type(error).__name__])[0]
            if isinstance(error, ScmApiError):
                self.http_status, self.error_code = error.status, error.error_code
                self.request_id = error.request_id

    def row(self) -> dict[str, Any]:
        return asdict(self)

    def state(self) -> dict[str, Any]:
        """For the pipeline state (kept as JSON): times as ISO strings."""
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in self.row().items()
        }
