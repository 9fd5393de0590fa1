"""The simulator in a process of its own (so it does not share a GIL with what it serves).

Prints its URL and the credentials to read it with: the accounts' tokens (comma-separated), or
with `--organization` the management account's access key and secret key (`AK:SK`). Then it
answers each line on stdin: `stats` prints `{"statuses": {status: count}, "pages": SCM pages
answered 200, "cpu_seconds": the simulator's}` since the last `reset`, which clears them; end of
input stops it.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from collections import Counter

from scm_source.paging.pages import DOCS_MAX_OFFSET, MAX_TOTAL
from scm_source.simulator import (
    AccessKey,
    Dataset,
    Member,
    Organization,
    Simulator,
    SimulatorOptions,
)
from scm_source.simulator.server import OTHER_SERVICES_PATHS

AGENCY = "SCMReadOnlyAgency"
ACCESS_KEY = AccessKey("BENCHMGMTAK012345678", "bench-management-secret-key-0123456789")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--certificates", type=int, required=True, help="per account")
    parser.add_argument("--csrs", type=int, required=True, help="per account")
    parser.add_argument("--accounts", type=int, default=1, help="behind the one endpoint")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--max-in-flight", type=int, help="per organization member")
    parser.add_argument(
        "--bounded", action="store_true", help="the current docs' bounds on one query"
    )
    parser.add_argument(
        "--organization",
        action="store_true",
        help="the accounts are an organization: its management account and members",
    )
    args = parser.parse_args()
    datasets = {
        f"{n:032x}": Dataset.generate(
            certificates=args.certificates, csrs=args.csrs, seed=n, domain_id=f"{n:032x}"
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
    if args.organization:
        management, *members = (
            Member(id_, f"bench-{n:03d}", dataset)
            for n, (id_, dataset) in enumerate(datasets.items())
        )
        options.organization = Organization(management, tuple(members))
        options.access_keys = (ACCESS_KEY,)
        credentials, accounts = f"{ACCESS_KEY.access_key}:{ACCESS_KEY.secret_key}", {}
    else:
        accounts = {f"bench-account-{id_}-token": data for id_, data in datasets.items()}
        credentials = ",".join(accounts)
    with Simulator(first, options, accounts=accounts) as simulator:
        print(simulator.url, credentials, flush=True)
        cpu_at_reset = cpu_seconds()
        for line in sys.stdin:
            if line.strip() == "stats":
                answers = list(simulator.requests)
                statuses = Counter(str(answer.status) for answer in answers)
                pages = sum(
                    answer.status == 200 and answer.path not in OTHER_SERVICES_PATHS
                    for answer in answers
                )
                cpu = cpu_seconds() - cpu_at_reset
                print(
                    json.dumps({"statuses": statuses, "pages": pages, "cpu_seconds": cpu}),
                    flush=True,
                )
            elif line.strip() == "reset":
                simulator.clear_log()
                cpu_at_reset = cpu_seconds()
                print("{}", flush=True)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
