"""The walk of a paged list in one account: every row, whatever one query can reach (the
planner), in arrow batches bound for the list's tables. A list with children publishes what they
read of its rows; a list with a parent (the certificates by tag) is read only when the parent's
rows changed since its last read, or that read is older than `refresh_hours`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from scm_source.errors import ScmError, ScmResponseError
from scm_source.extract.earlier import LastRead
from scm_source.extract.parents import ParentRead
from scm_source.extract.sync import SyncEntry
from scm_source.extract.walk import AccountWalk, Batch, Batches, now
from scm_source.objects.kinds import ListSettings, PagedList
from scm_source.paging.pages import FetchPage, PagingReport, fetch_page
from scm_source.paging.planner import walk_list
from scm_source.paging.steps import Query
from scm_source.rows.values import Row

logger = logging.getLogger(__name__)


def walk_paged(walk: AccountWalk) -> Iterator[Batch]:
    """One account's list in arrow batches of BATCH_ROWS per table; the walk's entry gets what
    it saw, also when it fails, and any failure is raised as an ScmError that names the list."""
    obj = walk.run.obj
    assert isinstance(obj, PagedList)
    parent_read = take_parent(walk) if obj.parent else None
    if parent_read is not None and not _due(walk, parent_read):
        return
    board = walk.run.boards.get(obj.name)
    published: dict[str, Row] | None = {} if board is not None and board.wanted else None
    read = ParentRead({}, False, "its walk stopped before it ended")
    try:
        yield from _walk(walk, obj, parent_read, published)
        in_full = bool(walk.entry.read_in_full)
        read = ParentRead(published or {}, in_full, domain_id=walk.entry.domain_id)
    except ScmError as failure:
        read = replace(read, failure=str(failure))
        raise
    finally:
        if board is not None and published is not None:
            board.publish(walk.account.alias, read)


def take_parent(walk: AccountWalk) -> ParentRead:
    """The account's rows of the object's parent: published by the parent's resource, or,
    when the parent is not selected, walked here (not loaded). A parent that failed fails the
    child in that account alone."""
    parent_run = walk.run.parent
    assert parent_run is not None
    board = walk.run.boards[parent_run.obj.name]

    def walk_parent() -> ParentRead:
        entry = SyncEntry(walk.account.alias, parent_run.obj.name, parent_run.settings.narrows)
        rows: dict[str, Row] = {}
        try:
            parent_obj = parent_run.obj
            assert isinstance(parent_obj, PagedList)
            for _ in _walk(replace(walk, run=parent_run, entry=entry), parent_obj, None, rows):
                pass
        except ScmError as failure:
            return ParentRead({}, False, str(failure))
        return ParentRead(rows, bool(entry.read_in_full), domain_id=entry.domain_id)

    read = board.take(walk.account.alias, walk_parent)
    if read.failure is not None:  # what failed is the parent's own line
        logger.info("account %s: %s: %s", walk.account.alias, parent_run.obj.name, read.failure)
        raise ScmError(f"not read: the account's {parent_run.obj.name} did not load")
    walk.entry.domain_id = walk.entry.domain_id or read.domain_id
    return read


def _due(walk: AccountWalk, parent_read: ParentRead) -> bool:
    """Whether the list must be read: a parent row new or changed since its last read, one
    gone, or a last read older than `refresh_hours`. Otherwise the account is skipped: its
    rows stay as they were."""
    obj = walk.run.obj
    refresh_hours: int = getattr(walk.run.settings, "refresh_hours", 0)
    fresh = next((table for table in obj.tables if "read_at" in table.columns), None)
    last = (
        walk.earlier.last_reads(fresh.name, walk.account.alias, fresh.unit)
        if fresh is not None
        else None
    )
    why = due_reason(parent_read, last, refresh_hours)
    if why is None:
        walk.entry.skip(
            f"not due: {walk.run.parent.obj.name if walk.run.parent else 'its parent'} unchanged"
            f" since its last read, within refresh_hours={refresh_hours}"
        )
        return False
    logger.info("account %s: %s is due (%s)", walk.account.alias, obj.name, why)
    return True


def due_reason(
    parent_read: ParentRead, last: dict[str, LastRead] | None, refresh_hours: int
) -> str | None:
    """Why an object that reads all of a parent's rows at once is due, or None when it is not:
    never read, a parent row new or changed since the last read (its version hash), one gone
    (of a parent read in full), or a last read older than `refresh_hours`."""
    if not last:
        return "never read"
    changed = [
        unit
        for unit, row in parent_read.rows.items()
        if unit not in last or last[unit][0] != row["version_hash"]
    ]
    if changed:
        return f"{len(changed)} rows new or changed"
    # Units read for a parent row (a list version kept) that the parent no longer lists.
    gone = {unit for unit, (version, _) in last.items() if version is not None}
    if parent_read.in_full and gone - set(parent_read.rows):
        return "rows gone"
    oldest = min((read_at for _, read_at in last.values() if read_at is not None), default=None)
    if oldest is None or now() - _utc(oldest) >= timedelta(hours=refresh_hours):
        return f"last read {oldest}, older than refresh_hours={refresh_hours}"
    return None


def _utc(moment: datetime) -> datetime:
    """A warehouse's timestamp as UTC (DuckDB may hand it back without a zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _walk(
    walk: AccountWalk,
    obj: PagedList,
    parent_read: ParentRead | None,
    published: dict[str, Row] | None,
) -> Iterator[Batch]:
    settings = walk.run.settings
    assert isinstance(settings, ListSettings)
    to_row = obj.converter(settings)
    entry, client = walk.entry, walk.client
    read_at = now()
    tables = {table.name: table for table in obj.tables}

    def row(item: Row) -> Row:
        converted = to_row(item)
        if obj.fan_out is not None:
            return converted  # its tables' rows are stamped when spread
        stamped = walk.stamped(converted)
        if published is not None:
            published[stamped["id"]] = {
                "version_hash": stamped["version_hash"],
                **{name: stamped.get(name) for name in obj.published},
            }
        return stamped

    def spread(page_row: Row) -> dict[str, list[Row]]:
        if obj.fan_out is None:
            return {obj.tables[0].name: [page_row]}
        parent_rows = parent_read.rows if parent_read is not None else {}
        spread_rows: dict[str, list[Row]] = {}
        for name, rows in obj.fan_out(page_row).items():
            for each in rows:
                if "read_at" in tables[name].columns:
                    parent = parent_rows.get(each[tables[name].unit]) or {}
                    each["list_version_hash"] = parent.get("version_hash")
                    each["read_at"] = read_at
                spread_rows.setdefault(name, []).append(walk.stamped(each))
        return spread_rows

    path = obj.endpoint.path
    report = PagingReport()
    call_name = f"{obj.endpoint.method} {path}"
    retries = client.retries[call_name]

    def fetch_for(query: Query) -> FetchPage:
        return fetch_page(client.call, obj.endpoint, query, settings.page_size, row)

    pages = walk_list(
        fetch_for,
        settings.query(),
        obj.steps,
        settings.page_size,
        settings.offset_mode,
        report,
        walk.run.concurrency,
    )
    batches = Batches(obj.tables)
    failure: ScmError | None = None
    try:
        for page in pages:
            for page_row in page:
                for name, rows in spread(page_row).items():
                    yield from batches.add(name, rows)
        yield from batches.flush()
        if walk.run.strict and report.shortfall:
            at_least = "" if report.shortfall_exact else "at least "
            raise ScmResponseError(
                f"{call_name}: {at_least}{report.shortfall} rows unreachable:"
                f" {report.rows_unique} distinct rows arrived (stopped: {report.stop_reason});"
                " strict mode loads nothing short: rerun, or set strict=false to accept it with"
                " a warning"
            )
    except Exception as error:  # noqa: BLE001 - whatever an answer does, it fails one list
        failure = as_scm_error(error, call_name)
        raise failure from None
    finally:
        entry.finish(report, client.retries[call_name] - retries, failure)
    if not entry.filtered:
        unit = obj.tables[0].unit
        entry.settle(walk.earlier.ids(obj.tables[0].name, walk.account.alias, unit), report.ids)
    if entry.kept_unverified:
        logger.warning(
            "account %s: %s read in part: %d earlier rows not reached are kept, not retired",
            walk.account.alias,
            obj.name,
            entry.kept_unverified,
        )
    logger.info(
        "%s %s: %d rows in %d pages (%s offsets; stopped: %s)",
        walk.account.alias,
        path,
        report.rows_unique,
        report.pages,
        report.offset_mode,
        report.stop_reason,
    )


def as_scm_error(error: Exception, call_name: str) -> ScmError:
    """Our errors as they are; anything else an answer caused (a value no column can hold, JSON
    nested too deep, a lone surrogate) named with the call, so that only this account fails."""
    if isinstance(error, ScmError):
        return error
    detail = (str(error).strip().splitlines() or [""])[0][:200]
    return ScmResponseError(
        f"{call_name}: an answer could not be loaded ({type(error).__name__}: {detail}); the"
        " account's tables are left as they were"
    )
