"""Side by side, in one run: scm-export, dlt's rest_api source and a hand-written floor, loading
the simulator into DuckDB. Each contender runs in its own process, timed from start to exit, with
its peak memory (max RSS) read from the operating system; the simulator runs in a process of its
own. Prints each measurement, then the issue's targets, each met or missed.

    python -m benchmarks.run                # every case (about 13 minutes)
    python -m benchmarks.run --quick        # the 20,000-row cases only
    python -m benchmarks.run --repeat 3     # each contender 3 times: median time, highest peak
    python -m benchmarks.run --case organization   # the cases whose name holds the words

Open descriptors and memory are sampled from /proc every 10 ms while a contender runs: their
peaks, and memory's peak while it extracts (what the number of accounts drives; loading the
rows into DuckDB afterwards is driven by the rows).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scm_source.objects.certificates import CERTIFICATES
from scm_source.objects.csr import CSR_LIST
from scm_source.objects.registry import OBJECTS

ROOT = Path(__file__).resolve().parent.parent
# What the list contenders read (they run in processes of their own).
LISTS_ARGUMENT = json.dumps(
    {
        each.name: [each.endpoint.path, each.endpoint.list_key, each.endpoint.total_key]
        for each in (CERTIFICATES, CSR_LIST)
    }
)
# Every object, and the snapshot tables whose rows an estate run loaded.
ALL_OBJECTS = ",".join(each.name for each in OBJECTS)
ESTATE_TABLES = json.dumps({table.name: ["", "", ""] for each in OBJECTS for table in each.tables})


@dataclass
class Case:
    name: str
    certificates: int  # per account
    csrs: int  # per account
    latency_ms: float
    contenders: tuple[str, ...]
    accounts: int = 1
    max_in_flight: int | None = None
    bounded: bool = False  # offset <= 100 and totals capped at 10,000, as the current docs say
    organization: bool = False  # the accounts are an organization's, read through its agency
    # `ours_rerun` runs `ours` again into the warehouse `ours` loaded, the API unchanged.
    rerun: bool = False
    # `ours_estate` loads every object (details, deployments, tags, private CAs too), and
    # `ours_estate_rerun` again into its warehouse; `ours` the two lists alone.
    estate: bool = False

    @property
    def parallel_accounts(self) -> int:
        """Accounts read at once: max_parallel_accounts's default for an organization."""
        return 8 if self.organization else 1

    @property
    def rows(self) -> int:
        return (self.certificates + self.csrs) * self.accounts


# 200,000 rows are 10 accounts of 10,000 + 10,000: the API lists at most 10,000 per account.
CASES = [
    # floor_dlt: the floor's pages through the least a dlt pipeline does (what dlt costs a run).
    Case("20k rows, 0 ms", 10_000, 10_000, 0, ("ours", "rest_api", "floor", "floor_dlt")),
    Case("20k rows, 50 ms", 10_000, 10_000, 50, ("ours", "rest_api", "floor", "floor_dlt")),
    Case(
        "200k rows (10 accounts), 0 ms", 10_000, 10_000, 0, ("ours", "floor", "ours_postgres"), 10
    ),
    Case("200k rows (10 accounts), 50 ms", 10_000, 10_000, 50, ("ours", "floor"), 10),
    Case(
        "200k rows (10 accts), 0 ms, rerun unchanged",
        10_000,
        10_000,
        0,
        ("ours", "ours_rerun"),
        10,
        rerun=True,
    ),
    Case("20k rows, 50 ms, gateway allows 4 in flight", 10_000, 10_000, 50, ("ours",), 1, 4),
    # The estate: a detail per certificate, deployments 50 a request, tags, private CAs.
    Case(
        "estate: 10,000 certificates, 50 ms, 4 in flight",
        10_000,
        100,
        50,
        ("ours_estate", "ours_estate_rerun", "ours"),
        1,
        4,
        estate=True,
    ),
    # Record offsets up to 100: 150 rows a query, so the planner narrows every list.
    Case("20k rows, 50 ms, offset <= 100 (records)", 10_000, 10_000, 50, ("ours",), bounded=True),
    # 50 accounts at the API's cap: the shipped DuckDB memory bound must load it.
    Case("1M rows (50 accounts), 0 ms", 10_000, 10_000, 0, ("ours",), 50),
    # An organization's accounts through the agency, each member's gateway allowing 4 in flight:
    # side by side (8 at a time) and one after another; memory and descriptors flat in accounts.
    *(
        Case(
            f"organization, {accounts} accounts, 4 in flight each",
            1_000,
            100,
            50,
            ("ours", "ours_1_by_1"),
            accounts,
            4,
            organization=True,
        )
        for accounts in (20, 200)
    ),
]


