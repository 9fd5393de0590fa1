"""Every filter is sent to the API as the docs name it, and only the matching rows load."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from scm_source.simulator import CertificateRecord, Dataset, Simulator
from tests.conftest import query, run_load

PROJECT = "6f4b1c1e-5d0f-4d3a-9a49-2a8f0c7d1e11"

CertificatePredicate = Callable[[CertificateRecord, Dataset], bool]

CERTIFICATE_FILTERS: list[tuple[dict[str, Any], dict[str, str], CertificatePredicate]] = [
    ({"status": "REVOKED"}, {"status": "REVOKED"},
     lambda r, d: r.owned_by_self and r.api["status"] == "REVOKED"),
    ({"status": "ALL"}, {}, lambda r, d: r.owned_by_self),
    ({"enterprise_project_id": PROJECT}, {"enterprise_project_id": PROJECT},
     lambda r, d: r.owned_by_self and r.api["enterprise_project_id"] == PROJECT),
    ({"enterprise_project_id": "all"}, {"enterprise_project_id": "all"},
     lambda r, d: r.owned_by_self),
    ({"deploy_support": False}, {"deploy_support": "false"},
     lambda r, d: r.owned_by_self and not r.api["deploy_support"]),
    ({"owned_by_self": False}, {"owned_by_self": "false"}, lambda r, d: True),
    ({"owned_by_self": True}, {"owned_by_self": "true"}, lambda r, d: r.owned_by_self),
    ({"expired_days_since": 30}, {"expired_days_since": "30"},
     lambda r, d: r.owned_by_self and r.expires_at >= d.now - timedelta(days=30)),
    ({"content": "CORP2."}, {"content": "CORP2."},
     lambda r, d: r.owned_by_self and ("corp2." in r.api["name"] or "corp2." in r.api["domain"])),
    ({"sort_key": "certExpiredTime", "sort_dir": "ASC"},
     {"sort_key": "certExpiredTime", "sort_dir": "ASC"}, lambda r, d: r.owned_by_self),
]  # fmt: skip

CSR_FILTERS: list[tuple[dict[str, Any], dict[str, str], Callable[[dict[str, Any]], bool]]] = [
    ({"csr_name": "csr-0001"}, {"name": "csr-0001"}, lambda c: "csr-0001" in c["name"]),
    ({"private_key_algo": "SM2"}, {"private_key_algo": "SM2"},
     lambda c: c["private_key_algo"] == "SM2"),
]  # fmt: skip


def loaded_ids(simulator: Simulator, tmp_path: Path, destination: Any, table: str,
               **settings: Any) -> set[str]:  # fmt: skip
    pipeline = run_load(simulator, tmp_path, destination, **settings)
    return {row["id"] for row in query(pipeline, f"SELECT id FROM scm.{table}")}


def sent(simulator: Simulator, path: str) -> list[dict[str, str]]:
    return [
        {k: v for k, v in request.query.items() if k not in ("limit", "offset")}
        for request in simulator.requests
        if request.path == path
    ]


@pytest.mark.parametrize(("settings", "params", "keep"), CERTIFICATE_FILTERS,
                         ids=[str(case[0]) for case in CERTIFICATE_FILTERS])  # fmt: skip
def test_certificate_filter_is_sent_and_honoured(
    sim: Simulator, dataset: Dataset, tmp_path: Path, duckdb_destination: Any,
    settings: dict[str, Any], params: dict[str, str], keep: CertificatePredicate,
) -> None:  # fmt: skip
    expected = {r.api["id"] for r in dataset.certificates if keep(r, dataset)}
    assert len(expected) > 0, "the data set must exercise the filter"
    ids = loaded_ids(sim, tmp_path, duckdb_destination, "certificates", **settings)
    assert ids == expected
    assert sent(sim, "/v3/scm/certificates") and all(
        query_ == params for query_ in sent(sim, "/v3/scm/certificates")
    )


@pytest.mark.parametrize(("settings", "params", "keep"), CSR_FILTERS,
                         ids=[str(case[0]) for case in CSR_FILTERS])  # fmt: skip
def test_csr_filter_is_sent_and_honoured(
    sim: Simulator, dataset: Dataset, tmp_path: Path, duckdb_destination: Any,
    settings: dict[str, Any], params: dict[str, str], keep: Callable[[dict[str, Any]], bool],
) -> None:  # fmt: skip
    expected = {csr["id"] for csr in dataset.csrs if keep(csr)}
    assert 0 < len(expected) < len(dataset.csrs)
    assert loaded_ids(sim, tmp_path, duckdb_destination, "csr_list", **settings) == expected
    assert all(query_ == params for query_ in sent(sim, "/v3/scm/csr"))


def test_a_filtered_run_keeps_the_rows_it_did_not_ask_for(
    sim: Simulator, dataset: Dataset, tmp_path: Path, duckdb_destination: Any
) -> None:
    everything = loaded_ids(sim, tmp_path, duckdb_destination, "certificates")
    after = loaded_ids(sim, tmp_path, duckdb_destination, "certificates", status="REVOKED")
    assert after == everything


def test_the_simulator_sorts_as_asked(sim: Simulator, dataset: Dataset) -> None:
    by_expiry = dataset.list_certificates({"sort_key": "certExpiredTime", "sort_dir": "ASC"})
    instants = {r.api["id"]: r.expires_at for r in dataset.certificates}
    assert [instants[c["id"]] for c in by_expiry] == sorted(instants[c["id"]] for c in by_expiry)
    by_status = dataset.list_certificates({"sort_key": "certStatus"})
    assert [c["status"] for c in by_status] == sorted(
        (c["status"] for c in by_status), reverse=True
    )
