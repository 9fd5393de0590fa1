"""How a query the API cannot list in full is narrowed: the steps an object declares, in order
(planner.py takes them)."""

from __future__ import annotations

from dataclasses import dataclass

from scm_source.rows.values import Row

Query = dict[str, str]
Order = tuple[tuple[str, str], ...]  # the query parameters of one sort order


@dataclass(frozen=True)
class Split:
    """A filter whose values each select a disjoint part of a query's rows."""

    param: str  # also the name of the row's field that holds the value
    values: tuple[str, ...]
    # Sort orders that list together the rows no value selects, if any.
    remainder_orders: tuple[Order, ...] = ()

    def selects(self, row: Row) -> bool:
        value = row.get(self.param)
        return (str(value).lower() if isinstance(value, bool) else str(value)) in self.values


@dataclass(frozen=True)
class Reorder:
    """Sort orders a query can also be listed in, the reverse of the default first."""

    orders: tuple[Order, ...]


@dataclass(frozen=True)
class Refine:
    """A substring search over some of a row's fields."""

    param: str
    fields: tuple[str, ...]


Step = Split | Reorder | Refine
