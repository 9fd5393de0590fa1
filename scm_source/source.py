"""The dlt source: settings in, one resource per object of the registry out. Each resource walks
its object in every account and fills its tables from the same pages: the snapshot, its history
and the sync log.

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
from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import BaseConfiguration
from dlt.sources import DltResource

from scm_source.accounts.configured import SOURCE_SECTIONS, resolve_accounts
from scm_source.accounts.directory import AccountDirectory, ClientFactory
from scm_source.accounts.organization import OrganizationSettings
from scm_source.accounts.slots import AccountSlots
from scm_source.auth.credentials import (
    AgencyWay,
    IamReach,
    ScmCredentials,
    choose_way,
    iam_endpoint,
)
from scm_source.config.endpoints import (
    DEFAULT_ENDPOINT,
    default_ccm_endpoint,
    refuse_plain_http,
    validate_endpoint,
)
from scm_source.config.names import check_setting_names
from scm_source.config.values import whole_number_setting
from scm_source.errors import ScmConfigError
from scm_source.extract.parents import ParentRows
from scm_source.extract.resources import object_tables
from scm_source.extract.walk import ObjectRun
from scm_source.http.settings import HttpSettings
from scm_source.objects.kinds import ObjectSettings, PagedList
from scm_source.objects.registry import OBJECT_NAMES, OBJECTS
from scm_source.warehouse.policy import ExpiryPolicy, policy_resource


@dlt.source(name="scm_source", section="scm_source", max_table_nesting=0)
def scm_source(
    credentials: ScmCredentials = dlt.secrets.value,
    endpoint: str = DEFAULT_ENDPOINT,
    ccm_endpoint: Optional[str] = None,
    http: HttpSettings = dlt.config.value,
    organization: OrganizationSettings = dlt.config.value,
    policy: ExpiryPolicy = dlt.config.value,
    strict: bool = False,
    accounts: Optional[list[Any]] = None,
    max_parallel_accounts: int = 8,
    **objects: Any,
) -> list[DltResource]:
    """Huawei Cloud SCM's certificates, CSRs, their detail, deployments, tags and renewals, and
    CCM's private CAs and certificates. `endpoint` is SCM's base URL, `ccm_endpoint` CCM's
    (default: that of `endpoint`'s site). Each object of the registry takes its settings by its
    name (`certificates={"status": "ISSUED"}`, or `[sources.scm_source.certificates]`);
    `http` says how requests are sent; `organization` reads every account of the caller's
    organization through an agency; `strict` fails an account that gets fewer rows than the
    API's total; `accounts` lists account aliases configured in sections of their own (see
    accounts/configured.py), or mappings with `alias`, `credentials` and `endpoint`;
    `max_parallel_accounts` accounts are read at once. `policy` (warehouse/policy.py) is loaded
    beside the objects, as the table `expiry_policy` the findings view reads."""
    unknown = sorted(set(objects) - set(OBJECT_NAMES))
    if unknown:
        raise ScmConfigError(
            f"scm_source() got an unknown setting {unknown[0]!r}: the objects' settings are"
            f" {', '.join(OBJECT_NAMES)}"
        )
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
    settings = {each.name: _object_settings(each.name, each.settings, objects) for each in OBJECTS}
    policy.check()
    parallel_accounts = whole_number_setting("max_parallel_accounts", max_parallel_accounts, 1, 64)
    concurrency = http.concurrency()
    directory = _directory(
        credentials, endpoint, ccm_endpoint, http, concurrency, organization, accounts
    )
    slots = AccountSlots(parallel_accounts)
    boards = {
        each.name: ParentRows(each.name, each.published)
        for each in OBJECTS
        if isinstance(each, PagedList) and each.published
    }
    runs: dict[str, ObjectRun] = {}
    for each in OBJECTS:  # a parent before its children
        parent = getattr(each, "parent", None)
        runs[each.name] = ObjectRun(
            each,
            settings[each.name],
            concurrency,
            strict,
            parallel_accounts,
            slots,
            {name: boards[name] for name in (each.name, parent) if name in boards},
            runs[parent] if parent else None,
        )
    children = frozenset(name for name, run in runs.items() if run.parent is not None)
    return [
        *(
            dlt.resource(object_tables, name=name, parallelized=True)(
                run, directory.accounts, children
            )
            for name, run in runs.items()
        ),
        policy_resource(policy),
    ]


def _object_settings(
    name: str, spec: type[ObjectSettings], given: Mapping[str, Any]
) -> ObjectSettings:
    """An object's settings from `[sources.scm_source.<name>]`, explicit values first; checked."""
    try:
        settings = resolve_configuration(
            spec(), sections=(*SOURCE_SECTIONS, name), explicit_value=given.get(name)
        )
    except ConfigurationException as error:
        raise ScmConfigError(f"{name}: {str(error).splitlines()[0]}") from None
    settings.check(name)
    return settings


def _directory(
    credentials: ScmCredentials,
    endpoint: str,
    ccm_endpoint: str | None,
    http: HttpSettings,
    concurrency: int,
    organization: OrganizationSettings,
    accounts: list[Any] | None,
) -> AccountDirectory:
    """The run's accounts, each with its way of authenticating: an organization's, the
    configured ones, or the source's own."""
    if isinstance(accounts, list) and not accounts:
        raise ScmConfigError(
            "accounts is an empty list: list the aliases of the accounts to read (e.g."
            ' ["prod"]), or remove the setting to read the source\'s own account'
            " (sources.scm_source.accounts)"
        )
    organization.check()
    factory = ClientFactory(
        IamReach(
            http.retry_policy(),
            http.verify(),
            iam_endpoint(credentials, os.environ),
            organization.duration_seconds,
        ),
        concurrency,
        threading.BoundedSemaphore(http.connections()),
    )
    if organization.enabled:
        if accounts:
            raise ScmConfigError(
                "organization.agency_name and accounts are both set: an organization's accounts"
                " are listed, not configured; keep one (sources.scm_source.accounts)"
            )
        scm = refuse_plain_http(validate_endpoint(endpoint))
        ccm = validate_endpoint(ccm_endpoint, "ccm_endpoint") if ccm_endpoint else None
        ccm = refuse_plain_http(ccm or default_ccm_endpoint(scm), "ccm_endpoint")
        manager = choose_way(credentials, os.environ)
        return AccountDirectory.of_organization(factory, manager, organization, (scm, ccm))
    resolved = resolve_accounts(accounts, credentials, endpoint, ccm_endpoint, os.environ)
    agencies = any(isinstance(account.auth, AgencyWay) for account in resolved)
    agent = choose_way(credentials, os.environ) if agencies else None
    return AccountDirectory(factory, resolved, agent)


def _settings_of(spec: type[BaseConfiguration]) -> dict[str, Any]:
    return {name: None for name in spec.get_resolvable_fields()}


# Every name under [sources.scm_source]: a setting (None), or a section and the names in it.
SETTING_TREE: dict[str, Any] = {
    name: None
    for name, parameter in inspect.signature(scm_source).parameters.items()
    if parameter.kind is not inspect.Parameter.VAR_KEYWORD
} | {
    "credentials": _settings_of(ScmCredentials),
    "http": _settings_of(HttpSettings),
    "organization": _settings_of(OrganizationSettings),
    "policy": _settings_of(ExpiryPolicy),
    **{each.name: _settings_of(each.settings) for each in OBJECTS},
}


def _aliases(accounts: Any) -> list[str]:
    entries = accounts if isinstance(accounts, list) else []
    return [str(entry.get("alias") if isinstance(entry, Mapping) else entry) for entry in entries]
