"""Several accounts in one run: every row carries its account, and an account that fails is
left exactly as it was while the others load; the run then fails naming it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from scm_export.target import make_pipeline

from scm_source import ScmAccountsFailed, ScmConfigError, load
from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from scm_source.warehouse.finish import last_sync
from tests.conftest import (
    LISTS_ONLY,
    Warehouse,
    every_list,
    lists_source,
    load_source,
    query,
    scm_export,
)

TOKENS = {
    "alpha": "alpha-token-0123456789abcdef01234567",
    "beta": "beta-token-0123456789abcdef012345678",
}


@pytest.fixture
def simulators() -> Iterator[dict[str, Simulator]]:
    """One simulated account per alias, each with its own data, token and endpoint."""
    with ExitStack() as stack:
        yield {
            alias: stack.enter_context(
                Simulator(
                    Dataset.generate(certificates=30 + 10 * n, csrs=8 + n, seed=40 + n),
                    SimulatorOptions(tokens=frozenset({TOKENS[alias]})),
                )
            )
            for n, alias in enumerate(TOKENS)
        }


def accounts(simulators: dict[str, Simulator], tokens: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "alias": alias,
            "endpoint": simulator.url,
            "credentials": {"auth_token": tokens[alias], "domain_id": simulator.dataset.domain_id},
        }
        for alias, simulator in simulators.items()
    ]


def rows_of(
    pipeline: Any,
    account: str,
    tables: tuple[str, ...] = ("certificates", "csr_list", "certificates_history", "csr_history"),
) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted(
            tuple(row.values())
            for row in query(
                pipeline,
                f"SELECT * FROM {pipeline.dataset_name}.{table} WHERE account = '{account}'",
            )
        )
        for table in tables
    }


def test_one_failing_account_is_left_as_it_was_while_the_other_loads(
    simulators: dict[str, Simulator], tmp_path: Path, warehouse: Warehouse
) -> None:
    def run(tokens: dict[str, str]) -> Any:
        source = lists_source(accounts=accounts(simulators, tokens))
        return load_source(source, tmp_path, warehouse.destination, warehouse.dataset_name)

    pipeline = run(TOKENS)
    for alias, simulator in simulators.items():
        dataset = simulator.dataset
        certificates = query(
            pipeline,
            "SELECT id, domain_id FROM"
            f" {warehouse.dataset_name}.certificates WHERE account = '{alias}'",
        )
        assert sorted(r["id"] for r in certificates) == sorted(
            r.api["id"] for r in dataset.certificates if r.owned_by_self
        )
        assert {r["domain_id"] for r in certificates} == {dataset.domain_id}
        csrs = query(
            pipeline,
            "SELECT id, domain_id FROM"
            f" {warehouse.dataset_name}.csr_list WHERE account = '{alias}'",
        )
        assert sorted(r["id"] for r in csrs) == sorted(c["id"] for c in dataset.csrs)
        assert {r["domain_id"] for r in csrs} == {dataset.domain_id}
    beta_before = rows_of(pipeline, "beta")

    alpha, beta = simulators["alpha"].dataset, simulators["beta"].dataset
    changed = next(r.api["id"] for r in alpha.certificates if r.owned_by_self)
    alpha.set_status(
        changed, "REVOKED" if alpha.certificate(changed).api["status"] != "REVOKED" else "ISSUED"
    )
    beta.set_status(next(r.api["id"] for r in beta.certificates if r.owned_by_self), "REVOKED")
    beta.delete_certificates({beta.certificates[-1].api["id"]})
    with pytest.raises(ScmAccountsFailed) as caught:
        run({**TOKENS, "beta": "beta-token-revoked-0123456789abcdef0"})

    assert [(f["account"], f["resource"], f["http_status"]) for f in caught.value.failures] == [
        ("beta", "certificates", 401),
        ("beta", "csr_list", 401),
    ]
    assert str(caught.value).startswith(
        f"account 'beta', certificates: GET {simulators['beta'].url}/v3/scm/certificates"
        " answered HTTP 401 (error_code=APIG.0301"
    )
    assert rows_of(pipeline, "beta") == beta_before
    status = query(
        pipeline,
        f"SELECT status FROM {warehouse.dataset_name}.certificates"
        f" WHERE account = 'alpha' AND id = '{changed}'",
    )
    assert status == [{"status": alpha.certificate(changed).api["status"]}]
    versions = query(
        pipeline,
        "SELECT count(*) AS n FROM"
        f" {warehouse.dataset_name}.certificates_history WHERE id = '{changed}'",
    )
    assert versions == [{"n": 2}]
    sync_log = f"{warehouse.dataset_name}.sync_log"
    assert query(pipeline, f"SELECT count(*) AS n FROM {sync_log}") == [{"n": 8}]  # 2 runs x 4
    log = query(
        pipeline,
        "SELECT account, resource, outcome, http_status, error_code, rows FROM"
        f" {sync_log} WHERE _dlt_load_id = (SELECT max(_dlt_load_id) FROM {sync_log})",
    )
    assert sorted(tuple(r.values()) for r in log) == [
        (
            "alpha",
            "certificates",
            "loaded",
            None,
            None,
            30 - sum(not r.owned_by_self for r in alpha.certificates),
        ),
        ("alpha", "csr_list", "loaded", None, None, 8),
        ("beta", "certificates", "failed", 401, "APIG.0301", 0),
        ("beta", "csr_list", "failed", 401, "APIG.0301", 0),
    ]


def test_the_command_reads_accounts_from_their_sections_and_exits_1_naming_the_failure(
    simulators: dict[str, Simulator], tmp_path: Path
) -> None:
    env = {
        "SOURCES__SCM_SOURCE__ACCOUNTS": '["alpha", "beta"]',
        "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "accounts.duckdb"),
    }
    for alias, simulator in simulators.items():
        env[f"SOURCES__SCM_SOURCE__{alias.upper()}__ENDPOINT"] = simulator.url
        env[f"SOURCES__SCM_SOURCE__{alias.upper()}__CREDENTIALS__AUTH_TOKEN"] = TOKENS[alias]
    env["SOURCES__SCM_SOURCE__BETA__CREDENTIALS__AUTH_TOKEN"] = "beta-token-wrong-0123456789abcdef"
    result = scm_export("run", *LISTS_ONLY, cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("scm-export:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert errors[0].startswith("scm-export: error: account 'beta', certificates: GET ")
    assert errors[0].endswith("; also not loaded: account 'beta', csr_list")
    assert "HTTP 401" in errors[0]
    assert "beta-token-wrong" not in result.stderr + result.stdout
    alpha = simulators["alpha"].dataset
    listed = sum(r.owned_by_self for r in alpha.certificates)
    assert re.search(rf"^  alpha +certificates +{listed} rows", result.stdout, re.MULTILINE)
    assert result.stdout.startswith("FAILED: 2 of 4 objects did not load")
    assert re.search(
        r"^  beta +certificates +FAILED \(401, APIG.0301\)$", result.stdout, re.MULTILINE
    )
    assert (
        "beta-token" not in result.stdout and "GET " not in result.stdout
    )  # the error: once, on stderr


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"accounts": ["alpha"], "credentials": {"auth_token": "x" * 32}},
            "credentials are set for the source and accounts are listed too",
        ),
        ({"accounts": ["Prod-1"]}, "account alias 'Prod-1' must be lower-case letters"),
        (
            {"accounts": [{"alias": "alpha", "credentials": {"auth_token": "x" * 32}}] * 2},
            "account alias 'alpha' is listed twice",
        ),
        (
            {"accounts": ["gamma"]},
            "no SCM credentials: under [sources.scm_source.gamma.credentials] set auth_token",
        ),
        (
            {
                "accounts": [
                    {
                        "alias": "alpha",
                        "credentials": {"auth_token": "x" * 32},
                        "endpoint": "ftp://nowhere",
                    }
                ]
            },
            "alpha.endpoint='ftp://nowhere'",
        ),
    ],
    ids=[
        "credentials_and_accounts",
        "bad_alias",
        "repeated_alias",
        "no_credentials",
        "bad_endpoint",
    ],
)
def test_account_settings_are_refused_before_any_request(
    settings: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", "an-sdk-key-that-must-not-be-used")
    with pytest.raises(ScmConfigError) as caught:
        lists_source(**settings)
    assert message in str(caught.value)


def test_accounts_behind_one_endpoint_get_their_own_rows_and_a_forbidden_one_fails_alone(
    tmp_path: Path, duckdb_destination: Any
) -> None:
    """Several accounts on one endpoint, as in a Huawei region: each gets exactly its own rows,
    the sync log keeps the configured order, and the forbidden one (403) fails without touching
    the others."""
    datasets = {
        f"account_{n}": Dataset.generate(certificates=20 + 7 * n, csrs=3 + n, seed=60 + n)
        for n in range(5)
    }
    tokens = {alias: f"{alias}-token-0123456789abcdef0123456789" for alias in datasets}
    forbidden = "account_2"
    options = SimulatorOptions(forbidden_tokens=frozenset({tokens[forbidden]}))
    serving = {tokens[alias]: data for alias, data in datasets.items() if alias != forbidden}
    with Simulator(
        Dataset.generate(certificates=1, csrs=1, seed=1), options, accounts=serving
    ) as sim:
        configured = [
            {"alias": alias, "endpoint": sim.url, "credentials": {"auth_token": tokens[alias]}}
            for alias in datasets
        ]
        source = lists_source(accounts=configured, **every_list(page_size=10))
        pipeline = make_pipeline("scm_test", duckdb_destination, "scm", pipelines_dir=str(tmp_path))
        with pytest.raises(ScmAccountsFailed) as caught:
            load(pipeline, source)

    assert [(f["account"], f["http_status"]) for f in caught.value.failures] == [
        (forbidden, 403),
        (forbidden, 403),
    ]
    for alias, data in datasets.items():
        expected = (
            []
            if alias == forbidden
            else sorted(
                (r.api["id"], r.api["domain_id"]) for r in data.certificates if r.owned_by_self
            )
        )
        loaded = query(
            pipeline, f"SELECT id, domain_id FROM scm.certificates WHERE account = '{alias}'"
        )
        assert sorted((r["id"], r["domain_id"]) for r in loaded) == expected
        csrs = query(pipeline, f"SELECT id FROM scm.csr_list WHERE account = '{alias}'")
        assert sorted(r["id"] for r in csrs) == (
            [] if alias == forbidden else sorted(c["id"] for c in data.csrs)
        )
    expected_log = [
        (alias, resource, "failed" if alias == forbidden else "loaded")
        for resource in ("certificates", "csr_list")
        for alias in datasets
    ]
    assert [
        (e["account"], e["resource"], e["outcome"]) for e in last_sync(pipeline, source)
    ] == expected_log
    log = query(pipeline, "SELECT account, resource, outcome FROM scm.sync_log")
    assert sorted(tuple(r.values()) for r in log) == sorted(expected_log)


def test_an_account_failing_half_way_through_its_list_leaves_its_tables_as_they_were(
    simulators: dict[str, Simulator],
    tmp_path: Path,
    warehouse: Warehouse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows stream to dlt as pages arrive, so the failing account's first rows are in staging;
    the merge must leave them out and touch nothing of that account."""
    monkeypatch.setattr("scm_source.extract.walk.BATCH_ROWS", 10)
    monkeypatch.setattr("scm_source.extract.resources.ITEM_ROWS", 10)

    def run() -> Any:
        source = lists_source(
            accounts=accounts(simulators, TOKENS),
            **every_list(page_size=10),
            http={"max_attempts": 1},
        )
        return load_source(
            source.with_resources("certificates"),
            tmp_path,
            warehouse.destination,
            warehouse.dataset_name,
        )

    pipeline = run()
    certificate_tables = ("certificates", "certificates_history")
    beta_before = rows_of(pipeline, "beta", certificate_tables)
    assert len(beta_before["certificates"]) > 11
    alpha, beta = simulators["alpha"].dataset, simulators["beta"].dataset
    alpha.delete_certificates({alpha.certificates[0].api["id"]})
    for record in beta.certificates:
        beta.set_status(record.api["id"], "REVOKED")
    beta_server = simulators["beta"]
    beta_server.options.outage_from_request = len(beta_server.requests) + 3  # after 2 pages
    with pytest.raises(ScmAccountsFailed) as caught:
        run()

    assert [(f["account"], f["http_status"], f["rows"]) for f in caught.value.failures] == [
        ("beta", 503, 11)  # the first page and the offset probe's one new row
    ]
    staged = query(
        pipeline,
        f"SELECT count(*) AS n FROM {warehouse.dataset_name}_staging"
        ".certificates WHERE account = 'beta'",
    )
    assert staged == [{"n": 10}]  # the first batch reached dlt before the outage
    assert rows_of(pipeline, "beta", certificate_tables) == beta_before
    alpha_ids = query(
        pipeline, f"SELECT id FROM {warehouse.dataset_name}.certificates WHERE account = 'alpha'"
    )
    assert sorted(r["id"] for r in alpha_ids) == sorted(
        r.api["id"] for r in alpha.certificates if r.owned_by_self
    )
