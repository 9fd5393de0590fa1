"""A value the API would reject is refused before any request, in one line saying what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scm_source import ScmConfigError, scm_source
from scm_source.simulator import Simulator
from tests.conftest import scm_export

C, R, H = "certificates", "csr_list", "http"
BAD_SETTINGS: list[tuple[dict[str, Any], str]] = [
    (
        {C: {"page_size": 30}},
        "certificates.page_size=30 is not accepted by the SCM API: use one of 10, 20, 50 (sources.scm_source.certificates.page_size)",
    ),
    ({R: {"page_size": 100}}, "csr_list.page_size=100 is not accepted"),
    (
        {R: {"offset_mode": "bytes"}},
        "csr_list.offset_mode='bytes' is not accepted by the SCM API: use one of auto, record, page",
    ),
    (
        {C: {"status": "VALID"}},
        "certificates.status='VALID' is not accepted by the SCM API: use one of ALL, PAID",
    ),
    ({C: {"status": "CANCLEREVOKING"}}, "certificates.status='CANCLEREVOKING' is not accepted"),
    (
        {C: {"sort_key": "name"}},
        "certificates.sort_key='name' is not accepted by the SCM API: use one of certExpiredTime",
    ),
    (
        {C: {"sort_dir": "up"}},
        "certificates.sort_dir='up' is not accepted by the SCM API: use one of ASC, DESC",
    ),
    (
        {C: {"expired_days_since": 1096}},
        "certificates.expired_days_since=1096 is not accepted by the SCM API: use a whole number from 0 to 1095",
    ),
    ({C: {"expired_days_since": -1}}, "certificates.expired_days_since=-1 is not accepted"),
    ({C: {"deploy_support": "yes"}}, "certificates.deploy_support='yes' must be true or false"),
    ({C: {"owned_by_self": 1}}, "certificates.owned_by_self=1 must be true or false"),
    (
        {R: {"private_key_algo": "RSA_1024"}},
        "csr_list.private_key_algo='RSA_1024' is not accepted by the SCM API: use one of RSA_2048",
    ),
    (
        {R: {"name": "x" * 33}},
        "csr_list.name is 33 characters long; the SCM API accepts at most 32 (sources.scm_source.csr_list.name)",
    ),
    (
        {C: {"expire_time_zone": "Mars/Olympus_Mons"}},
        "certificates.expire_time_zone='Mars/Olympus_Mons' is not an IANA time zone",
    ),
    (
        {"endpoint": "scm.ap-southeast-1.myhuaweicloud.com"},
        "is not a base URL: give one like https://",
    ),
    ({"endpoint": "ftp://scm.example.com"}, "endpoint='ftp://scm.example.com' is not a base URL"),
    ({"endpoint": "https://scm.example.com:99999"}, "has a malformed port"),
    (
        {H: {"max_attempts": 0}},
        "http.max_attempts=0 must be at least 1 (sources.scm_source.http.max_attempts)",
    ),
    (
        {H: {"request_timeout_seconds": 0}},
        "http.request_timeout_seconds=0 must be a positive number of seconds",
    ),
    (
        {H: {"request_timeout_seconds": float("nan")}},
        "http.request_timeout_seconds=nan must be a positive number",
    ),
    (
        {H: {"request_timeout_seconds": float("inf")}},
        "http.request_timeout_seconds=inf must be a positive number",
    ),
    (
        {H: {"backoff_seconds": float("nan")}},
        "http.backoff_seconds=nan must be a number, 0 or more",
    ),
    (
        {H: {"max_retry_seconds": float("nan")}},
        "http.max_retry_seconds=nan must be a number, 0 or more",
    ),
    ({H: {"max_concurrency": 0}}, "http.max_concurrency=0 must be a whole number from 1 to 64"),
    (
        {"endpoint": "https://scm example.com"},
        "endpoint='https://scm example.com' is not a base URL",
    ),
    ({"accounts": ["http"]}, "account alias 'http' is the name of a setting of sources.scm_source"),
]


@pytest.mark.parametrize(
    ("settings", "message"), BAD_SETTINGS, ids=[str(s) for s, _ in BAD_SETTINGS]
)
def test_bad_setting_is_refused_before_any_request(
    sim: Simulator, settings: dict[str, Any], message: str
) -> None:
    arguments = {"credentials": {"auth_token": sim.token}, "endpoint": sim.url, **settings}
    with pytest.raises(ScmConfigError) as error:
        scm_source(**arguments)
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert sim.requests == []


def test_missing_credentials_say_what_to_set(sim: Simulator) -> None:
    with pytest.raises(ScmConfigError, match=r"^no SCM credentials: under"):
        scm_source(endpoint=sim.url)
    assert sim.requests == []


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        (
            {"SOURCES__SCM_SOURCE__CERTIFICATES__PAGE_SIZE": "30"},
            [],
            "page_size=30 is not accepted",
        ),
        ({"SOURCES__SCM_SOURCE__CSR_LIST__PAGE_SIZE": "many"}, [], "page_size"),
        (
            {"SOURCES__SCM_SOURCE__CERTIFICATES__STATUS": "VALID"},
            [],
            "status='VALID' is not accepted",
        ),
        (
            {"SOURCES__SCM_SOURCE__CERTIFICATES__SORT_KEY": "name"},
            [],
            "sort_key='name' is not accepted",
        ),
        (
            {"SOURCES__SCM_SOURCE__CSR_LIST__PRIVATE_KEY_ALGO": "DSA"},
            [],
            "private_key_algo='DSA' is not accepted",
        ),
        (
            {"SOURCES__SCM_SOURCE__CERTIFICATES__EXPIRE_TIME_ZONE": "Mars/Base"},
            [],
            "expire_time_zone='Mars/Base' is not an IANA time zone",
        ),
        (
            {"SOURCES__SCM_SOURCE__HTTP__CA_BUNDLE": "/no/such/ca.pem"},
            [],
            "ca_bundle='/no/such/ca.pem' is not a file",
        ),
        (
            {
                "SOURCES__SCM_SOURCE__CREDENTIALS__ACCESS_KEY": "AK",
                "SOURCES__SCM_SOURCE__CREDENTIALS__SECRET_KEY": "SK",
            },
            [],
            "conflicting SCM credentials: auth_token and access_key, secret_key are all set",
        ),
        (
            {},
            ["--expiring-within-days", "-3"],
            "expiring_within_days=-3 must be a whole number of days",
        ),
        ({}, ["--destination", "oracle9i"], "argument --destination: invalid choice: 'oracle9i'"),
        (
            {},
            ["--pipeline-name", "../elsewhere"],
            "--pipeline-name '../elsewhere': use letters, digits, _ and -",
        ),
        ({}, ["--pipeline-name", "a/b"], "--pipeline-name 'a/b': use letters, digits, _ and -"),
        (
            {},
            ["--dataset-name", 'scm".x'],
            "--dataset-name 'scm\".x': use lower-case letters, digits and _",
        ),
        ({}, ["--dataset-name", "scm.x"], "--dataset-name 'scm.x': use lower-case letters"),
        (
            {},
            ["--duckdb-file", "scm.duckdb"],
            "the DuckDB file scm.duckdb and the dataset 'scm' share a name",
        ),
        (
            {"DESTINATION__DUCKDB__CREDENTIALS": "certs/Certs.duckdb"},
            ["--dataset-name", "certs"],
            "the DuckDB file Certs.duckdb and the dataset 'certs' share a name",
        ),
        ({}, ["--resources", "certificates,keys"], "--resources 'certificates,keys': unknown keys"),
        ({}, ["--endpoint", "not a url"], "endpoint='not a url' is not a base URL"),
        ({"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": ""}, [], "no SCM credentials"),
        ({}, ["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(
    sim: Simulator, tmp_path: Path, env: dict[str, str], args: list[str], message: str
) -> None:
    environment = {
        "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": sim.token,
        "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "out.duckdb"),
        **env,
    }
    result = scm_export("run", "--endpoint", sim.url, *args, cwd=tmp_path, env=environment)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("scm-export: error: "), result.stderr
    assert message in errors[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.duckdb").exists()
    assert sim.requests == []


def test_a_broken_config_toml_is_one_line_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text("[sources.scm_source\npage_size = 20\n")
    result = scm_export(
        "run",
        "--endpoint",
        "http://127.0.0.1:9",
        cwd=tmp_path,
        env={"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": "t" * 32},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(
        "scm-export: error: A problem encountered when loading config.toml"
    )
    assert "Unexpected character" in result.stderr and not list(tmp_path.glob("*.duckdb"))
