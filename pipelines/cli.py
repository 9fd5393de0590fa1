"""`scm-export`: run, demo and simulate. Every failure is one line on stderr and a non-zero exit.

Exit codes: 0 success, 1 the API or the destination failed, 2 a setting or argument is wrong.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dlt
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.providers.toml import TomlProviderReadException
from dlt.common.pipeline import get_dlt_pipelines_dir
from rich.console import Console

from scm_source import ScmAccountsFailed, ScmConfigError, ScmError, load, scm_source
from scm_source.auth.credentials import ScmCredentials
from scm_source.extract.pipeline import destination_kind
from scm_source.extract.sync import FAILED, LOADED, SKIPPED
from scm_source.http.deadlines import stop_every_exchange
from scm_source.objects.registry import OBJECT_NAMES
from scm_source.paging.pages import DOCS_MAX_OFFSET, MAX_TOTAL
from scm_source.simulator import DEFAULT_TOKEN, Dataset, Simulator, SimulatorOptions
from scm_source.warehouse.finish import last_sync, run_lock
from scm_source.warehouse.policy import POLICY_TABLE
from scm_source.warehouse.views import DEFAULT_EXPIRING_WITHIN_DAYS, install_views, validate_days

from . import check as checks
from . import notify
from .forget import forget
from .report import collect, print_text, write_html
from .target import (
    DATASET_NAME,
    DESTINATIONS,
    PIPELINE_NAME,
    destination,
    duckdb_file,
    make_pipeline,
)

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
DEMO_PIPELINE = "scm_demo"
_PIPELINE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_DATASET_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.verbose:
        os.environ["RUNTIME__LOG_LEVEL"] = "DEBUG"
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    signal.signal(signal.SIGINT, _interrupted)
    try:
        command: Callable[[argparse.Namespace], int] = args.command
        return command(args)
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        return _report_failure(exc)


def _interrupted(signum: int, frame: Any) -> None:
    """Ctrl-C: every exchange under way is cut off and none starts after, so the run's threads
    end at once; dlt's logger and ours, which would tell of them winding down, say nothing more.
    Nothing half-loaded: merges are transactions."""
    for name in ("dlt", "scm_source"):
        logging.getLogger(name).addFilter(lambda record: False)
    stop_every_exchange()
    raise KeyboardInterrupt


def _report_failure(exc: BaseException) -> int:
    """Finds the most telling error in dlt's wrapping and prints its first line."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    logging.getLogger(__name__).debug("failure", exc_info=exc)
    if any(isinstance(error, KeyboardInterrupt) for error in chain):
        print("scm-export: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    ours = next((error for error in chain if isinstance(error, ScmError)), None)
    config = next((error for error in chain if isinstance(error, ConfigurationException)), None)
    shown = ours or config or chain[-1]
    line = (str(shown).strip().splitlines() or [type(shown).__name__])[0]
    if isinstance(shown, TomlProviderReadException):  # its first line names no reason
        line = " ".join(str(shown).split())
    print(f"scm-export: error: {line}", file=sys.stderr)
    usage = isinstance(ours, ScmConfigError) or (ours is None and config is not None)
    return EXIT_USAGE if usage else EXIT_FAILED


# -- commands -------------------------------------------------------------------------------------


def run_command(args: argparse.Namespace) -> int:
    validate_days(args.expiring_within_days)
    target = _target(args)
    if args.endpoint and dlt.config.get("sources.scm_source.accounts", list):
        raise ScmConfigError(
            "--endpoint sets the endpoint of a single account, but accounts are configured:"
            " set each account's endpoint in [sources.scm_source.<alias>] instead"
        )
    overrides = {"endpoint": args.endpoint} if args.endpoint else {}
    source = scm_source(**overrides).with_resources(*_resources(args.resources), POLICY_TABLE)
    with run_lock(get_dlt_pipelines_dir(), args.pipeline_name):  # before dlt makes the pipeline
        pipeline = make_pipeline(args.pipeline_name, target.destination, args.dataset_name)
        return _load_and_summarise(pipeline, source, args.expiring_within_days, target.where)


def run_script(pipeline: dlt.Pipeline) -> int:
    """`scm-export run` for the pipeline a plain dlt script declares (scm_pipeline.py)."""
    return main(
        [
            "run",
            *("--pipeline-name", pipeline.pipeline_name),
            *("--dataset-name", pipeline.dataset_name),
            *("--destination", destination_kind(pipeline) or "duckdb"),
        ]
    )


def views_command(args: argparse.Namespace) -> int:
    pipeline = _existing_pipeline(args)
    installed = install_views(pipeline, args.expiring_within_days)
    print(f"Installed {len(installed)} views in {pipeline.dataset_name}: {', '.join(installed)}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    path = Path(args.html).resolve() if args.html else None
    if path and not path.parent.is_dir():
        raise ScmConfigError(f"cannot write {path}: the folder does not exist")
    report = collect(_existing_pipeline(args))
    if path:
        write_html(report, path)
        print(f"Report written to {path}")
    else:
        print_text(report, Console(width=shutil.get_terminal_size().columns))
    return 0


def check_command(args: argparse.Namespace) -> int:
    """0: nothing needs action; 3: something does (never for a usage error, 2, nor a failure, 1).
    The findings are printed before any post, so a closed pipe or a failed post loses none."""
    checks.min_rank(args.min_severity)
    pipeline = _existing_pipeline(args)
    # A usage error (nowhere to post) before anything is read.
    channels = notify.channels(pipeline, args.webhook_url) if args.notify else []
    found = checks.findings(pipeline, args.min_severity)
    code = checks.EXIT_FINDINGS if found else 0
    with _closed_pipe_is_quiet(code):
        if args.json:
            print(checks.as_json(found))
        else:
            for finding in found:
                print(finding.line())
            print(checks.counted(found) if found else "Nothing needs action.")
        sys.stdout.flush()
    for line in notify.notify(pipeline, found, channels):
        print(line, file=sys.stderr)
    return code


def forget_command(args: argparse.Namespace) -> int:
    pipeline = _existing_pipeline(args)
    forget(pipeline, args.account)
    print(
        f"Forgot account {args.account} in dataset {pipeline.dataset_name}: the views leave it out"
        " (its rows and history stay); a run that loads it brings it back."
    )
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """Everything a newcomer needs to see the product work: no account, no config. The data is
    generated around today's midnight, so a rerun the same day finds nothing changed."""
    midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    dataset = Dataset.generate(
        certificates=args.certificates, csrs=args.csrs, seed=args.seed, now=midnight
    )
    options = SimulatorOptions(latency_seconds=args.latency_ms / 1000)
    path = duckdb_file(DEMO_PIPELINE, args.duckdb_file)
    listed = sum(record.owned_by_self for record in dataset.certificates)
    with Simulator(dataset, options) as simulator:
        print(
            f"Simulator serving {len(dataset.certificates)} certificates ({listed} owned by the"
            f" account, which the API lists by default: owned_by_self) and {len(dataset.csrs)}"
            f" CSRs at {simulator.url}"
        )
        source = scm_source(
            credentials=ScmCredentials(auth_token=simulator.token), endpoint=simulator.url
        )
        pipeline = make_pipeline(
            DEMO_PIPELINE, destination("duckdb", DEMO_PIPELINE, path), DATASET_NAME
        )
        code = _load_and_summarise(
            pipeline, source, DEFAULT_EXPIRING_WITHIN_DAYS, f"DuckDB file {path}"
        )
    with pipeline.sql_client() as client:
        by_status = f"SELECT status, count(*) FROM {DATASET_NAME}.certificates GROUP BY 1"
        statuses = client.execute_sql(f"{by_status} ORDER BY 2 DESC") or []
    print("Certificates by status: " + ", ".join(f"{status} {count}" for status, count in statuses))
    print_text(
        collect(pipeline), Console(width=shutil.get_terminal_size().columns), 3, urgent_limit=5
    )
    print(f"DuckDB file: {path}")
    file_option = "" if path == duckdb_file(DEMO_PIPELINE, None) else f" --duckdb-file {path}"
    print(
        f"Full report: scm-export report --pipeline-name {DEMO_PIPELINE}{file_option}"
        " [--html report.html]"
    )
    return code


def simulate_command(args: argparse.Namespace) -> int:
    dataset = Dataset.generate(certificates=args.certificates, csrs=args.csrs, seed=args.seed)
    options = SimulatorOptions(
        tokens=frozenset({args.token}),
        offset_mode=args.offset_mode,
        latency_seconds=args.latency_ms / 1000,
        max_offset=None if args.unbounded else args.max_offset,
        max_total=None if args.unbounded else args.max_total,
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


@contextmanager
def _closed_pipe_is_quiet(code: int) -> Iterator[None]:
    """`check | head -1`: a reader that stops early closes the pipe; what is left to print goes
    nowhere (Python's own advice: stdout onto /dev/null), no error, the exit code unchanged."""
    try:
        yield
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@dataclass(frozen=True)
class _Target:
    destination: Any
    where: str  # said in every summary: the DuckDB file, or the destination's name
    duckdb_path: Path | None


def _target(args: argparse.Namespace) -> _Target:
    """The destination the arguments name, after checking the names dlt would use as folders
    and SQL identifiers."""
    if not _PIPELINE_NAME.fullmatch(args.pipeline_name):
        raise ScmConfigError(
            f"--pipeline-name {args.pipeline_name!r}: use letters, digits, _ and - (it names a"
            " folder and the DuckDB file)"
        )
    if not _DATASET_NAME.fullmatch(args.dataset_name):
        raise ScmConfigError(
            f"--dataset-name {args.dataset_name!r}: use lower-case letters, digits and _,"
            " starting with a letter (it names a schema as is)"
        )
    if args.destination != "duckdb":
        if args.duckdb_file:
            raise ScmConfigError("--duckdb-file applies only to --destination duckdb")
        return _Target(destination(args.destination, args.pipeline_name), args.destination, None)
    path = duckdb_file(args.pipeline_name, args.duckdb_file)
    if path.stem.lower() == args.dataset_name:
        raise ScmConfigError(
            f"the DuckDB file {path.name} and the dataset {args.dataset_name!r} share a name, which"
            " DuckDB cannot tell apart (its catalog is named after the file): name the file"
            " otherwise, or pass another --dataset-name"
        )
    return _Target(destination("duckdb", args.pipeline_name, path), f"DuckDB file {path}", path)


def _load_and_summarise(
    pipeline: dlt.Pipeline, source: Any, expiring_within_days: int, where: str
) -> int:
    """Loads and prints what each account's objects gave, a failure first; then fails naming
    any account that did not load (after the others did)."""
    started = time.perf_counter()
    failure: ScmAccountsFailed | None = None
    try:
        load(pipeline, source, expiring_within_days)
    except ScmAccountsFailed as failed:
        failure = failed
    elapsed = time.perf_counter() - started
    entries = last_sync(pipeline, source)
    if failure is not None:
        print(
            f"FAILED: {len(failure.failures)} of {len(entries)} objects did not load (the error"
            f" follows on stderr); the others loaded into {where}, dataset"
            f" {pipeline.dataset_name}, in {elapsed:.1f} s:"
        )
    else:
        print(f"Loaded into {where}, dataset {pipeline.dataset_name}, in {elapsed:.1f} s:")
    width = max([12, *(len(entry["account"]) + 2 for entry in entries)])
    names = max([14, *(len(entry["resource"]) + 2 for entry in entries)])
    for entry in entries:
        line = f"  {entry['account']:<{width}}{entry['resource']:<{names}}"
        if entry["outcome"] == SKIPPED:
            print(f"{line}  skipped ({entry['error']})")
            continue
        if entry["outcome"] != LOADED:
            why = ", ".join(
                str(part) for part in (entry["http_status"], entry["error_code"]) if part
            )
            if not why and str(entry["error"]).startswith("not read:"):
                why = entry["error"]  # its parent's failure is its own line
            print(f"{line}  FAILED{f' ({why})' if why else ''}")
            continue
        mode = entry["offset_mode"]
        if mode is None:  # an object read for the rows of another: a detail, a lookup
            print(
                f"{line}{entry['rows']:>8} rows  (for {entry['api_total']} listed,"
                f" requests: {entry['pages']}, retries: {entry['retries']})"
            )
            continue
        offsets = f"offset counts {mode}s" if mode in ("record", "page") else "a single page"
        print(
            f"{line}{entry['rows']:>8} rows  (API total {entry['api_total']},"
            f" requests: {entry['pages']}, retries: {entry['retries']}, {offsets})"
            + _unreachable(entry)
        )
    if len({entry["account"] for entry in entries}) > 1:
        print(_accounts_line(entries))
    if failure is not None:
        raise failure
    return 0


def _accounts_line(entries: list[dict[str, Any]]) -> str:
    """How many accounts loaded, were skipped, failed (an account fails if any list did)."""
    outcomes: dict[str, set[str]] = {}
    for entry in entries:
        outcomes.setdefault(entry["account"], set()).add(entry["outcome"])
    failed = sum(FAILED in seen for seen in outcomes.values())
    skipped = sum(seen == {SKIPPED} for seen in outcomes.values())
    loaded = len(outcomes) - failed - skipped
    return f"Accounts: {len(outcomes)} ({loaded} loaded, {skipped} skipped, {failed} failed)"


def _unreachable(entry: dict[str, Any]) -> str:
    """What the sync log says the queries could not reach, if anything, and what of the earlier
    rows the merge therefore keeps instead of retiring."""
    missing = entry.get("rows_unreachable") or 0
    if entry.get("unreachable_exact") is False:
        said = f"; the API's total is at its cap: at least {missing} rows unreachable"
    else:
        said = f"; {missing} rows unreachable" if missing else ""
    kept = entry.get("kept_unverified") or 0
    return said + (f"; {kept} earlier rows not reached kept, not retired" if kept else "")


def _existing_pipeline(args: argparse.Namespace) -> dlt.Pipeline:
    """The pipeline a load made, its schema restored from the destination when not local.
    Never creates a DuckDB file: a mistyped name is reported, not answered with an empty file."""
    target = _target(args)
    if target.duckdb_path is not None and not target.duckdb_path.is_file():
        raise ScmConfigError(
            f"no DuckDB file at {target.duckdb_path}: run `scm-export run` first, or pass the"
            " --pipeline-name or --duckdb-file it used"
        )
    pipeline = make_pipeline(args.pipeline_name, target.destination, args.dataset_name)
    if not pipeline.default_schema_name:
        pipeline.sync_destination()
    if not pipeline.default_schema_name:
        raise ScmConfigError(
            f"no load found for pipeline {args.pipeline_name!r} in dataset {args.dataset_name!r}"
            f" ({target.where}): run `scm-export run` first (or pass the"
            " --pipeline-name/--dataset-name it used)"
        )
    return pipeline


def _resources(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(OBJECT_NAMES))
    if unknown or not names:
        raise ScmConfigError(
            f"--resources {value!r}: unknown {', '.join(unknown) or 'empty list'};"
            f" choose from {', '.join(OBJECT_NAMES)}"
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
    run.add_argument("--resources", default=",".join(OBJECT_NAMES), help="comma-separated subset")
    _add_threshold_argument(run)
    run.set_defaults(command=run_command)

    install = commands.add_parser("views", help="(re)install the SQL views in the dataset")
    _add_pipeline_arguments(install)
    _add_threshold_argument(install)
    install.set_defaults(command=views_command)

    report = commands.add_parser("report", help="print or write the certificate report")
    _add_pipeline_arguments(report)
    report.add_argument("--html", metavar="FILE", help="write one self-contained HTML page")
    report.set_defaults(command=report_command)

    check = commands.add_parser(
        "check", help="exit 3 when a certificate or a sync needs action (reads the warehouse)"
    )
    _add_pipeline_arguments(check)
    check.add_argument(
        "--min-severity",
        default="low",
        metavar="SEVERITY",
        help="critical, high, medium or low: the least that counts (default low: every finding)",
    )
    check.add_argument("--json", action="store_true", help="print the findings as a JSON list")
    check.add_argument(
        "--notify",
        action="store_true",
        help="post the findings that are new or whose severity rose to Slack and/or a webhook",
    )
    check.add_argument(
        "--webhook-url", help="a JSON webhook for --notify (default: notify.webhook_url)"
    )
    check.set_defaults(command=check_command)

    retire = commands.add_parser(
        "forget", help="retire an account that is gone: the views leave it out, its history stays"
    )
    _add_pipeline_arguments(retire)
    retire.add_argument("account", help="the account's alias, as the sync log names it")
    retire.set_defaults(command=forget_command)

    demo = commands.add_parser("demo", help="load from a local simulator into a DuckDB file")
    _add_dataset_arguments(demo, certificates=2000, csrs=500)
    demo.add_argument("--duckdb-file", help="default: ./scm_demo.duckdb")
    demo.set_defaults(command=demo_command)

    simulate = commands.add_parser("simulate", help="serve a simulated SCM on loopback")
    _add_dataset_arguments(simulate, certificates=250, csrs=120)
    simulate.add_argument("--port", type=int, default=8080)
    simulate.add_argument("--token", default=DEFAULT_TOKEN)
    simulate.add_argument("--offset-mode", choices=("record", "page"), default="record")
    simulate.add_argument(
        "--max-offset",
        type=int,
        default=DOCS_MAX_OFFSET,
        help="refuse offsets past this (default: the current docs' 100)",
    )
    simulate.add_argument(
        "--max-total",
        type=int,
        default=MAX_TOTAL,
        help="list at most this many rows per query (default: the docs' 10000)",
    )
    simulate.add_argument(
        "--unbounded", action="store_true", help="lift both bounds, as the EU docs read"
    )
    simulate.set_defaults(command=simulate_command)
    return parser


def _add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--destination",
        default="duckdb",
        choices=sorted(DESTINATIONS),
        help="the destinations the views are translated for (default: duckdb)",
    )
    parser.add_argument(
        "--duckdb-file",
        help="default: DESTINATION__DUCKDB__CREDENTIALS, else ./<pipeline-name>.duckdb",
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