@dataclass
class Result:
    seconds: float
    peak_mb: float
    extract_seconds: float
    rows: int
    requests: int
    throttled: int
    pages: int  # SCM pages answered 200
    peak_fds: int
    extract_peak_mb: float  # sampled, until the extract step finished
    cpu_seconds: float  # the contender's, user and system
    server_cpu_seconds: float  # the simulator's, meanwhile
    load_retries: int = 0  # load jobs the destination refused and dlt ran again (ours only)

    def besides_paging(self) -> float:
        """What the run costs around its paging (the extract step): imports, set-up, normalize,
        load, views, shutdown."""
        return self.seconds - self.extract_seconds


@dataclass
class Measured:
    case: Case
    results: dict[str, Result] = field(default_factory=dict)

    def ratio_to_floor(self) -> float:
        return self.results["ours"].seconds / self.results["floor"].seconds

    def speedup_over_rest_api(self) -> float:
        return self.results["rest_api"].seconds / self.results["ours"].seconds

    def ideal_seconds(self) -> float:
        """Every page that had to be fetched, `max_in_flight` at a time in each of the accounts
        read at once, one latency each."""
        assert self.case.max_in_flight
        at_once = self.case.max_in_flight * self.case.parallel_accounts
        return self.results["ours"].pages / at_once * self.case.latency_ms / 1000

    def throttled_share(self) -> float:
        ours = self.results["ours"]
        return ours.throttled / ours.requests


class Server:
    def __init__(self, case: Case) -> None:
        command = [
            sys.executable,
            "-m",
            "benchmarks.serve",
            "--certificates",
            str(case.certificates),
            "--csrs",
            str(case.csrs),
            "--accounts",
            str(case.accounts),
            "--latency-ms",
            str(case.latency_ms),
        ]
        if case.max_in_flight:
            command += ["--max-in-flight", str(case.max_in_flight)]
        if case.bounded:
            command.append("--bounded")
        if case.organization:
            command.append("--organization")
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout and self.process.stdin
        self.url, self.tokens = self.process.stdout.readline().split()

    def ask(self, line: str) -> dict[str, Any]:
        assert self.process.stdout and self.process.stdin
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(timeout=30)


