"""The simulator's organization (issue 16's first part): the accounts list for the management
account, IAM's assume_role into members that grant the agency, and each member's own inventory
behind its temporary keys, over real sockets."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest

from scm_source.auth.iam import post_json
from scm_source.auth.signers import AccessKeyAuth, ScmAuth
from scm_source.http.retry import RetryPolicy
from scm_source.http.transport import Request, Response, Transport
from scm_source.simulator import (
    AccessKey,
    Dataset,
    Member,
    Organization,
    Simulator,
    SimulatorOptions,
)

AK, SK = "MGMTAK0123456789ABCD", "management-secret-key-0123456789abcdef"
AGENCY = "SCMReadOnlyAgency"
MANAGEMENT_ID = "a" * 32


def member(n: int, **fields: Any) -> Member:
    return Member(f"{n:032x}", f"member-{n:02d}", Dataset.generate(5 + n, 2 + n, seed=n), **fields)


MEMBERS = (
    *(member(n) for n in range(1, 11)),
    member(11, status="suspended"),
    member(12, agency=None),
)


@pytest.fixture
def organization() -> Organization:
    management = Member(MANAGEMENT_ID, "management", Dataset.generate(3, 1, seed=99))
    return Organization(management, MEMBERS)


@pytest.fixture
def simulator(organization: Organization) -> Iterator[Simulator]:
    options = SimulatorOptions(access_keys=(AccessKey(AK, SK),), organization=organization)
    with Simulator(organization.management.dataset, options) as running:
        yield running


MANAGEMENT = AccessKeyAuth(AK, SK, domain_id=MANAGEMENT_ID)


def send(
    simulator: Simulator, auth: ScmAuth, path: str, params: Mapping[str, Any] | None = None
) -> Response:
    """One GET signed by our signer, sent by our transport."""
    url = f"{simulator.url}{path}" + (f"?{urlencode(params)}" if params else "")
    transport = Transport(simulator.url)
    try:
        return transport.send(auth(Request("GET", url)), timeout=10)
    finally:
        transport.close()


def assume(simulator: Simulator, account: Member | str, agency: str = AGENCY) -> Response:
    domain_id = account if isinstance(account, str) else account.id
    body = {
        "auth": {
            "identity": {
                "methods": ["assume_role"],
                "assume_role": {"agency_name": agency, "domain_id": domain_id},
            }
        }
    }
    path = "/v3.0/OS-CREDENTIAL/securitytokens"
    return post_json(simulator.url, path, body, RetryPolicy(max_attempts=1), True, MANAGEMENT)


def certificates(simulator: Simulator, auth: AccessKeyAuth) -> Response:
    params = {"limit": 50, "owned_by_self": "false"}
    return send(simulator, auth, "/v3/scm/certificates", params)


def test_the_accounts_list_pages_by_marker_and_holds_the_management_account(
    simulator: Simulator,
) -> None:
    listed, marker, pages = [], None, 0
    while True:
        params = {"limit": 5, **({"marker": marker} if marker else {})}
        answer = send(simulator, MANAGEMENT, "/v1/organizations/accounts", params)
        assert answer.status == 200
        body = answer.json()
        assert body["page_info"]["current_count"] == len(body["accounts"]) <= 5
        listed += body["accounts"]
        pages += 1
        marker = body["page_info"]["next_marker"]
        if not marker:
            break
    assert pages == 3  # 13 accounts, 5 a page
    assert [a["id"] for a in listed] == [MANAGEMENT_ID, *(m.id for m in MEMBERS)]
    assert {a["id"]: a["status"] for a in listed}[MEMBERS[10].id] == "suspended"
    assert set(listed[0]) == {"id", "urn", "join_method", "status", "joined_at", "name"}
    bad = send(simulator, MANAGEMENT, "/v1/organizations/accounts", {"limit": 0})
    assert bad.status == 400


def test_assume_role_gives_keys_that_read_the_members_own_inventory(simulator: Simulator) -> None:
    target = MEMBERS[3]
    answer = assume(simulator, target)
    assert answer.status == 201
    credential = answer.json()["credential"]
    assert set(credential) == {"access", "secret", "securitytoken", "expires_at"}
    keys = AccessKeyAuth(
        credential["access"], credential["secret"], credential["securitytoken"], target.id
    )
    listed = certificates(simulator, keys)
    assert listed.status == 200
    assert listed.json()["total_count"] == len(target.dataset.certificates)
    # The management account's own keys read its own inventory.
    own = certificates(simulator, MANAGEMENT).json()["total_count"]
    assert own == len(simulator.options.organization.management.dataset.certificates)  # type: ignore[union-attr]
    # Another account's id in X-Domain-Id, or no security token, is refused.
    elsewhere = AccessKeyAuth(
        credential["access"], credential["secret"], credential["securitytoken"], MEMBERS[4].id
    )
    assert certificates(simulator, elsewhere).status == 403
    tokenless = AccessKeyAuth(credential["access"], credential["secret"], None, target.id)
    assert certificates(simulator, tokenless).status == 401
    # A member's keys may not list the organization.
    listing = send(simulator, keys, "/v1/organizations/accounts")
    assert listing.status == 403


@pytest.mark.parametrize(
    ("account", "agency"),
    [(MEMBERS[11], AGENCY), (MEMBERS[0], "SomeOtherAgency"), ("f" * 32, AGENCY)],
    ids=["member without the agency", "wrong agency", "not a member"],
)
def test_assume_role_is_refused_without_the_agency(
    simulator: Simulator, account: Member | str, agency: str
) -> None:
    answer = assume(simulator, account, agency)
    assert answer.status == 403 and answer.json()["error_code"] == "IAM.0002"


def test_temporary_keys_expire(organization: Organization) -> None:
    organization.key_lifetime_seconds = 0.0  # expired from the instant it is issued
    options = SimulatorOptions(access_keys=(AccessKey(AK, SK),), organization=organization)
    with Simulator(organization.management.dataset, options) as simulator:
        credential = assume(simulator, MEMBERS[0]).json()["credential"]
        keys = AccessKeyAuth(
            credential["access"], credential["secret"], credential["securitytoken"], MEMBERS[0].id
        )
        answer = certificates(simulator, keys)
    assert answer.status == 401 and "expires" in answer.json()["error_msg"]


def test_each_member_has_its_own_in_flight_limit(organization: Organization) -> None:
    """One request in flight per account: a member's second concurrent request is throttled,
    another member's is not."""
    release = threading.Event()
    options = SimulatorOptions(
        access_keys=(AccessKey(AK, SK),),
        organization=organization,
        max_in_flight=1,
        hold=release,
        hold_after=2,  # the two assume_role calls pass; every SCM request waits
    )
    with Simulator(organization.management.dataset, options) as simulator:
        keys = []
        for target in MEMBERS[:2]:
            credential = assume(simulator, target).json()["credential"]
            keys.append(
                AccessKeyAuth(
                    credential["access"],
                    credential["secret"],
                    credential["securitytoken"],
                    target.id,
                )
            )
        with ThreadPoolExecutor(3) as pool:
            first = pool.submit(certificates, simulator, keys[0])
            assert simulator.wait_for_received(3, timeout=10)
            other = pool.submit(certificates, simulator, keys[1])
            assert simulator.wait_for_received(4, timeout=10)
            again = pool.submit(certificates, simulator, keys[0])
            assert simulator.wait_for_received(5, timeout=10)
            release.set()
            statuses = [first.result().status, other.result().status]
            throttled = again.result()
    assert statuses == [200, 200]
    assert throttled.status == 429 and throttled.json()["error_code"] == "APIG.0308"
