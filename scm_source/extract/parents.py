"""A parent list's rows, handed to its children account by account, as dlt hands a resource's
items to its transformers: the certificates an account lists are what its details, deployments
and tags are read for. The parent's walk publishes each account's rows when it ends (with whether
it read them in full, or why it failed); a child waits for them. When the parent is not selected
in a run, the first child to ask walks the parent's list itself (its rows are not loaded)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from scm_source.rows.values import Row


@dataclass(frozen=True)
class ParentRead:
    """One account's rows of a parent list: id -> the fields children read (its version hash
    and what the parent publishes)."""

    rows: dict[str, Row]
    in_full: bool
    failure: str | None = None  # why the parent's list did not load for the account
    domain_id: str | None = None  # the account's id, as the parent's rows give it


@dataclass
class ParentRows:
    """The board of one parent list. `plan` is told, when a run's extraction starts, whether
    the parent is selected (it will publish) and how many children will take each account's
    rows (they are dropped once all took them)."""

    parent: str
    published: tuple[str, ...]
    _reads: dict[str, ParentRead] = field(default_factory=dict)
    _taken: dict[str, int] = field(default_factory=dict)
    _walking: dict[str, threading.Lock] = field(default_factory=dict)
    _publisher: bool | None = None
    _consumers: int = 0
    _ended: str | None = None  # why no more rows will be published, once the parent is done
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def plan(self, selected: set[str], children: set[str]) -> None:
        with self._changed:
            if self._publisher is None:
                self._publisher = self.parent in selected
                self._consumers = len(children & selected)

    @property
    def wanted(self) -> bool:
        """Whether any child will take the parent's rows (the parent collects them only then)."""
        return self._consumers > 0

    def publish(self, account: str, read: ParentRead) -> None:
        with self._changed:
            self._reads[account] = read
            self._changed.notify_all()

    def end(self, reason: str) -> None:
        """No more rows will be published (the parent's resource ended, or the run stops): a
        child still waiting for an account gets `reason` as the parent's failure there."""
        with self._changed:
            self._ended = self._ended or reason
            self._changed.notify_all()

    def take(self, account: str, walk: Callable[[], ParentRead]) -> ParentRead:
        """The account's parent rows: published by the parent's resource, or walked here."""
        if self._publisher:
            with self._changed:
                self._changed.wait_for(lambda: account in self._reads or self._ended is not None)
                if account not in self._reads:
                    return ParentRead({}, False, self._ended)
        else:
            with self._changed:
                lock = self._walking.setdefault(account, threading.Lock())
            with lock:  # one child walks, the others wait for its rows
                if account not in self._reads:
                    self.publish(account, walk())
        with self._changed:
            read = self._reads[account]
            self._taken[account] = self._taken.get(account, 0) + 1
            if self._consumers and self._taken[account] >= self._consumers:
                del self._reads[account]  # every child has them: memory stays flat
        return read
