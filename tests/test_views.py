"""The views return exactly what a Python reading of their definitions computes from the
simulator's data, on DuckDB and on the real local PostgreSQL; BigQuery's SQL is a reviewed snapshot,
and GoogleSQL's own analyzer (ZetaSQL, another parser than sqlglot) resolves every view against
the tables as dlt types them in BigQuery."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import wasmtime

from scm_source import scm_source
from scm_source.extract.sync import SYNC_LOG_COLUMNS
from scm_source.extract.tables import SYNC_LOG
from scm_source.objects.registry import OBJECTS
from scm_source.simulator import CertificateRecord, Dataset, Simulator
from scm_source.warehouse.policy import POLICY_COLUMNS, POLICY_TABLE
from scm_source.warehouse.views import install_views, render_create, render_select, views
from tests.conftest import Warehouse, load_source, query, run_load, warehouse_of
from tests.oracle import USABLE

VALID = USABLE
SNAPSHOTS = Path(__file__).parent / "snapshots" / "bigquery"
DAY = timedelta(days=1)


def listed(dataset: Dataset) -> list[CertificateRecord]:
    return [record for record in dataset.certificates if record.owned_by_self]


def names_of(api: dict[str, Any]) -> set[str]:
    named = [api["domain"] or "", *(api["sans"] or "").split(";")]
    return {n.strip().lower() for n in named if n.strip()}


def covers(cover: str, host: str) -> bool:
    """A certificate name covers a host name: the same, or a wildcard one label above it."""
    if cover == host:
        return True
    return (
        cover.startswith("*.")
        and not host.startswith("*.")
        and "." in host
        and host.split(".", 1)[1] == cover[2:]
    )


def bucket(left: timedelta) -> str:
    for days in (7, 14, 30, 60, 90):
        if left <= timedelta(days=days):
            return f"within {days} days"
    return "beyond 90 days"


Datasets = dict[str, Dataset]  # by account alias


def expected(datasets: Datasets, view: str, now: datetime, days: int) -> set[tuple[Any, ...]]:
    if view == "domain_coverage_by_name":
        return coverage_by_name(expected(datasets, "domain_coverage", now, days))
    if view == "sync_status":  # one run, every list of every account loaded
        return {(account, scm_list.name, "loaded") for account in datasets for scm_list in OBJECTS}
    return {
        (account, *row)
        for account, dataset in datasets.items()
        for row in expected_in(dataset, view, now, days)
    }


def expected_in(dataset: Dataset, view: str, now: datetime, days: int) -> set[tuple[Any, ...]]:
    """The view's rows for one account, without the account."""
    records = listed(dataset)
    valid_unexpired = [r for r in records if r.api["status"] in VALID and r.expires_at > now]
    if view == "certificates_expiring":
        return {
            (
                r.api["id"],
                math.floor((r.expires_at - now).total_seconds() / 86400),
                bucket(r.expires_at - now),
            )
            for r in valid_unexpired
            if r.expires_at <= now + days * DAY
        }
    if view == "certificates_expired":
        return {
            (
                r.api["id"],
                math.floor((now - r.expires_at).total_seconds() / 86400),
                r.api["status"] != "EXPIRED",
            )
            for r in records
            if r.api["status"] == "EXPIRED" or (r.api["status"] in VALID and r.expires_at <= now)
        }
    if view == "certificates_revoked":
        return {
            (r.api["id"], r.api["status"] == "REVOKED")
            for r in records
            if r.api["status"] in {"REVOKED", "REVOKING", "CANCLEREVOKING"}
        }
    if view == "certificates_unpassed":
        return {(r.api["id"],) for r in records if r.api["status"] == "UNPASSED"}
    if view == "certificate_status_summary":
        counts: dict[tuple[str, str, str], int] = {}
        for r in records:
            key = (r.api["status"], r.api["brand"], r.api["type"])
            counts[key] = counts.get(key, 0) + 1
        return {(*key, count) for key, count in counts.items()}
    if view == "certificate_domains":
        return {
            (r.api["id"], name, name.startswith("*.")) for r in records for name in names_of(r.api)
        }
    assert view == "domain_coverage"
    hosts = {name for r in records for name in names_of(r.api)}
    rows = set()
    for host in hosts:
        covering = [r for r in valid_unexpired if any(covers(n, host) for n in names_of(r.api))]
        latest = max((r.expires_at for r in covering), default=None)
        at_risk = latest is None or latest <= now + days * DAY
        rows.add((host, host.startswith("*."), latest, len(covering), at_risk))
    return rows


