"""How many accounts are read at once, by every object of a run together."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class AccountSlots:
    """At most `slots` accounts read at once, by whichever lists read them. A list that reads an
    account another list is reading joins it without a slot (the account's in-flight limit is
    shared anyway, and its small lists fill the rounds its big ones leave free), and a free slot
    goes to the waiting account that comes first in the run, so the lists meet on one account
    instead of each holding a slot for a different one."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._readers: Counter[int] = Counter()  # by account index
        self._waiting: Counter[int] = Counter()
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, account: int) -> Iterator[None]:
        with self._changed:
            self._waiting[account] += 1
            while not self._readers[account] and (not self._free or account != min(self._waiting)):
                self._changed.wait()
            self._waiting[account] -= 1
            if not self._waiting[account]:
                del self._waiting[account]
            if not self._readers[account]:
                self._free -= 1
            self._readers[account] += 1
            self._changed.notify_all()  # the next account in line may take a slot still free
        try:
            yield
        finally:
            with self._changed:
                self._readers[account] -= 1
                if not self._readers[account]:
                    del self._readers[account]
                    self._free += 1
                self._changed.notify_all()
