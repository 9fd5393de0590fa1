"""The dlt source: settings in, one resource per list of the registry (lists.py) out. Each
resource walks the list of every account and fills three tables from the same pages: the snapshot
(`certificates`, `csr_list`), its history (`certificates_history`, `csr_history`) and the sync log.

Everything is validated when `scm_source(...)` is called, so a bad value fails before the pipeline
sends a single request.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any, Optional

import dlt
from dlt.common.configuration.specs import BaseConfiguration
from dlt.sources import DltResource

from scm_source.accounts import Account, resolve_accounts
from scm_source.auth import ScmCredentials, make_auth
from scm_source.client import ScmClient
from scm_source.errors import ScmConfigError
from scm_source.lists import CERTIFICATES, CSR_LIST, LISTS
from scm_source.resources import ListRun, list_tables
from scm_source.retry import RetryPolicy
from scm_source.setting_names import check_setting_names
from scm_source.settings import (
    DEFAULT_ENDPOINT,
    CertificateSettings,
    CsrSettings,
    HttpSettings,
    ListSettings,
    refuse_plain_http,
)


@dlt.source(name="scm_source", section="scm_source", max_table_nesting=0)
def scm_source(
    credentials: ScmCredentials = dlt.secrets.value,
    endpoint: str = DEFAULT_ENDPOINT,
    certificates: CertificateSettings = dlt.config.value,
    csr_list: CsrSettings = dlt.config.value,
    http: HttpSettings = dlt.config.value,
    strict: bool = False,
    accounts: Optional[list[Any]] = None,
) -> list[DltResource]:
    """Huawei Cloud SCM certificates and CSRs. `certificates` and `csr_list` are each list's
    paging and filters (`[sources.scm_source.certificates]`...), `http` how requests are sent;
    `strict` fails an account that gets fewer rows than the API's total; `accounts` lists
    account aliases configured in sections of their own (see accounts.py), or mappings with
    `alias`, `credentials` and `endpoint`."""
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
    retry, verify, concurrency = http.retry_policy(), http.verify(), http.concurrency()
    clients = [
        (account, _client(account, bool(accounts), retry, verify, concurrency))
        for account in resolve_accounts(accounts, credentials, endpoint)
    ]
    return [
        dlt.resource(list_tables, name=scm_list.name, parallelized=True)(
            ListRun(scm_list, settings[scm_list.name], concurrency, strict), clients
        )
        for scm_list in LISTS
    ]


def _settings_of(spec: type[BaseConfiguration]) -> dict[str, Any]:
    return {name: None for name in spec.get_resolvable_fields()}


# Every name under [sources.scm_source]: a setting (None), or a section and the names in it.
SETTING_TREE: dict[str, Any] = {name: None for name in inspect.signature(scm_source).parameters} | {
    "credentials": _settings_of(ScmCredentials),
    "http": _settings_of(HttpSettings),
    **{scm_list.name: _settings_of(scm_list.settings) for scm_list in LISTS},
}


def _aliases(accounts: Any) -> list[str]:
    entries = accounts if isinstance(accounts, list) else []
    return [str(entry.get("alias") if isinstance(entry, Mapping) else entry) for entry in entries]


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
