"""What differs between the warehouses scm-export writes to, in one table: the file format rows
are loaded in, capabilities dlt leaves unset, the functions sqlglot does not translate, and
whether a view must be dropped before it is replaced. The views are written once in DuckDB's
dialect (sql/) and translated for each destination named here; the command accepts these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import dlt
from dlt.common.configuration import configspec
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.typing import TSecretStrValue
from dlt.destinations.impl.postgres.configuration import PostgresCredentials
from sqlglot import exp

from scm_source.extract.pipeline import destination_kind


@dataclass(frozen=True)
class DestinationTraits:
    dialect: str | None = None  # sqlglot's name of its SQL
    # Parquet where the destination loads it: DuckDB and BigQuery natively, PostgreSQL through
    # ADBC (adbc-driver-postgresql, its COPY BINARY), 1.8x faster than INSERT statements at 20,000
    # rows and keeping empty strings empty. Not dlt's CSV path for PostgreSQL: it COPYs with
    # FORCE_NULL on every nullable column, which turns the API's empty strings (`sans` = "") into
    # NULL. Elsewhere INSERT statements.
    loader_file_format: str = "insert_values"
    capabilities: Mapping[str, Any] = field(default_factory=dict)
    # sqlglot node -> the function the dialect has for it (sqlglot leaves these untranslated).
    functions: Mapping[type[exp.Expr], str] = field(default_factory=dict)
    # PostgreSQL cannot replace a view whose columns changed.
    drop_views_before_replace: bool = False
    # Run before the report and check read the views: reading wants other settings than loading.
    before_reading: tuple[str, ...] = ()


DESTINATIONS: dict[str, DestinationTraits] = {
    # dlt's DuckDB factory leaves `supports_transactions` unset, so a merge's DELETE and INSERT
    # commit one by one: a kill between them leaves the snapshot empty. Declared, each merge job
    # runs in one transaction, as it does on PostgreSQL. Its jobs load one after another: side
    # by side they share the memory bound (pipelines/target.py), and 220,000 rows (an
    # organization of 200 accounts) ran the 128 MB out, each refused job retried; one after
    # another, none is, and the load takes less time (3.8 s against 4.2 s there).
    # Reading the findings view takes more than the load's 96 MB bound: its hash tables, one
    # set per thread, peaked at 207 MB for a 2,000-certificate account (0 of 6 reads succeeded
    # at 96 MB with 2 threads, 6 of 6 at 160 MB); a read is small otherwise, and bounded here.
    "duckdb": DestinationTraits(
        "duckdb",
        "parquet",
        capabilities={"supports_transactions": True, "loader_parallelism_strategy": "sequential"},
        before_reading=("SET memory_limit = '1GB'",),
    ),
    "postgres": DestinationTraits(
        "postgres",
        "parquet",
        functions={exp.Split: "STRING_TO_ARRAY"},
        drop_views_before_replace=True,
    ),
    "bigquery": DestinationTraits(
        "bigquery", "parquet", functions={exp.TimeToUnix: "UNIX_SECONDS"}
    ),
}
# Another destination dlt supports: loaded as INSERT statements, views translated by sqlglot alone.
OTHER = DestinationTraits()


def traits_of(pipeline: dlt.Pipeline) -> DestinationTraits:
    return DESTINATIONS.get(destination_kind(pipeline) or "", OTHER)


def traits_for_dialect(dialect: str) -> DestinationTraits:
    """The traits of the destination whose SQL is `dialect`."""
    return next((each for each in DESTINATIONS.values() if each.dialect == dialect), OTHER)


def rewrite_functions(node: exp.Expr, dialect: str) -> exp.Expr:
    """`node` as the dialect's own function, where sqlglot leaves it untranslated."""
    name = traits_for_dialect(dialect).functions.get(type(node))
    if name is None:
        return node
    arguments = [node.this, *([node.expression] if node.expression is not None else [])]
    return exp.Anonymous(this=name, expressions=arguments)


POSTGRES_CREDENTIALS_SETTING = "destination.postgres.credentials"


@configspec(init=False)
class PasswordOptionalPostgresCredentials(PostgresCredentials):
    """Trust, peer and ~/.pgpass need no password in the DSN: libpq finds it or needs none."""

    # dlt's spec declares the password required; making it optional is this spec's purpose.
    password: TSecretStrValue | None = None  # type: ignore[assignment]


def configured_value(key: str) -> Any:
    """A setting as configured (a string, a mapping of fields), or None."""
    try:
        return dlt.secrets.get(key)
    except ConfigurationException:
        return None


def postgres_credentials(dsn: str) -> PostgresCredentials:
    """Credentials from a DSN, a password in it or not."""
    credentials = (
        PasswordOptionalPostgresCredentials()
        if urlsplit(dsn).password is None
        else PostgresCredentials()
    )
    credentials.parse_native_representation(dsn)
    credentials.resolve()
    return credentials


def accept_passwordless_postgres(pipeline: dlt.Pipeline) -> None:
    """A PostgreSQL pipeline whose configured DSN has no password (dlt's spec requires one) gets
    credentials that need none, as the command's do: library use and the Airflow DAG too."""
    if destination_kind(pipeline) != "postgres" or "credentials" in (
        pipeline.destination.config_params
    ):
        return
    configured = configured_value(POSTGRES_CREDENTIALS_SETTING)
    if isinstance(configured, str) and urlsplit(configured).password is None:
        pipeline.destination.config_params["credentials"] = postgres_credentials(configured)
