"""Which SCM accounts a run reads: one (the source's own credentials and endpoint) or several,
each in a config section of its own named by its alias.

    [sources.scm_source]
    accounts = ["prod", "staging"]

    [sources.scm_source.prod]                   # config.toml: optional endpoint
    endpoint = "https://scm.cn-north-4.myhuaweicloud.com"

    [sources.scm_source.prod.credentials]       # secrets.toml: one of the three ways
    access_key = "..."

    [sources.scm_source.audit]                  # or, instead of keys, an agency the account
    agency_name = "SCMReadOnlyAgency"           # grants the caller's (the source's credentials)
    domain_id = "0b4f..."

Each field resolves through dlt's providers on its own, so an account's endpoint may sit in
config.toml and its keys in secrets.toml or SOURCES__SCM_SOURCE__PROD__CREDENTIALS__* variables.
An account without an endpoint uses the source's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import BaseConfiguration

from scm_source.auth.credentials import (
    AgencyWay,
    AuthWay,
    ScmCredentials,
    any_set,
    choose_way,
)
from scm_source.config.endpoints import default_ccm_endpoint, refuse_plain_http, validate_endpoint
from scm_source.errors import ScmConfigError

DEFAULT_ALIAS = "default"
SOURCE_SECTIONS = ("sources", "scm_source")
# Aliases name config sections and land in every row and in SQL: a plain lower-case identifier.
_ALIAS = re.compile(r"[a-z][a-z0-9_]{0,62}")


@configspec
class ScmAccountConfiguration(BaseConfiguration):
    credentials: Optional[ScmCredentials] = None
    endpoint: Optional[str] = None
    ccm_endpoint: Optional[str] = None
    agency_name: Optional[str] = None
    domain_id: Optional[str] = None


@dataclass(frozen=True)
class Account:
    """An account a run reads: its alias (in every row), where its SCM is, and how it
    authenticates, decided when the source is made."""

    alias: str
    endpoint: str
    ccm_endpoint: str  # CCM's base URL, for its private CAs
    auth: AuthWay
    domain_id: str | None = None  # the account id, when known (every row carries it)
    skipped: str | None = None  # why it is not read (an organization member not active)


def credentials_domain_id(credentials: ScmCredentials | None) -> str | None:
    """The account id AK/SK users configure for X-Domain-Id."""
    return getattr(credentials, "domain_id", None) or None


def resolve_accounts(
    accounts: Sequence[str | Mapping[str, Any]] | None,
    credentials: ScmCredentials | None,
    endpoint: str,
    ccm_endpoint: str | None,
    environ: Mapping[str, str],
) -> list[Account]:
    """The accounts to read, each with its way of authenticating. Entries are aliases resolved
    from their config sections, or mappings with `alias`, `credentials` and optional `endpoint`
    (for code and tests). The source's own account may use the SDK's variables in `environ`;
    named accounts use only their own section (the variables would give each the same keys).
    Without a `ccm_endpoint`, an account's is its SCM endpoint's site's (config/endpoints.py)."""
    default_endpoint = validate_endpoint(endpoint)
    default_ccm = validate_endpoint(ccm_endpoint, "ccm_endpoint") if ccm_endpoint else None
    if not accounts:
        way = choose_way(credentials, environ)
        domain_id = credentials_domain_id(credentials)
        scm = refuse_plain_http(default_endpoint)
        ccm = refuse_plain_http(default_ccm or default_ccm_endpoint(scm), "ccm_endpoint")
        return [Account(DEFAULT_ALIAS, scm, ccm, way, domain_id)]
    if isinstance(accounts, str) or not isinstance(accounts, Sequence):
        raise ScmConfigError(
            f'accounts={accounts!r} must be a list of account aliases, e.g. ["prod", "staging"]'
            " (sources.scm_source.accounts)"
        )
    resolved = [_resolve(entry, default_endpoint, default_ccm) for entry in accounts]
    agencies = [account.alias for account, _ in resolved if account.agency_name]
    if any_set(credentials) and not agencies:
        raise ScmConfigError(
            "credentials are set for the source and accounts are listed too: move them to each"
            " account's own section, [sources.scm_source.<alias>.credentials]"
        )
    aliases = [account.alias for account, _ in resolved]
    repeated = sorted({alias for alias in aliases if aliases.count(alias) > 1})
    if repeated:
        raise ScmConfigError(f"account alias {repeated[0]!r} is listed twice in accounts")
    return [_with_way(account, endpoint) for account, endpoint in resolved]


@dataclass(frozen=True)
class _Configured:
    """An account's section as configured, checked but not yet given its way."""

    alias: str
    endpoint: str
    ccm_endpoint: str
    credentials: ScmCredentials | None
    domain_id: str | None
    agency_name: str | None


def _with_way(account: _Configured, endpoint_setting: str) -> Account:
    section = ".".join((*SOURCE_SECTIONS, account.alias, "credentials"))
    way: AuthWay = (
        AgencyWay(account.agency_name, account.domain_id)
        if account.agency_name and account.domain_id
        else choose_way(account.credentials, {}, section)
    )
    endpoint = refuse_plain_http(account.endpoint, endpoint_setting)
    ccm = refuse_plain_http(account.ccm_endpoint, f"{account.alias}.ccm_endpoint")
    return Account(account.alias, endpoint, ccm, way, account.domain_id)


def _resolve(
    entry: str | Mapping[str, Any], default_endpoint: str, default_ccm: str | None
) -> tuple[_Configured, str]:
    """The account's section, checked; and the name of the setting its endpoint came from."""
    explicit = dict(entry) if isinstance(entry, Mapping) else None
    alias = explicit.pop("alias", None) if explicit is not None else entry
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise ScmConfigError(
            f"account alias {alias!r} must be lower-case letters, digits and _, starting with a"
            " letter (at most 63 characters)"
        )
    sections = (*SOURCE_SECTIONS, alias)
    try:
        config = resolve_configuration(
            ScmAccountConfiguration(), sections=sections, explicit_value=explicit
        )
    except ConfigurationException as error:
        raise ScmConfigError(f"account {alias!r}: {str(error).splitlines()[0]}") from None
    where = ".".join(sections)
    endpoint = (
        validate_endpoint(config.endpoint, f"{alias}.endpoint")
        if config.endpoint
        else default_endpoint
    )
    if config.agency_name:
        if not config.domain_id:
            raise ScmConfigError(
                f"account {alias!r} names agency_name but not domain_id, the id of the account"
                f" that grants it ({where}.domain_id)"
            )
        if any_set(config.credentials):
            raise ScmConfigError(
                f"account {alias!r} names an agency and has credentials too: keep one way (the"
                f" agency is assumed with the source's own credentials) ({where})"
            )
    domain_id = config.domain_id or credentials_domain_id(config.credentials)
    ccm = (
        validate_endpoint(config.ccm_endpoint, f"{alias}.ccm_endpoint")
        if config.ccm_endpoint
        else default_ccm or default_ccm_endpoint(endpoint)
    )
    configured = _Configured(
        alias, endpoint, ccm, config.credentials, domain_id, config.agency_name
    )
    return configured, f"{alias}.endpoint"
