"""The views return exactly what a Python reading of their definitions computes from the
simulator's data, on DuckDB and on the real local PostgreSQL; BigQuery's SQL is a reviewed snapshot,
and GoogleSQL's own analyzer (ZetaSQL, another parser than sqlglot) resolves every view against
the tables as dlt types them in BigQuery."""

from __future__ import annotations

import math
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from scm_source.lists import LISTS
from scm_source.simulator import CertificateRecord, Dataset, Simulator
from scm_source.sync import SYNC_LOG_COLUMNS
from scm_source.tables import SYNC_LOG
from scm_source.views import install_views, render_create, render_select, views
from tests.conftest import Warehouse, query, run_load

VALID = {
    "ISSUED",
    "UPLOAD",
    "SUPPLEMENTCHECKING",
    "CANCELSUPPLEMENTING",
    "REVOKING",
    "CANCLEREVOKING",
}
SNAPSHOTS = Path(__file__).parent / "snapshots" / "bigquery"
DAY = timedelta(days=1)


def listed(dataset: Dataset) -> list[CertificateRecord]:
    return [record for record in dataset.certificates if record.owned_by_self]


def names_of(api: dict[str, Any]) -> set[str]:
    return {
        n.strip().lower() for n in [api["domain"], *(api["sans"] or "").split(";")] if n.strip()
    }


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


def expected(dataset: Dataset, view: str, now: datetime, days: int) -> set[tuple[Any, ...]]:
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


COLUMNS = {
    "certificates_expiring": "id, days_left, expiry_bucket",
    "certificates_expired": "id, days_since_expiry, status_still_valid",
    "certificates_revoked": "id, revocation_final",
    "certificates_unpassed": "id",
    "certificate_status_summary": "status, brand, type, certificates",
    "certificate_domains": "certificate_id, name, is_wildcard",
    "domain_coverage": "name, is_wildcard, cover_expires_at, covering_certificates, at_risk",
}


def view_rows(pipeline: Any, view: str) -> set[tuple[Any, ...]]:
    rows = query(pipeline, f"SELECT {COLUMNS[view]} FROM {pipeline.dataset_name}.{view}")
    return {tuple(row.values()) for row in rows}


def check(pipeline: Any, dataset: Dataset, view: str, days: int) -> None:
    """Views run at query time: the answer must match `now` taken just before or just after."""
    before = datetime.now(timezone.utc)
    got = view_rows(pipeline, view)
    after = datetime.now(timezone.utc)
    assert got in (expected(dataset, view, before, days), expected(dataset, view, after, days))


@pytest.fixture(scope="module")
def view_dataset() -> Dataset:
    return Dataset.generate(certificates=400, csrs=5, seed=21)


@pytest.mark.parametrize("view", list(COLUMNS))
def test_each_view_returns_exactly_the_expected_rows(
    view_dataset: Dataset, tmp_path: Path, warehouse: Warehouse, view: str
) -> None:
    with Simulator(view_dataset) as simulator:
        pipeline = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)
    assert expected(view_dataset, view, datetime.now(timezone.utc), 30), (
        "the data must exercise the view"
    )
    check(pipeline, view_dataset, view, 30)


def test_the_threshold_is_set_at_install(
    view_dataset: Dataset, tmp_path: Path, warehouse: Warehouse
) -> None:
    with Simulator(view_dataset) as simulator:
        pipeline = run_load(simulator, tmp_path, warehouse.destination, warehouse.dataset_name)
    install_views(pipeline, expiring_within_days=120)
    buckets = {row[2] for row in view_rows(pipeline, "certificates_expiring")}
    assert {"within 7 days", "within 90 days", "beyond 90 days"} <= buckets
    check(pipeline, view_dataset, "certificates_expiring", 120)
    check(pipeline, view_dataset, "domain_coverage", 120)


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
    check(pipeline, dataset, "domain_coverage", 30)


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

    tables = {SYNC_LOG: {**typed(SYNC_LOG_COLUMNS), **DLT_COLUMNS}}
    for scm_list in LISTS:
        tables[scm_list.name] = {**typed(scm_list.columns), **DLT_COLUMNS}
        tables[scm_list.history] = {**typed(scm_list.columns), **VALIDITY_COLUMNS, **DLT_COLUMNS}
    return tables


def test_googlesqls_analyzer_resolves_every_bigquery_view() -> None:
    """ZetaSQL is the analyzer BigQuery's GoogleSQL is built on: each view's BigQuery SQL must
    resolve (names, functions, types) against the loaded tables and the views before it."""
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
