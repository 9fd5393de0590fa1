"""The walk of a detail read in one account: one GET per row of the parent list it wants, for
those due (new, changed since the detail was read, or read longer ago than `refresh_days`); the
others are carried over from the warehouse as they were, so the table stays whole. Details are
fetched `concurrency` at a time under the account's adaptive in-flight limit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc

from scm_source.errors import ScmApiError, ScmError, ScmResponseError
from scm_source.extract.earlier import LastRead
from scm_source.extract.lists import as_scm_error, take_parent
from scm_source.extract.walk import AccountWalk, Batch, Batches, now
from scm_source.objects.kinds import DetailRead
from scm_source.paging.workers import map_as_completed
from scm_source.rows.arrow import conform
from scm_source.rows.values import Row

logger = logging.getLogger(__name__)


def walk_details(walk: AccountWalk) -> Iterator[Batch]:
    obj = walk.run.obj
    assert isinstance(obj, DetailRead)
    parent = take_parent(walk)
    table = obj.tables[0]
    wanted = {unit: row for unit, row in parent.rows.items() if obj.wants(row)}
    last = walk.earlier.last_reads(table.name, walk.account.alias, table.unit) or {}
    refresh = timedelta(hours=getattr(walk.run.settings, "refresh_hours", 0))
    read_at = now()
    due = sorted(unit for unit, row in wanted.items() if _due(row, last.get(unit), refresh))
    carried = set(wanted) - set(due)
    gone = parent.in_full and bool(set(last) - set(wanted))
    if not due and not gone:
        walk.entry.skip(
            f"not due: every detail read for its certificate as it is, within refresh_days="
            f"{getattr(walk.run.settings, 'refresh_days', 0)}"
        )
        return
    client, call_name = walk.client, f"GET {obj.path}"
    retries, requests, carried_rows = client.retries[call_name], 0, 0
    to_row = obj.converter(walk.run.settings)

    def read(unit: str) -> Row | None:
        try:
            answer = client.call("GET", obj.path.replace("{id}", unit), {})
        except ScmApiError as error:
            if error.status in obj.gone_statuses or error.error_code in obj.gone_codes:
                return None  # deleted since it was listed, or not the account's: no detail
            raise
        if answer.get("id") != unit:
            raise ScmResponseError(
                f"GET {obj.path}: asked for {unit!r}, answered {answer.get('id')!r}"
            )
        row = to_row(answer)
        row["list_version_hash"] = wanted[unit]["version_hash"]
        row["read_at"] = read_at
        return walk.stamped(row)

    failure: ScmError | None = None
    batches = Batches(obj.tables)
    try:
        if carried:
            kept = _carried(walk, carried)
            carried_rows = kept.num_rows
            if carried_rows:
                yield table.name, kept
        for row in map_as_completed(read, due, walk.run.concurrency, f"scm-{obj.name}"):
            requests += 1
            yield from batches.add(table.name, [row] if row is not None else [])
        yield from batches.flush()
    except Exception as error:  # noqa: BLE001 - whatever an answer does, it fails one object
        failure = as_scm_error(error, call_name)
        raise failure from None
    finally:
        retried = client.retries[call_name] - retries
        written = batches.written + carried_rows
        walk.entry.finish_reads(len(wanted), written, requests, retried, parent.in_full, failure)
    if not walk.entry.filtered:
        walk.entry.settle(walk.earlier.ids(table.name, walk.account.alias, table.unit), set(wanted))
    logger.info(
        "%s %s: %d read, %d carried over", walk.account.alias, obj.name, len(due), len(carried)
    )


def _due(parent_row: Row, last: LastRead | None, refresh: timedelta) -> bool:
    """New, its parent's row changed since it was read, or read longer ago than `refresh`."""
    if last is None:
        return True
    version, read_at = last
    if version != parent_row["version_hash"] or read_at is None:
        return True
    read_at = read_at if read_at.tzinfo else read_at.replace(tzinfo=now().tzinfo)
    return now() - read_at >= refresh


def _carried(walk: AccountWalk, units: set[str]) -> pa.Table:
    """The warehouse's rows of the units not read again, as they were."""
    table = walk.run.obj.tables[0]
    earlier = walk.earlier.rows(table.name, walk.account.alias)
    if earlier is None:
        raise ScmError(f"the earlier rows of {table.name} could not be read to carry them over")
    earlier = conform(earlier, table.columns)
    return earlier.filter(pc.is_in(earlier.column(table.unit), pa.array(sorted(units))))
