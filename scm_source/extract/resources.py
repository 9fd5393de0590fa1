"""One resource per list, from module-level generators: `list_tables` is what dlt runs (it
records the run in the resource's state), `account_tables` does the work and runs without a
pipeline, and `walk_account` reads one account's list as arrow batches.

Each account's rows go to the snapshot and the history tables as they arrive; an account that
fails is logged in the sync log and left out of the merge (tables.py), so the others load and its
tables stay exactly as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import dlt
import pyarrow as pa

from scm_source.accounts.configured import Account
from scm_source.accounts.directory import AccountClient
from scm_source.accounts.slots import AccountSlots
from scm_source.errors import ScmError, ScmResponseError
from scm_source.extract.earlier import NOTHING_EARLIER, Earlier
from scm_source.extract.pipeline import remember_duckdb_file
from scm_source.extract.sync import SyncEntry
from scm_source.extract.tables import (
    NONE_LOADED,
    Loaded,
    history_hints,
    snapshot_hints,
    sync_log_hints,
)
from scm_source.http.client import ScmClient
from scm_source.objects.kinds import ListSettings, PagedList
from scm_source.paging.pages import FetchPage, PagingReport, fetch_page
from scm_source.paging.planner import walk_list
from scm_source.paging.steps import Query
from scm_source.paging.workers import StreamEnd, interleave
from scm_source.rows.arrow import stamp, to_arrow
from scm_source.rows.values import Row

logger = logging.getLogger(__name__)

# An account's rows become an arrow table per this many: 5,000 rows as dicts stay a few MB.
BATCH_ROWS = 5000
# Arrow tables (an account's, or several accounts' joined) go to dlt in items of this many rows:
# dlt's cost is per item (~25 ms to check its hints and schema, each item twice: snapshot and
# history), not per row; 20,000 rows of arrow are ~12 MB.
ITEM_ROWS = 20_000


@dataclass(frozen=True)
class ListRun:
    """What one resource reads: a list, its settings, how strict to be about totals, and how
    many accounts at a time (`account_slots` is shared by every list of the run)."""

    scm_list: PagedList
    settings: ListSettings
    concurrency: int
    strict: bool = False
    parallel_accounts: int = 1
    account_slots: AccountSlots = field(default_factory=lambda: AccountSlots(1))


def list_tables(run: ListRun, directory: Callable[[], Sequence[AccountClient]]) -> Iterator[Any]:
    """The resource: every account's rows of one list, and the run in the resource's state.
    `directory` gives the accounts when the run starts (an organization is listed then)."""
    pipeline = dlt.current.pipeline()
    remember_duckdb_file(pipeline)
    entries = yield from account_tables(run, directory(), Earlier(pipeline))
    dlt.current.resource_state()["last_run"] = {entry.account: entry.state() for entry in entries}


def account_tables(
    run: ListRun, accounts: Sequence[AccountClient], earlier: Earlier = NOTHING_EARLIER
) -> Generator[Any, None, list[SyncEntry]]:
    """Arrow batches bound for the snapshot and the history, then the sync log; returns the
    sync log's entries. Accounts are read `parallel_accounts` at a time, their batches taken
    as they come; `earlier` tells what the warehouse holds of each (the sync log counts what a
    partial read keeps)."""
    scm_list, filtered = run.scm_list, run.settings.narrows
    in_full: list[str] = []
    in_part: list[str] = []
    entries = [
        SyncEntry(account.alias, scm_list.name, filtered, account.domain_id)
        for account, _ in accounts
    ]
    readers = []
    for index, ((account, client), entry) in enumerate(zip(accounts, entries, strict=True)):
        if client is None:
            entry.skip(account.skipped or "not read")
        else:
            readers.append((index, account, client, entry))

    def read(
        index: int, account: Account, client: ScmClient, entry: SyncEntry
    ) -> Iterator[pa.Table]:
        try:
            with run.account_slots.hold(index):
                yield from walk_account(run, account, client, entry, earlier)
        finally:
            client.close()  # descriptors stay flat however many accounts follow

    # A table's first item carries its hints, with a scope of no account: if the run stops
    # short (dlt's add_limit, an interruption), nothing merges. The final scopes come with the
    # last item.
    unscoped = {
        scm_list.name: snapshot_hints(scm_list, NONE_LOADED),
        scm_list.history: history_hints(scm_list, NONE_LOADED),
    }

    def to_table(item: Any, table: str) -> Any:
        """Hints on a table's first item only: dlt validates them again for every item that
        carries them."""
        hints = unscoped.pop(table, None)
        return dlt.mark.with_table_name(item, table) if hints is None else _as(item, hints)

    streams = [partial(read, *reader) for reader in readers]
    interleaved = interleave(streams, run.parallel_accounts, f"scm-{scm_list.name}")
    held: pa.Table | None = None  # the last item goes once every account has ended
    for item in coalesced(interleaved, ITEM_ROWS):
        if isinstance(item, StreamEnd):
            _, account, _, entry = readers[item.index]
            if item.error is None:
                (in_full if entry.read_in_full else in_part).append(account.alias)
            else:
                logger.error(
                    "account %s: %s not loaded: %s", account.alias, scm_list.name, item.error
                )
            continue
        if held is not None:
            yield to_table(held, scm_list.name)
            yield to_table(held, scm_list.history)
        held = item
    # The last item carries the final scopes; an empty one when no account has rows left, so
    # that the merge still runs and deleted objects go.
    last = held if held is not None else to_arrow([], scm_list.columns)
    loaded = Loaded(tuple(in_full), tuple(in_part))
    yield _as(last, snapshot_hints(scm_list, loaded))
    yield _as(last, history_hints(scm_list, loaded))
    yield _as([entry.row() for entry in entries], sync_log_hints())
    return entries


def coalesced(items: Iterable[pa.Table | StreamEnd], rows: int) -> Iterator[pa.Table | StreamEnd]:
    """Arrow tables joined until they hold `rows` rows, ends of streams passed on at once: dlt's
    cost is per item, not per row, and with many small accounts most batches are small."""
    pending: list[pa.Table] = []
    held = 0
    for item in items:
        if isinstance(item, StreamEnd):
            yield item
            continue
        pending.append(item)
        held += item.num_rows
        if held >= rows:
            yield pa.concat_tables(pending)
            pending, held = [], 0
    if pending:
        yield pa.concat_tables(pending)


def walk_account(
    run: ListRun,
    account: Account,
    client: ScmClient,
    entry: SyncEntry,
    earlier: Earlier = NOTHING_EARLIER,
) -> Iterator[pa.Table]:
    """One account's list in arrow batches of BATCH_ROWS; `entry` gets what the walk saw, also
    when it fails, and any failure is raised as an ScmError that names the list."""
    scm_list, settings = run.scm_list, run.settings
    to_row = scm_list.converter(settings)

    def row(item: Row) -> Row:
        converted = to_row(item)
        if not converted.get("domain_id"):
            converted["domain_id"] = account.domain_id
        entry.domain_id = entry.domain_id or converted["domain_id"]
        return stamp(converted, account.alias)

    path = scm_list.endpoint.path
    report = PagingReport()
    retries = client.retries[path]

    def fetch_for(query: Query) -> FetchPage:
        return fetch_page(client.get_json, scm_list.endpoint, query, settings.page_size, row)

    pages = walk_list(
        fetch_for,
        settings.query(),
        scm_list.steps,
        settings.page_size,
        settings.offset_mode,
        report,
        run.concurrency,
    )
    batch: list[Row] = []
    failure: ScmError | None = None
    try:
        for page in pages:
            batch.extend(page)
            if len(batch) >= BATCH_ROWS:
                yield to_arrow(batch, scm_list.columns)
                batch = []
        if batch:
            yield to_arrow(batch, scm_list.columns)
        if run.strict and report.shortfall:
            at_least = "" if report.shortfall_exact else "at least "
            raise ScmResponseError(
                f"GET {path}: {at_least}{report.shortfall} rows unreachable: {report.rows_unique}"
                f" distinct rows arrived (stopped: {report.stop_reason}); strict mode loads"
                " nothing short: rerun, or set strict=false to accept it with a warning"
            )
    except Exception as error:  # noqa: BLE001 - whatever an answer does, it fails one list
        failure = _as_scm_error(error, path)
        raise failure from None
    finally:
        entry.finish(report, client.retries[path] - retries, failure)
    if not entry.filtered:
        entry.settle(earlier.ids(scm_list.name, account.alias), report.ids)
    if entry.kept_unverified:
        logger.warning(
            "account %s: %s read in part: %d earlier rows not reached are kept, not retired",
            account.alias,
            scm_list.name,
            entry.kept_unverified,
        )
    logger.info(
        "%s %s: %d rows in %d pages (%s offsets; stopped: %s)",
        account.alias,
        path,
        report.rows_unique,
        report.pages,
        report.offset_mode,
        report.stop_reason,
    )


def _as_scm_error(error: Exception, path: str) -> ScmError:
    """Our errors as they are; anything else an answer caused (a value no column can hold, JSON
    nested too deep, a lone surrogate) named with the list, so that only this account fails."""
    if isinstance(error, ScmError):
        return error
    detail = (str(error).strip().splitlines() or [""])[0][:200]
    return ScmResponseError(
        f"GET {path}: an answer could not be loaded ({type(error).__name__}: {detail}); the"
        " account's tables are left as they were"
    )


def _as(item: Any, hints: Any) -> Any:
    """`item` bound for the table the hints name, with that table's own write disposition."""
    return dlt.mark.with_hints(item, hints, create_table_variant=True)
