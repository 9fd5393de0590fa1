"""A value the API would reject is refused before any request, in one line saying what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scm_source import ScmConfigError, scm_source
from scm_source.simulator import Simulator
from tests.conftest import scm_export

BAD_SETTINGS: list[tuple[dict[str, Any], str]] = [
    ({"page_size": 30}, "page_size=30 is not accepted by the SCM API: use one of 10, 20, 50"),
    ({"page_size": 100}, "page_size=100 is not accepted"),
    ({"offset_mode": "bytes"}, "offset_mode='bytes' is not accepted by the SCM API: use one of auto, record, page"),
    ({"status": "VALID"}, "status='VALID' is not accepted by the SCM API: use one of ALL, PAID"),
    ({"status": "CANCLEREVOKING"}, "status='CANCLEREVOKING' is not accepted"),
    ({"sort_key": "name"}, "sort_key='name' is not accepted by the SCM API: use one of certExpiredTime"),
    ({"sort_dir": "up"}, "sort_dir='up' is not accepted by the SCM API: use one of ASC, DESC"),
    ({"expired_days_since": 1096}, "expired_days_since=1096 is not accepted by the SCM API: use a whole number from 0 to 1095"),
    ({"expired_days_since": -1}, "expired_days_since=-1 is not accepted"),
    ({"deploy_support": "yes"}, "deploy_support='yes' must be true or false"),
    ({"owned_by_self": 1}, "owned_by_self=1 must be true or false"),
    ({"private_key_algo": "RSA_1024"}, "private_key_algo='RSA_1024' is not accepted by the SCM API: use one of RSA_2048"),
    ({"csr_name": "x" * 33}, "csr_name is 33 characters long; the SCM API accepts at most 32"),
    ({"expire_time_zone": "Mars/Olympus_Mons"}, "expire_time_zone='Mars/Olympus_Mons' is not an IANA time zone"),
    ({"endpoint": "scm.ap-southeast-1.myhuaweicloud.com"}, "is not a base URL: give one like https://"),
    ({"endpoint": "ftp://scm.example.com"}, "endpoint='ftp://scm.example.com' is not a base URL"),
    ({"endpoint": "https://scm.example.com:99999"}, "has a malformed port"),
    ({"max_attempts": 0}, "max_attempts=0 must be at least 1"),
    ({"request_timeout_seconds": 0}, "request_timeout_seconds=0 must be a positive number of seconds"),
    ({"request_timeout_seconds": float("nan")}, "request_timeout_seconds=nan must be a positive number"),
    ({"request_timeout_seconds": float("inf")}, "request_timeout_seconds=inf must be a positive number"),
    ({"backoff_seconds": float("nan")}, "backoff_seconds=nan must be a number, 0 or more"),
    ({"max_retry_seconds": float("nan")}, "max_retry_seconds=nan must be a number, 0 or more"),
    ({"endpoint": "https://scm example.com"}, "endpoint='https://scm example.com' is not a base URL"),
]  # fmt: skip


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
        ({"SOURCES__SCM_SOURCE__PAGE_SIZE": "30"}, [], "page_size=30 is not accepted"),
        ({"SOURCES__SCM_SOURCE__PAGE_SIZE": "many"}, [], "page_size"),
        ({"SOURCES__SCM_SOURCE__STATUS": "VALID"}, [], "status='VALID' is not accepted"),
        ({"SOURCES__SCM_SOURCE__SORT_KEY": "name"}, [], "sort_key='name' is not accepted"),
        (
            {"SOURCES__SCM_SOURCE__PRIVATE_KEY_ALGO": "DSA"},
            [],
            "private_key_algo='DSA' is not accepted",
        ),
        (
            {"SOURCES__SCM_SOURCE__EXPIRE_TIME_ZONE": "Mars/Base"},
            [],
            "expire_time_zone='Mars/Base' is not an IANA time zone",
        ),
        (
            {"SOURCES__SCM_SOURCE__CA_BUNDLE": "/no/such/ca.pem"},
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
        ({}, ["--resources", "certificates,keys"], "--resources 'certificates,keys': unknown keys"),
        ({}, ["--endpoint", "not a url"], "endpoint='not a url' is not a base URL"),
        ({"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": ""}, [], "no SCM credentials"),
        ({}, ["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(
    sim: Simulator, tmp_path: Path, env: dict[str, str], args: list[str], message: str
) -> None:
    environment = {"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": sim.token,
                   "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "out.duckdb"), **env}  # fmt: skip
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
    result = scm_export("run", "--endpoint", "http://127.0.0.1:9", cwd=tmp_path,
                        env={"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": "t" * 32})  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(
        "scm-export: error: A problem encountered when loading config.toml"
    )
    assert "Unexpected character" in result.stderr and not list(tmp_path.glob("*.duckdb"))
