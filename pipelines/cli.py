"""`scm-export`: run, demo and simulate. Every failure is one line on stderr and a non-zero exit.

Exit codes: 0 success, 1 the API or the destination failed, 2 a setting or argument is wrong.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dlt
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.destination import Destination
from rich.console import Console

from pipelines.report import collect, print_text, write_html
from pipelines.runner import (
    DATASET_NAME,
    PIPELINE_NAME,
    last_sync,
    load,
    make_pipeline,
)
from scm_source import ScmAccountsFailed, ScmConfigError, ScmError, scm_source
from scm_source.simulator import DEFAULT_TOKEN, Dataset, Simulator, SimulatorOptions
from scm_source.sync import LOADED
from scm_source.views import DEFAULT_EXPIRING_WITHIN_DAYS, install_views, validate_days

RESOURCES = ("certificates", "csr_list")
EXIT_FAILED, EXIT_USAGE = 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:  # our own INFO lines, not every library's
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("scm_source").setLevel(logging.INFO)
    try:
        command: Callable[[argparse.Namespace], int] = args.command
        return command(args)
    except KeyboardInterrupt:
        print("scm-export: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place a failure becomes a line
        return _report_failure(exc)


def _report_failure(exc: BaseException) -> int:
    """Finds the most telling error in dlt's wrapping and prints its first line."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    ours = next((error for error in chain if isinstance(error, ScmError)), None)
    config = next((error for error in chain if isinstance(error, ConfigurationException)), None)
    shown = ours or config or chain[-1]
    line = (str(shown).strip().splitlines() or [type(shown).__name__])[0]
    print(f"scm-export: error: {line}", file=sys.stderr)
    logging.getLogger(__name__).debug("failure", exc_info=exc)
    usage = isinstance(ours, ScmConfigError) or (ours is None and config is not None)
    return EXIT_USAGE if usage else EXIT_FAILED


# -- commands -------------------------------------------------------------------------------------


def run_command(args: argparse.Namespace) -> int:
    validate_days(args.expiring_within_days)
    destination = _destination(args.destination)
    if args.endpoint and dlt.config.get("sources.scm_source.accounts"):
        raise ScmConfigError(
            "--endpoint sets the endpoint of a single account, but accounts are configured:"
            " set each account's endpoint in [sources.scm_source.<alias>] instead"
        )
    overrides = {"endpoint": args.endpoint} if args.endpoint else {}
    source = scm_source(**overrides).with_resources(*_resources(args.resources))
    pipeline = make_pipeline(args.pipeline_name, destination, args.dataset_name)
    return _load_and_summarise(pipeline, source, args.expiring_within_days)


