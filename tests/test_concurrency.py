"""The adaptive limit on requests in flight: how it grows, backs off and honours Retry-After,
and what a real run against a gateway that allows 4 in flight costs in 429s."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

from scm_source.accounts.slots import AccountSlots
from scm_source.http.throttle import PROBE_AFTER_WINDOWS, AdaptiveLimit, LearnedLevel
from scm_source.paging.workers import map_as_completed
from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from tests.conftest import UNBOUNDED, query, run_load


def answer(limit: AdaptiveLimit, throttled: bool = False, retry_after: float | None = None) -> None:
    with limit.slot() as report:
        report(throttled, retry_after)


def window(limit: AdaptiveLimit, successes: int | None = None) -> None:
    """As many requests in flight at once as the limit allows, then `successes` of them (all,
    by default) answered."""
    with contextlib.ExitStack() as in_flight:
        reports = [in_flight.enter_context(limit.slot()) for _ in range(limit.limit)]
        for report in reports[:successes]:
            report(False, None)


def test_the_limit_grows_by_half_per_window_then_steps_back_and_probes_ever_less_often() -> None:
    limit = AdaptiveLimit(ceiling=32)
    seen = [limit.limit]
    while limit.limit < 32:
        window(limit)
        seen.append(limit.limit)
    assert seen == [4, 6, 9, 13, 19, 28, 32]

    answer(limit, throttled=True)
    assert limit.limit == 28  # the last level a full window succeeded at
    for _ in range(PROBE_AFTER_WINDOWS - 1):
        window(limit)
    window(limit, successes=27)
    assert limit.limit == 28
    window(limit, successes=1)
    assert limit.limit == 29  # the probe
    answer(limit, throttled=True)
    assert limit.limit == 28
    for _ in range(PROBE_AFTER_WINDOWS):
        window(limit)
    assert limit.limit == 28  # a further 429 doubles the wait for the next probe
    for _ in range(PROBE_AFTER_WINDOWS):
        window(limit)
    assert limit.limit == 29


def test_successes_one_at_a_time_do_not_raise_the_limit() -> None:
    """Four answers in a row, never two in flight: 4 at once has not been shown to pass."""
    limit = AdaptiveLimit(ceiling=32)
    for _ in range(40):
        answer(limit)
    assert limit.limit == 4
    window(limit)
    assert limit.limit == 6


def test_a_429_to_a_request_sent_before_the_last_decrease_changes_nothing() -> None:
    limit = AdaptiveLimit(ceiling=16)
    with limit.slot() as early, limit.slot() as late:
        early(True, None)
        late(True, None)  # sent with the same information as the first: already accounted for
    assert limit.limit == 3


def test_retry_after_holds_back_every_request_until_it_has_passed() -> None:
    limit = AdaptiveLimit(ceiling=8)
    answer(limit, throttled=True, retry_after=0.4)
    started = time.monotonic()
    answer(limit)
    assert time.monotonic() - started >= 0.39


def test_no_more_requests_are_in_flight_than_the_limit() -> None:
    limit = AdaptiveLimit(ceiling=3, start=3)
    in_flight, most = 0, 0
    lock = threading.Lock()

    def request(_: int) -> None:
        nonlocal in_flight, most
        with limit.slot() as report:
            with lock:
                in_flight += 1
                most = max(most, in_flight)
            time.sleep(0.005)
            with lock:
                in_flight -= 1
            report(False, None)

    list(map_as_completed(request, range(60), workers=12, name="test"))
    assert most == 3


def test_against_a_gateway_that_allows_4_a_run_loses_nothing_to_its_429s(
    tmp_path: Path, duckdb_destination: Any
) -> None:
    dataset = Dataset.generate(certificates=600, csrs=400, seed=5)
    options = SimulatorOptions(latency_seconds=0.02, max_in_flight=4, **UNBOUNDED)
    with Simulator(dataset, options) as simulator:
        pipeline = run_load(
            simulator,
            tmp_path,
            duckdb_destination,
            certificates={"page_size": 10, "owned_by_self": False},
            csr_list={"page_size": 10},
            http={"max_concurrency": 16},
        )
        statuses = [request.status for request in simulator.requests]
    # How many 429s depends on how the requests overlap (the count for given overlaps is the
    # next test's); whatever it was, each was retried and none lost or doubled a row.
    assert statuses.count(200) == 60 + 1 + 40 + 1  # every page once, plus the offset probes
    certificates = query(
        pipeline, "SELECT count(DISTINCT id) AS n, count(*) AS rows FROM scm.certificates"
    )
    assert certificates == [{"n": 600, "rows": 600}]
    retries = query(pipeline, "SELECT sum(retries) AS n FROM scm.sync_log")
    assert retries == [{"n": statuses.count(429)}]


def test_a_gateway_that_allows_4_costs_two_429s_in_100_pages() -> None:
    """Round trips played out in order, without threads or clocks: each round the client sends
    as many pages as its limit lets it, and a gateway that allows 4 in flight refuses the rest.
    Round 1 sends 4, all pass: a full window, so the limit grows by half to 6. Round 2 sends 6:
    two are refused, the first 429 steps back to 4 and the second, sent before that decrease,
    changes nothing. After that 4 a round, and no probe before 50 windows (200 answers)."""
    limit, gateway = AdaptiveLimit(ceiling=16), 4
    pending, refused, rounds = 100, 0, []
    while pending:
        sent = min(limit.limit, pending)
        rounds.append(sent)
        with contextlib.ExitStack() as in_flight:
            reports = [in_flight.enter_context(limit.slot()) for _ in range(sent)]
            for position, report in enumerate(reports):
                throttled = position >= gateway
                report(throttled, None)
                refused += throttled
                pending -= not throttled
    assert refused == 2
    assert rounds[:3] == [4, 6, 4] and set(rounds[2:]) == {4}


def test_a_429_to_a_request_sent_at_a_higher_limit_is_an_overshoot_to_send_again_at_once() -> None:
    limit = AdaptiveLimit(ceiling=16)
    window(limit)
    assert limit.limit == 6
    with contextlib.ExitStack() as in_flight:
        reports = [in_flight.enter_context(limit.slot()) for _ in range(6)]
        # Sent at 6 and the limit is 4 now: an overshoot, whichever of the 6 was refused (the
        # gateway counts them as they arrive, not as they were sent).
        assert reports[2](True, None)
        assert reports[5](True, None)  # sent before that decrease: accounted for, and sent again
    with limit.slot() as report:
        assert not report(True, None)  # sent at 4 and refused: the gateway is busy, back off
    with limit.slot() as report:
        assert not report(True, 2.0)  # a Retry-After is honoured, never sent again at once
    with limit.slot() as report:
        assert not report(False, None)


def test_an_account_starts_at_the_level_its_endpoints_accounts_settled_at() -> None:
    learned = LearnedLevel()
    first, later = AdaptiveLimit(16, learned=learned), AdaptiveLimit(16, learned=learned)
    growing = AdaptiveLimit(16, learned=learned)
    window(growing)
    assert growing.limit == 6
    window(first)
    answer(first, throttled=True)
    assert (first.limit, learned.recall()) == (4, 4)
    # Made before the first learned anything (as an organization's clients are), it starts there
    # when first used, and probes only after 50 windows, as after a 429 of its own.
    for _ in range(PROBE_AFTER_WINDOWS - 1):
        window(later)
    window(later, successes=3)
    assert later.limit == 4
    window(later, successes=1)
    assert later.limit == 5
    # One that had started already stops growing at its next full window: 6 is past 4.
    window(growing)
    assert growing.limit == 6


def test_a_list_joins_an_account_another_list_reads_without_a_slot() -> None:
    slots, entered = AccountSlots(1), []

    def read(account: int) -> None:
        with slots.hold(account):
            entered.append(account)

    with slots.hold(0):  # the one slot: the certificates of account 0
        joining = threading.Thread(target=read, args=(0,))  # its CSRs
        joining.start()
        joining.join(timeout=5)
        assert entered == [0]
        waiting = threading.Thread(target=read, args=(1,))
        waiting.start()
    waiting.join(timeout=5)
    assert entered == [0, 1]


def test_a_free_slot_goes_to_the_account_that_comes_first_in_the_run() -> None:
    slots, entered = AccountSlots(1), []

    def read(account: int) -> None:
        with slots.hold(account):
            entered.append(account)

    with slots.hold(0):
        later = [threading.Thread(target=read, args=(account,)) for account in (5, 2)]
        for thread in later:
            thread.start()
        deadline = time.monotonic() + 5
        while sum(slots._waiting.values()) < 2 and time.monotonic() < deadline:
            time.sleep(0.001)  # both queued behind account 0
    for thread in later:
        thread.join(timeout=5)
    assert entered == [2, 5]
