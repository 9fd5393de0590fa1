"""The walk of a batched lookup in one account: the parent list's rows it wants, `batch` ids a
request, `concurrency` requests at a time under the account's adaptive in-flight limit. Due as a
whole (a parent row new, changed or gone since the last lookup, or that lookup older than
`refresh_hours`), or not read at all: an unchanged rerun sends none of its requests."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

from scm_source.errors import ScmError
from scm_source.extract.lists import as_scm_error, due_reason, take_parent
from scm_source.extract.parents import ParentRead
from scm_source.extract.walk import AccountWalk, Batch, Batches, now
from scm_source.objects.kinds import BatchedLookup
from scm_source.paging.workers import map_as_completed
from scm_source.rows.values import Row

logger = logging.getLogger(__name__)


def walk_lookups(walk: AccountWalk) -> Iterator[Batch]:
    obj, settings = walk.run.obj, walk.run.settings
    assert isinstance(obj, BatchedLookup)
    parent = take_parent(walk)
    wanted = ParentRead(
        {unit: row for unit, row in parent.rows.items() if obj.wants(row)}, parent.in_full
    )
    fresh = next(table for table in obj.tables if "read_at" in table.columns)
    last = walk.earlier.last_reads(fresh.name, walk.account.alias, fresh.unit)
    refresh_hours: int = getattr(settings, "refresh_hours", 0)
    why = due_reason(wanted, last, refresh_hours)
    if why is None:
        walk.entry.skip(
            f"not due: {obj.parent} unchanged since its last read, within"
            f" refresh_hours={refresh_hours}"
        )
        return
    tables = {table.name: table for table in obj.tables}
    units = sorted(wanted.rows)
    batches_of_ids = [units[at : at + obj.batch] for at in range(0, len(units), obj.batch)]
    client, call_name = walk.client, f"POST {obj.path}"
    retries, requests = client.retries[call_name], 0
    read_at = now()

    def look_up(ids: list[str]) -> Mapping[str, list[Row]]:
        answer = client.call("POST", obj.path, {}, obj.body(ids, settings))
        spread = obj.rows(answer, ids)
        for name, rows in spread.items():
            for row in rows:
                if "read_at" in tables[name].columns:
                    row["list_version_hash"] = wanted.rows[row[tables[name].unit]]["version_hash"]
                    row["read_at"] = read_at
                walk.stamped(row)
        return spread

    failure: ScmError | None = None
    batches = Batches(obj.tables)
    try:
        for spread in map_as_completed(
            look_up, batches_of_ids, walk.run.concurrency, f"scm-{obj.name}"
        ):
            requests += 1
            for name, rows in spread.items():
                yield from batches.add(name, rows)
        yield from batches.flush()
    except Exception as error:  # noqa: BLE001 - whatever an answer does, it fails one object
        failure = as_scm_error(error, call_name)
        raise failure from None
    finally:
        retried = client.retries[call_name] - retries
        written = batches.written
        walk.entry.finish_reads(len(units), written, requests, retried, parent.in_full, failure)
    if not walk.entry.filtered:
        walk.entry.settle(walk.earlier.ids(fresh.name, walk.account.alias, fresh.unit), set(units))
    logger.info(
        "%s %s: %d looked up in %d requests (%s)",
        walk.account.alias,
        obj.name,
        len(units),
        requests,
        why,
    )
