"""The accounts a run reads, each with the client that reaches it: configured accounts with their
own credentials or an agency, or an organization's accounts, listed once, when the first list of
the run asks for them (listing is a request; the settings were checked before it).

Every client shares one bound on the process's connections; each adapts its own in-flight limit.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from scm_source.accounts import Account
from scm_source.auth import AgencyAuth, ScmAuth, make_auth
from scm_source.client import ScmClient
from scm_source.concurrency import LearnedLevel
from scm_source.errors import ScmError
from scm_source.organization import (
    OrganizationSettings,
    aliases,
    list_members,
    management_account_id,
)
from scm_source.retry import RetryPolicy
from scm_source.settings import refuse_plain_http

logger = logging.getLogger(__name__)

AccountClient = tuple[Account, "ScmClient | None"]  # None: the account is skipped


@dataclass(frozen=True)
class Reach:
    """How requests are sent, the same for every account."""

    retry: RetryPolicy
    verify: str | bool
    concurrency: int
    connections: threading.Semaphore
    iam_endpoint: str
    duration_seconds: int
    # What each endpoint's accounts learned of its gateway's in-flight limit.
    learned: dict[str, LearnedLevel] = field(default_factory=dict)

    def client(self, endpoint: str, auth: ScmAuth) -> ScmClient:
        learned = self.learned.setdefault(endpoint, LearnedLevel())
        return ScmClient(
            endpoint, auth, self.retry, self.verify, self.concurrency, self.connections, learned
        )


class AccountDirectory:
    """`accounts()` gives the run's accounts and clients, the same list to every caller."""

    def __init__(
        self,
        reach: Reach,
        configured: Sequence[Account],
        caller: ScmAuth | None,
        named: bool = False,
    ) -> None:
        self._reach = reach
        self._caller = caller
        self._organization: tuple[OrganizationSettings, str] | None = None
        self._lock = threading.Lock()
        self._listed: list[AccountClient] | None = None
        self._failure: ScmError | None = None
        # Named accounts use only their own section: the SDK's variables would give every
        # one of them the same keys. Made now, so that a bad credential fails before a request.
        self._configured = [
            (account, self._client(account, {} if named else os.environ, named))
            for account in configured
        ]

    @classmethod
    def of_organization(
        cls, reach: Reach, caller: ScmAuth, settings: OrganizationSettings, endpoint: str
    ) -> AccountDirectory:
        """The accounts of the caller's organization, read at `endpoint` (SCM's)."""
        directory = cls(reach, (), caller)
        directory._organization = (settings, refuse_plain_http(endpoint))
        return directory

    def accounts(self) -> list[AccountClient]:
        if self._organization is None:
            return list(self._configured)
        with self._lock:
            if self._listed is None and self._failure is None:
                try:
                    self._listed = self._list(*self._organization)
                except ScmError as failure:  # each list of the run fails with it, asked once
                    self._failure = failure
            if self._failure is not None:
                raise self._failure
            return list(self._listed or ())

    def _client(self, account: Account, environ: Mapping[str, str], named: bool) -> ScmClient:
        setting = f"{account.alias}.endpoint" if named else "endpoint"
        endpoint = refuse_plain_http(account.endpoint, setting)
        if account.caller and self._caller is not None:
            auth = self._caller
        elif account.agency_name and account.domain_id and self._caller is not None:
            auth = AgencyAuth(
                self._caller,
                account.agency_name,
                account.domain_id,
                self._reach.duration_seconds,
                self._reach.iam_endpoint,
                self._reach.retry,
                self._reach.verify,
            )
        else:
            reach = self._reach
            auth = make_auth(
                account.credentials, reach.retry, environ, reach.verify, account.section
            )
        return self._reach.client(endpoint, auth)

    def _list(self, organization: OrganizationSettings, endpoint: str) -> list[AccountClient]:
        """The organization's accounts that `include`/`exclude` select: the management account
        read with the caller's credentials, active members through the agency, the rest skipped."""
        assert self._caller is not None and organization.agency_name
        listing = self._reach.client(organization.base_url, self._caller)
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
            account = Account(
                alias_of[member.id],
                endpoint,
                None,
                f"organization account {member.name!r}",
                member.id,
                agency_name=None if member.id == manager else organization.agency_name,
                caller=member.id == manager,
                skipped=why,
            )
            if why:
                logger.warning("account %s (%s): %s, not read", member.name, member.id, why)
                chosen.append((account, None))
            else:
                chosen.append((account, self._client(account, {}, False)))
        logger.info("organization: %d accounts listed, %d selected", len(members), len(chosen))
        return chosen
