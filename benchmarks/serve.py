"""The simulator in a process of its own (so it does not share a GIL with what it serves).

Prints its URL and the accounts' tokens (comma-separated), then answers each line on stdin:
`stats` prints a JSON count of answers by status, `reset` clears them, end of input stops it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from scm_source.paging import DOCS_MAX_OFFSET, MAX_TOTAL
from scm_source.simulator import Dataset, Simulator, SimulatorOptions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--certificates", type=int, required=True, help="per account")
    parser.add_argument("--csrs", type=int, required=True, help="per account")
    parser.add_argument("--accounts", type=int, default=1, help="behind the one endpoint")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--max-in-flight", type=int)
    parser.add_argument(
        "--bounded", action="store_true", help="the current docs' bounds on one query"
    )
    args = parser.parse_args()
    datasets = {
        f"bench-account-{n}-token-0123456789abcdef": Dataset.generate(
            certificates=args.certificates, csrs=args.csrs, seed=n
        )
        for n in range(1, args.accounts + 1)
    }
    options = SimulatorOptions(
        tokens=frozenset(),
        latency_seconds=args.latency_ms / 1000,
        max_in_flight=args.max_in_flight,
        max_offset=DOCS_MAX_OFFSET if args.bounded else None,
        max_total=MAX_TOTAL if args.bounded else None,
    )
    first = next(iter(datasets.values()))
    with Simulator(first, options, accounts=datasets) as simulator:
        print(simulator.url, ",".join(datasets), flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps(Counter(str(r.status) for r in simulator.requests)), flush=True)
            elif line.strip() == "reset":
                simulator.clear_log()
                print("{}", flush=True)


if __name__ == "__main__":
    main()