def coverage_by_name(per_account: set[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """domain_coverage's rows (account, name, is_wildcard, latest, count, at_risk) rolled up."""
    by_name: dict[tuple[str, bool], list[tuple[Any, ...]]] = {}
    for row in per_account:
        by_name.setdefault((row[1], row[2]), []).append(row)
    return {
        (
            name,
            wildcard,
            len(rows),
            sum(row[5] for row in rows),
            min((row[3] for row in rows if row[3] is not None), default=None),
            any(row[5] for row in rows),
        )
        for (name, wildcard), rows in by_name.items()
    }


COLUMNS = {
    "certificates_expiring": "account, id, days_left, expiry_bucket",
    "certificates_expired": "account, id, days_since_expiry, status_still_valid",
    "certificates_revoked": "account, id, revocation_final",
    "certificates_unpassed": "account, id",
    "certificate_status_summary": "account, status, brand, type, certificates",
    "certificate_domains": "account, certificate_id, name, is_wildcard",
    "domain_coverage": (
        "account, name, is_wildcard, cover_expires_at, covering_certificates, at_risk"
    ),
    "sync_status": "account, resource, last_outcome",
    "domain_coverage_by_name": (
        "name, is_wildcard, accounts, accounts_at_risk, soonest_cover_expires_at, at_risk"
    ),
}


def view_rows(pipeline: Any, view: str) -> set[tuple[Any, ...]]:
    rows = query(pipeline, f"SELECT {COLUMNS[view]} FROM {pipeline.dataset_name}.{view}")
    return {tuple(row.values()) for row in rows}


def check(pipeline: Any, datasets: Datasets, view: str, days: int) -> None:
    """Views run at query time: the answer must match `now` taken just before or just after."""
    before = datetime.now(timezone.utc)
    got = view_rows(pipeline, view)
    after = datetime.now(timezone.utc)
    assert got in (expected(datasets, view, before, days), expected(datasets, view, after, days))


def load_accounts(datasets: Datasets, tmp_path: Path, warehouse: Warehouse) -> Any:
    """Every account behind one simulated endpoint, each with its own token, in one run."""
    tokens = {alias: f"{alias}-token-0123456789abcdef0123456789" for alias in datasets}
    serving = {tokens[alias]: dataset for alias, dataset in datasets.items()}
    with Simulator(next(iter(datasets.values())), accounts=serving) as simulator:
        configured = [
            {"alias": alias, "endpoint": simulator.url, "credentials": {"auth_token": token}}
            for alias, token in tokens.items()
        ]
        return load_source(
            scm_source(accounts=configured), tmp_path, warehouse.destination, warehouse.dataset_name
        )


SHARED = "Shared.Example.org"  # named in alpha (covered) and in beta (expired)


def three_accounts() -> Datasets:
    """Three inventories. A host name alpha covers is also named by an expired certificate of
    beta (so beta has it uncovered), and one of gamma's certificates has no domain, only sans."""
    datasets = {
        alias: Dataset.generate(certificates=150, csrs=2, seed=21 + n)
        for n, alias in enumerate(("alpha", "beta", "gamma"))
    }
    now = datasets["alpha"].now
    covered = next(
        r
        for r in listed(datasets["alpha"])
        if r.api["status"] == "ISSUED" and r.expires_at > now + 120 * DAY and r.api["domain"]
    )
    stale = next(r for r in listed(datasets["beta"]) if r.api["status"] == "EXPIRED")
    covered.api["domain"] = stale.api["domain"] = SHARED
    orphan = next(r for r in listed(datasets["gamma"]) if r.api["status"] == "ISSUED")
    orphan.api.update(domain=None, sans="no-domain.example.com;www.no-domain.example.com")
    for dataset in datasets.values():
        dataset.invalidate()
    return datasets


@pytest.fixture(scope="module")
def view_datasets() -> Datasets:
    return three_accounts()


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def loaded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    view_datasets: Datasets,
) -> Iterator[Any]:
    """The three accounts loaded once per destination: the tests below only read them."""
    folder = tmp_path_factory.mktemp("views")
    with warehouse_of(request.param, folder) as warehouse:
        yield load_accounts(view_datasets, folder, warehouse)


@pytest.mark.parametrize("view", list(COLUMNS))
def test_each_view_returns_exactly_the_expected_rows(
    view_datasets: Datasets, loaded: Any, view: str
) -> None:
    assert expected(view_datasets, view, datetime.now(timezone.utc), 30), (
        "the data must exercise the view"
    )
    check(loaded, view_datasets, view, 30)


def test_a_name_covered_in_one_account_is_not_covered_in_another_and_no_domain_keeps_its_sans(
    view_datasets: Datasets, loaded: Any
) -> None:
    pipeline = loaded
    shared = SHARED.lower()
    coverage = {
        row["account"]: (row["covering_certificates"], row["at_risk"])
        for row in query(
            pipeline,
            f"SELECT account, covering_certificates, at_risk"
            f" FROM {pipeline.dataset_name}.domain_coverage WHERE name = '{shared}'",
        )
    }
    assert coverage["alpha"][0] >= 1 and coverage["alpha"][1] is False
    assert coverage["beta"] == (0, True)
    rollup = query(
        pipeline,
        f"SELECT accounts, accounts_at_risk, at_risk"
        f" FROM {pipeline.dataset_name}.domain_coverage_by_name WHERE name = '{shared}'",
    )
    assert rollup == [{"accounts": 2, "accounts_at_risk": 1, "at_risk": True}]
    names = query(
        pipeline,
        f"SELECT name FROM {pipeline.dataset_name}.certificate_domains"
        " WHERE account = 'gamma' AND name LIKE '%no-domain.example.com' ORDER BY name",
    )
    assert names == [{"name": "no-domain.example.com"}, {"name": "www.no-domain.example.com"}]


def test_the_threshold_is_set_at_install(
    view_datasets: Datasets, tmp_path: Path, warehouse: Warehouse
) -> None:
    pipeline = load_accounts(view_datasets, tmp_path, warehouse)
    install_views(pipeline, expiring_within_days=120)
    buckets = {row[3] for row in view_rows(pipeline, "certificates_expiring")}
    assert {"within 7 days", "within 90 days", "beyond 90 days"} <= buckets
    check(pipeline, view_datasets, "certificates_expiring", 120)
    check(pipeline, view_datasets, "domain_coverage", 120)


def wildcard_dataset() -> Dataset:
    """*.a.com (valid) beside certificates naming a.com, x.a.com and y.x.a.com (all expired)."""
    dataset = Dataset.generate(certificates=4, csrs=1, seed=1)
    names = ["*.a.com", "a.com", "X.a.com", "y.x.a.com"]
    for record, name in zip(dataset.certificates, names, strict=True):
        valid = name == "*.a.com"
        record.owned_by_self = True
        record.expires_at = dataset.now + (200 * DAY if valid else -DAY)
        record.api.update(
            domain=name,
            sans="",
            status="ISSUED" if valid else "EXPIRED",
            expire_time=dataset.format_expire_time(record.expires_at),
        )
    return dataset


def test_a_wildcard_covers_exactly_one_label(tmp_path: Path, warehouse: Warehouse) -> None:
    dataset = wildcard_dataset()
    with Simulator(dataset) as simulator:
        pipeline = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)
    rows = {
        row["name"]: row
        for row in query(
            pipeline,
            f"SELECT name, covering_certificates, at_risk FROM {warehouse.dataset_name}.domain_coverage",
        )
    }
    assert {name: (row["covering_certificates"], row["at_risk"]) for name, row in rows.items()} == {
        "*.a.com": (1, False),
        "x.a.com": (1, False),  # lower-cased, and covered by *.a.com
        "a.com": (0, True),
        "y.x.a.com": (0, True),
    }
    check(pipeline, {"default": dataset}, "domain_coverage", 30)


