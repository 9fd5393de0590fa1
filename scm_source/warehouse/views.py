"""The SQL views in `sql/`: written once in DuckDB's dialect, translated by sqlglot to the
destination's, schema-qualified, and installed in dependency order.

Two placeholders are filled at render time: `:expiring_within_days` (a number) and
`:valid_statuses` (the statuses under which a certificate is usable, from
objects/certificates.py). sqlglot
leaves two functions untranslated, so they are rewritten here: DuckDB's STRING_SPLIT is
STRING_TO_ARRAY in PostgreSQL, and EPOCH is UNIX_SECONDS in BigQuery.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import dlt
import sqlglot
from dlt.destinations.sql_client import SqlClientBase
from sqlglot import exp

from scm_source.config.values import is_whole_number
from scm_source.errors import ScmConfigError
from scm_source.extract.tables import SYNC_LOG
from scm_source.objects.certificates import CERTIFICATES, VALID_STATUSES
from scm_source.objects.kinds import table_names
from scm_source.objects.registry import OBJECTS
from scm_source.warehouse.destinations import rewrite_functions, traits_for_dialect

SOURCE_DIALECT = "duckdb"
DEFAULT_EXPIRING_WITHIN_DAYS = 30
OWNER_TAG = "owner"  # the tag key whose value names a certificate's owner
LOADED_TABLES = frozenset({SYNC_LOG, *(name for each in OBJECTS for name in table_names(each))})
# Table name -> its path in the destination ([catalog,] dataset, table).
Qualifier = Callable[[str], list[str]]


@dataclass(frozen=True)
class View:
    name: str
    select: exp.Expr
    depends_on: frozenset[str]  # the views it reads
    reads: frozenset[str]  # the loaded tables it reads


@cache
def views() -> tuple[View, ...]:
    """Every view in `sql/`, each after the views it reads."""
    parsed = {
        file.name.removesuffix(".sql"): sqlglot.parse_one(file.read_text(), read=SOURCE_DIALECT)
        for file in resources.files("scm_source.sql").iterdir()
        if file.name.endswith(".sql")
    }
    pending = {
        name: View(
            name,
            select,
            frozenset(t.name for t in select.find_all(exp.Table)) & parsed.keys(),
            frozenset(t.name for t in select.find_all(exp.Table)) & LOADED_TABLES,
        )
        for name, select in parsed.items()
    }
    ordered: list[View] = []
    while pending:
        ready = sorted(
            name
            for name, view in pending.items()
            if view.depends_on <= {done.name for done in ordered}
        )
        if not ready:
            raise ScmConfigError(f"sql/ views depend on each other in a cycle: {sorted(pending)}")
        ordered.extend(pending.pop(name) for name in ready)
    return tuple(ordered)


def render_select(view: View, dialect: str, qualify: Qualifier, expiring_within_days: int) -> str:
    """The view's query in `dialect`, with its tables qualified and its placeholders filled."""
    return _rewritten(view, dialect, qualify, expiring_within_days).sql(
        dialect=dialect, pretty=True, comments=False
    )


def _rewritten(view: View, dialect: str, qualify: Qualifier, expiring_within_days: int) -> exp.Expr:
    """The view's query with its tables qualified, its placeholders filled and the functions
    sqlglot leaves untranslated named as `dialect` has them."""
    known = LOADED_TABLES | {other.name for other in views()}
    ctes = {cte.alias for cte in view.select.find_all(exp.CTE)}

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and node.name in known - ctes and not node.args.get("db"):
            return _table(qualify(node.name), node.alias)
        if isinstance(node, exp.Placeholder) and node.name == "expiring_within_days":
            return exp.Literal.number(expiring_within_days)
        if isinstance(node, exp.Placeholder) and node.name == "owner_tag":
            return exp.Literal.string(OWNER_TAG)
        if isinstance(node, exp.In) and _has_placeholder(node, "valid_statuses"):
            return exp.In(
                this=node.this, expressions=[exp.Literal.string(s) for s in VALID_STATUSES]
            )
        return rewrite_functions(node, dialect)

    return view.select.copy().transform(rewrite)


def render_create(view: View, dialect: str, qualify: Qualifier, expiring_within_days: int) -> str:
    target = _table(qualify(view.name)).sql(dialect=dialect)
    return f"CREATE OR REPLACE VIEW {target} AS\n" + render_select(
        view, dialect, qualify, expiring_within_days
    )


