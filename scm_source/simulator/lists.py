"""What the simulator serves of each paged list of the registry: its listing over an account's
inventory (filters and order, paging aside), and how its answers break when asked to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scm_source.objects.kinds import PagedList
from scm_source.simulator.account import AccountIdentity

# An object's listing: its records in an account, the account, the query (paging aside).
Listing = Callable[[Sequence[Any], AccountIdentity, dict[str, str]], list[dict[str, Any]]]


@dataclass(frozen=True)
class SimulatedList:
    declaration: PagedList
    collection: str  # the account inventory's attribute that holds its records
    listing: Listing
    wrong_type: str  # a field a malformed answer sends with the wrong type
    bad_time: tuple[str, str]  # a time field and a value in no form the API uses
    # `limit` takes 1..max_limit (CCM's), or else only SCM's page sizes.
    max_limit: int | None = None
    # Whether the docs' bounds on one query (offset, total) apply: SCM's lists, not CCM's.
    bounded: bool = True