def test_rendering_for_bigquery_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """A BigQuery run's stderr stays its one line: sqlglot's warning about NULLS LAST in an
    ordered aggregate (ours order by values never NULL) is not passed on."""
    with caplog.at_level(logging.DEBUG, logger="sqlglot"):
        for view in views():
            render_select(view, "bigquery", lambda name: [name], 30)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("view", [view.name for view in views()])
def test_bigquery_sql_parses_and_matches_its_reviewed_snapshot(view: str) -> None:
    """Regenerate with SCM_UPDATE_SNAPSHOTS=1 after a reviewed change to sql/."""
    chosen = next(v for v in views() if v.name == view)
    sql = render_create(chosen, "bigquery", lambda name: ["my-project", "scm", name], 30) + "\n"
    sqlglot.parse_one(sql, read="bigquery")
    snapshot = SNAPSHOTS / f"{view}.sql"
    if os.environ.get("SCM_UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(sql)
    assert sql == snapshot.read_text()
    assert "UNIX_SECONDS" in sql or "EPOCH" not in sql.upper()
    assert "`my-project`.`scm`." in sql


# dlt's BigQuery types of our declared columns, and the columns dlt adds.
GOOGLESQL_TYPES = {
    "text": "TYPE_STRING",
    "bool": "TYPE_BOOL",
    "bigint": "TYPE_INT64",
    "timestamp": "TYPE_TIMESTAMP",
}
DLT_COLUMNS = {"_dlt_load_id": "text", "_dlt_id": "text"}
VALIDITY_COLUMNS = {"valid_from": "timestamp", "valid_to": "timestamp"}


def loaded_tables() -> dict[str, dict[str, str]]:
    """Every table a load writes, by column and declared type."""

    def typed(columns: Any) -> dict[str, str]:
        return {name: column["data_type"] for name, column in columns.items()}

    tables = {
        SYNC_LOG: {**typed(SYNC_LOG_COLUMNS), **DLT_COLUMNS},
        POLICY_TABLE: {**typed(POLICY_COLUMNS), **DLT_COLUMNS},
    }
    for each in OBJECTS:
        for table in each.tables:
            tables[table.name] = {**typed(table.columns), **DLT_COLUMNS}
            if table.history is not None:
                tables[table.history] = {
                    **typed(table.columns),
                    **VALIDITY_COLUMNS,
                    **DLT_COLUMNS,
                }
    return tables


class CachedCompilation(wasmtime.Config):
    """wasmtime's configuration with its compilation cache on (~/.cache/wasmtime): compiling
    ZetaSQL's WebAssembly takes 40 s of CPU, loading it compiled half a second."""

    def __init__(self) -> None:
        super().__init__()
        self.cache = True


def test_googlesqls_analyzer_resolves_every_bigquery_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """ZetaSQL is the analyzer BigQuery's GoogleSQL is built on: each view's BigQuery SQL must
    resolve (names, functions, types) against the loaded tables and the views before it."""
    wasm_client = pytest.importorskip("zetasql.core.wasm_client")
    monkeypatch.setattr(wasm_client, "Config", CachedCompilation)
    zetasql_api = pytest.importorskip("zetasql.api")
    from zetasql.types import (
        AnalyzerOptions,
        LanguageOptions,
        TypeKind,
        ZetaSQLBuiltinFunctionOptions,
    )

    language = LanguageOptions.maximum_features()
    tables: dict[str, dict[str, Any]] = {
        name: {column: getattr(TypeKind, GOOGLESQL_TYPES[kind]) for column, kind in columns.items()}
        for name, columns in loaded_tables().items()
    }

    def analyze(sql: str) -> Any:
        catalog = zetasql_api.CatalogBuilder("bigquery")
        for name, columns in tables.items():
            table = zetasql_api.TableBuilder(name)
            for column, kind in columns.items():
                table = table.add_column(column, kind)
            catalog = catalog.add_table(table.build())
        functions = ZetaSQLBuiltinFunctionOptions(language_options=language)
        analyzer = zetasql_api.Analyzer(
            AnalyzerOptions(language_options=language),
            catalog.with_builtin_functions(functions).build(),
        )
        return analyzer.analyze_statement(sql)

    for view in views():
        resolved = analyze(render_select(view, "bigquery", lambda name: [name], 30))
        tables[view.name] = {
            column.name: column.column.type.type_kind for column in resolved.output_column_list
        }
    assert set(tables) >= {view.name for view in views()}
    # Without the rewrite in destinations.py, DuckDB's EPOCH reaches BigQuery and is refused.
    expiring = next(view for view in views() if view.name == "certificates_expiring")
    sql = render_select(expiring, "bigquery", lambda name: [name], 30)
    with pytest.raises(Exception, match="Function not found: EPOCH"):
        analyze(sql.replace("UNIX_SECONDS(", "EPOCH("))
    assert tables["certificates_expiring"]["days_left"] == TypeKind.TYPE_INT64
    assert tables["certificates_expiring"]["expire_time"] == TypeKind.TYPE_TIMESTAMP
