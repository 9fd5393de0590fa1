"""The kinds of object the registry holds. A kind says how its objects are read; an object's
module says what (its endpoint, settings, columns, row converter, planner steps). Modelled on
dlt's resource and transformer: a child kind consumes its parent's rows, account by account, and
none of them repeats the account loop (extract/resources.py runs it for all).

- `PagedList`: a limit/offset list of an account (certificates, CSRs, the certificates by tag,
  CCM's private CAs and certificates), walked by the planner until every row is in. Its rows may
  fan out to several tables (a certificate's tags and its renewal lineage).
- `DetailRead`: one read per row of a parent list (a certificate's detail).
- `BatchedLookup`: one request for many parent rows at once (deployments, 50 ids a request).

Each kind reads from a `Service`'s host: SCM's `endpoint` or CCM's `ccm_endpoint`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.schema.typing import TTableSchemaColumns

from scm_source.config.endpoints import SCM, Service
from scm_source.config.values import one_of, whole_number_setting
from scm_source.paging.pages import ListEndpoint
from scm_source.paging.steps import Step
from scm_source.rows.schema import INSTANT, STAMP_COLUMNS, columns
from scm_source.rows.values import Row

PAGE_SIZES = (10, 20, 50)
OFFSET_MODES = ("auto", "record", "page")
RowConverter = Callable[[Row], Row]
# What a read of a parent's row keeps so that the next run knows whether it is due again.
FRESHNESS_COLUMNS = columns(list_version_hash="text", read_at=INSTANT)


@dataclass(frozen=True)
class Table:
    """A table an object fills. Every row carries its account, domain_id and version_hash;
    `unit` is the column a read in part merges by (only the units it received are touched), and
    `history` names the SCD2 table of its versions, where its rows change over time."""

    name: str
    columns: TTableSchemaColumns
    key: tuple[str, ...]
    unit: str = "id"
    history: str | None = None

    @classmethod
    def of(
        cls,
        name: str,
        declared: TTableSchemaColumns,
        key: Sequence[str] = ("id",),
        unit: str = "id",
        history: str | None = None,
    ) -> Table:
        """A table of the declared columns with the stamp every row carries."""
        stamped = {**STAMP_COLUMNS, **declared, **columns(domain_id="text")}
        for name_in_key in key:
            stamped[name_in_key] = {**stamped[name_in_key], "nullable": False}
        return cls(name, stamped, ("account", *key), unit, history)


@configspec
class ObjectSettings(BaseConfiguration):
    """An object's settings: `[sources.scm_source.<object name>]`."""

    def check(self, section: str) -> None:
        """Raises ScmConfigError for the first value that cannot be used."""

    @property
    def narrows(self) -> bool:
        """True when the API will answer only part of the inventory."""
        return False

    def query(self) -> dict[str, str]:
        return {}


@configspec
class ListSettings(ObjectSettings):
    """How one list is walked, and its query parameters. None means "not sent, the API's
    default"."""

    page_size: int = 50
    offset_mode: str = "auto"

    def check(self, section: str) -> None:
        one_of(f"{section}.page_size", self.page_size, PAGE_SIZES)
        one_of(f"{section}.offset_mode", self.offset_mode, OFFSET_MODES)


@configspec
class RefreshedSettings(ObjectSettings):
    """An object read again only when its parent's rows changed since, or when its last read is
    older than `refresh_hours`: an unchanged rerun sends none of its requests."""

    refresh_hours: int = 24

    def check(self, section: str) -> None:
        whole_number_setting(f"{section}.refresh_hours", self.refresh_hours, 0, 24 * 365)


@dataclass(frozen=True)
class PagedList:
    """A list endpoint, its settings, and the tables it fills; `fan_out` spreads one walked row
    over several tables (default: the row to the first table). With a `parent`, the list is read
    only when the parent's rows changed since, or its last read is older than its settings'
    `refresh_hours`, and each row keeps the version of its parent's row."""

    name: str  # the resource and its settings' section
    endpoint: ListEndpoint
    settings: type[ListSettings]
    converter: Callable[[Any], RowConverter]  # from the list's settings
    tables: tuple[Table, ...]
    steps: tuple[Step, ...] = ()  # how a query too large for one window is split, in order
    service: Service = SCM
    fan_out: Callable[[Row], Mapping[str, list[Row]]] | None = None
    parent: str | None = None
    # What children read of each row of this list (beside its id and version hash).
    published: tuple[str, ...] = ()


@dataclass(frozen=True)
class DetailRead:
    """One read per row of the parent list that `wants` selects. A detail is read when its
    parent's row is new or changed (its version hash), otherwise at most every `refresh_days`;
    details not due are carried over from the warehouse. An answer that the object is gone
    (`gone`: a status, or a 400 with one of the codes) leaves no row and fails nothing."""

    name: str
    parent: str
    path: str  # with {id}
    settings: type[ObjectSettings]
    converter: Callable[[Any], RowConverter]
    tables: tuple[Table, ...]
    wants: Callable[[Row], bool] = lambda _: True
    gone_statuses: tuple[int, ...] = (404,)
    gone_codes: tuple[str, ...] = ()
    service: Service = SCM


@dataclass(frozen=True)
class BatchedLookup:
    """One POST for up to `batch` rows of the parent list that `wants` selects; `body` builds it
    from their ids and the settings, `rows` spreads its answer over the tables. The whole
    account is looked up again when a parent row is new or changed since, or the last lookup is
    older than `refresh_hours`; otherwise it is not read (its rows stay as they were)."""

    name: str
    parent: str
    path: str
    batch: int
    settings: type[RefreshedSettings]
    body: Callable[[list[str], Any], dict[str, Any]]
    rows: Callable[[dict[str, Any], list[str]], Mapping[str, list[Row]]]
    tables: tuple[Table, ...]
    wants: Callable[[Row], bool] = lambda _: True
    service: Service = SCM


ApiObject = PagedList | DetailRead | BatchedLookup


def table_names(each: ApiObject) -> tuple[str, ...]:
    """Every table an object fills, histories included."""
    return tuple(
        name for table in each.tables for name in (table.name, table.history) if name is not None
    )
