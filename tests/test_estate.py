"""The certificate estate: each certificate's detail, where it is deployed, its tags and renewal
lineage, and CCM's private CAs and certificates, for two accounts, on DuckDB and PostgreSQL.
Expected rows come from the simulator's own data (its generators, in the API's shapes), never
from the connector's converters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dlt
import pytest
import requests
from scm_export.target import make_pipeline

from scm_source import ScmAccountsFailed, load, scm_source
from scm_source.auth.signers import TokenAuth
from scm_source.http.allowed import ALLOWED_CALLS, ScmCallRefused
from scm_source.http.client import ScmClient
from scm_source.http.retry import RetryPolicy
from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from scm_source.simulator.certificate_deployments import deployable, deployed
from scm_source.simulator.certificate_details import applicant
from scm_source.simulator.certificate_details import detail as simulated_detail
from scm_source.simulator.certificate_tags import lineage, tags
from scm_source.simulator.private_certificates import subject_person
from tests.conftest import Warehouse, load_source, query, scm_export

TOKENS = {"alpha": "alpha-token-0123456789abcdef0123", "beta": "beta-token-0123456789abcdef01234"}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def two_accounts() -> dict[str, Dataset]:
    return {
        "alpha": Dataset.generate(certificates=70, csrs=4, seed=21, private_cas=4),
        "beta": Dataset.generate(certificates=40, csrs=3, seed=22, private_certificates=5),
    }


def accounts_of(simulators: dict[str, Simulator]) -> list[dict[str, Any]]:
    """alpha's account id configured, beta's left for the rows to tell."""
    configured = {"alpha": {"domain_id": simulators["alpha"].dataset.domain_id}}
    return [
        {
            "alias": alias,
            "endpoint": simulator.url,
            "credentials": {"auth_token": TOKENS[alias], **configured.get(alias, {})},
        }
        for alias, simulator in simulators.items()
    ]


def simulators_for(datasets: dict[str, Dataset], **options: Any) -> dict[str, Simulator]:
    return {
        alias: Simulator(
            data, SimulatorOptions(tokens=frozenset({TOKENS[alias]}), **options.get(alias, {}))
        )
        for alias, data in datasets.items()
    }


def rows(pipeline: Any, table: str, columns: str) -> set[tuple[Any, ...]]:
    return {
        tuple(row.values())
        for row in query(pipeline, f"SELECT {columns} FROM {pipeline.dataset_name}.{table}")
    }


def listed(data: Dataset) -> list[Any]:
    return [record for record in data.certificates if record.owned_by_self]


def millis(value: int) -> datetime:
    return EPOCH + timedelta(milliseconds=value)


def utc(moment: Any) -> Any:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def load_estate(simulators: dict[str, Simulator], tmp_path: Path, warehouse: Warehouse) -> Any:
    return load_source(
        scm_source(accounts=accounts_of(simulators)),
        tmp_path,
        warehouse.destination,
        warehouse.dataset_name,
    )


def test_every_estate_table_is_exact_for_two_accounts(tmp_path: Path, warehouse: Warehouse) -> None:
    datasets = two_accounts()
    simulators = simulators_for(datasets)
    with simulators["alpha"], simulators["beta"]:
        pipeline = load_estate(simulators, tmp_path, warehouse)

    # certificate_details: one per listed certificate, its fields as ShowCertificate answers
    expected_details = set()
    for alias, data in datasets.items():
        for record in listed(data):
            answer = simulated_detail(record, data)
            not_after = record.expires_at if answer["not_after"] else None
            expected_details.add(
                (
                    alias,
                    answer["id"],
                    answer["status"],
                    answer["fingerprint"],
                    answer["push_support"],
                    answer["validation_method"],
                    answer["order_id"],
                    not_after,
                    data.domain_id,
                )
            )
    details = rows(
        pipeline,
        "certificate_details",
        "account, id, status, fingerprint, push_support, validation_method, order_id,"
        " not_after, domain_id",
    )
    assert {(*row[:7], utc(row[7]), row[8]) for row in details} == expected_details

    # certificate_deployments and their counts: only for what the API accepts
    expected_resources, expected_counts = set(), set()
    for alias, data in datasets.items():
        for record in listed(data):
            if not deployable(record):
                continue
            services = deployed(record)
            total_listed, total_errors = 0, 0
            for service in services:
                listed_here = sum(
                    len(region["resources"]) for region in service["region_resources"]
                )
                errors = sum(region["is_error"] for region in service["region_resources"])
                for region in service["region_resources"]:
                    for resource in region["resources"]:
                        expected_resources.add(
                            (
                                alias,
                                record.api["id"],
                                service["service"],
                                region["region_id"],
                                resource["resource_id"],
                                resource["resource_name"],
                            )
                        )
                reported = service["resource_num"]
                expected_counts.add(
                    (
                        alias,
                        record.api["id"],
                        service["service"],
                        None if errors else reported,
                        reported,
                        listed_here,
                        not errors and reported == listed_here,
                    )
                )
                total_listed += listed_here
                total_errors += errors
            total = sum(service["resource_num"] for service in services)
            expected_counts.add(
                (
                    alias,
                    record.api["id"],
                    "ALL",
                    None if total_errors else total,
                    total,
                    total_listed,
                    not total_errors and total == total_listed,
                )
            )
    assert (
        rows(
            pipeline,
            "certificate_deployments",
            "account, certificate_id, service, region_id, resource_id, resource_name",
        )
        == expected_resources
    )
    assert (
        rows(
            pipeline,
            "certificate_deployment_counts",
            "account, certificate_id, service, resource_num, reported_resource_num, listed,"
            " complete",
        )
        == expected_counts
    )

    # tags and renewal lineage: every certificate the tag API lists (owned or not)
    expected_tags, expected_renewals = set(), set()
    for alias, data in datasets.items():
        links = lineage(data.certificates)
        for record in data.certificates:
            for tag in tags(record):
                expected_tags.add((alias, record.api["id"], tag["key"], tag["value"]))
            origin, renewal = links.get(record.api["id"], (None, None))
            expected_renewals.add(
                (alias, record.api["id"], record.api["name"], record.expires_at, origin, renewal)
            )
    assert rows(pipeline, "certificate_tags", "account, certificate_id, key, value") == (
        expected_tags
    )
    renewals = rows(
        pipeline,
        "certificate_renewals",
        "account, certificate_id, name, expire_time, origin_cert_id, renewal_cert_id",
    )
    assert {(*row[:3], utc(row[3]), *row[4:]) for row in renewals} == expected_renewals
    assert any(renewal for *_, renewal in expected_renewals)  # lineage is exercised

    # private CAs and certificates, from CCM
    expected_cas = {
        (alias, ca["ca_id"], ca["type"], ca["status"], ca["distinguished_name"]["common_name"])
        for alias, data in datasets.items()
        for ca in data.private_cas
    }
    assert rows(pipeline, "private_cas", "account, id, type, status, common_name") == expected_cas
    expected_private = {
        (alias, each["certificate_id"], each["status"], millis(each["not_after"]))
        for alias, data in datasets.items()
        for each in data.private_certificates
    }
    private = rows(pipeline, "private_certificates", "account, id, status, not_after")
    assert {(*row[:3], utc(row[3])) for row in private} == expected_private

    # every table carries the account's id: configured (alpha), or as the rows tell it (beta:
    # a certificate's, a CA's), which private certificates do not
    for table in ("certificate_details", "certificate_tags", "certificate_deployments"):
        assert rows(pipeline, table, "account, domain_id") == {
            (alias, data.domain_id) for alias, data in datasets.items()
        }, table
    assert rows(pipeline, "private_certificates", "account, domain_id") == {
        ("alpha", datasets["alpha"].domain_id),
        ("beta", None),
    }


def test_a_region_in_error_is_an_unknown_count_and_a_cut_listing_incomplete(
    tmp_path: Path,
) -> None:
    data = Dataset.generate(certificates=200, csrs=1, seed=23)
    services = [
        (record.api["id"], service)
        for record in listed(data)
        if deployable(record)
        for service in deployed(record)
    ]
    in_error = next(
        (cid, s) for cid, s in services if any(r["is_error"] for r in s["region_resources"])
    )
    cut = next(
        (cid, s)
        for cid, s in services
        if not any(r["is_error"] for r in s["region_resources"])
        and s["resource_num"] > sum(len(r["resources"]) for r in s["region_resources"])
    )
    with Simulator(data) as sim:
        pipeline = load_source(
            scm_source(credentials={"auth_token": sim.token}, endpoint=sim.url).with_resources(
                "certificate_deployments"
            ),
            tmp_path,
            dlt.destinations.duckdb(str(tmp_path / "cut.duckdb")),
        )
    counts = {
        (row["certificate_id"], row["service"]): row
        for row in query(pipeline, "SELECT * FROM scm.certificate_deployment_counts")
    }
    unknown = counts[(in_error[0], in_error[1]["service"])]
    assert unknown["resource_num"] is None and unknown["complete"] is False
    assert unknown["reported_resource_num"] == in_error[1]["resource_num"]
    assert counts[(in_error[0], "ALL")]["resource_num"] is None  # never 0
    short = counts[(cut[0], cut[1]["service"])]
    assert short["resource_num"] == cut[1]["resource_num"] > short["listed"]
    assert short["complete"] is False


def test_history_follows_deployments_and_ca_status(tmp_path: Path, warehouse: Warehouse) -> None:
    """A certificate revoked is no longer deployable: its deployments' versions close; a CA
    disabled gets a new version. A rerun with nothing changed adds no version."""
    data = Dataset.generate(certificates=60, csrs=2, seed=24)
    revoked = next(r for r in listed(data) if deployable(r) and deployed(r))
    with Simulator(data) as sim:
        source = lambda: scm_source(credentials={"auth_token": sim.token}, endpoint=sim.url)  # noqa: E731
        pipeline = load_source(source(), tmp_path, warehouse.destination, warehouse.dataset_name)
        name = warehouse.dataset_name
        before = query(
            pipeline, f"SELECT count(*) AS n FROM {name}.certificate_deployments_history"
        )
        pipeline = load_source(source(), tmp_path, warehouse.destination, name)
        again = query(pipeline, f"SELECT count(*) AS n FROM {name}.certificate_deployments_history")
        assert again == before  # unchanged: no new version
        data.set_status(revoked.api["id"], "REVOKED")
        ca = data.private_cas[1]
        ca["status"] = "DISABLED" if ca["status"] != "DISABLED" else "ACTIVED"
        pipeline = load_source(source(), tmp_path, warehouse.destination, name)
    closed = query(
        pipeline,
        f"SELECT resource_id, valid_to FROM {name}.certificate_deployments_history"
        f" WHERE certificate_id = '{revoked.api['id']}'",
    )
    assert closed and all(row["valid_to"] is not None for row in closed)
    assert query(
        pipeline,
        f"SELECT count(*) AS n FROM {name}.certificate_deployments"
        f" WHERE certificate_id = '{revoked.api['id']}'",
    ) == [{"n": 0}]
    versions = query(
        pipeline,
        f"SELECT status, valid_to FROM {name}.private_cas_history WHERE id = '{ca['ca_id']}'"
        " ORDER BY valid_from",
    )
    assert [(v["status"], v["valid_to"] is None) for v in versions][-1] == (ca["status"], True)
    assert len(versions) == 2


def test_an_unchanged_rerun_reads_no_detail_deployment_or_tag(tmp_path: Path) -> None:
    data = Dataset.generate(certificates=90, csrs=5, seed=25)
    destination = dlt.destinations.duckdb(str(tmp_path / "cost.duckdb"))
    changed = next(record for record in listed(data) if deployable(record))
    with Simulator(data) as sim:

        def run(**settings: Any) -> list[str]:
            sim.clear_log()
            source = scm_source(credentials={"auth_token": sim.token}, endpoint=sim.url, **settings)
            load_source(source, tmp_path, destination)
            return [f"{r.method} {r.path}" for r in sim.requests]

        first = run()
        assert sum(call.startswith("GET /v3/scm/certificates/") for call in first) == len(
            listed(data)
        )
        unchanged = run()
        assert not [
            call
            for call in unchanged
            if call.startswith(("GET /v3/scm/certificates/", "POST /v3/scm/"))
        ]
        data.set_status(changed.api["id"], "REVOKED")
        after_change = run()
        details = [c for c in after_change if c.startswith("GET /v3/scm/certificates/")]
        assert details == [f"GET /v3/scm/certificates/{changed.api['id']}"]
        assert "POST /v3/scm/deployed-resources" in after_change  # a certificate changed
        assert "POST /v3/scm/resource_instances/action" in after_change
        refreshed = run(certificate_details={"refresh_days": 0})
        assert sum(c.startswith("GET /v3/scm/certificates/") for c in refreshed) == len(
            listed(data)
        )
    pipeline = dlt.attach("scm_test", pipelines_dir=str(tmp_path / "pipelines"))
    kept = query(pipeline, "SELECT count(*) AS n FROM scm.certificate_details")
    assert kept == [{"n": len(listed(data))}]  # carried over, never lost


def test_one_object_failing_in_one_account_fails_there_alone(
    tmp_path: Path, warehouse: Warehouse
) -> None:
    datasets = two_accounts()
    simulators = simulators_for(
        datasets, beta={"failing_calls": frozenset({"POST /v3/scm/deployed-resources"})}
    )
    pipeline = make_pipeline(
        "estate", warehouse.destination, warehouse.dataset_name, pipelines_dir=str(tmp_path)
    )
    with simulators["alpha"], simulators["beta"], pytest.raises(ScmAccountsFailed) as failed:
        # one attempt: the failure, not the retries' backoff, is what is tested
        load(pipeline, scm_source(accounts=accounts_of(simulators), http={"max_attempts": 1}))
    assert [(f["account"], f["resource"]) for f in failed.value.failures] == [
        ("beta", "certificate_deployments")
    ]
    name = warehouse.dataset_name
    deployments = query(pipeline, f"SELECT DISTINCT account FROM {name}.certificate_deployments")
    assert deployments == [{"account": "alpha"}]
    for table in ("certificate_details", "certificate_tags", "private_cas"):
        accounts = query(pipeline, f"SELECT DISTINCT account FROM {name}.{table} ORDER BY 1")
        assert accounts == [{"account": "alpha"}, {"account": "beta"}], table


def test_only_the_allowed_calls_are_ever_sent(tmp_path: Path) -> None:
    """A whole load sends nothing outside the allow-list; the connector refuses the secret-bearing
    calls before sending them, and the simulator refuses them too."""
    data = Dataset.generate(certificates=40, csrs=3, seed=26)
    with Simulator(data) as sim:
        load_source(
            scm_source(credentials={"auth_token": sim.token}, endpoint=sim.url),
            tmp_path,
            dlt.destinations.duckdb(str(tmp_path / "allowed.duckdb")),
        )
        sent = {(r.method, r.path) for r in sim.requests}
        assert sim.refused == []
        assert all(any(call.matches(*each) for call in ALLOWED_CALLS) for each in sent), sent
        client = ScmClient(sim.url, TokenAuth(sim.token), RetryPolicy(max_attempts=1))
        sim.clear_log()
        forbidden = [
            ("POST", "/v3/scm/certificates/scs1554192132150/export"),
            ("GET", "/v3/scm/csr/0123456789abcdef/private-key"),
            ("POST", "/v1/private-certificates/6434f74f-2d13-4e6a-89eb-93ee313f1a43/export"),
            ("POST", "/v1/private-certificate-authorities/6434f74f-2d13/export"),
            ("GET", "/v2/project/scm/cert/scs1554192132150/cert_file"),
            ("POST", "/v3/scm/certificates/import"),
        ]
        for method, path in forbidden:
            with pytest.raises(ScmCallRefused, match="nothing was sent"):
                client.call(method, path, {}, {} if method == "POST" else None)
        assert sim.requests == []
        answer = requests.get(
            sim.url + "/v3/scm/csr/0123456789abcdef/private-key",
            headers={"X-Auth-Token": sim.token},
            timeout=10,
        )
        assert answer.status_code == 403
        assert sim.refused == [("GET", "/v3/scm/csr/0123456789abcdef/private-key")]


def test_personal_data_is_stored_nowhere(tmp_path: Path) -> None:
    """Applicants' names, phones and e-mails and domain-validation records (the detail), and a
    person named in a private certificate's subject: in no table, no file, no log line."""
    data = Dataset.generate(certificates=30, csrs=2, seed=27)
    personal = [
        value
        for record in data.certificates
        for key, value in applicant(record.api["id"]).items()
        if key.startswith(("applicant", "contact"))
    ]
    personal += [subject_person(index) for index in range(len(data.private_certificates))]
    with Simulator(data) as sim:
        validation = [
            record["record_value"]
            for certificate in listed(data)
            for record in (data.detail(certificate.api["id"]) or {})["authentification"]
        ]
        env = {
            "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": sim.token,
            "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "pii.duckdb"),
        }
        result = scm_export("-v", "run", "--endpoint", sim.url, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(personal) > 100 and validation
    secrets = [*personal, *validation]
    output = result.stdout + result.stderr
    assert not [value for value in secrets if value in output]
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.suffix == ".duckdb" for path in files)
    found = [
        str(path) for path in files if any(value.encode() in path.read_bytes() for value in secrets)
    ]
    assert found == []


