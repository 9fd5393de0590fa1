"""One query's bounds (scm-api.md, "Bounds on one query"): `offset` at most 100 and a total of at
most 10,000. A refused offset ends that query's window without failing the list; the planner
splits what one window cannot hold; what no query reaches is counted in the sync log, warned
about, and fails the list under `strict`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from scm_source import ScmAccountsFailed, load, scm_source
from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from tests.conftest import LISTS, load_failure, load_source, query, scm_export

CSR_PATH, CERTIFICATES_PATH = "/v3/scm/csr", "/v3/scm/certificates"


def requests_to(simulator: Simulator, path: str) -> list[tuple[int, int]]:
    """(offset, status) of every request to a list, by offset."""
    return sorted(
        (int(request.query["offset"]), request.status)
        for request in simulator.requests
        if request.path == path
    )


def sync_entry(pipeline: Any, resource: str) -> dict[str, Any]:
    [entry] = query(
        pipeline,
        "SELECT outcome, rows, api_total, rows_unreachable, unreachable_exact, queries"
        f" FROM scm.sync_log WHERE resource = '{resource}'",
    )
    return entry


def loaded_ids(pipeline: Any, table: str) -> set[str]:
    return {row["id"] for row in query(pipeline, f"SELECT id FROM scm.{table}")}


def source_for(simulator: Simulator, **settings: Any) -> Any:
    return scm_source(
        credentials={"auth_token": simulator.token}, endpoint=simulator.url, **settings
    ).with_resources(*LISTS)


def owned_ids(dataset: Dataset) -> set[str]:
    return {record.api["id"] for record in dataset.certificates if record.owned_by_self}


def pages_needed(rows: int) -> int:
    return math.ceil(rows / 50)


def test_record_offsets_up_to_100_reach_every_row(tmp_path: Path, duckdb_destination: Any) -> None:
    """Offsets counted in records, at most 100: one query lists 150 rows. 3,000 certificates
    and 1,000 CSRs arrive whole, the sync log says so, within 3x the pages the rows need."""
    dataset = Dataset.generate(certificates=3_000, csrs=1_000, seed=6)
    options = SimulatorOptions(offset_mode="record", max_offset=100)
    with Simulator(dataset, options) as simulator:
        source = source_for(simulator, certificates={"owned_by_self": False})
        pipeline = load_source(source, tmp_path, duckdb_destination)
        requests = {path: requests_to(simulator, path) for path in (CSR_PATH, CERTIFICATES_PATH)}
    owned = {record.api["id"] for record in dataset.certificates}  # every one: owned or not
    assert len(owned) == 3_000
    assert loaded_ids(pipeline, "certificates") == owned
    assert loaded_ids(pipeline, "csr_list") == {csr["id"] for csr in dataset.csrs}
    certificates, csrs = sync_entry(pipeline, "certificates"), sync_entry(pipeline, "csr_list")
    assert (certificates["rows"], certificates["rows_unreachable"]) == (len(owned), 0)
    assert (csrs["rows"], csrs["rows_unreachable"], csrs["unreachable_exact"]) == (1_000, 0, True)
    assert certificates["queries"] > 1 and csrs["queries"] > 1
    # Offsets past 100 are asked once, by the first query, and never again.
    assert [status for offset, status in requests[CSR_PATH] if offset > 100] == [400]
    assert len(requests[CERTIFICATES_PATH]) <= 3 * pages_needed(len(owned))
    assert len(requests[CSR_PATH]) <= 3 * pages_needed(1_000)


def test_page_offsets_under_both_bounds_reach_every_row(
    tmp_path: Path, duckdb_destination: Any
) -> None:
    """12,000 certificates and 6,000 CSRs, offsets counted in pages up to 100 (5,050 rows a
    query) and totals capped at 10,000: every row arrives, and the sync log says complete
    (exact: the parts' totals and the remainder seen whole prove it past the cap)."""
    dataset = Dataset.generate(certificates=12_000, csrs=6_000, seed=6)
    options = SimulatorOptions(offset_mode="page", max_offset=100, max_total=10_000)
    with Simulator(dataset, options) as simulator:
        pipeline = load_source(source_for(simulator), tmp_path, duckdb_destination)
        requests = {
            path: len(requests_to(simulator, path)) for path in (CSR_PATH, CERTIFICATES_PATH)
        }
    owned = owned_ids(dataset)
    assert len(owned) > 10_000  # more than one query may list
    assert loaded_ids(pipeline, "certificates") == owned
    assert loaded_ids(pipeline, "csr_list") == {csr["id"] for csr in dataset.csrs}
    certificates, csrs = sync_entry(pipeline, "certificates"), sync_entry(pipeline, "csr_list")
    assert (certificates["rows"], certificates["rows_unreachable"]) == (len(owned), 0)
    assert certificates["unreachable_exact"] is True
    assert (csrs["rows"], csrs["rows_unreachable"], csrs["unreachable_exact"]) == (6_000, 0, True)
    assert csrs["queries"] == 1 + 6  # the list, then one query per key algorithm
    assert requests[CSR_PATH] <= 3 * pages_needed(6_000)
    assert requests[CERTIFICATES_PATH] <= 3 * pages_needed(len(owned))


def test_a_total_at_the_cap_is_split_and_the_summary_says_complete(tmp_path: Path) -> None:
    """12,000 certificates behind a cap of 10,000 per query (offsets unbounded): the first
    query's total says 10,000; the status parts and the remainder reach all 12,000."""
    dataset = Dataset.generate(certificates=12_000, csrs=1, seed=4)
    options = SimulatorOptions(offset_mode="page", max_total=10_000)
    with Simulator(dataset, options) as simulator:
        env = {
            "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": simulator.token,
            "SOURCES__SCM_SOURCE__CERTIFICATES__OWNED_BY_SELF": "false",
            "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "capped.duckdb"),
        }
        result = scm_export(
            "run", "--endpoint", simulator.url, "--resources", "certificates", cwd=tmp_path, env=env
        )
        requests = len(requests_to(simulator, CERTIFICATES_PATH))
    assert result.returncode == 0, result.stderr
    [line] = [row for row in result.stdout.splitlines() if "certificates" in row and "rows" in row]
    assert line.split()[2:4] == ["12000", "rows"] and "unreachable" not in line
    assert requests <= 3 * pages_needed(12_000)


def test_unbounded_the_same_list_makes_exactly_the_requests_it_always_made(
    tmp_path: Path, duckdb_destination: Any
) -> None:
    dataset = Dataset.generate(certificates=1, csrs=800, seed=3)
    unbounded = SimulatorOptions(offset_mode="record", max_offset=None, max_total=None)
    with Simulator(dataset, unbounded) as simulator:
        source = source_for(simulator, csr_list={"offset_mode": "record"})
        pipeline = load_source(source.with_resources("csr_list"), tmp_path, duckdb_destination)
        requests = requests_to(simulator, CSR_PATH)
    assert requests == [(offset, 200) for offset in range(0, 800, 50)]
    entry = sync_entry(pipeline, "csr_list")
    assert (entry["rows"], entry["rows_unreachable"], entry["queries"]) == (800, 0, 1)


TWINS = Dataset.generate(certificates=200, csrs=100, seed=5, twins=400)
BOUNDED = SimulatorOptions(offset_mode="record", max_offset=100)


def unreachable_twins(loaded: set[str], kind: str) -> int:
    listed = [row["id"] for row in TWINS.listing(kind, {"owned_by_self": "false"})]
    return len(set(listed) - loaded)


def test_what_no_query_can_split_is_counted_exactly_and_warned_about(
    tmp_path: Path, duckdb_destination: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """400 certificates and 400 CSRs alike in every field a query can filter or sort by: no
    split, substring or order separates them, so only one window of them arrives. The rest is
    counted from the totals, exactly, and warned about; the list still loads."""
    with Simulator(TWINS, BOUNDED) as simulator:
        source = source_for(simulator, certificates={"owned_by_self": False})
        pipeline = load_source(source, tmp_path, duckdb_destination)
    for table in ("certificates", "csr_list"):
        loaded = loaded_ids(pipeline, table)
        missed = unreachable_twins(loaded, table)
        assert missed >= 400 - 150 * 2  # at most a window from each end of one order
        entry = sync_entry(pipeline, table)
        assert entry["outcome"] == "loaded" and entry["rows"] == len(loaded)
        assert (entry["rows_unreachable"], entry["unreachable_exact"]) == (missed, True)
        assert f"{missed} of the {len(loaded) + missed} rows the API counted were not reached" in (
            caplog.text
        )


def test_the_summary_counts_the_unreachable_rows(tmp_path: Path) -> None:
    with Simulator(TWINS, BOUNDED) as simulator:
        env = {"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": simulator.token}
        result = scm_export(
            "run", "--endpoint", simulator.url, "--resources", "csr_list", cwd=tmp_path, env=env
        )
    assert result.returncode == 0, result.stderr
    [line] = [row for row in result.stdout.splitlines() if "csr_list" in row]
    loaded = int(line.split()[2])
    missed = len(TWINS.csrs) - loaded
    assert missed > 0 and line.endswith(f"; {missed} rows unreachable")


def test_strict_fails_the_list_that_left_rows_unreachable(tmp_path: Path) -> None:
    with Simulator(TWINS, BOUNDED) as simulator:
        source = source_for(simulator, strict=True)
        failure = load_failure(source.with_resources("csr_list"), tmp_path)
    assert failure["outcome"] == "failed" and failure["resource"] == "csr_list"
    assert failure["error"].startswith("GET /v3/scm/csr: ")
    assert (
        "rows unreachable" in failure["error"]
        and "strict mode loads nothing short" in (failure["error"])
    )


def test_a_strict_account_short_of_rows_fails_alone(
    tmp_path: Path, duckdb_destination: Any
) -> None:
    small = Dataset.generate(certificates=1, csrs=60, seed=1)
    tokens = {"small": "s" * 40, "large": "l" * 40}
    with Simulator(
        small, BOUNDED, accounts={tokens["large"]: TWINS, tokens["small"]: small}
    ) as sim:
        accounts = [
            {"alias": alias, "endpoint": sim.url, "credentials": {"auth_token": token}}
            for alias, token in tokens.items()
        ]
        source = scm_source(accounts=accounts, strict=True)
        pipeline = make("bounds", duckdb_destination, tmp_path)
        with pytest.raises(ScmAccountsFailed) as failed:
            load(pipeline, source.with_resources("csr_list"))
    assert [(f["account"], f["resource"]) for f in failed.value.failures] == [("large", "csr_list")]
    loaded = query(pipeline, "SELECT account, count(*) AS n FROM scm.csr_list GROUP BY 1")
    assert loaded == [{"account": "small", "n": len(small.csrs)}]


def make(name: str, destination: Any, tmp_path: Path) -> Any:
    from scm_export.target import make_pipeline

    return make_pipeline(name, destination, "scm", pipelines_dir=str(tmp_path / "p"))
