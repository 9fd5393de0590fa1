"""What the walk of one object in one account has at hand, whatever the object's kind."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa

from scm_source.accounts.configured import Account
from scm_source.accounts.directory import AccountClients
from scm_source.accounts.slots import AccountSlots
from scm_source.extract.earlier import Earlier
from scm_source.extract.parents import ParentRows
from scm_source.extract.sync import SyncEntry
from scm_source.http.client import ScmClient
from scm_source.objects.kinds import ApiObject, ObjectSettings, Table
from scm_source.rows.arrow import stamp, to_arrow
from scm_source.rows.values import Row

Batch = tuple[str, pa.Table]  # a table's name and rows bound for it
# An account's rows become an arrow table per this many: 5,000 rows as dicts stay a few MB.
BATCH_ROWS = 5000


@dataclass(frozen=True)
class ObjectRun:
    """What one resource reads: an object, its settings, how strict to be about totals, how
    many accounts at a time (`account_slots` is shared by every object of the run); the boards
    its parent's rows come on (or its own rows go to, for its children), and its parent's run,
    walked by a child itself when the parent is not selected."""

    obj: ApiObject
    settings: ObjectSettings
    concurrency: int
    strict: bool = False
    parallel_accounts: int = 1
    account_slots: AccountSlots = field(default_factory=lambda: AccountSlots(1))
    boards: Mapping[str, ParentRows] = field(default_factory=dict)
    parent: ObjectRun | None = None


@dataclass
class AccountWalk:
    run: ObjectRun
    index: int  # the account's place in the run (account slots go in this order)
    account: Account
    clients: AccountClients
    entry: SyncEntry
    earlier: Earlier

    @property
    def client(self) -> ScmClient:
        """The client of the service the object is read from (SCM's or CCM's host)."""
        return self.clients.of(self.run.obj.service)

    def stamped(self, row: Row) -> Row:
        """A row with the account's domain_id where the API gives none, its account and its
        version hash; the entry learns the domain_id from the rows where it was not known."""
        if not row.get("domain_id"):
            row["domain_id"] = self.account.domain_id or self.entry.domain_id
        self.entry.domain_id = self.entry.domain_id or row["domain_id"]
        return stamp(row, self.account.alias)


class Batches:
    """Rows bound for each of an object's tables, handed on as arrow every BATCH_ROWS rows of
    a table; `written` counts the rows handed on."""

    def __init__(self, tables: tuple[Table, ...]) -> None:
        self._tables = {table.name: table for table in tables}
        self._pending: dict[str, list[Row]] = {}
        self.written = 0

    def add(self, name: str, rows: list[Row]) -> Iterator[Batch]:
        pending = self._pending.setdefault(name, [])
        pending.extend(rows)
        if len(pending) >= BATCH_ROWS:
            yield self._take(name)

    def flush(self) -> Iterator[Batch]:
        for name in list(self._pending):
            if self._pending[name]:
                yield self._take(name)

    def _take(self, name: str) -> Batch:
        rows = self._pending.pop(name)
        self.written += len(rows)
        return name, to_arrow(rows, self._tables[name].columns)


def now() -> datetime:
    return datetime.now(timezone.utc)
