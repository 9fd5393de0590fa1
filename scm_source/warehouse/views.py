"""The SQL views in `sql/`: written once in DuckDB's dialect, translated by sqlglot to the
destination's, schema-qualified, and installed in dependency order.

Two placeholders are filled at render time: `:expiring_within_days` (a number) and
`:valid_statuses` (the statuses under which a certificate is usable, from
objects/certificates.py). sqlglot leaves two functions untranslated, so they are rewritten here:
DuckDB's STRING_SPLIT is STRING_TO_ARRAY in PostgreSQL, and EPOCH is UNIX_SECONDS in BigQuery.

Two more rewrites make every view answer for what a dataset holds:
- a table a load has not written yet (a run that left an object out) reads as an empty table of
  its declared columns, and the expiry policy as its defaults, so every view installs once the
  dataset has certificates;
- every table of accounts leaves out the accounts `scm-export forget` retired (the view
  `forgotten_accounts`), so no view shows them; their rows and history stay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import dlt
import sqlglot
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.destinations.sql_client import SqlClientBase
from sqlglot import exp

from scm_source.config.values import is_whole_number
from scm_source.errors import ScmConfigError
from scm_source.extract.sync import SYNC_LOG_COLUMNS
from scm_source.extract.tables import SYNC_LOG
from scm_source.objects.certificates import CERTIFICATES, VALID_STATUSES
from scm_source.objects.kinds import table_names
from scm_source.objects.registry import OBJECTS
from scm_source.warehouse.destinations import rewrite_functions, traits_for_dialect
from scm_source.warehouse.policy import POLICY_COLUMNS, POLICY_TABLE, ExpiryPolicy

SOURCE_DIALECT = "duckdb"
DEFAULT_EXPIRING_WITHIN_DAYS = 30
FORGOTTEN_ACCOUNTS = "forgotten_accounts"
# The tables a view may read as empty when a load has not written them: snapshots and the log.
DECLARED_COLUMNS: dict[str, TTableSchemaColumns] = {
    SYNC_LOG: SYNC_LOG_COLUMNS,
    POLICY_TABLE: POLICY_COLUMNS,
    **{table.name: table.columns for each in OBJECTS for table in each.tables},
}
LOADED_TABLES = frozenset(
    {SYNC_LOG, POLICY_TABLE, *(name for each in OBJECTS for name in table_names(each))}
)
_SQL_TYPES = {"text": "VARCHAR", "bigint": "BIGINT", "bool": "BOOLEAN", "timestamp": "TIMESTAMPTZ"}


class _OrderedAggregatesAreNotNull(logging.Filter):
    """sqlglot warns, on every BigQuery rendering, that it cannot carry DuckDB's NULLS LAST into
    `STRING_AGG(... ORDER BY ...)`. Our views order those aggregates by values that are never
    NULL (service names, list names), so the order is the same: the warning would only reach a
    BigQuery run's stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "'NULLS LAST' translation not supported" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_OrderedAggregatesAreNotNull())
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
            frozenset(t.name for t in select.find_all(exp.Table)) & parsed.keys()
            | ({FORGOTTEN_ACCOUNTS} - {name}),
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


def render_select(
    view: View,
    dialect: str,
    qualify: Qualifier,
    expiring_within_days: int,
    present: frozenset[str] = LOADED_TABLES,
) -> str:
    """The view's query in `dialect`, with its tables qualified and its placeholders filled;
    the loaded tables not `present` read as empty."""
    return _rewritten(view, dialect, qualify, expiring_within_days, present).sql(
        dialect=dialect, pretty=True, comments=False
    )


def _rewritten(
    view: View,
    dialect: str,
    qualify: Qualifier,
    expiring_within_days: int,
    present: frozenset[str] = LOADED_TABLES,
) -> exp.Expr:
    """The view's query with its tables qualified (or stood in for, or with forgotten accounts
    left out), its placeholders filled and the functions sqlglot leaves untranslated named as
    `dialect` has them."""
    known = LOADED_TABLES | {other.name for other in views()}
    ctes = {cte.alias for cte in view.select.find_all(exp.CTE)}

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and node.name in known - ctes and not node.args.get("db"):
            return _source_of(node, view.name, qualify, present)
        if isinstance(node, exp.Placeholder) and node.name == "expiring_within_days":
            return exp.Literal.number(expiring_within_days)
        if isinstance(node, exp.In) and _has_placeholder(node, "valid_statuses"):
            return exp.In(
                this=node.this, expressions=[exp.Literal.string(s) for s in VALID_STATUSES]
            )
        return rewrite_functions(node, dialect)

    return view.select.copy().transform(rewrite)


