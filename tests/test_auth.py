"""The three ways to authenticate, pinned to Huawei's own SDK, and what the gateway refuses."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import dlt
import pytest
import requests
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkscm.v3 import ListCertificatesRequest, ListCsrRequest, ScmClient

from scm_source import ScmConfigError, scm_source
from scm_source.auth import signing
from scm_source.auth.credentials import ScmCredentials, choose_way
from scm_source.auth.signers import AccessKeyAuth
from scm_source.http.transport import Request
from scm_source.simulator import AccessKey, Dataset, Faults, IamUser, Simulator, SimulatorOptions
from tests.conftest import UNBOUNDED, every_list, load_failure, load_source, query, run_load

AK = "HPUAEXAMPLEAK0123456"
SK = "sk-secret-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA"
TEMP_AK = "HSTEXAMPLETEMPAK9876"
TEMP_SK = "temp-sk-secret-cXV4cXV4cXV4cXV4cXV4"
SECURITY_TOKEN = "security-token-secret-" + "x" * 64
DOMAIN_ID = "0123456789abcdef0123456789abcdef"
USER = IamUser("acme", "reporter", "password-secret-Tr0ub4dor&3")
OPTIONS = SimulatorOptions(
    **UNBOUNDED,
    users=(USER,),
    access_keys=(AccessKey(AK, SK), AccessKey(TEMP_AK, TEMP_SK, SECURITY_TOKEN)),
)
PASSWORD_CREDENTIALS = {
    "username": USER.name,
    "password": USER.password,
    "domain_name": USER.domain_name,
}


def with_iam(credentials: dict[str, str], simulator: Simulator) -> dict[str, str]:
    """The simulator is the IAM endpoint too."""
    return (
        {**credentials, "iam_endpoint": simulator.url} if "username" in credentials else credentials
    )


SIGNING_CASES: list[list[tuple[str, Any]]] = [
    [("limit", "50"), ("offset", "0")],
    [("content", "my cert name"), ("limit", "10")],
    [("content", "a~b"), ("name", "x/y"), ("sort_dir", "ASC")],
    [("content", "a+b=c&d"), ("status", "ALL")],
    [("content", "100% sure"), ("offset", "20")],
    [("content", "证书-例子 ü"), ("limit", "20")],
    [("deploy_support", True), ("owned_by_self", False)],
    [("content", ""), ("name", "")],
    [
        ("status", "ISSUED"),
        ("limit", "10"),
        ("enterprise_project_id", "all"),
        ("offset", "30"),
        ("expired_days_since", "90"),
        ("content", "z"),
        ("sort_key", "certExpiredTime"),
    ],
]


def _api_value(value: Any) -> str:
    """How our settings put a value on the wire (booleans as the API spells them)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("pairs", SIGNING_CASES, ids=[str(case) for case in SIGNING_CASES])
@pytest.mark.parametrize("temporary", [False, True], ids=["permanent", "temporary"])
def test_signature_equals_the_official_sdk_signers(
    pairs: list[tuple[str, Any]], temporary: bool
) -> None:
    host = "scm.ap-southeast-1.myhuaweicloud.com"
    token = SECURITY_TOKEN if temporary else None
    query = urlencode([(k, _api_value(v)) for k, v in pairs])
    unsigned = Request("GET", f"https://{host}/v3/scm/certificates?{query}")
    ours = AccessKeyAuth(AK, SK, token, DOMAIN_ID)(unsigned)

    headers = {"X-Sdk-Date": ours.headers["X-Sdk-Date"], "Host": host, "X-Domain-Id": DOMAIN_ID}
    if token:
        headers["X-Security-Token"] = token
    theirs = SdkRequest(
        method="GET",
        schema="https",
        host=host,
        resource_path="/v3/scm/certificates",
        query_params=list(pairs),
        header_params=headers,
        body="",
    )
    Signer(GlobalCredentials(AK, SK, DOMAIN_ID)).sign(theirs)

    assert ours.headers["Authorization"] == theirs.header_params["Authorization"]
    assert urlsplit(ours.url).query == Signer.process_canonical_query_string(theirs)


