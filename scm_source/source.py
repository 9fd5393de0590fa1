"""The dlt source: settings in, one resource per list out. Each resource walks the list of every
account and fills three tables from the same pages: the snapshot (`certificates`, `csr_list`),
its history (`certificates_history`, `csr_history`) and the sync log.

Everything is validated when `scm_source(...)` is called, so a bad value fails before the pipeline
sends a single request. Rows stream to dlt page batch by page batch. An account that fails is
logged, and the merge leaves it out (tables.py), so the others load and its tables stay exactly
as they were.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Optional

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from scm_source.accounts import Account, resolve_accounts
from scm_source.auth import ScmCredentials, make_auth
from scm_source.client import ScmClient
from scm_source.errors import ScmConfigError, ScmError, ScmResponseError
from scm_source.paging import PagingReport, fetch_page, walk_pages
from scm_source.retry import RetryPolicy
from scm_source.rows import Row, certificate_row, csr_row, stamp, to_arrow
from scm_source.runs import remember_duckdb_file
from scm_source.setting_names import check_setting_names
from scm_source.settings import (
    DEFAULT_ENDPOINT,
    DEFAULT_EXPIRE_TIME_ZONE,
    CertificateFilters,
    CsrFilters,
    PagingSettings,
    refuse_plain_http,
    validate_ca_bundle,
    validate_concurrency,
    validate_zone,
)
from scm_source.sync import SyncEntry
from scm_source.tables import (
    CERTIFICATE_KIND,
    CSR_KIND,
    ObjectKind,
    history_hints,
    snapshot_hints,
    sync_log_hints,
)

logger = logging.getLogger(__name__)

# Rows become one arrow table per this many: dlt handles each item once, so per 50-row page
# the per-item cost outweighed the rows; 5,000 rows stay a few MB.
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
    max_concurrency: int = 32,
    accounts: Optional[list[Any]] = None,
) -> Sequence[DltResource]:
    """Huawei Cloud SCM certificates and CSRs. `csr_name` is the CSR list's `name` filter;
    `strict` fails a run that gets fewer rows than the API's total; `ca_bundle` is a CA file to
    verify TLS with instead of the system's (TLS is always verified); `max_concurrency` is the
    most requests in flight, which adapts below it to the gateway's throttling; `accounts` lists
    account aliases configured in sections of their own (see accounts.py), or mappings with
    `alias`, `credentials` and `endpoint`."""
    configured = dlt.config.get("sources.scm_source.accounts", list)
    if any(isinstance(entry, dict) and "credentials" in entry for entry in configured or []):
        raise ScmConfigError(
            "accounts holds credentials: dlt keeps that setting in its trace in clear; give each"
            " account's credentials in [sources.scm_source.<alias>.credentials] (secrets.toml)"
        )
    check_setting_names(SETTINGS, CREDENTIAL_FIELDS, _aliases(accounts) + _aliases(configured))
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
    concurrency = validate_concurrency(max_concurrency)
    clients = [
        (account, _client(account, bool(accounts), retry, verify, concurrency))
        for account in resolve_accounts(accounts, credentials, endpoint)
    ]

    def walk(
        kind: ObjectKind, query: dict[str, str], to_row: Callable[[Row], Row],
        account: Account, client: ScmClient, entry: SyncEntry,
    ) -> Iterator[pa.Table]:  # fmt: skip
        def row(item: Row) -> Row:
            converted = to_row(item)
            converted.setdefault("domain_id", account.domain_id)
            entry.domain_id = entry.domain_id or converted["domain_id"]
            return stamp(converted, account.alias)

        report = PagingReport()
        retries = client.retries[kind.endpoint.path]
        fetch = fetch_page(client.get_json, kind.endpoint, query, paging.page_size, row)
        batch: list[Row] = []
        failure: ScmError | None = None
        try:
            for page in walk_pages(
                fetch, paging.page_size, paging.offset_mode, report, concurrency
            ):
                batch.extend(page)
                if len(batch) >= BATCH_ROWS:
                    yield to_arrow(batch, kind.columns)
                    batch = []
            if batch:
                yield to_arrow(batch, kind.columns)
            if strict and report.shortfall:
                raise ScmResponseError(
                    f"GET {kind.endpoint.path}: {report.rows_unique} distinct rows arrived but the"
                    f" API reported {report.total} (stopped: {report.stop_reason}); strict mode"
                    " loads nothing short: rerun, or set strict=false to accept it with a warning"
                )
        except Exception as error:  # noqa: BLE001 - whatever an answer does, it fails one list
            failure = _as_scm_error(error, kind)
            raise failure from None
        finally:
            entry.finish(report, client.retries[kind.endpoint.path] - retries, failure)
        logger.info(
            "%s %s: %d rows in %d pages (%s offsets; stopped: %s)",
            account.alias, kind.endpoint.path, report.rows_unique, report.pages,
            report.offset_mode, report.stop_reason,
        )  # fmt: skip

    def tables(
        kind: ObjectKind, query: dict[str, str], filtered: bool, to_row: Callable[[Row], Row]
    ) -> Iterator[Any]:
        remember_duckdb_file(dlt.current.pipeline())
        loaded: list[str] = []
        entries: list[SyncEntry] = []
        for account, client in clients:
            entry = SyncEntry(account.alias, kind.table, filtered, account.domain_id)
            entries.append(entry)
            try:
                for batch in walk(kind, query, to_row, account, client, entry):
                    yield _as(batch, snapshot_hints(kind, filtered, loaded))
                    yield _as(batch, history_hints(kind, filtered, loaded))
            except ScmError as error:
                logger.error("account %s: %s not loaded: %s", account.alias, kind.table, error)
                continue
            finally:
                client.close()  # descriptors stay flat however many accounts follow
            loaded.append(account.alias)
        # Empty tables that carry the final scopes: they also make the merge run when no
        # account has rows left, so that deleted objects go.
        empty = to_arrow([], kind.columns)
        yield _as(empty, snapshot_hints(kind, filtered, loaded))
        yield _as(empty, history_hints(kind, filtered, loaded))
        yield _as([entry.row() for entry in entries], sync_log_hints())
        dlt.current.resource_state()["last_run"] = {
            entry.account: entry.state() for entry in entries
        }

    certificates = dlt.resource(
        tables(
            CERTIFICATE_KIND,
            certificate_filters.query(),
            certificate_filters.narrows,
            lambda item: certificate_row(item, zone),
        ),
        name=CERTIFICATE_KIND.table,
        parallelized=True,
    )
    csrs = dlt.resource(
        tables(CSR_KIND, csr_filters.query(), csr_filters.narrows, csr_row),
        name=CSR_KIND.table,
        parallelized=True,
    )
    return certificates, csrs


SETTINGS = tuple(inspect.signature(scm_source).parameters)
CREDENTIAL_FIELDS = tuple(ScmCredentials.__annotations__)


def _aliases(accounts: Any) -> list[str]:
    entries = accounts if isinstance(accounts, list) else []
    return [str(entry.get("alias") if isinstance(entry, dict) else entry) for entry in entries]


def _as_scm_error(error: Exception, kind: ObjectKind) -> ScmError:
    """Our errors as they are; anything else an answer caused (a value no column can hold, JSON
    nested too deep, a lone surrogate) named with the list, so that only this account fails."""
    if isinstance(error, ScmError):
        return error
    detail = (str(error).strip().splitlines() or [""])[0][:200]
    return ScmResponseError(
        f"GET {kind.endpoint.path}: an answer could not be loaded ({type(error).__name__}:"
        f" {detail}); the account's tables are left as they were"
    )


def _client(
    account: Account, named: bool, retry: RetryPolicy, verify: str | bool, concurrency: int
) -> ScmClient:
    """Named accounts use only their own section: the SDK's variables would give every one of
    them the same keys."""
    environ = {} if named else os.environ
    auth = make_auth(account.credentials, retry, environ, verify, account.section)
    setting = f"{account.alias}.endpoint" if named else "endpoint"
    endpoint = refuse_plain_http(account.endpoint, setting)
    return ScmClient(endpoint, auth, retry, verify, concurrency)


def _as(item: Any, hints: Any) -> Any:
    """`item` bound for the table the hints name, with that table's own write disposition."""
    return dlt.mark.with_hints(item, hints, create_table_variant=True)