def test_a_child_alone_walks_its_parent_without_loading_it(tmp_path: Path) -> None:
    data = Dataset.generate(certificates=25, csrs=2, seed=28)
    with Simulator(data) as sim:
        pipeline = load_source(
            scm_source(credentials={"auth_token": sim.token}, endpoint=sim.url).with_resources(
                "certificate_details"
            ),
            tmp_path,
            dlt.destinations.duckdb(str(tmp_path / "alone.duckdb")),
        )
        listed_pages = [r for r in sim.requests if r.path == "/v3/scm/certificates"]
    assert listed_pages  # the parent was walked...
    tables = pipeline.default_schema.data_table_names(seen_data_only=True)
    assert "certificates" not in tables  # ...but not loaded
    assert query(pipeline, "SELECT count(*) AS n FROM scm.certificate_details") == [
        {"n": len(listed(data))}
    ]


def test_the_official_sdks_parse_every_answer_of_the_estate(tmp_path: Path) -> None:
    """Huawei's SDKs (huaweicloudsdkscm, huaweicloudsdkccm) pointed at the simulator: their models
    are the reference for field names and types."""
    from huaweicloudsdkccm.v1 import CcmClient, ListCertificateAuthorityRequest
    from huaweicloudsdkccm.v1 import ListCertificateRequest as ListPrivateCertificatesRequest
    from huaweicloudsdkcore.auth.credentials import GlobalCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkscm.v3 import (
        ListCertificatesByTagRequest,
        ListCertificatesByTagRequestBody,
        ListDeployedResourcesRequest,
        ListDeployedResourcesRequestBody,
        ShowCertificateRequest,
    )
    from huaweicloudsdkscm.v3 import (
        ScmClient as SdkScmClient,
    )

    from scm_source.simulator import AccessKey

    key = AccessKey("SDKAK0123456789ABCDE", "sdk-secret-key-0123456789abcdef")
    data = Dataset.generate(certificates=30, csrs=1, seed=29)
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    with Simulator(data, SimulatorOptions(access_keys=(key,))) as sim:
        credentials = GlobalCredentials(key.access_key, key.secret_key, data.domain_id)
        scm = (
            SdkScmClient.new_builder()
            .with_http_config(config)
            .with_credentials(credentials)
            .with_endpoints([sim.url])
            .build()
        )
        ccm = (
            CcmClient.new_builder()
            .with_http_config(config)
            .with_credentials(credentials)
            .with_endpoints([sim.url])
            .build()
        )
        first = listed(data)[0]
        shown = scm.show_certificate(ShowCertificateRequest(certificate_id=first.api["id"]))
        assert (shown.id, shown.status, shown.fingerprint) == (
            first.api["id"],
            first.api["status"],
            simulated_detail(first, data)["fingerprint"],
        )
        assert isinstance(shown.push_support, str) and shown.application_info is not None
        ids = [r.api["id"] for r in listed(data) if deployable(r)][:50]
        body = ListDeployedResourcesRequestBody(certificate_ids=ids, service_names=["ALL"])
        found = scm.list_deployed_resources(ListDeployedResourcesRequest(body=body))
        assert [result.certificate_id for result in found.results] == ids
        for result in found.results:
            record = data.detail(result.certificate_id)
            assert record is not None
            assert result.total_num == sum(
                s["resource_num"] for s in deployed(data._by_id()[result.certificate_id])
            )
        tagged = scm.list_certificates_by_tag(
            ListCertificatesByTagRequest(
                resource_instances="resource_instances",
                body=ListCertificatesByTagRequestBody(action="filter", limit=50, offset=0),
            )
        )
        assert tagged.total_count == len(data.certificates)
        assert {r.resource_id for r in tagged.resources} == {r.api["id"] for r in data.certificates}
        assert all(isinstance(r.resource_detail.push_support, bool) for r in tagged.resources)
        cas = ccm.list_certificate_authority(ListCertificateAuthorityRequest(limit=1000))
        assert cas.total == len(data.private_cas)
        assert [ca.ca_id for ca in cas.certificate_authorities] == [
            ca["ca_id"] for ca in sorted(data.private_cas, key=lambda ca: -ca["create_time"])
        ]
        assert cas.certificate_authorities[0].distinguished_name.common_name
        private = ccm.list_certificate(ListPrivateCertificatesRequest(limit=1000))
        assert private.total == len(data.private_certificates)
        assert {each.certificate_id for each in private.certificates} == {
            each["certificate_id"] for each in data.private_certificates
        }