def test_the_official_sdk_client_lists_from_the_simulator(dataset: Dataset) -> None:
    with Simulator(dataset, OPTIONS) as simulator:
        client = (
            ScmClient.new_builder()
            .with_credentials(GlobalCredentials(AK, SK, DOMAIN_ID))
            .with_endpoints([simulator.url])
            .build()
        )
        certificates = client.list_certificates(
            ListCertificatesRequest(limit=20, offset=0, content="corp 1", deploy_support=True)
        )
        csrs = client.list_csr(ListCsrRequest(limit=50, offset=0, private_key_algo="SM2"))
        assert {request.status for request in simulator.requests} == {200}
    expected = dataset.listing("certificates", {"content": "corp 1", "deploy_support": "true"})
    assert certificates.total_count == len(expected)
    assert [c.id for c in certificates.certificates] == [c["id"] for c in expected[:20]]
    assert csrs.total == sum(csr["private_key_algo"] == "SM2" for csr in dataset.csrs)


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param("token", id="auth_token"),
        pytest.param(PASSWORD_CREDENTIALS, id="password"),
        pytest.param({"access_key": AK, "secret_key": SK, "domain_id": DOMAIN_ID}, id="access_key"),
        pytest.param(
            {"access_key": TEMP_AK, "secret_key": TEMP_SK, "security_token": SECURITY_TOKEN},
            id="temporary_access_key",
        ),
    ],
)
def test_each_way_loads_both_tables(
    dataset: Dataset, tmp_path: Path, duckdb_destination: Any, credentials: Any
) -> None:
    with Simulator(dataset, OPTIONS) as simulator:
        given = (
            {"auth_token": simulator.token}
            if credentials == "token"
            else with_iam(credentials, simulator)
        )
        source = scm_source(credentials=given, endpoint=simulator.url, **every_list(page_size=20))
        pipeline = load_source(source, tmp_path, duckdb_destination)
        statuses = [request.status for request in simulator.requests]
    assert set(statuses) <= {200, 201}
    counts = query(
        pipeline,
        "SELECT (SELECT count(*) FROM scm.certificates) AS c, (SELECT count(*) FROM scm.csr_list) AS s",
    )
    assert counts == [
        {"c": sum(r.owned_by_self for r in dataset.certificates), "s": len(dataset.csrs)}
    ]


class RequestClock:
    """The monotonic clock plus `step` seconds per SCM request the simulator has answered: a
    token's age counts requests, so whether it is renewed in time does not hang on how fast the
    machine runs. Given to the client's auth and to the simulator's gateway alike."""

    def __init__(self, simulator: Simulator, step: float) -> None:
        self._simulator, self._step = simulator, step

    def monotonic(self) -> float:
        answered = sum(request.method == "GET" for request in list(self._simulator.requests))
        return time.monotonic() + self._step * answered