def views_command(args: argparse.Namespace) -> int:
    pipeline = _existing_pipeline(args)
    installed = install_views(pipeline, args.expiring_within_days)
    print(f"Installed {len(installed)} views in {pipeline.dataset_name}: {', '.join(installed)}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    path = Path(args.html).resolve() if args.html else None
    if path and not path.parent.is_dir():
        raise ScmConfigError(f"cannot write {path}: the folder does not exist")
    report = collect(_existing_pipeline(args), args.days)
    if path:
        write_html(report, path)
        print(f"Report written to {path}")
    else:
        print_text(report, Console(width=max(120, shutil.get_terminal_size().columns)))
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """Everything a newcomer needs to see the product work: no account, no config. The data is
    generated around today's midnight, so a rerun the same day finds nothing changed."""
    midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    dataset = Dataset.generate(
        certificates=args.certificates, csrs=args.csrs, seed=args.seed, now=midnight
    )
    options = SimulatorOptions(latency_seconds=args.latency_ms / 1000)
    duckdb_file = Path(args.duckdb_file).resolve()
    with Simulator(dataset, options) as simulator:
        print(
            f"Simulator serving {len(dataset.certificates)} certificates and"
            f" {len(dataset.csrs)} CSRs at {simulator.url}"
        )
        source = scm_source(credentials={"auth_token": simulator.token}, endpoint=simulator.url)
        pipeline = make_pipeline(
            "scm_demo", dlt.destinations.duckdb(str(duckdb_file)), DATASET_NAME
        )
        code = _load_and_summarise(pipeline, source, DEFAULT_EXPIRING_WITHIN_DAYS)
    with pipeline.sql_client() as client:
        statuses = client.execute_sql(
            f"SELECT status, count(*) FROM {DATASET_NAME}.certificates GROUP BY 1 ORDER BY 2 DESC"
        )
    print("Certificates by status: " + ", ".join(f"{status} {count}" for status, count in statuses))
    print_text(collect(pipeline, DEFAULT_EXPIRING_WITHIN_DAYS), Console(width=120), limit=5)
    print(f"DuckDB file: {duckdb_file}")
    print("Full report: scm-export report --pipeline-name scm_demo [--html report.html]")
    return code


def simulate_command(args: argparse.Namespace) -> int:
    dataset = Dataset.generate(certificates=args.certificates, csrs=args.csrs, seed=args.seed)
    options = SimulatorOptions(
        tokens=frozenset({args.token}),
        offset_mode=args.offset_mode,
        latency_seconds=args.latency_ms / 1000,
    )
    simulator = Simulator(dataset, options, port=args.port)
    print(
        f"SCM simulator at {simulator.url} ({len(dataset.certificates)} certificates,"
        f" {len(dataset.csrs)} CSRs, offset counts {args.offset_mode}s)"
    )
    print(
        f"Point a run at it:\n  SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN={args.token}"
        f" scm-export run --endpoint {simulator.url}\nBetween runs, change statuses, add and"
        f" delete certificates, rename CSRs:\n  curl -X POST '{simulator.url}/simulator/churn"
        "?count=10&seed=1'\nCtrl-C stops it.",
        flush=True,
    )
    try:
        simulator.serve_forever()
    finally:
        simulator.stop()
    return 0


# -- helpers --------------------------------------------------------------------------------------


def _load_and_summarise(pipeline: dlt.Pipeline, source: Any, expiring_within_days: int) -> int:
    """Loads, prints what each account's lists gave, and fails naming any account that did not
    load (after the others did)."""
    started = time.perf_counter()
    failure: ScmAccountsFailed | None = None
    try:
        load(pipeline, source, expiring_within_days)
    except ScmAccountsFailed as failed:
        failure = failed
    elapsed = time.perf_counter() - started
    print(
        f"Loaded into {pipeline.destination.destination_name} dataset {pipeline.dataset_name}"
        f" in {elapsed:.1f} s:"
    )
    entries = last_sync(pipeline, source)
    for entry in entries:
        where = f"  {entry['account']:<12}{entry['resource']:<14}"
        if entry["outcome"] != LOADED:
            print(f"{where}  FAILED: {entry['error']}")
            continue
        mode = entry["offset_mode"]
        offsets = f"offset counts {mode}s" if mode in ("record", "page") else "a single page"
        print(
            f"{where}{entry['rows']:>8} rows  (API total {entry['api_total']},"
            f" requests: {entry['pages']}, retries: {entry['retries']}, {offsets})"
        )
    if failure is not None:
        raise failure
    return 0


def _existing_pipeline(args: argparse.Namespace) -> dlt.Pipeline:
    """The pipeline a load made, its schema restored from the destination when not local."""
    pipeline = make_pipeline(args.pipeline_name, _destination(args.destination), args.dataset_name)
    if not pipeline.default_schema_name:
        pipeline.sync_destination()
    if not pipeline.default_schema_name:
        raise ScmConfigError(
            f"no load found for pipeline {args.pipeline_name!r} in dataset {args.dataset_name!r}:"
            " run `scm-export run` first (or pass the --pipeline-name/--dataset-name it used)"
        )
    return pipeline


def _destination(name: str) -> Destination[Any, Any]:
    try:
        return Destination.from_reference(name)
    except Exception:  # noqa: BLE001 - dlt raises several kinds for an unknown name
        raise ScmConfigError(
            f"unknown destination {name!r}: use duckdb, postgres or bigquery (pip install"
            " 'dlt[bigquery]' for BigQuery)"
        ) from None


def _resources(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(RESOURCES))
    if unknown or not names:
        raise ScmConfigError(
            f"--resources {value!r}: unknown {', '.join(unknown) or 'empty list'};"
            f" choose from {', '.join(RESOURCES)}"
        )
    return names


class _Parser(argparse.ArgumentParser):
    """argparse's own errors, but in our one-line form."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_USAGE, f"scm-export: error: {message} (see scm-export --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scm-export", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(required=True, metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser("run", help="load SCM into the destination using dlt config")
    _add_pipeline_arguments(run)
    run.add_argument("--endpoint", help="SCM base URL (default from config)")
    run.add_argument("--resources", default=",".join(RESOURCES), help="comma-separated subset")
    _add_threshold_argument(run)
    run.set_defaults(command=run_command)

    install = commands.add_parser("views", help="(re)install the SQL views in the dataset")
    _add_pipeline_arguments(install)
    _add_threshold_argument(install)
    install.set_defaults(command=views_command)

    report = commands.add_parser("report", help="print or write the certificate report")
    _add_pipeline_arguments(report)
    report.add_argument("--days", type=int, default=DEFAULT_EXPIRING_WITHIN_DAYS,
                        help="expiring threshold in days (default 30)")  # fmt: skip
    report.add_argument("--html", metavar="FILE", help="write one self-contained HTML page")
    report.set_defaults(command=report_command)

    demo = commands.add_parser("demo", help="load from a local simulator into a DuckDB file")
    _add_dataset_arguments(demo, certificates=2000, csrs=500)
    demo.add_argument("--duckdb-file", default="scm_demo.duckdb")
    demo.set_defaults(command=demo_command)

    simulate = commands.add_parser("simulate", help="serve a simulated SCM on loopback")
    _add_dataset_arguments(simulate, certificates=250, csrs=120)
    simulate.add_argument("--port", type=int, default=8080)
    simulate.add_argument("--token", default=DEFAULT_TOKEN)
    simulate.add_argument("--offset-mode", choices=("record", "page"), default="record")
    simulate.set_defaults(command=simulate_command)
    return parser


def _add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--destination", default="duckdb", help="duckdb (default), postgres, bigquery"
    )
    parser.add_argument("--dataset-name", default=DATASET_NAME)
    parser.add_argument("--pipeline-name", default=PIPELINE_NAME)


def _add_threshold_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--expiring-within-days",
        type=int,
        default=DEFAULT_EXPIRING_WITHIN_DAYS,
        help="threshold of certificates_expiring and domain_coverage (default 30)",
    )


def _add_dataset_arguments(parser: argparse.ArgumentParser, certificates: int, csrs: int) -> None:
    parser.add_argument("--certificates", type=int, default=certificates)
    parser.add_argument("--csrs", type=int, default=csrs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="per-request latency")


if __name__ == "__main__":
    sys.exit(main())
