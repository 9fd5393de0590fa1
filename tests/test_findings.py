"""The view `certificate_findings` against findings computed here, independently, from what the
simulator serves (its records, where it deploys them, their tags and renewals, the private CAs)
and the policy's rules as the README states them; on DuckDB and PostgreSQL. A policy override
changes exactly the findings it names."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from scm_source.objects.registry import OBJECT_NAMES
from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from scm_source.simulator.certificate_tags import lineage, tags
from scm_source.warehouse.policy import POLICY_TABLE
from tests.conftest import UNBOUNDED, Warehouse, query, run_load
from tests.oracle import RANKS, Policy, days_between, expected

EVERYTHING = (*OBJECT_NAMES, POLICY_TABLE)


def findings(pipeline: Any) -> list[dict[str, Any]]:
    return query(
        pipeline,
        f"SELECT * FROM {pipeline.dataset_name}.certificate_findings ORDER BY priority",
    )


def load(tmp_path: Path, warehouse: Warehouse, dataset: Dataset, **settings: Any) -> Any:
    with Simulator(dataset, SimulatorOptions(**UNBOUNDED)) as simulator:
        return run_load(
            simulator,
            tmp_path,
            warehouse.destination,
            warehouse.dataset_name,
            resources=EVERYTHING,
            **settings,
        )


@pytest.fixture(scope="module")
def estate() -> Dataset:
    return Dataset.generate(certificates=240, csrs=5, seed=11, private_cas=5)


def test_the_findings_are_the_policys_one_row_per_certificate_ranked(
    tmp_path: Path, warehouse: Warehouse, estate: Dataset
) -> None:
    pipeline = load(tmp_path, warehouse, estate)
    rows = findings(pipeline)
    now = datetime.now(timezone.utc)
    want = expected(estate, Policy(), now)
    got = {row["certificate_id"]: (row["severity"], row["finding_id"]) for row in rows}
    assert got == want
    assert len(rows) == len(got)  # one row per certificate, never per host name
    assert {row["severity"] for row in rows} == set(RANKS)  # the data exercises every grade
    # Ordered by severity, then what already broke (most recent first), then the soonest.
    keys = [
        (
            -row["severity_rank"],
            row["days_left"] is None or row["days_left"] >= 0,
            math.inf if row["days_left"] is None else abs(row["days_left"]),
        )
        for row in rows
    ]
    assert keys == sorted(keys)
    assert [row["priority"] for row in rows] == list(range(1, len(rows) + 1))
    by_id = {row["certificate_id"]: row for row in rows}
    listed = {r.api["id"]: r for r in estate.certificates if r.owned_by_self}
    links = lineage(estate.certificates)
    for identifier, row in by_id.items():
        record = listed.get(identifier)
        if record is None:
            continue
        owner = next((t["value"] for t in tags(record) if t["key"] == "owner"), None)
        assert row["owner"] == owner
        assert row["finding_id"].startswith(f"default/{identifier}/")
        successor = links.get(identifier, (None, None))[1]
        if row["successor_id"] is not None:
            assert row["successor_id"] == successor
            assert row["action"].startswith((f"deploy successor {successor}", "let it lapse"))
        if _why(row["finding_id"]) == "expired_unused":
            ago = days_between(now, record.expires_at)
            assert row["action"] == f"delete: deployed nowhere, expired {ago} days ago"
        if _why(row["finding_id"]) == "expiring":
            left = days_between(record.expires_at, now)
            words = "expires today" if left == 0 else f"expires in {left} day"
            assert row["reason"].startswith(words)
    assert any(row["successor_id"] for row in rows), "the data has a renewed certificate"
    assert any(_why(row["finding_id"]) == "expired_deployed" for row in rows)


def test_a_policy_override_changes_exactly_the_findings_it_names(
    tmp_path: Path, warehouse: Warehouse, estate: Dataset
) -> None:
    policy = {"tag_steps": {"env=prod": 1}, "high_days": 20, "deployed_nowhere_step": 0}
    pipeline = load(tmp_path, warehouse, estate, policy=policy)
    now = datetime.now(timezone.utc)
    overridden = Policy(
        thresholds=((7, 4), (20, 3), (30, 2), (60, 1)),
        deployed_nowhere_step=0,
        tag_steps={"env=prod": 1},
    )
    got = {
        row["certificate_id"]: (row["severity"], row["finding_id"]) for row in findings(pipeline)
    }
    assert got == expected(estate, overridden, now)
    changed = {k for k, v in got.items() if expected(estate, Policy(), now).get(k) != v}
    assert changed, "the override must change something in this data"
    policy_rows = query(
        pipeline, f"SELECT rule, name, value FROM {pipeline.dataset_name}.expiry_policy"
    )
    assert {"rule": "tag_step", "name": "env=prod", "value": 1} in policy_rows


def _why(finding_id: str) -> str:
    return finding_id.split("/")[2]