def test_a_token_that_expires_mid_run_is_renewed_before_it_does(
    dataset: Dataset, tmp_path: Path, duckdb_destination: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token lives 10 requests (1,000 s at 100 s each: the run's own seconds hardly count) and
    is renewed after four fifths of its life, 2 requests before the gateway would refuse it."""
    options = SimulatorOptions(users=(USER,), token_lifetime_seconds=1000.0)
    with Simulator(dataset, options) as simulator:
        clock = RequestClock(simulator, step=100.0)
        monkeypatch.setattr("scm_source.auth.iam.time", clock)
        monkeypatch.setattr("scm_source.simulator.gateway.time", clock)
        run_load(
            simulator,
            tmp_path,
            duckdb_destination,
            **every_list(page_size=10),
            http={"max_concurrency": 1},
            credentials=with_iam(PASSWORD_CREDENTIALS, simulator),
        )
        logins = [r for r in simulator.requests if r.method == "POST"]
        pages = [r for r in simulator.requests if r.method == "GET"]
        refused = [r for r in simulator.requests if r.status == 401]
    assert not refused  # renewed ahead of expiry, never caught out
    # One at the start, then one per 8 requests (give or take the other list's request in
    # flight when the token comes due).
    assert len(pages) > 16 and 1 + (len(pages) - 2) // 8 <= len(logins) <= 1 + len(pages) // 8


@pytest.mark.parametrize("concurrency", [1, 16])
def test_a_token_revoked_mid_run_is_renewed_once_after_the_401(
    dataset: Dataset, tmp_path: Path, duckdb_destination: Any, concurrency: int
) -> None:
    options = SimulatorOptions(users=(USER,), revoke_tokens_at_request=6, latency_seconds=0.01)
    with Simulator(dataset, options) as simulator:
        pipeline = run_load(
            simulator,
            tmp_path,
            duckdb_destination,
            **every_list(page_size=10),
            http={"max_concurrency": concurrency},
            credentials=with_iam(PASSWORD_CREDENTIALS, simulator),
        )
        logins = [r for r in simulator.requests if r.method == "POST"]
        refused = [r for r in simulator.requests if r.status == 401]
    # One fetch for the revoked token, however many requests in flight it refused.
    assert len(logins) == 2 and (len(refused) == 1 if concurrency == 1 else len(refused) >= 1)
    rows = query(pipeline, "SELECT count(*) AS n FROM scm.csr_list")
    assert rows == [{"n": len(dataset.csrs)}]


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (
            {"access_key": AK, "secret_key": "wrong-secret-key-value-123"},
            "answered HTTP 401 (error_code=APIG.0301, error_msg=Incorrect IAM authentication information: verify aksk signature fail",
        ),
        (
            {"access_key": TEMP_AK, "secret_key": TEMP_SK},
            "error_msg=Incorrect IAM authentication information: security token invalid or missing",
        ),
        (
            {**PASSWORD_CREDENTIALS, "password": "wrong-password-value-456"},
            "answered HTTP 401 (error_code=IAM.0004, error_msg=The username or password is wrong.",
        ),
    ],
    ids=["wrong_sk", "temporary_key_without_security_token", "wrong_password"],
)
def test_bad_credentials_fail_after_one_request_with_a_clear_line(
    dataset: Dataset, tmp_path: Path, credentials: dict[str, str], message: str
) -> None:
    with Simulator(dataset, OPTIONS) as simulator:
        source = scm_source(
            credentials=with_iam(credentials, simulator),
            endpoint=simulator.url,
            http={"backoff_seconds": 0.01},
        )
        line = load_failure(source.with_resources("certificates"), tmp_path)["error"]
        assert len(simulator.requests) == 1
    assert message in line and "request_id=" in line and "\n" not in line
    assert not {credentials.get("secret_key"), credentials.get("password")} & set(line.split())
    assert "wrong-secret" not in line and "wrong-password" not in line


def test_the_gateway_refuses_stale_dates_and_locks_after_five_bad_signatures(
    dataset: Dataset,
) -> None:
    with Simulator(dataset, OPTIONS) as simulator:
        url = f"{simulator.url}/v3/scm/certificates"
        stale = datetime.now(timezone.utc) - timedelta(minutes=16)
        answer = requests.get(url, headers=_signed(simulator, SK, stale), timeout=10)
        assert answer.status_code == 401 and "15 minutes" in answer.json()["error_msg"]
        fresh = datetime.now(timezone.utc) - timedelta(minutes=14)
        assert (
            requests.get(url, headers=_signed(simulator, SK, fresh), timeout=10).status_code == 200
        )
        for _ in range(5):
            assert (
                requests.get(url, headers=_signed(simulator, "bad", fresh), timeout=10).status_code
                == 401
            )
        locked = requests.get(url, headers=_signed(simulator, SK, fresh), timeout=10)
    assert locked.status_code == 401 and locked.json()["error_code"] == "APIG.0307"


def _signed(simulator: Simulator, secret: str, moment: datetime) -> dict[str, str]:
    host = urlsplit(simulator.url).netloc
    headers = {"host": host, "x-sdk-date": signing.sdk_date(moment)}
    names = sorted(headers)
    canonical = signing.canonical_request("GET", "/v3/scm/certificates", [], headers, names)
    value = signing.authorization(
        AK, names, signing.signature(secret, headers["x-sdk-date"], canonical)
    )
    return {"X-Sdk-Date": headers["x-sdk-date"], "Authorization": value}


# Secret values a mistaken configuration carries: none may reach the error line.
TOKEN_VALUE, SECRET_VALUE = "Token-secret-3f9a2c", "Sk-secret-81bd4e"
PASSWORD_VALUE, SECURITY_TOKEN_VALUE = "Pw-secret-c07d51", "St-secret-5e62aa"


@pytest.mark.parametrize(
    ("fields", "environ", "message"),
    [
        (
            {},
            {},
            "no SCM credentials: under [sources.scm_source.credentials] set auth_token; or username, password and domain_name; or access_key and secret_key",
        ),
        (
            {"auth_token": TOKEN_VALUE, "access_key": "a", "secret_key": SECRET_VALUE},
            {},
            "conflicting SCM credentials: auth_token and access_key, secret_key are all set",
        ),
        (
            {"username": "u", "password": PASSWORD_VALUE},
            {},
            "incomplete SCM credentials: username, password set but domain_name missing (under [sources.scm_source.credentials] or SOURCES__SCM_SOURCE__CREDENTIALS__DOMAIN_NAME)",
        ),
        (
            {"access_key": "a"},
            {},
            "incomplete SCM credentials: access_key set but secret_key missing",
        ),
        (
            {"security_token": SECURITY_TOKEN_VALUE},
            {},
            "security_token set but access_key, secret_key missing",
        ),
        (
            {},
            {"HUAWEICLOUD_SDK_AK": "a"},
            "incomplete SCM credentials: access_key set but secret_key missing",
        ),
        (
            {
                "username": "u",
                "password": PASSWORD_VALUE,
                "domain_name": "d",
                "iam_endpoint": "iam",
            },
            {},
            "iam_endpoint='iam' is not a base URL",
        ),
    ],
)
def test_credential_mistakes_are_one_line_naming_what_to_set(
    fields: dict[str, str], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ScmConfigError) as error:
        choose_way(ScmCredentials(**fields), environ)
    assert message in str(error.value) and "\n" not in str(error.value)
    secrets = {TOKEN_VALUE, SECRET_VALUE, PASSWORD_VALUE, SECURITY_TOKEN_VALUE} & {*fields.values()}
    assert not [secret for secret in secrets if secret in str(error.value)]


def test_the_sdk_environment_variables_work_when_nothing_is_configured(
    dataset: Dataset, tmp_path: Path, duckdb_destination: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "HUAWEICLOUD_SDK_AK": TEMP_AK,
        "HUAWEICLOUD_SDK_SK": TEMP_SK,
        "HUAWEICLOUD_SDK_SECURITY_TOKEN": SECURITY_TOKEN,
        "HUAWEICLOUD_SDK_DOMAIN_ID": DOMAIN_ID,
    }.items():
        monkeypatch.setenv(name, value)
    with Simulator(dataset, OPTIONS) as simulator:
        pipeline = load_source(scm_source(endpoint=simulator.url), tmp_path, duckdb_destination)
        sent = {r.headers.get("x-domain-id") for r in simulator.requests}
        assert {r.status for r in simulator.requests} == {200}
    assert sent == {DOMAIN_ID}
    assert query(pipeline, "SELECT count(*) AS n FROM scm.csr_list") == [{"n": len(dataset.csrs)}]


def test_a_retried_request_is_signed_again_with_a_fresh_date(tmp_path: Path) -> None:
    dataset = Dataset.generate(certificates=1, csrs=30, seed=2)
    options = SimulatorOptions(
        access_keys=(AccessKey(AK, SK),), faults=Faults(rate_429=0.7, seed=1)
    )
    with Simulator(dataset, options) as simulator:
        source = scm_source(
            credentials={"access_key": AK, "secret_key": SK},
            endpoint=simulator.url,
            http={"backoff_seconds": 1.0, "max_attempts": 6},
        )
        pipeline = load_source(
            source.with_resources("csr_list"),
            tmp_path,
            dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        )
        attempts = [r for r in simulator.requests if r.path == "/v3/scm/csr"]
    assert query(pipeline, "SELECT count(*) AS n FROM scm.csr_list") == [{"n": 30}]
    assert [r.status for r in attempts][-1] == 200 and len(attempts) >= 2
    dates = [r.headers["x-sdk-date"] for r in attempts]
    assert len(set(dates)) == len(dates)  # each attempt signed anew, and every one verified
