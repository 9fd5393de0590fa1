"""The registry of what the SCM API lists: for each list, where it lives, how its answer names
the rows and their count, its settings (filters and their validation), how an object becomes a
row, the declared columns, and the tables it fills. The source, the simulator, the views and the
command all read it from here.

Adding a list: an entry below (with its settings class in settings.py, its columns in schema.py
and its row converter in rows.py), its listing in the simulator's dataset, and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dlt.common.schema.typing import TTableSchemaColumns

from scm_source.paging import ListEndpoint
from scm_source.planner import Refine, Reorder, Split, Step
from scm_source.rows import Row, certificate_row, csr_row
from scm_source.schema import CERTIFICATE_COLUMNS, CSR_COLUMNS, columns
from scm_source.settings import (
    CERTIFICATE_STATUS_FILTERS,
    PRIVATE_KEY_ALGOS,
    SORT_DIRS,
    SORT_KEYS,
    CertificateSettings,
    CsrSettings,
    ListSettings,
)

# What every loaded object row carries besides the API's fields.
STAMP_COLUMNS = columns(
    account={"data_type": "text", "nullable": False},
    version_hash={"data_type": "text", "nullable": False},
)
RowConverter = Callable[[Row], Row]


@dataclass(frozen=True)
class ScmList:
    """One list endpoint, its settings, and the tables it fills."""

    name: str  # the resource, its snapshot table and its settings' section
    history: str  # its SCD2 history table
    endpoint: ListEndpoint
    settings: type[ListSettings]
    columns: TTableSchemaColumns
    converter: Callable[[Any], RowConverter]  # from the list's settings
    # How a query too large for one window is split (planner.py), in order.
    steps: tuple[Step, ...] = ()


def _certificate_converter(settings: CertificateSettings) -> RowConverter:
    zone = settings.zone
    return lambda item: certificate_row(item, zone)


def _csr_converter(settings: CsrSettings) -> RowConverter:
    return csr_row


CERTIFICATES = ScmList(
    name="certificates",
    history="certificates_history",
    endpoint=ListEndpoint("/v3/scm/certificates", "certificates", "total_count"),
    settings=CertificateSettings,
    columns={**STAMP_COLUMNS, **CERTIFICATE_COLUMNS},
    converter=_certificate_converter,
    steps=(
        # CANCLEREVOKING and CANCELSUPPLEMENTING match no status filter: sorted by status, they
        # come together, from one end or the other.
        Split(
            "status",
            CERTIFICATE_STATUS_FILTERS[1:],
            remainder_orders=tuple(
                (("sort_key", "certStatus"), ("sort_dir", direction)) for direction in SORT_DIRS
            ),
        ),
        Split("deploy_support", ("true", "false")),
        Refine("content", ("name", "domain")),
        # The default order is certUpdateTime DESC: its reverse first.
        Reorder(
            (
                (("sort_key", "certUpdateTime"), ("sort_dir", "ASC")),
                *(
                    (("sort_key", key), ("sort_dir", direction))
                    for key in SORT_KEYS
                    if key != "certUpdateTime"
                    for direction in SORT_DIRS
                ),
            )
        ),
    ),
)
CSR_LIST = ScmList(
    name="csr_list",
    history="csr_history",
    endpoint=ListEndpoint("/v3/scm/csr", "csr_list", "total"),
    settings=CsrSettings,
    # The CSR list carries no account id: it is the account's configured domain_id.
    columns={**STAMP_COLUMNS, **CSR_COLUMNS, **columns(domain_id="text")},
    converter=_csr_converter,
    steps=(Split("private_key_algo", PRIVATE_KEY_ALGOS), Refine("name", ("name",))),
)
LISTS = (CERTIFICATES, CSR_LIST)
LIST_NAMES = tuple(scm_list.name for scm_list in LISTS)


def by_path(path: str) -> ScmList | None:
    return next((scm_list for scm_list in LISTS if scm_list.endpoint.path == path), None)
