"""One resource per object of the registry, from module-level generators: `object_tables` is what
dlt runs (it records the run in the resource's state), `account_tables` runs the account loop
for every kind of object (without a pipeline too), and the kind's walk reads one account
(lists.py, details.py, lookups.py) as arrow batches bound for its tables.

Each account's rows go to their tables (and the histories) as they arrive; an account that
fails is logged in the sync log and left out of the merge (tables.py), so the others load and its
tables stay exactly as they were. An account an object need not read this run (nothing changed
since its last read) is left out too, its rows as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import dlt
import pyarrow as pa

from scm_source.accounts.directory import AccountClient
from scm_source.extract.details import walk_details
from scm_source.extract.earlier import NOTHING_EARLIER, Earlier
from scm_source.extract.lists import walk_paged
from scm_source.extract.lookups import walk_lookups
from scm_source.extract.pipeline import remember_duckdb_file
from scm_source.extract.sync import SKIPPED, SyncEntry
from scm_source.extract.tables import (
    NONE_LOADED,
    Loaded,
    history_hints,
    snapshot_hints,
    sync_log_hints,
)
from scm_source.extract.walk import AccountWalk, Batch, ObjectRun
from scm_source.objects.kinds import BatchedLookup, DetailRead, Table
from scm_source.paging.workers import StreamEnd, interleave
from scm_source.rows.arrow import to_arrow

logger = logging.getLogger(__name__)

# Arrow tables (an account's, or several accounts' joined) go to dlt in items of this many rows:
# dlt's cost is per item (~25 ms to check its hints and schema, each item twice: snapshot and
# history), not per row; 20,000 rows of arrow are ~12 MB.
ITEM_ROWS = 20_000
# How long the resource waits for an account's next batch before it hands dlt's thread back
# (a None item, which dlt drops): a child waiting on its parent must not hold a thread the
# parent needs.
IDLE_SECONDS = 0.5


def object_tables(
    run: ObjectRun, directory: Callable[[], Sequence[AccountClient]], children: frozenset[str]
) -> Iterator[Any]:
    """The resource: every account's rows of one object, and the run in the resource's state.
    `directory` gives the accounts when the run starts (an organization is listed then);
    `children` names the objects that read a parent's rows, for the boards' plans."""
    pipeline = dlt.current.pipeline()
    remember_duckdb_file(pipeline)
    selected = set(dlt.current.source().selected_resources)
    for board in run.boards.values():
        board.plan(selected, {name for name in children if name in selected})
    try:
        entries = yield from account_tables(run, directory(), Earlier(pipeline))
    except BaseException:
        for board in run.boards.values():  # the run stops: no child waits for rows any more
            board.end(f"the run stopped while {run.obj.name} was read")
        raise
    if run.obj.name in run.boards:
        run.boards[run.obj.name].end(f"{run.obj.name} ended without reading the account")
    dlt.current.resource_state()["last_run"] = {entry.account: entry.state() for entry in entries}


_WALKS: Mapping[type, Callable[[AccountWalk], Iterator[Batch]]] = {
    DetailRead: walk_details,
    BatchedLookup: walk_lookups,
}


def account_tables(
    run: ObjectRun, accounts: Sequence[AccountClient], earlier: Earlier = NOTHING_EARLIER
) -> Generator[Any, None, list[SyncEntry]]:
    """Arrow batches bound for the object's tables and their histories, then the sync log;
    returns the sync log's entries. Accounts are read `parallel_accounts` at a time, their
    batches taken as they come; `earlier` tells what the warehouse holds of each."""
    obj, filtered = run.obj, run.settings.narrows
    walk = _WALKS.get(type(obj), walk_paged)
    in_full: list[str] = []
    in_part: list[str] = []
    entries = [
        SyncEntry(account.alias, obj.name, filtered, account.domain_id) for account, _ in accounts
    ]
    readers = []
    for index, ((account, clients), entry) in enumerate(zip(accounts, entries, strict=True)):
        if clients is None:
            entry.skip(account.skipped or "not read")
        else:
            readers.append(AccountWalk(run, index, account, clients, entry, earlier))

    def read(account_walk: AccountWalk) -> Iterator[Batch]:
        try:
            with run.account_slots.hold(account_walk.index):
                yield from walk(account_walk)
        except Exception as error:
            if account_walk.entry.finished_at is None:  # failed before it read anything
                account_walk.entry.fail(error)
            raise
        finally:
            account_walk.client.close()  # descriptors stay flat however many accounts follow

    tables = {table.name: table for table in obj.tables}
    # A table's first item carries its hints, with a scope of no account: if the run stops
    # short (dlt's add_limit, an interruption), nothing merges. The final scopes come with the
    # last item.
    unscoped = {
        name: hints for table in obj.tables for name, hints in _hints(table, NONE_LOADED).items()
    }

    def items_of(name: str, item: pa.Table) -> Iterator[Any]:
        """Hints on a table's first item only: dlt validates them again for every item that
        carries them."""
        table = tables[name]
        for target in (table.name, table.history):
            if target is not None:
                hints = unscoped.pop(target, None)
                yield dlt.mark.with_table_name(item, target) if hints is None else _as(item, hints)

    streams = [partial(read, reader) for reader in readers]
    interleaved = interleave(streams, run.parallel_accounts, f"scm-{obj.name}", IDLE_SECONDS)
    held: dict[str, pa.Table] = {}  # each table's last item goes once every account has ended
    for item in coalesced(interleaved, ITEM_ROWS):
        if item is None:
            yield None  # idle: dlt's thread goes to another resource meanwhile
        elif isinstance(item, StreamEnd):
            reader = readers[item.index]
            if item.error is not None:  # the summary and the sync log say it: not the log too
                logger.info(
                    "account %s: %s not loaded: %s", reader.account.alias, obj.name, item.error
                )
            elif reader.entry.outcome != SKIPPED:
                (in_full if reader.entry.read_in_full else in_part).append(reader.account.alias)
        else:
            name, batch = item
            if name in held:
                yield from items_of(name, held[name])
            held[name] = batch
    # The last items carry the final scopes; where no account has rows left, a row of no
    # account instead, so that the merge still runs and deleted objects go. With no account to
    # merge (all failed, or none was due), no merge at all: the tables stay as they were.
    loaded = Loaded(tuple(in_full), tuple(in_part))
    for table in obj.tables if loaded.accounts else ():
        last = held.get(table.name) or _no_account(table)
        for hints in _hints(table, loaded).values():
            yield _as(last, hints)
    yield _as([entry.row() for entry in entries], sync_log_hints())
    return entries


def _no_account(table: Table) -> pa.Table:
    """One row of no account (its alias empty, which no account has), for a merge that must run
    with no rows: the merge's source filter leaves it out, so it reaches no table. An empty
    load file instead fails on PostgreSQL (dlt's ADBC job builds a table from no batch)."""
    blank = {name: "" for name, column in table.columns.items() if not column.get("nullable")}
    return to_arrow([blank], table.columns)


def _hints(table: Table, loaded: Loaded) -> dict[str, Any]:
    """The hints of a table and of its history, by table name."""
    hints = {table.name: snapshot_hints(table, loaded)}
    if table.history is not None:
        hints[table.history] = history_hints(table, loaded)
    return hints


def coalesced(
    items: Iterable[Batch | StreamEnd | None], rows: int
) -> Iterator[Batch | StreamEnd | None]:
    """Each table's arrow batches joined until they hold `rows` rows, ends of streams and idle
    marks passed on at once: dlt's cost is per item, not per row, and with many small accounts
    most batches are small."""
    pending: dict[str, list[pa.Table]] = {}
    held: dict[str, int] = {}
    for item in items:
        if item is None or isinstance(item, StreamEnd):
            yield item
            continue
        name, batch = item
        pending.setdefault(name, []).append(batch)
        held[name] = held.get(name, 0) + batch.num_rows
        if held[name] >= rows:
            yield name, _joined(pending.pop(name))
            held[name] = 0
    for name, batches in pending.items():
        yield name, _joined(batches)


def _joined(batches: list[pa.Table]) -> pa.Table:
    """Batches of several accounts in one table: a field the API added later (a text column of
    JSON) that one account's rows have and another's lack is null where it is absent."""
    return pa.concat_tables(batches, promote_options="default")


def _as(item: Any, hints: Any) -> Any:
    """`item` bound for the table the hints name, with that table's own write disposition."""
    return dlt.mark.with_hints(item, hints, create_table_variant=True)