def validate_days(days: int) -> int:
    if not is_whole_number(days, 1, 3650):
        raise ScmConfigError(
            f"expiring_within_days={days!r} must be a whole number of days, 1 to 3650"
        )
    return days


def _has_placeholder(node: exp.In, name: str) -> bool:
    return any(isinstance(e, exp.Placeholder) and e.name == name for e in node.expressions)


def _table(path: list[str], alias: str = "") -> exp.Expr:
    *prefix, name = path
    catalog, db = ([None, *prefix])[-2:] if prefix else (None, None)
    table = exp.Table(
        this=exp.to_identifier(name, quoted=True),
        db=exp.to_identifier(db, quoted=True) if db else None,
        catalog=exp.to_identifier(catalog, quoted=True) if catalog else None,
    )
    return exp.alias_(table, alias, table=True) if alias else table


def has_certificates(pipeline: dlt.Pipeline) -> bool:
    """Whether a load has put certificates in the dataset: what most views read."""
    return CERTIFICATES.name in loaded_tables(pipeline)


def loaded_tables(pipeline: dlt.Pipeline) -> set[str]:
    return set(pipeline.default_schema.data_table_names(seen_data_only=True))


def installable(tables: set[str]) -> tuple[View, ...]:
    """The views whose tables a dataset has (a run that loaded only some objects has only
    theirs), each after the views it reads."""
    ready: dict[str, View] = {}
    for view in views():
        if view.reads <= tables and view.depends_on <= ready.keys():
            ready[view.name] = view
    return tuple(ready.values())


@contextmanager
def destination_sql(pipeline: dlt.Pipeline) -> Iterator[tuple[SqlClientBase[Any], str, Qualifier]]:
    """The destination's SQL client, its sqlglot dialect, and how it names a table."""
    dialect = pipeline.destination.capabilities().sqlglot_dialect or SOURCE_DIALECT
    with pipeline.sql_client() as client:

        def qualify(name: str) -> list[str]:
            return client.make_qualified_table_name_path(name, quote=False)

        yield client, dialect, qualify


ViewSelect = Callable[[str, int, tuple[str, ...], str], list[tuple[Any, ...]]]


@contextmanager
def view_reader(pipeline: dlt.Pipeline) -> Iterator[ViewSelect]:
    """`select(view, threshold, columns, order_by)`: rows of a view's own SQL rendered with
    `threshold` (no reinstall needed for another one), so what reads it cannot disagree with the
    installed view; every select on one connection."""
    by_name = {view.name: view for view in views()}
    with destination_sql(pipeline) as (client, dialect, qualify):
        if not client.has_dataset():
            raise ScmConfigError(
                f"dataset {pipeline.dataset_name!r} does not exist: run a load first"
            )

        def select(
            view: str, threshold: int, columns: tuple[str, ...], order_by: str
        ) -> list[tuple[Any, ...]]:
            inner = _rewritten(by_name[view], dialect, qualify, threshold)
            outer = exp.select(*columns).from_(exp.paren(inner).as_("v")).order_by(order_by)
            sql = outer.sql(dialect=dialect, comments=False)
            return [tuple(row) for row in client.execute_sql(sql) or []]

        yield select


def install_views(
    pipeline: dlt.Pipeline, expiring_within_days: int = DEFAULT_EXPIRING_WITHIN_DAYS
) -> list[str]:
    """(Re)creates every view in the pipeline's dataset, in one transaction where the destination
    has DDL transactions. PostgreSQL cannot replace a view whose columns changed, so there the
    views are dropped first (dependents before what they read)."""
    days = validate_days(expiring_within_days)
    if not has_certificates(pipeline):
        raise ScmConfigError(
            f"dataset {pipeline.dataset_name!r} has no certificates table yet: run a load first"
        )
    chosen = installable(loaded_tables(pipeline))
    with destination_sql(pipeline) as (client, dialect, qualify):
        statements = [
            f"DROP VIEW IF EXISTS {_table(qualify(view.name)).sql(dialect=dialect)}"
            for view in reversed(views())
            if traits_for_dialect(dialect).drop_views_before_replace
        ] + [render_create(view, dialect, qualify, days) for view in chosen]
        if pipeline.destination.capabilities().supports_ddl_transactions:
            with client.begin_transaction():
                for statement in statements:
                    client.execute_sql(statement)
        else:
            for statement in statements:
                client.execute_sql(statement)
    return [view.name for view in chosen]
