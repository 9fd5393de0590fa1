"""The dlt source: settings in, two typed resources out.

Everything is validated when `scm_source(...)` is called, so a bad value fails before the pipeline
sends a single request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Optional

import dlt
from dlt.sources import DltResource

from scm_source.auth import ScmCredentials, make_auth
from scm_source.client import ScmClient
from scm_source.errors import ScmResponseError
from scm_source.paging import CERTIFICATES, CSRS, ListEndpoint, PagingReport, fetch_page, walk_pages
from scm_source.retry import RetryPolicy
from scm_source.rows import certificate_row, csr_row
from scm_source.schema import CERTIFICATE_COLUMNS, CSR_COLUMNS
from scm_source.settings import (
    DEFAULT_ENDPOINT,
    DEFAULT_EXPIRE_TIME_ZONE,
    CertificateFilters,
    CsrFilters,
    PagingSettings,
    validate_ca_bundle,
    validate_concurrency,
    validate_endpoint,
    validate_zone,
)

logger = logging.getLogger(__name__)

Row = dict[str, Any]
# Pages go to dlt in batches of this many rows: dlt checks the table schema once per item, which
# per 50-row page cost more than the rows themselves; 5,000 rows stay a few MB.
BATCH_ROWS = 5000


@dlt.source(name="scm_source", section="scm_source", max_table_nesting=0)
def scm_source(
    credentials: ScmCredentials = dlt.secrets.value,
    endpoint: str = DEFAULT_ENDPOINT,
    page_size: int = 50,
    offset_mode: str = "auto",
    expire_time_zone: str = DEFAULT_EXPIRE_TIME_ZONE,
    status: str = "ALL",
    sort_key: Optional[str] = None,
    sort_dir: Optional[str] = None,
    enterprise_project_id: Optional[str] = None,
    deploy_support: Optional[bool] = None,
    owned_by_self: Optional[bool] = None,
    expired_days_since: Optional[int] = None,
    content: Optional[str] = None,
    csr_name: Optional[str] = None,
    private_key_algo: Optional[str] = None,
    max_attempts: int = 5,
    max_retry_seconds: float = 120.0,
    backoff_seconds: float = 1.0,
    request_timeout_seconds: float = 60.0,
    strict: bool = False,
    ca_bundle: Optional[str] = None,
    max_concurrency: int = 16,
) -> Sequence[DltResource]:
    """Huawei Cloud SCM certificates and CSRs. `csr_name` is the CSR list's `name` filter;
    `strict` fails a run that gets fewer rows than the API's total; `ca_bundle` is a CA file to
    verify TLS with instead of the system's (TLS is always verified); `max_concurrency` is the
    most requests in flight, which adapts below it to the gateway's throttling."""
    paging = PagingSettings(page_size=page_size, offset_mode=offset_mode)
    zone = validate_zone(expire_time_zone)
    certificate_filters = CertificateFilters(
        status=status,
        sort_key=sort_key,
        sort_dir=sort_dir,
        enterprise_project_id=enterprise_project_id,
        deploy_support=deploy_support,
        owned_by_self=owned_by_self,
        expired_days_since=expired_days_since,
        content=content,
    )
    csr_filters = CsrFilters(name=csr_name, private_key_algo=private_key_algo)
    retry = RetryPolicy(
        max_attempts=max_attempts,
        max_retry_seconds=max_retry_seconds,
        backoff_seconds=backoff_seconds,
        request_timeout_seconds=request_timeout_seconds,
    )
    verify = validate_ca_bundle(ca_bundle)
    auth = make_auth(credentials, retry, verify=verify)
    concurrency = validate_concurrency(max_concurrency)
    client = ScmClient(validate_endpoint(endpoint), auth, retry, verify, concurrency)

    def rows(
        endpoint: ListEndpoint, query: dict[str, str], to_row: Callable[[Row], Row]
    ) -> Iterator[list[Row]]:
        report = PagingReport()
        fetch = fetch_page(client.get_json, endpoint, query, paging.page_size, to_row)
        batch: list[Row] = []
        for page in walk_pages(fetch, paging.page_size, paging.offset_mode, report, concurrency):
            batch.extend(page)
            if len(batch) >= BATCH_ROWS:
                yield batch
                batch = []
        if batch:
            yield batch
        if strict and report.shortfall:
            raise ScmResponseError(
                f"GET {endpoint.path}: {report.rows_unique} distinct rows arrived but the API"
                f" reported {report.total} (stopped: {report.stop_reason}); strict mode loads"
                " nothing short: rerun, or set strict=false to accept it with a warning"
            )
        dlt.current.resource_state()["last_run"] = {
            "offset_mode": report.offset_mode,
            "pages": report.pages,
            "rows": report.rows_unique,
            "total": report.total,
            "shortfall": report.shortfall,
            "stop_reason": report.stop_reason,
        }
        logger.info(
            "%s: %d rows in %d pages (%s offsets; stopped: %s)",
            endpoint.path,
            report.rows_unique,
            report.pages,
            report.offset_mode,
            report.stop_reason,
        )

    # A full run replaces the snapshot; a filtered one sees part of the inventory, so it merges
    # what it saw by `id` and never drops rows it did not ask for.
    certificates = dlt.resource(
        rows(CERTIFICATES, certificate_filters.query(), lambda item: certificate_row(item, zone)),
        name="certificates",
        primary_key="id",
        columns=CERTIFICATE_COLUMNS,
        write_disposition="merge" if certificate_filters.narrows else "replace",
    )
    csrs = dlt.resource(
        rows(CSRS, csr_filters.query(), csr_row),
        name="csr_list",
        primary_key="id",
        columns=CSR_COLUMNS,
        write_disposition="merge" if csr_filters.narrows else "replace",
    )
    return certificates, csrs
