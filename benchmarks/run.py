"""Side by side, in one run: scm-export, dlt's rest_api source and a hand-written floor, loading
the simulator into DuckDB. Each contender runs in its own process, timed from start to exit, with
its peak memory (max RSS) read from the operating system; the simulator runs in a third process.

    python -m benchmarks.run            # every case (several minutes)
    python -m benchmarks.run --quick    # 20,000 rows only
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Case:
    name: str
    certificates: int
    csrs: int
    latency_ms: float
    contenders: tuple[str, ...]
    max_in_flight: int | None = None


CASES = [
    Case("20k rows, 0 ms", 10_000, 10_000, 0, ("ours", "rest_api", "floor")),
    Case("20k rows, 50 ms", 10_000, 10_000, 50, ("ours", "rest_api", "floor")),
    Case("200k rows, 0 ms", 100_000, 100_000, 0, ("ours", "floor")),
    Case("200k rows, 50 ms", 100_000, 100_000, 50, ("ours", "floor")),
    Case("20k rows, 50 ms, gateway allows 4 in flight", 10_000, 10_000, 50, ("ours",), 4),
]


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
            "--latency-ms",
            str(case.latency_ms),
        ]
        if case.max_in_flight:
            command += ["--max-in-flight", str(case.max_in_flight)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout and self.process.stdin
        self.url, self.token = self.process.stdout.readline().split()

    def ask(self, line: str) -> dict[str, int]:
        assert self.process.stdout and self.process.stdin
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(timeout=30)


def measure(contender: str, server: Server) -> dict[str, float]:
    """Runs one contender in a fresh process; wall time from start to exit, peak RSS of that
    process alone (os.wait4), and the extract phase as the contender reports it."""
    with tempfile.TemporaryDirectory() as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        started = time.perf_counter()
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.contenders", contender, server.url, server.token,
                 folder],
                cwd=ROOT,
                stdout=stdout,
                stderr=stderr,
                env={**os.environ, "RUNTIME__LOG_LEVEL": "ERROR"},
            )  # fmt: skip
            _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        output, errors = out.read_text(), err.read_text()
    if status != 0:
        raise SystemExit(f"{contender} failed: {errors[-2000:]}")
    extract = re.search(r"extract_seconds=([0-9.]+)", errors)
    return {
        "seconds": seconds,
        "extract_seconds": float(extract.group(1)) if extract else float("nan"),
        "peak_mb": usage.ru_maxrss / 1024,
        "rows": json.loads(output)["rows"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 20,000-row cases")
    args = parser.parse_args()
    cases = [case for case in CASES if not args.quick or case.certificates == 10_000]
    print(f"{'case':<46}{'contender':<10}{'rows':>8}{'wall s':>9}{'peak MB':>9}  ratios / notes")
    for case in cases:
        server = Server(case)
        try:
            results = {}
            for contender in case.contenders:
                server.ask("reset")
                results[contender] = measure(contender, server)
                answers = server.ask("stats")
                results[contender]["requests"] = sum(answers.values())
                results[contender]["throttled"] = answers.get("429", 0)
        finally:
            server.close()
        for contender, result in results.items():
            notes = []
            if contender == "ours" and "floor" in results:
                notes.append(f"{result['seconds'] / results['floor']['seconds']:.2f}x floor's time")
            if contender == "ours" and "rest_api" in results:
                speedup = results["rest_api"]["seconds"] / result["seconds"]
                notes.append(f"{speedup:.1f}x faster than rest_api")
            if case.max_in_flight:
                pages = result["requests"] - result["throttled"]
                ideal = pages / case.max_in_flight * case.latency_ms / 1000
                notes.append(
                    f"429s {result['throttled']}/{result['requests']} = "
                    f"{100 * result['throttled'] / result['requests']:.1f}%; ideal"
                    f" {ideal:.1f} s: wall {result['seconds'] / ideal:.2f}x,"
                    f" paging (extract) {result['extract_seconds'] / ideal:.2f}x"
                )
            print(
                f"{case.name:<46}{contender:<10}{result['rows']:>8}{result['seconds']:>9.1f}"
                f"{result['peak_mb']:>9.0f}  {'; '.join(notes)}",
                flush=True,
            )


if __name__ == "__main__":
    main()
