"""The accounts a run reads, each with the client that reaches it: configured accounts, or an
organization's accounts, listed once, when the first object of the run asks for them (listing is
a request; the settings were checked before it). Each account's way of authenticating was
decided when the source was made: here clients are only built from it.

Every client shares one bound on the process's connections; each adapts its own in-flight limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from scm_source.accounts.configured import Account
from scm_source.accounts.organization import (
    OrganizationSettings,
    aliases,
    list_members,
    management_account_id,
)
from scm_source.auth.credentials import AgencyWay, AuthWay, CallerWay, IamReach, build_auth
from scm_source.auth.signers import ScmAuth
from scm_source.config.endpoints import CCM, Service
from scm_source.errors import ScmError
from scm_source.http.client import ScmClient
from scm_source.http.throttle import LearnedLevel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountClients:
    """An account's clients, one per service host (SCM's, CCM's), with one way of signing."""

    scm: ScmClient
    ccm: ScmClient

    def of(self, service: Service) -> ScmClient:
        return self.ccm if service == CCM else self.scm

    def close(self) -> None:
        self.scm.close()
        self.ccm.close()


AccountClient = tuple[Account, "AccountClients | None"]  # None: the account is skipped


@dataclass(frozen=True)
class ClientFactory:
    """How every account's requests are sent: the same retries, TLS, concurrency and bound on
    connections; what each endpoint's accounts learned of its gateway's in-flight limit."""

    iam: IamReach
    concurrency: int
    connections: threading.Semaphore
    learned: dict[str, LearnedLevel] = field(default_factory=dict)

    def client(self, endpoint: str, auth: ScmAuth) -> ScmClient:
        learned = self.learned.setdefault(endpoint, LearnedLevel())
        return ScmClient(
            endpoint,
            auth,
            self.iam.retry,
            self.iam.verify,
            self.concurrency,
            self.connections,
            learned,
        )


class AccountDirectory:
    """`accounts()` gives the run's accounts and clients, the same list to every caller.
    `caller` is the source's own way, for agencies and an organization's management account."""

    def __init__(
        self, factory: ClientFactory, configured: Sequence[Account], caller: AuthWay | None
    ) -> None:
        self._factory = factory
        # Built now, so that a bad credential fails before any request.
        self._caller = build_auth(caller, None, factory.iam) if caller is not None else None
        self._organization: tuple[OrganizationSettings, tuple[str, str]] | None = None
        self._lock = threading.Lock()
        self._listed: list[AccountClient] | None = None
        self._failure: ScmError | None = None
        self._configured = [(account, self._client(account)) for account in configured]

    @classmethod
    def of_organization(
        cls,
        factory: ClientFactory,
        caller: AuthWay,
        settings: OrganizationSettings,
        endpoints: tuple[str, str],
    ) -> AccountDirectory:
        """The accounts of the caller's organization, read at `endpoints` (SCM's, CCM's)."""
        directory = cls(factory, (), caller)
        directory._organization = (settings, endpoints)
        return directory

    def accounts(self) -> list[AccountClient]:
        if self._organization is None:
            return list(self._configured)
        with self._lock:
            if self._listed is None and self._failure is None:
                try:
                    self._listed = self._list(*self._organization)
                except ScmError as failure:  # each object of the run fails with it, asked once
                    self._failure = failure
            if self._failure is not None:
                raise self._failure
            return list(self._listed or ())

    def _client(self, account: Account) -> AccountClients:
        auth = build_auth(account.auth, self._caller, self._factory.iam)
        return AccountClients(
            self._factory.client(account.endpoint, auth),
            self._factory.client(account.ccm_endpoint, auth),
        )

    def _list(
        self, organization: OrganizationSettings, endpoints: tuple[str, str]
    ) -> list[AccountClient]:
        """The organization's accounts that `include`/`exclude` select: the management account
        read with the caller's credentials, active members through the agency, the rest skipped."""
        assert self._caller is not None and organization.agency_name
        listing = self._factory.client(organization.base_url, self._caller)
        try:
            manager = management_account_id(listing)
            members = list(list_members(listing))
        finally:
            listing.close()
        alias_of = aliases(members)
        chosen: list[AccountClient] = []
        for member in members:
            if not organization.selects(member):
                continue
            why = None if member.active else f"the account is {member.status.lower()}"
            way: AuthWay = (
                CallerWay()
                if member.id == manager
                else AgencyWay(organization.agency_name, member.id)
            )
            account = Account(alias_of[member.id], *endpoints, way, member.id, skipped=why)
            if why:
                logger.warning("account %s (%s): %s, not read", member.name, member.id, why)
                chosen.append((account, None))
            else:
                chosen.append((account, self._client(account)))
        logger.info("organization: %d accounts listed, %d selected", len(members), len(chosen))
        return chosen
