"""Every account of an organization in one run, against the simulator's organization over real
sockets: the management account with its own keys, each active member through the agency's
temporary keys, a suspended member skipped, a member without the agency failing alone."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from scm_source import ScmAccountsFailed, ScmConfigError
from scm_source.accounts.organization import ListedAccount as Listed
from scm_source.accounts.organization import OrganizationSettings, aliases
from scm_source.simulator import (
    AccessKey,
    Dataset,
    Member,
    Organization,
    Simulator,
    SimulatorOptions,
)
from tests.conftest import (
    LISTS_ONLY,
    UNBOUNDED,
    Warehouse,
    lists_source,
    load_source,
    query,
    scm_export,
)
from tests.test_organization_simulator import AGENCY, AK, MANAGEMENT_ID, SK

SUSPENDED, AGENCYLESS = 10, 11  # indexes into MEMBERS


def member(n: int, certificates: int = 0, **fields: Any) -> Member:
    id_ = f"{n:032x}"
    data = Dataset.generate(certificates or 20 + 3 * n, 4 + n, seed=100 + n, domain_id=id_)
    return Member(id_, f"member-{n:02d}", data, **fields)


def members() -> tuple[Member, ...]:
    return (
        *(member(n) for n in range(1, 11)),
        member(11, status="suspended"),
        member(12, agency=None),
    )


def organization_of(listed: tuple[Member, ...], **fields: Any) -> Organization:
    data = Dataset.generate(15, 3, seed=99, domain_id=MANAGEMENT_ID)
    management = Member(MANAGEMENT_ID, "Management", data)
    return Organization(management, listed, **fields)


@pytest.fixture
def organization() -> Organization:
    return organization_of(members())


def serve(organization: Organization, **options: Any) -> Simulator:
    settings = {"access_keys": (AccessKey(AK, SK),), "organization": organization, **UNBOUNDED}
    return Simulator(organization.management.dataset, SimulatorOptions(**(settings | options)))


@pytest.fixture
def simulator(organization: Organization) -> Iterator[Simulator]:
    with serve(organization) as running:
        yield running


def source(simulator: Simulator, **settings: Any) -> Any:
    organization = {"agency_name": AGENCY, "endpoint": simulator.url, **settings.pop("org", {})}
    return lists_source(
        credentials={"access_key": AK, "secret_key": SK, "iam_endpoint": simulator.url},
        endpoint=simulator.url,
        organization=organization,
        **settings,
    )


def duckdb(tmp_path: Path) -> Any:
    return dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb"))


def alias(listed: Member) -> str:
    return listed.name.lower().replace("-", "_")


def expected_rows(listed: Member) -> dict[str, list[str]]:
    """What the account's lists hold: its certificates owned by itself (the API's default)."""
    data = listed.dataset
    return {
        "certificates": sorted(r.api["id"] for r in data.certificates if r.owned_by_self),
        "csr_list": sorted(c["id"] for c in data.csrs),
    }


def loaded_rows(pipeline: Any, account: str) -> dict[str, list[str]]:
    return {
        table: sorted(
            row["id"]
            for row in query(
                pipeline,
                f"SELECT id FROM {pipeline.dataset_name}.{table} WHERE account = '{account}'",
            )
        )
        for table in ("certificates", "csr_list")
    }


def test_an_organization_loads_its_members_and_a_member_without_the_agency_fails_alone(
    organization: Organization, simulator: Simulator, tmp_path: Path, warehouse: Warehouse
) -> None:
    everyone = organization.accounts
    # First run: the agency-less member still grants it, so that its rows are there to keep.
    granted = dataclasses.replace(everyone[AGENCYLESS + 1], agency=AGENCY)
    organization.members = (*organization.members[:AGENCYLESS], granted)

    def run() -> Any:
        return load_source(
            source(simulator), tmp_path, warehouse.destination, warehouse.dataset_name
        )

    pipeline = run()
    kept = loaded_rows(pipeline, alias(granted))
    assert kept == expected_rows(granted)
    granted.dataset.delete_certificates({granted.dataset.certificates[0].api["id"]})
    organization.members = (*organization.members[:AGENCYLESS], everyone[AGENCYLESS + 1])

    with pytest.raises(ScmAccountsFailed) as caught:
        run()

    agencyless = everyone[AGENCYLESS + 1]
    assert [(f["account"], f["resource"], f["http_status"]) for f in caught.value.failures] == [
        (alias(agencyless), "certificates", 403),
        (alias(agencyless), "csr_list", 403),
    ]
    assert f"agency '{AGENCY}' into account {agencyless.id}" in str(caught.value)
    assert loaded_rows(pipeline, alias(agencyless)) == kept  # untouched
    for listed in everyone:
        if listed is agencyless:
            continue
        read = listed.status == "active"
        assert loaded_rows(pipeline, alias(listed)) == (
            expected_rows(listed) if read else {"certificates": [], "csr_list": []}
        ), listed.name
    # Every row carries its account's id, CSRs included.
    for table in ("certificates", "csr_list"):
        pairs = query(
            pipeline,
            f"SELECT DISTINCT account, domain_id FROM {warehouse.dataset_name}.{table}",
        )
        assert {(r["account"], r["domain_id"]) for r in pairs} == {
            (alias(m), m.id) for m in everyone if m.status == "active"
        }
    log = query(
        pipeline,
        f"SELECT account, resource, outcome, error, domain_id FROM {warehouse.dataset_name}"
        f".sync_log WHERE _dlt_load_id = (SELECT max(_dlt_load_id) FROM"
        f" {warehouse.dataset_name}.sync_log)",
    )
    outcomes = {(r["account"], r["resource"]): r["outcome"] for r in log}
    assert len(outcomes) == 2 * len(everyone)
    suspended = everyone[SUSPENDED + 1]
    assert {outcomes[(alias(suspended), name)] for name in ("certificates", "csr_list")} == {
        "skipped"
    }
    assert {r["error"] for r in log if r["outcome"] == "skipped"} == {"the account is suspended"}
    assert sum(outcome == "loaded" for outcome in outcomes.values()) == 2 * (len(everyone) - 2)
    assert {r["domain_id"] for r in log} == {m.id for m in everyone}
    # No request carried a temporary key of one member to another or to the management account.
    posts = [r for r in simulator.requests if r.method == "POST"]
    assert all(r.path == "/v3.0/OS-CREDENTIAL/securitytokens" for r in posts)
    assert not [r for r in simulator.requests if r.status == 401]


def test_temporary_keys_living_two_seconds_are_renewed_mid_run(tmp_path: Path) -> None:
    listed = tuple(member(n, certificates=400) for n in range(1, 4))
    organization = organization_of(listed, key_lifetime_seconds=2.0)
    with serve(organization, latency_seconds=0.1) as simulator:
        # One request at a time, ten rows a page: each member's read outlasts its first keys.
        pipeline = load_source(
            source(
                simulator,
                http={"max_concurrency": 1},
                certificates={"page_size": 10},
                max_parallel_accounts=3,
            ),
            tmp_path,
            duckdb(tmp_path),
        )
        requests = list(simulator.requests)
    for each in listed:
        assert loaded_rows(pipeline, alias(each)) == expected_rows(each)
        assert len(expected_rows(each)["certificates"]) > 25  # pages: > 2.5 s at 0.1 s each
    assumed = [r for r in requests if r.method == "POST"]
    assert len(assumed) >= 2 * len(listed)  # every member's keys renewed at least once
    assert [r.status for r in requests if r.status >= 400] == []  # no refused request at all


def test_accounts_are_read_side_by_side_up_to_max_parallel_accounts(
    organization: Organization, tmp_path: Path
) -> None:
    with serve(organization, latency_seconds=0.05) as simulator:
        with pytest.raises(ScmAccountsFailed):
            load_source(source(simulator, max_parallel_accounts=3), tmp_path, duckdb(tmp_path))
        peak = simulator.peak_members_in_flight
    assert 1 < peak <= 3


def test_members_start_at_the_in_flight_level_the_first_account_found(tmp_path: Path) -> None:
    """Each member's gateway allows 4 in flight. The management account, read first, finds that
    out with a 429 or two, and each account starts at the level the last 429 settled at: the
    first member may still step down once (a busy machine may have let the management account
    settle one level high); every member after it starts at 4 and is never refused."""
    listed = tuple(member(n, certificates=120) for n in range(1, 6))
    management = Member(MANAGEMENT_ID, "Management", Dataset.generate(200, 30, seed=98))
    organization = Organization(management, listed)
    with serve(organization, latency_seconds=0.05, max_in_flight=4) as simulator:
        pipeline = load_source(
            source(
                simulator,
                max_parallel_accounts=1,
                certificates={"page_size": 10},
                csr_list={"page_size": 10},
            ),
            tmp_path,
            duckdb(tmp_path),
        )
        refused = [r for r in simulator.requests if r.status == 429]
    assert refused, "the management account found the limit"
    assert {r.headers.get("x-domain-id") for r in refused} <= {None, listed[0].id}
    for each in listed:
        assert loaded_rows(pipeline, alias(each)) == expected_rows(each)
    retries = query(pipeline, "SELECT sum(retries) AS n FROM scm.sync_log")
    assert retries == [{"n": len(refused)}]


@pytest.mark.parametrize(
    ("include", "exclude", "chosen"),
    [
        (["member-0*", f"{10:032x}"], ["member-03"], {1, 2, 4, 5, 6, 7, 8, 9, 10}),
        (None, ["Management", "member-1?"], set(range(1, 10))),
        (None, ["member-*"], {0}),
        (["member-02", "no-such-account", MANAGEMENT_ID], None, {0, 2}),
    ],
    ids=["globs and an id", "exclude only", "the management account alone", "names and ids"],
)
def test_include_and_exclude_choose_the_accounts(
    simulator: Simulator,
    tmp_path: Path,
    include: list[str] | None,
    exclude: list[str] | None,
    chosen: set[int],
) -> None:
    """`chosen` numbers the members, 0 the management account."""
    org = {"include": include, "exclude": exclude}
    pipeline = load_source(source(simulator, org=org), tmp_path, duckdb(tmp_path))
    log = query(pipeline, "SELECT DISTINCT account FROM scm.sync_log")
    names = {0: "management", **{n: f"member_{n:02d}" for n in range(1, 13)}}
    assert {r["account"] for r in log} == {names[n] for n in chosen}


def test_a_run_of_an_organization_from_the_command_prints_each_account_and_leaks_no_secret(
    organization: Organization, simulator: Simulator, tmp_path: Path
) -> None:
    env = {
        "SOURCES__SCM_SOURCE__CREDENTIALS__ACCESS_KEY": AK,
        "SOURCES__SCM_SOURCE__CREDENTIALS__SECRET_KEY": SK,
        "SOURCES__SCM_SOURCE__CREDENTIALS__IAM_ENDPOINT": simulator.url,
        "SOURCES__SCM_SOURCE__ENDPOINT": simulator.url,
        "SOURCES__SCM_SOURCE__ORGANIZATION__AGENCY_NAME": AGENCY,
        "SOURCES__SCM_SOURCE__ORGANIZATION__ENDPOINT": simulator.url,
        "SOURCES__SCM_SOURCE__ORGANIZATION__DURATION_SECONDS": "900",
    }
    ran = scm_export("run", *LISTS_ONLY, cwd=tmp_path, env=env)
    assert ran.returncode == 1, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("FAILED: 2 of 26 objects did not load")
    assert lines[-1] == "Accounts: 13 (11 loaded, 1 skipped, 1 failed)"
    assert "  member_11   certificates    skipped (the account is suspended)" in lines
    assert "  member_12   csr_list        FAILED (403, IAM.0002)" in lines
    errors = [line for line in ran.stderr.splitlines() if line.startswith("scm-export:")]
    assert len(errors) == 1 and "Traceback" not in ran.stderr
    assert errors[0].startswith("scm-export: error: account 'member_12', certificates: POST")
    assert "does not grant this agency to yours" in errors[0]
    assert "SCM ReadOnlyAccess" not in errors[0]  # the SCM hint would send the user astray
    assert "account member-11 (" + f"{11:032x}): the account is suspended" in ran.stderr
    issued = [secret for secret in simulator.gateway.ever_issued if secret]
    assert len(issued) == 2 * 10  # a secret and a security token per member read, no more
    secrets = [*issued, SK]
    found = [
        str(path)
        for path in tmp_path.rglob("*")
        if path.is_file() and any(secret.encode() in path.read_bytes() for secret in secrets)
    ]
    assert found == []
    assert not [secret for secret in secrets if secret in ran.stdout + ran.stderr]
    database = tmp_path / "scm_export.duckdb"
    assert database.is_file()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"org": {"duration_seconds": 600}},
            "organization.duration_seconds=600 is not accepted by IAM: use a whole number from"
            " 900 to 86400",
        ),
        ({"org": {"include": "prod-*"}}, "organization.include='prod-*' must be a list"),
        ({"org": {"endpoint": "http://10.0.0.1"}}, "organization.endpoint='http://10.0.0.1' is"),
        ({"max_parallel_accounts": 0}, "max_parallel_accounts=0 must be a whole number from 1"),
        ({"accounts": ["prod"]}, "organization.agency_name and accounts are both set"),
    ],
)
def test_organization_settings_are_checked_before_any_request(
    simulator: Simulator, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScmConfigError) as caught:
        source(simulator, **settings)
    assert str(caught.value).startswith(message)
    assert simulator.requests == []


def test_an_account_can_name_an_agency_instead_of_keys(
    organization: Organization, simulator: Simulator, tmp_path: Path
) -> None:
    target = organization.members[4]
    pipeline = load_source(
        lists_source(
            credentials={"access_key": AK, "secret_key": SK, "iam_endpoint": simulator.url},
            accounts=[
                {
                    "alias": "audit",
                    "endpoint": simulator.url,
                    "agency_name": AGENCY,
                    "domain_id": target.id,
                }
            ],
        ),
        tmp_path,
        duckdb(tmp_path),
    )
    assert loaded_rows(pipeline, "audit") == expected_rows(target)
    with pytest.raises(ScmConfigError, match="names agency_name but not domain_id"):
        lists_source(
            credentials={"access_key": AK, "secret_key": SK},
            accounts=[{"alias": "audit", "endpoint": simulator.url, "agency_name": AGENCY}],
        )


def test_aliases_are_account_names_made_valid_and_kept_apart() -> None:
    listed = [
        Listed("0b4f" + "0" * 28, "Prod-EU", "active"),
        Listed("9c1e" + "0" * 28, "prod_eu", "active"),
        Listed("77aa" + "0" * 28, "2024 Sandbox!", "active"),
        Listed("1234" + "0" * 28, "Finance", "ACTIVE"),
    ]
    assert aliases(listed) == {
        listed[0].id: "prod_eu_0b4f0000",
        listed[1].id: "prod_eu_9c1e0000",
        listed[2].id: "a_2024_sandbox",
        listed[3].id: "finance",
    }
    assert listed[3].active  # some SDK comments spell statuses in capitals
    settings = OrganizationSettings(agency_name=AGENCY, include=["Prod-*"], exclude=["9c1e*"])
    assert [m.name for m in listed if settings.selects(m)] == ["Prod-EU"]


def test_the_organization_listing_failing_fails_the_run_in_one_line(
    simulator: Simulator, tmp_path: Path
) -> None:
    env = {
        "SOURCES__SCM_SOURCE__CREDENTIALS__ACCESS_KEY": AK,
        "SOURCES__SCM_SOURCE__CREDENTIALS__SECRET_KEY": "a-wrong-secret-key-0123456789",
        "SOURCES__SCM_SOURCE__ENDPOINT": simulator.url,
        "SOURCES__SCM_SOURCE__ORGANIZATION__AGENCY_NAME": AGENCY,
        "SOURCES__SCM_SOURCE__ORGANIZATION__ENDPOINT": simulator.url,
    }
    ran = scm_export("run", cwd=tmp_path, env=env)
    assert ran.returncode == 1
    assert ran.stderr.startswith(
        f"scm-export: error: GET {simulator.url}/v1/organizations answered HTTP 401"
    ), ran.stderr
    assert len(ran.stderr.splitlines()) == 1
    assert json.dumps([r.path for r in simulator.requests]) == '["/v1/organizations"]'
