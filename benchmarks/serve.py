"""The simulator in a process of its own (so it does not share a GIL with what it serves).

Prints its URL, then answers each line on stdin: `stats` prints a JSON count of answers by
status, `reset` clears them, end of input stops it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from scm_source.simulator import Dataset, Simulator, SimulatorOptions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--certificates", type=int, required=True)
    parser.add_argument("--csrs", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--max-in-flight", type=int)
    args = parser.parse_args()
    dataset = Dataset.generate(certificates=args.certificates, csrs=args.csrs, seed=1)
    options = SimulatorOptions(
        latency_seconds=args.latency_ms / 1000, max_in_flight=args.max_in_flight
    )
    with Simulator(dataset, options) as simulator:
        print(simulator.url, simulator.token, flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps(Counter(str(r.status) for r in simulator.requests)), flush=True)
            elif line.strip() == "reset":
                simulator.clear_log()
                print("{}", flush=True)


if __name__ == "__main__":
    main()
