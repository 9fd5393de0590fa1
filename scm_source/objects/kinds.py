"""The kinds of object the registry holds. A kind says how its objects are read; an object's
module says what (its endpoint, settings, columns, row converter and planner steps).

- `PagedList`: a limit/offset list of an account (SCM's certificates and CSRs), walked by the
  planner until every row is in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.schema.typing import TTableSchemaColumns

from scm_source.config.values import one_of
from scm_source.paging.pages import ListEndpoint
from scm_source.paging.steps import Step
from scm_source.rows.values import Row

PAGE_SIZES = (10, 20, 50)
OFFSET_MODES = ("auto", "record", "page")
RowConverter = Callable[[Row], Row]


@configspec
class ListSettings(BaseConfiguration):
    """How one list is walked, and its query parameters: `[sources.scm_source.<list name>]`.
    None means "not sent, the API's default"."""

    page_size: int = 50
    offset_mode: str = "auto"

    def check(self, section: str) -> None:
        """Raises ScmConfigError for the first value the API would refuse."""
        one_of(f"{section}.page_size", self.page_size, PAGE_SIZES)
        one_of(f"{section}.offset_mode", self.offset_mode, OFFSET_MODES)

    @property
    def narrows(self) -> bool:
        """True when the API will answer only part of the inventory."""
        return False

    def query(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class PagedList:
    """A list endpoint, its settings, and the tables it fills."""

    name: str  # the resource, its snapshot table and its settings' section
    history: str  # its SCD2 history table
    endpoint: ListEndpoint
    settings: type[ListSettings]
    columns: TTableSchemaColumns
    converter: Callable[[Any], RowConverter]  # from the list's settings
    # How a query too large for one window is split (paging/planner.py), in order.
    steps: tuple[Step, ...] = ()

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.name, self.history)
