"""The dlt source: settings in, one resource per list of the registry (lists.py) out. Each
resource walks the list of every account and fills three tables from the same pages: the snapshot
(`certificates`, `csr_list`), its history (`certificates_history`, `csr_history`) and the sync log.

Everything is validated when `scm_source(...)` is called, so a bad value fails before the pipeline
sends a single request.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Mapping
from typing import Any, Optional

import dlt
from dlt.common.configuration.specs import BaseConfiguration
from dlt.sources import DltResource

from scm_source.accounts import resolve_accounts
from scm_source.auth import ScmCredentials, iam_endpoint, make_auth
from scm_source.concurrency import AccountSlots
from scm_source.directory import AccountDirectory, Reach
from scm_source.errors import ScmConfigError
from scm_source.lists import CERTIFICATES, CSR_LIST, LISTS
from scm_source.organization import OrganizationSettings
from scm_source.resources import ListRun, list_tables
from scm_source.setting_names import check_setting_names
from scm_source.settings import (
    DEFAULT_ENDPOINT,
    CertificateSettings,
    CsrSettings,
    HttpSettings,
    ListSettings,
    validate_endpoint,
    whole_number_setting,
)


@dlt.source(name="scm_source", section="scm_source", max_table_nesting=0)
def scm_source(
    credentials: ScmCredentials = dlt.secrets.value,
    endpoint: str = DEFAULT_ENDPOINT,
    certificates: CertificateSettings = dlt.config.value,
    csr_list: CsrSettings = dlt.config.value,
    http: HttpSettings = dlt.config.value,
    organization: OrganizationSettings = dlt.config.value,
    strict: bool = False,
    accounts: Optional[list[Any]] = None,
    max_parallel_accounts: int = 8,
) -> list[DltResource]:
    """Huawei Cloud SCM certificates and CSRs. `certificates` and `csr_list` are each list's
    paging and filters (`[sources.scm_source.certificates]`...), `http` how requests are sent;
    `organization` reads every account of the caller's organization through an agency;
    `strict` fails an account that gets fewer rows than the API's total; `accounts` lists
    account aliases configured in sections of their own (see accounts.py), or mappings with
    `alias`, `credentials` and `endpoint`; `max_parallel_accounts` accounts are read at once."""
    configured = dlt.config.get("sources.scm_source.accounts", list)
    if any(isinstance(entry, dict) and "credentials" in entry for entry in configured or []):
        raise ScmConfigError(
            "accounts holds credentials: dlt keeps that setting in its trace in clear; give each"
            " account's credentials in [sources.scm_source.<alias>.credentials] (secrets.toml)"
        )
    aliases = _aliases(accounts) + _aliases(configured)
    taken = sorted(set(aliases) & set(SETTING_TREE))
    if taken:
        raise ScmConfigError(
            f"account alias {taken[0]!r} is the name of a setting of sources.scm_source: give"
            " the account another alias"
        )
    check_setting_names(SETTING_TREE, aliases)
    settings: dict[str, ListSettings] = {CERTIFICATES.name: certificates, CSR_LIST.name: csr_list}
    for name, chosen in settings.items():
        chosen.check(name)
    parallel_accounts = whole_number_setting("max_parallel_accounts", max_parallel_accounts, 1, 64)
    concurrency = http.concurrency()
    directory = _directory(credentials, endpoint, http, concurrency, organization, accounts)
    slots = AccountSlots(parallel_accounts)
    return [
        dlt.resource(list_tables, name=scm_list.name, parallelized=True)(
            ListRun(
                scm_list,
                settings[scm_list.name],
                concurrency,
                strict,
                parallel_accounts,
                slots,
            ),
            directory.accounts,
        )
        for scm_list in LISTS
    ]


def _directory(
    credentials: ScmCredentials,
    endpoint: str,
    http: HttpSettings,
    concurrency: int,
    organization: OrganizationSettings,
    accounts: list[Any] | None,
) -> AccountDirectory:
    """The run's accounts: an organization's, the configured ones, or the source's own."""
    if isinstance(accounts, list) and not accounts:
        raise ScmConfigError(
            "accounts is an empty list: list the aliases of the accounts to read (e.g."
            ' ["prod"]), or remove the setting to read the source\'s own account'
            " (sources.scm_source.accounts)"
        )
    retry, verify = http.retry_policy(), http.verify()
    organization.check()
    reach = Reach(
        retry,
        verify,
        concurrency,
        threading.BoundedSemaphore(http.connections()),
        iam_endpoint(credentials, os.environ),
        organization.duration_seconds,
    )
    if organization.enabled:
        if accounts:
            raise ScmConfigError(
                "organization.agency_name and accounts are both set: an organization's accounts"
                " are listed, not configured; keep one (sources.scm_source.accounts)"
            )
        caller = make_auth(credentials, retry, os.environ, verify)
        return AccountDirectory.of_organization(
            reach, caller, organization, validate_endpoint(endpoint)
        )
    resolved = resolve_accounts(accounts, credentials, endpoint)
    agencies = any(account.agency_name for account in resolved)
    agent = make_auth(credentials, retry, os.environ, verify) if agencies else None
    return AccountDirectory(reach, resolved, agent, named=bool(accounts))


def _settings_of(spec: type[BaseConfiguration]) -> dict[str, Any]:
    return {name: None for name in spec.get_resolvable_fields()}


# Every name under [sources.scm_source]: a setting (None), or a section and the names in it.
SETTING_TREE: dict[str, Any] = {name: None for name in inspect.signature(scm_source).parameters} | {
    "credentials": _settings_of(ScmCredentials),
    "http": _settings_of(HttpSettings),
    "organization": _settings_of(OrganizationSettings),
    **{scm_list.name: _settings_of(scm_list.settings) for scm_list in LISTS},
}


def _aliases(accounts: Any) -> list[str]:
    entries = accounts if isinstance(accounts, list) else []
    return [str(entry.get("alias") if isinstance(entry, Mapping) else entry) for entry in entries]