def _source_of(
    table: exp.Table, reader: str, qualify: Qualifier, present: frozenset[str]
) -> exp.Expr:
    """What a view reads for `table`: the loaded table, without forgotten accounts; an empty
    stand-in for one not loaded yet; a view as it is."""
    alias = table.alias or table.name
    if table.name in DECLARED_COLUMNS and table.name not in present:
        return exp.paren(_stand_in(table.name)).as_(alias)
    # A view, the policy (of no account), or the sync log that names the forgotten: as it is.
    if table.name not in LOADED_TABLES - {POLICY_TABLE} or reader == FORGOTTEN_ACCOUNTS:
        return _table(qualify(table.name), table.alias)
    forgotten = exp.select("account").from_(_table(qualify(FORGOTTEN_ACCOUNTS)))
    kept = (
        exp.select("*")
        .from_(_table(qualify(table.name)))
        .where(exp.not_(exp.column("account").isin(query=forgotten)))
    )
    return exp.paren(kept).as_(alias)


def _stand_in(name: str) -> exp.Query:
    """An empty table of `name`'s declared columns; the expiry policy's defaults for it."""
    declared = DECLARED_COLUMNS[name]
    if name == POLICY_TABLE:
        rows = [_typed_row(declared, row) for row in ExpiryPolicy().rows()]
        union: exp.Query = rows[0]
        for row in rows[1:]:
            union = exp.union(union, row, distinct=False)
        return union
    return _typed_row(declared, {}).limit(0)


def _typed_row(declared: TTableSchemaColumns, row: dict[str, Any]) -> exp.Select:
    """SELECT of `row`'s values (NULL where it has none) cast to the declared columns' types."""
    return exp.select(
        *(
            exp.cast(_literal(row.get(name)), _SQL_TYPES[str(column.get("data_type"))]).as_(name)
            for name, column in declared.items()
        )
    )


def _literal(value: Any) -> exp.Expr:
    if value is None:
        return exp.null()
    return exp.Literal.number(value) if isinstance(value, int) else exp.Literal.string(value)


def render_create(
    view: View,
    dialect: str,
    qualify: Qualifier,
    expiring_within_days: int,
    present: frozenset[str] = LOADED_TABLES,
) -> str:
    target = _table(qualify(view.name)).sql(dialect=dialect)
    return f"CREATE OR REPLACE VIEW {target} AS\n" + render_select(
        view, dialect, qualify, expiring_within_days, present
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


def loaded_tables(pipeline: dlt.Pipeline) -> frozenset[str]:
    return frozenset(pipeline.default_schema.data_table_names(seen_data_only=True))


def installable(tables: frozenset[str]) -> tuple[View, ...]:
    """The views whose tables a dataset has or that read as empty (a history not written yet
    has no stand-in), each after the views it reads."""
    ready: dict[str, View] = {}
    for view in views():
        if view.reads - DECLARED_COLUMNS.keys() <= tables and view.depends_on <= ready.keys():
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


ViewSelect = Callable[[str, tuple[str, ...], str], list[tuple[Any, ...]]]


@contextmanager
def view_reader(pipeline: dlt.Pipeline) -> Iterator[ViewSelect]:
    """`select(view, columns, order_by)`: rows of a view's own SQL, rendered for the tables the
    dataset has, so what reads it cannot disagree with the installed view (the views it reads
    must be installed: every run installs them); every select on one connection."""
    by_name = {view.name: view for view in views()}
    present: frozenset[str] = (
        loaded_tables(pipeline) if pipeline.default_schema_name else frozenset()
    )
    with destination_sql(pipeline) as (client, dialect, qualify):
        if not client.has_dataset() or CERTIFICATES.name not in present:
            raise ScmConfigError(
                f"dataset {pipeline.dataset_name!r} has no certificates yet: run a load first"
            )
        for setting in traits_for_dialect(dialect).before_reading:
            client.execute_sql(setting)

        def select(view: str, columns: tuple[str, ...], order_by: str) -> list[tuple[Any, ...]]:
            inner = _rewritten(
                by_name[view], dialect, qualify, DEFAULT_EXPIRING_WITHIN_DAYS, present
            )
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
    present = loaded_tables(pipeline)
    chosen = installable(present)
    with destination_sql(pipeline) as (client, dialect, qualify):
        statements = [
            f"DROP VIEW IF EXISTS {_table(qualify(view.name)).sql(dialect=dialect)}"
            for view in reversed(views())
            if traits_for_dialect(dialect).drop_views_before_replace
        ] + [render_create(view, dialect, qualify, days, present) for view in chosen]
        if pipeline.destination.capabilities().supports_ddl_transactions:
            with client.begin_transaction():
                for statement in statements:
                    client.execute_sql(statement)
        else:
            for statement in statements:
                client.execute_sql(statement)
    return [view.name for view in chosen]
