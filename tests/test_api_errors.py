"""The simulator answers the documented errors, and the connector turns each into one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from scm_source import scm_source
from scm_source.http.retry import RetryPolicy, send_with_retries
from scm_source.http.transport import Request, Response
from scm_source.simulator import Dataset, Faults, Simulator, SimulatorOptions
from tests.conftest import UNBOUNDED, every_list, load_failure, query, run_load, scm_export

FAST_RETRY = {"http": {"backoff_seconds": 0.01, "max_attempts": 3}}


def certificates_failure(
    simulator: Simulator, tmp_path: Path, token: str | None = None, **settings: Any
) -> dict[str, Any]:
    settings = {"endpoint": simulator.url, **settings}
    source = scm_source(credentials={"auth_token": token or simulator.token}, **settings)
    return load_failure(source.with_resources("certificates"), tmp_path)


@pytest.mark.parametrize(
    ("target", "headers", "status", "code"),
    [
        ("/v3/scm/certificates?limit=30", "token", 400, "SCM.0005"),
        ("/v3/scm/certificates?offset=-1", "token", 400, "SCM.0005"),
        ("/v3/scm/certificates?status=VALID", "token", 400, "SCM.0005"),
        ("/v3/scm/csr?private_key_algo=DSA", "token", 400, "SCM.0005"),
        ("/v3/scm/csr?offset=101", "token", 400, "SCM.0005"),  # the CSR docs' cap, when enabled
        ("/v3/scm/certificates", None, 401, "APIG.0301"),
        ("/v3/scm/certificates", "not-a-token", 401, "APIG.0301"),
        ("/v3/scm/certificates", "forbidden", 403, "SCM.0403"),
        ("/v3/scm/certs", "token", 404, "APIG.0101"),
    ],
)
def test_simulator_answers_the_documented_error_bodies(
    dataset: Dataset, target: str, headers: str | None, status: int, code: str
) -> None:
    options = SimulatorOptions(forbidden_tokens=frozenset({"forbidden"}), max_offset=100)
    with Simulator(dataset, options) as simulator:
        token = simulator.token if headers == "token" else headers
        response = requests.get(
            simulator.url + target, headers={"X-Auth-Token": token} if token else {}, timeout=10
        )
    body = response.json()
    assert response.status_code == status
    assert body["error_code"] == code and body["error_msg"]
    assert body["request_id"] == response.headers["X-Request-Id"]


def test_a_bad_token_fails_after_one_request_with_a_clear_line(
    sim: Simulator, tmp_path: Path
) -> None:
    failure = certificates_failure(
        sim, tmp_path, token="expired-token-value-1234567890abcdef", **FAST_RETRY
    )
    assert failure["http_status"] == 401 and failure["error_code"] == "APIG.0301"
    assert failure["request_id"] and f"request_id={failure['request_id']}" in failure["error"]
    assert "credential=auth_token" in failure["error"]
    assert "expired-token-value" not in failure["error"]
    assert len(sim.requests) == 1


def test_forbidden_fails_at_once(dataset: Dataset, tmp_path: Path) -> None:
    options = SimulatorOptions(forbidden_tokens=frozenset({"no-permission-token"}))
    with Simulator(dataset, options) as simulator:
        failure = certificates_failure(
            simulator, tmp_path, token="no-permission-token", **FAST_RETRY
        )
        assert len(simulator.requests) == 1
    assert failure["http_status"] == 403 and failure["error_code"] == "SCM.0403"
    assert "HTTP 403" in failure["error"] and "SCM ReadOnlyAccess" in failure["error"]


def test_a_wrong_path_says_so(sim: Simulator, tmp_path: Path) -> None:
    failure = certificates_failure(sim, tmp_path, endpoint=sim.url + "/scm", **FAST_RETRY)
    assert failure["http_status"] == 404
    assert failure["error"].startswith(f"GET {sim.url}/scm/v3/scm/certificates answered HTTP 404")
    assert len(sim.requests) == 1


@pytest.mark.parametrize(
    ("faults", "status"), [(Faults(rate_429=1.0), 429), (Faults(rate_500=1.0), 500)]
)
def test_throttling_and_server_errors_are_retried_then_reported(
    dataset: Dataset, tmp_path: Path, faults: Faults, status: int
) -> None:
    with Simulator(dataset, SimulatorOptions(faults=faults, **UNBOUNDED)) as simulator:
        failure = certificates_failure(simulator, tmp_path, **FAST_RETRY)
        assert len(simulator.requests) == 3  # max_attempts
    assert failure["http_status"] == status and failure["retries"] == 2


def test_transient_faults_do_not_lose_or_double_rows(
    dataset: Dataset, tmp_path: Path, duckdb_destination: Any
) -> None:
    faults = Faults(rate_429=0.25, rate_500=0.1, seed=4)
    with Simulator(dataset, SimulatorOptions(faults=faults, retry_after="0")) as simulator:
        pipeline = run_load(
            simulator,
            tmp_path,
            duckdb_destination,
            **every_list(page_size=10),
            http={"backoff_seconds": 0.01, "max_attempts": 10},
        )
        statuses = {request.status for request in simulator.requests}
        refused = {int(r.query["offset"]) for r in simulator.requests if r.status == 400}
    # 400s only where the simulator's bound refuses an offset (the planner's end of a window).
    assert statuses - {400} == {200, 429, 500} and all(offset > 100 for offset in refused)
    ids = [row["id"] for row in query(pipeline, "SELECT id FROM scm.certificates")]
    assert sorted(ids) == sorted(r.api["id"] for r in dataset.certificates if r.owned_by_self)


def test_the_connector_only_sends_get(
    sim: Simulator, tmp_path: Path, duckdb_destination: Any
) -> None:
    run_load(sim, tmp_path, duckdb_destination)
    assert {request.method for request in sim.requests} == {"GET"}


def test_cli_reports_an_api_failure_in_one_line_with_exit_1(sim: Simulator, tmp_path: Path) -> None:
    env = {
        "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": "wrong-token-abcdef0123456789abcdef",
        "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "out.duckdb"),
    }
    result = scm_export("run", "--endpoint", sim.url, cwd=tmp_path, env=env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("scm-export:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "HTTP 401" in errors[0] and "APIG.0301" in errors[0] and "request_id=" in errors[0]
    assert "wrong-token" not in result.stderr + result.stdout


@pytest.mark.parametrize(("header", "waits"), [({"Retry-After": "1"}, "1.0"), ({}, "0.0")])
def test_the_backoff_waits_as_long_as_retry_after_asks(
    header: dict[str, str], waits: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With no backoff of its own (0 s, no jitter), the only wait is the one the 429 asks for."""
    request = Request("GET", "http://127.0.0.1:9/v3/scm/certificates")
    answers = iter([Response(request, 429, header, b"{}"), Response(request, 200, {}, b"{}")])
    policy = RetryPolicy(backoff_seconds=0)
    with caplog.at_level("INFO", logger="scm_source.http.retry"):
        answer = send_with_retries(lambda: next(answers), policy, "GET certificates")
    assert answer.status == 200
    assert [record.getMessage() for record in caplog.records] == [
        f"retrying GET certificates after HTTP 429 (attempt 1, waiting {waits} s)"
    ]