def measure(contender: str, server: Server, folder: str) -> Result:
    """Runs one contender in a fresh process on `folder`; wall time from start to exit, peak RSS
    of that process alone (os.wait4), the extract phase as the contender reports it, and the
    answers the simulator gave it."""
    server.ask("reset")
    with tempfile.TemporaryDirectory() as outputs:
        out, err = Path(outputs, "stdout"), Path(outputs, "stderr")
        started = time.perf_counter()
        estate = contender.startswith("ours_estate")
        tables = ESTATE_TABLES if estate else LISTS_ARGUMENT
        resources = {"SCM_BENCH_RESOURCES": ALL_OBJECTS} if estate else {}
        with out.open("w") as stdout, err.open("w") as stderr:
            name = "ours" if estate else contender.removesuffix("_rerun")
            arguments = [name, server.url, server.tokens, folder, tables]
            process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.contenders", *arguments],
                cwd=ROOT,
                stdout=stdout,
                stderr=stderr,
                env={**os.environ, "RUNTIME__LOG_LEVEL": "ERROR", **resources},
            )
            sampled = ProcessSampler(process.pid)
            _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        sampled.stop()
        output, errors = out.read_text(), err.read_text()
    if status != 0:
        raise SystemExit(f"{contender} failed: {errors[-2000:]}")
    if contender.startswith("ours"):  # the command itself ran: what it loaded, read after
        reader = ["ours_outcome", "-", "-", folder, tables]
        outcome = subprocess.run(
            [sys.executable, "-m", "benchmarks.contenders", *reader],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if outcome.returncode != 0:
            raise SystemExit(f"{contender} failed: {errors[-2000:]}{outcome.stderr[-2000:]}")
        output, errors = outcome.stdout, outcome.stderr
    extract = re.search(r"extract_seconds=([0-9.]+)", errors)
    extract_end = re.search(r"extract_finished_at=([0-9.]+)", errors)
    retries = re.search(r"load_retries=([0-9]+)", errors)
    answers = server.ask("stats")
    return Result(
        seconds=seconds,
        peak_mb=usage.ru_maxrss / 1024,
        extract_seconds=float(extract.group(1)) if extract else float("nan"),
        rows=json.loads(output)["rows"],
        requests=sum(answers["statuses"].values()),
        throttled=answers["statuses"].get("429", 0),
        pages=answers["pages"],
        peak_fds=sampled.peak_fds,
        extract_peak_mb=sampled.peak_mb(float(extract_end.group(1)) if extract_end else None),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        server_cpu_seconds=answers["cpu_seconds"],
        load_retries=int(retries.group(1)) if retries else 0,
    )


class ProcessSampler:
    """A process's open descriptors and resident memory, sampled until it exits or `stop()`."""

    def __init__(self, pid: int) -> None:
        self.peak_fds = 0
        self._memory: list[tuple[float, float]] = []  # (epoch seconds, MB)
        self._proc = Path(f"/proc/{pid}")
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def peak_mb(self, until: float | None) -> float:
        """The highest resident memory sampled up to `until` (epoch seconds), or at all."""
        return max((mb for at, mb in self._memory if until is None or at <= until), default=0)

    def _sample(self) -> None:
        while not self._stopped.wait(0.01):
            try:
                self.peak_fds = max(self.peak_fds, len(os.listdir(self._proc / "fd")))
                status = (self._proc / "status").read_text()
            except OSError:  # exited (or a zombie whose descriptors are gone)
                continue
            found = re.search(r"VmRSS:\s+(\d+) kB", status)
            if found:
                self._memory.append((time.time(), int(found.group(1)) / 1024))

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


def measure_case(case: Case, repeat: int) -> Measured:
    """Contenders take turns, so drift on the machine spreads over all of them."""
    server = Server(case)
    try:
        runs: dict[str, list[Result]] = {contender: [] for contender in case.contenders}
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as warehouse:  # shared only by a rerun
                for contender in case.contenders:
                    shared = case.rerun or contender.startswith("ours_estate")
                    folder = warehouse if shared else tempfile.mkdtemp(dir=warehouse)
                    runs[contender].append(measure(contender, server, folder))
    finally:
        server.close()
    measured = Measured(case)
    for contender, results in runs.items():
        median = sorted(results, key=lambda result: result.seconds)[len(results) // 2]
        median.peak_mb = max(result.peak_mb for result in results)
        measured.results[contender] = median
    return measured


@dataclass(frozen=True)
class Minimum:
    requests: int
    seconds: float


def estate_minimum(case: Case) -> Minimum:
    """The fewest requests a first load of the estate can make (every list page, one detail per
    certificate, deployments 50 certificates a request, CCM's two lists one page each) and
    their time at the gateway's in-flight limit, one latency each: computed from the data the
    simulator serves (serve.py's first account)."""
    from scm_source.simulator import Dataset
    from scm_source.simulator.certificate_deployments import deployable

    data = Dataset.generate(certificates=case.certificates, csrs=case.csrs, seed=1)
    pages = math.ceil(case.certificates / 50) * 2 + math.ceil(case.csrs / 50)  # + the tags'
    deployments = math.ceil(sum(deployable(record) for record in data.certificates) / 50)
    scm = pages + case.certificates + deployments
    assert case.max_in_flight
    return Minimum(scm + 2, scm * case.latency_ms / 1000 / case.max_in_flight)


def estate_notes(measured: Measured, contender: str) -> str:
    """The estate's first load against its minimum; its unchanged rerun against the lists."""
    if contender == "ours_estate":
        minimum = estate_minimum(measured.case)
        first = measured.results["ours_estate"]
        return (
            f"{first.pages} requests answered, minimum {minimum.requests}"
            f" ({first.pages / minimum.requests:.2f}x); minimum wall {minimum.seconds:.1f} s:"
            f" {first.seconds / minimum.seconds:.2f}x"
        )
    rerun, lists = measured.results["ours_estate_rerun"], measured.results["ours"]
    return (
        f"unchanged rerun: {rerun.pages} requests and {rerun.seconds:.1f} s against the lists"
        f" alone's {lists.pages} and {lists.seconds:.1f} s ({rerun.pages / lists.pages:.2f}x,"
        f" {rerun.seconds / lists.seconds:.2f}x)"
    )


def notes(measured: Measured, contender: str) -> str:
    if contender.startswith("ours_estate"):
        return estate_notes(measured, contender)
    if contender != "ours":
        return ""
    besides = measured.results["ours"].besides_paging()
    parts = [f"{besides:.1f} s besides paging"]
    if "floor" in measured.results:
        parts.append(f"{measured.ratio_to_floor():.2f}x floor's time")
    if "rest_api" in measured.results:
        parts.append(f"{measured.speedup_over_rest_api():.1f}x faster than rest_api")
    if "floor_dlt" in measured.results:
        dlt_costs = measured.results["floor_dlt"].seconds - measured.results["floor"].seconds
        parts.append(f"dlt alone costs the floor {dlt_costs:.1f} s")
    if measured.case.max_in_flight:
        ours, ideal = measured.results["ours"], measured.ideal_seconds()
        parts.append(
            f"429s {ours.throttled}/{ours.requests} = {100 * measured.throttled_share():.1f}%;"
            f" ideal {ideal:.1f} s: wall {ours.seconds / ideal:.2f}x,"
            f" extract {ours.extract_seconds / ideal:.2f}x"
        )
    if "ours_postgres" in measured.results:
        postgres = measured.results["ours_postgres"]
        parts.append(f"PostgreSQL {postgres.seconds / measured.results['ours'].seconds:.2f}x this")
    if "ours_rerun" in measured.results:
        rerun = measured.results["ours_rerun"]
        parts.append(f"rerun {rerun.seconds / measured.results['ours'].seconds:.2f}x this")
    if "ours_1_by_1" in measured.results:
        one_by_one = measured.results["ours_1_by_1"]
        parts.append(
            f"{one_by_one.seconds / measured.results['ours'].seconds:.1f}x faster than 1 by 1"
        )
    return "; ".join(parts)


def targets(measured: list[Measured]) -> list[tuple[str, str, bool]]:
    """The issue's targets: (what, measured, met)."""
    checks = []
    for case in measured:
        ours = case.results["ours"]
        if "rest_api" in case.results:
            ratio = case.ratio_to_floor()
            most = 0.8 if case.case.latency_ms else 1.5
            checks.append(
                (f"{case.case.name}: <= {most}x the floor", f"{ratio:.2f}x", ratio <= most)
            )
            if case.case.latency_ms:
                speedup = case.speedup_over_rest_api()
                checks.append(
                    (
                        f"{case.case.name}: >= 10x faster than rest_api",
                        f"{speedup:.1f}x",
                        speedup >= 10,
                    )
                )
        if case.case.estate:
            checks += estate_targets(case)
        if "ours_rerun" in case.results:
            rerun = case.results["ours_rerun"].seconds
            checks.append(
                (
                    f"{case.case.name}: no slower than the first load",
                    f"{rerun:.1f} s vs {ours.seconds:.1f} s",
                    rerun <= ours.seconds,
                )
            )
        retried = sum(result.load_retries for result in case.results.values())
        checks.append((f"{case.case.name}: no load job retried", f"{retried}", retried == 0))
        if case.case.rows >= 1_000_000 or case.case.bounded or case.case.organization:
            checks.append(
                (
                    f"{case.case.name}: every row loaded",
                    f"{ours.rows:,}",
                    ours.rows == case.case.rows,
                )
            )
        if not (case.case.rows >= 1_000_000 or case.case.bounded or case.case.rerun):
            limit = 300 if case.case.rows <= 20_000 else 350
            checks.append(
                (
                    f"{case.case.name}: peak <= {limit} MB",
                    f"{ours.peak_mb:.0f} MB",
                    ours.peak_mb <= limit,
                )
            )
        if case.case.rows == 20_000 and not case.case.bounded:
            besides = ours.besides_paging()
            checks.append(
                (f"{case.case.name}: <= 1.0 s besides paging", f"{besides:.1f} s", besides <= 1.0)
            )
        if "ours_postgres" in case.results:
            ratio = case.results["ours_postgres"].seconds / ours.seconds
            checks.append(
                (
                    f"{case.case.name}: PostgreSQL within 1.5x DuckDB's time",
                    f"{ratio:.2f}x",
                    ratio <= 1.5,
                )
            )
        if case.case.organization:
            ratio = ours.seconds / case.ideal_seconds()
            checks.append((f"{case.case.name}: <= 2x the ideal", f"{ratio:.2f}x", ratio <= 2))
        elif case.case.max_in_flight and not case.case.estate:
            share, ratio = case.throttled_share(), ours.seconds / case.ideal_seconds()
            checks.append(
                (f"{case.case.name}: <= 2% answered 429", f"{100 * share:.1f}%", share <= 0.02)
            )
            checks.append((f"{case.case.name}: <= 1.3x the ideal", f"{ratio:.2f}x", ratio <= 1.3))
    return checks + flat_in_accounts(measured)


def estate_targets(case: Measured) -> list[tuple[str, str, bool]]:
    first, rerun = case.results["ours_estate"], case.results["ours_estate_rerun"]
    lists, minimum = case.results["ours"], estate_minimum(case.case)
    name = case.case.name
    return [
        (
            f"{name}: first load within 1.3x its minimum",
            f"{first.seconds / minimum.seconds:.2f}x",
            first.seconds <= 1.3 * minimum.seconds,
        ),
        (
            f"{name}: unchanged rerun's requests <= 1.15x the lists alone",
            f"{rerun.pages / lists.pages:.2f}x",
            rerun.pages <= 1.15 * lists.pages,
        ),
        (
            f"{name}: unchanged rerun's time <= 1.15x the lists alone",
            f"{rerun.seconds / lists.seconds:.2f}x",
            rerun.seconds <= 1.15 * lists.seconds,
        ),
        *(
            (f"{name}: {which} peak <= 350 MB", f"{run.peak_mb:.0f} MB", run.peak_mb <= 350)
            for which, run in (("first load's", first), ("rerun's", rerun))
        ),
    ]


def flat_in_accounts(measured: list[Measured]) -> list[tuple[str, str, bool]]:
    """An organization ten times the accounts: peak memory while extracting and peak
    descriptors within 1.5x (they would grow tenfold if each account held its own)."""
    organizations = sorted(
        (case for case in measured if case.case.organization), key=lambda case: case.case.accounts
    )
    if len(organizations) < 2:
        return []
    small, large = organizations[0], organizations[-1]
    what = f"organization, {small.case.accounts} -> {large.case.accounts} accounts"
    checks = []
    for measure, unit in (("extract_peak_mb", "MB extracting"), ("peak_fds", "descriptors")):
        before = getattr(small.results["ours"], measure)
        after = getattr(large.results["ours"], measure)
        checks.append(
            (
                f"{what}: peak {unit} within 1.5x",
                f"{before:.0f} -> {after:.0f}",
                after <= 1.5 * before,
            )
        )
    return checks


def bounded_against_unbounded(measured: list[Measured]) -> list[str]:
    """Each bounded case's time and requests beside the same rows unbounded (no target: the
    figure the docs' bounds cost)."""
    lines = []
    for bounded in (case for case in measured if case.case.bounded):
        same = [
            case
            for case in measured
            if not case.case.bounded
            and not case.case.max_in_flight
            and (case.case.certificates, case.case.csrs, case.case.accounts, case.case.latency_ms)
            == (
                bounded.case.certificates,
                bounded.case.csrs,
                bounded.case.accounts,
                bounded.case.latency_ms,
            )
        ]
        if same:
            ours, free = bounded.results["ours"], same[0].results["ours"]
            lines.append(
                f"{bounded.case.name}: {ours.seconds:.1f} s, {ours.requests} requests;"
                f" unbounded {free.seconds:.1f} s, {free.requests} requests:"
                f" {ours.seconds / free.seconds:.1f}x the time"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 20,000-row cases")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender (median)")
    parser.add_argument("--case", default="", help="only the cases whose name holds this")
    args = parser.parse_args()
    cases = [
        case
        for case in CASES
        if (not args.quick or case.rows <= 20_000) and args.case.lower() in case.name.lower()
    ]
    print(
        f"{'case':<46}{'contender':<12}{'rows':>8}{'wall s':>9}{'cpu s':>7}{'sim cpu':>8}"
        f"{'peak MB':>9}{'extr MB':>8}{'fds':>5}  ratios / notes"
    )
    measured = []
    for case in cases:
        measured.append(measure_case(case, args.repeat))
        for contender, result in measured[-1].results.items():
            print(
                f"{case.name:<46}{contender:<12}{result.rows:>8}{result.seconds:>9.1f}"
                f"{result.cpu_seconds:>7.1f}{result.server_cpu_seconds:>8.1f}"
                f"{result.peak_mb:>9.0f}{result.extract_peak_mb:>8.0f}{result.peak_fds:>5}"
                f"  {notes(measured[-1], contender)}",
                flush=True,
            )
    for line in bounded_against_unbounded(measured):
        print(line)
    print("\ntargets")
    for what, value, met in targets(measured):
        print(f"  {'met   ' if met else 'MISSED'} {what}: {value}")
    print(f"\nmedian of {args.repeat} run(s) per contender, on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
