"""`scm-export check` as cron runs it: the installed command, run from a folder of its own after
`scm-export run` loaded the simulator. Its findings are the view's, compared with the oracle's;
exit 3 at or above --min-severity, else 0; a closed pipe ends quietly with the same code; syncs
that failed or went stale come first with their full error; `--notify` posts only what is new or
raised, to a webhook and a Slack hook served here; `forget` retires an account that is gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest

from scm_source.simulator import CertificateRecord, Dataset, Simulator, SimulatorOptions
from tests.conftest import LISTS_ONLY, scm_export
from tests.oracle import RANKS, Policy, expected

DAY = timedelta(days=1)
TOKENS = {
    "alpha": "check-alpha-token-0123456789abcdef01234",
    "beta": "check-beta-token-0123456789abcdef012345",
}


def healthy(seed: int = 7) -> Dataset:
    """Every certificate issued and valid for 200 days more, one private root CA good for ten
    years: nothing needs action."""
    dataset = Dataset.generate(
        certificates=6, csrs=1, seed=seed, private_cas=1, private_certificates=0
    )
    for record in dataset.certificates:
        set_state(dataset, record, "ISSUED", 200 * DAY)
    return dataset


def set_state(dataset: Dataset, record: CertificateRecord, status: str, left: timedelta) -> None:
    record.owned_by_self = True
    record.expires_at = dataset.now + left
    record.api.update(status=status, expire_time=dataset.format_expire_time(record.expires_at))
    dataset.invalidate()


class Warehouse:
    """A DuckDB file loaded by `scm-export run` from a simulator per account."""

    def __init__(self, folder: Path, datasets: dict[str, Dataset]) -> None:
        self.folder = folder
        self.file = folder / "warehouse.duckdb"
        self.simulators = {
            alias: Simulator(dataset, SimulatorOptions(tokens=frozenset({TOKENS[alias]}))).start()
            for alias, dataset in datasets.items()
        }
        self.tokens = dict(TOKENS)

    def env(self) -> dict[str, str]:
        env = {
            "SOURCES__SCM_SOURCE__ACCOUNTS": json.dumps(sorted(self.simulators)),
            "DESTINATION__DUCKDB__CREDENTIALS": str(self.file),
        }
        for alias, simulator in self.simulators.items():
            env[f"SOURCES__SCM_SOURCE__{alias.upper()}__ENDPOINT"] = simulator.url
            env[f"SOURCES__SCM_SOURCE__{alias.upper()}__CREDENTIALS__AUTH_TOKEN"] = self.tokens[
                alias
            ]
        return env

    def run(self, *args: str) -> int:
        return scm_export("run", *args, cwd=self.folder, env=self.env()).returncode

    def command(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return scm_export(*args, cwd=self.folder, env={**self.env(), **(env or {})})

    def check(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return self.command("check", *args, env=env)

    def found(self, *args: str) -> list[dict[str, Any]]:
        checked = self.check("--json", *args)
        assert checked.returncode in (0, 3), checked.stderr
        return json.loads(checked.stdout)

    def close(self) -> None:
        for simulator in self.simulators.values():
            simulator.stop()


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    loaded = Warehouse(tmp_path, {"alpha": healthy()})
    try:
        yield loaded
    finally:
        loaded.close()


@pytest.fixture(scope="module")
def with_findings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """Loaded once with every certificate expiring in two days, for the tests that only read:
    usage errors, a closed pipe."""
    dataset = healthy()
    for record in dataset.certificates:
        set_state(dataset, record, "ISSUED", 2 * DAY + timedelta(hours=5))
    loaded = Warehouse(tmp_path_factory.mktemp("findings"), {"alpha": dataset})
    try:
        assert loaded.run() == 0
        yield loaded
    finally:
        loaded.close()


def alpha(warehouse: Warehouse) -> Dataset:
    return warehouse.simulators["alpha"].dataset


def test_nothing_to_act_on_exits_0(warehouse: Warehouse) -> None:
    assert warehouse.run() == 0
    checked = warehouse.check()
    assert (checked.returncode, checked.stdout, checked.stderr) == (
        0,
        "Nothing needs action.\n",
        "",
    )


FINDINGS = (  # (status, time left, the reason's words): one certificate each
    ("ISSUED", 5 * DAY + timedelta(hours=3), "expires in 5 days"),
    ("ISSUED", DAY + timedelta(hours=3), "expires in 1 day"),
    ("ISSUED", -3 * DAY - timedelta(hours=1), "expired 3 days ago"),
    ("UNPASSED", 300 * DAY, "failed domain validation"),
)


def test_each_finding_is_one_line_graded_as_the_policy_says_and_exit_3(
    warehouse: Warehouse,
) -> None:
    dataset = alpha(warehouse)
    records = dataset.certificates[1 : 1 + len(FINDINGS)]
    for record, (status, left, _) in zip(records, FINDINGS, strict=True):
        set_state(dataset, record, status, left)
    assert warehouse.run() == 0
    checked = warehouse.check()
    assert checked.returncode == 3, checked.stderr
    oracle = expected(dataset, Policy(), datetime.now(timezone.utc), "alpha")
    *lines, count = checked.stdout.splitlines()
    for record, (_, _, reason) in zip(records, FINDINGS, strict=True):
        severity, _ = oracle[record.api["id"]]
        subject = f"{record.api['id']} {record.api['name']}"
        [line] = [line for line in lines if f"  {subject}: " in line]
        assert line.startswith(f"{severity:<8} alpha  {subject}: {reason}")
    assert len(lines) == len(FINDINGS)
    severities = [severity for severity, _ in oracle.values()]
    said = [f"{severities.count(s)} {s}" for s in ("critical", "high", "medium", "low")]
    assert count == f"{len(FINDINGS)} findings: " + ", ".join(n for n in said if n[0] != "0")
    found = warehouse.found()
    assert {f["certificate_id"]: (f["severity"], f["finding_id"]) for f in found} == oracle
    assert all({"account", "action", "days_left", "name"} <= f.keys() for f in found)


def test_one_finding_is_counted_in_the_singular(warehouse: Warehouse) -> None:
    dataset = alpha(warehouse)
    set_state(dataset, dataset.certificates[0], "UNPASSED", 300 * DAY)  # low by default
    assert warehouse.run() == 0
    assert warehouse.check().stdout.splitlines()[-1] == "1 finding: 1 low"
    assert warehouse.check("--min-severity", "low").returncode == 3
    above = warehouse.check("--min-severity", "medium")
    assert (above.returncode, above.stdout) == (0, "Nothing needs action.\n")


def test_a_failed_sync_comes_first_with_its_whole_error_and_marks_the_accounts_rows_stale(
    tmp_path: Path,
) -> None:
    datasets = {"alpha": healthy(), "beta": healthy(seed=8)}
    beta = datasets["beta"]
    set_state(beta, beta.certificates[0], "ISSUED", 3 * DAY + timedelta(hours=3))
    warehouse = Warehouse(tmp_path, datasets)
    try:
        assert warehouse.run() == 0
        warehouse.tokens["beta"] = "check-beta-revoked-0123456789abcdef0"
        assert warehouse.run() == 1  # 401 for beta
        found = warehouse.found()
        [sync] = [f for f in found if f["kind"] == "sync"]
        assert (sync["account"], sync["severity"]) == ("beta", "high")
        with duckdb.connect(str(warehouse.file), read_only=True) as connection:
            errors = connection.execute(
                "SELECT error FROM scm.sync_log WHERE account = 'beta' AND outcome = 'failed'"
            ).fetchall()
        assert sync["error"] in {error for (error,) in errors} and "HTTP 401" in sync["error"]
        assert sync["reason"].endswith(": " + sync["error"])  # whole, never cut
        rows = {f["certificate_id"]: f for f in found if f["kind"] != "sync"}
        oracle = expected(beta, Policy(), datetime.now(timezone.utc), "beta")
        assert {key: (f["severity"], f["finding_id"]) for key, f in rows.items()} == oracle
        assert all(f["data_stale"] for f in rows.values())
        checked = warehouse.check()
        assert checked.stdout.startswith("high     beta  sync: the last sync of ")
    finally:
        warehouse.close()


def test_an_account_not_loaded_for_longer_than_the_policy_allows_is_stale(
    warehouse: Warehouse,
) -> None:
    assert warehouse.run() == 0
    assert warehouse.check().returncode == 0
    with duckdb.connect(str(warehouse.file)) as connection:  # thirty hours pass
        connection.execute(
            "UPDATE scm.sync_log SET finished_at = finished_at - INTERVAL 30 HOUR,"
            " started_at = started_at - INTERVAL 30 HOUR"
        )
    [stale] = warehouse.found()
    assert (stale["kind"], stale["account"], stale["severity"]) == ("sync", "alpha", "medium")
    assert stale["reason"] == "not loaded in full for 30 hours"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--min-severity", "urgent"), "--min-severity 'urgent': use one of critical, high"),
        (("--notify",), "--notify has nowhere to post"),
        (("--notify", "--webhook-url", "ftp://127.0.0.1/x"), "must be an http(s) URL"),
        (("--days", "3"), "unrecognized arguments: --days 3"),
    ],
)
def test_a_usage_error_exits_2_not_3_in_one_line(
    with_findings: Warehouse, args: tuple[str, ...], says: str
) -> None:
    checked = with_findings.check(*args)
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    [line] = checked.stderr.splitlines()
    assert line.startswith("scm-export: error: ") and says in line


def test_a_reader_that_closes_the_pipe_early_leaves_exit_3_and_no_error(
    with_findings: Warehouse,
) -> None:
    warehouse = with_findings
    environment = {**warehouse.env(), "DLT_DATA_DIR": str(warehouse.folder / "dlt-data")}
    reader = subprocess.Popen(
        [sys.executable, "-m", "scm_export.cli", "check"],
        cwd=warehouse.folder,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DEST"))},
            **environment,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # as `| head -0` does: nobody reads
    error = reader.stderr.read()
    assert reader.wait(timeout=120) == 3
    assert error == b""


# -- notifications --------------------------------------------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    """A webhook and a Slack hook of the test's own: what each POST carried, by path."""

    received: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Receiver.received.append((self.path, json.loads(self.rfile.read(length))))
        self.send_response(Receiver.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received, Receiver.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def shift_expiries(dataset: Dataset, by: timedelta) -> None:
    """As if `by` passed: every certificate expires that much sooner."""
    for record in dataset.certificates:
        record.expires_at -= by
        record.api["expire_time"] = dataset.format_expire_time(record.expires_at)
    dataset.invalidate()


def test_notify_posts_what_is_new_or_raised_once_and_again_after_a_failed_post(
    tmp_path: Path, receiver: str
) -> None:
    estate = Dataset.generate(
        certificates=120, csrs=1, seed=5, private_cas=0, private_certificates=0
    )
    planted = next(r for r in estate.certificates if r.owned_by_self)
    set_state(estate, planted, "ISSUED", 15 * DAY + timedelta(hours=3))  # 14 days in 2 days
    warehouse = Warehouse(tmp_path, {"alpha": estate})
    webhook = f"{receiver}/hooks/secret-part-0123"
    notify = ("--notify", "--webhook-url", webhook)
    try:
        assert warehouse.run() == 0
        now = datetime.now(timezone.utc)
        before = expected(estate, Policy(), now, "alpha")
        first = warehouse.check(*notify)
        assert first.returncode == 3, first.stderr
        [(path, body)] = Receiver.received
        assert path == "/hooks/secret-part-0123"
        assert {f["finding_id"]: f["severity"] for f in body["findings"]} == {
            finding_id: severity for severity, finding_id in before.values()
        }
        assert {"finding_id", "severity", "certificate_id", "account", "action"} <= set(
            body["findings"][0]
        )
        assert first.stderr.startswith(f"webhook: posted {len(before)} findings: ")

        unchanged = warehouse.check(*notify)
        assert unchanged.returncode == 3 and len(Receiver.received) == 1  # nothing posted
        assert unchanged.stderr == "webhook: nothing new\n"

        shift_expiries(estate, 2 * DAY)  # two days pass
        assert warehouse.run() == 0
        after = expected(estate, Policy(), datetime.now(timezone.utc), "alpha")
        sent = {finding_id: RANKS[severity] for severity, finding_id in before.values()}
        crossed = {
            finding_id: severity
            for severity, finding_id in after.values()
            if RANKS[severity] > sent.get(finding_id, 0)
        }
        assert f"alpha/{planted.api['id']}/expiring/14" in crossed
        Receiver.status = 500
        failed = warehouse.check(*notify)
        assert failed.returncode == 1
        assert "secret-part" not in failed.stderr + failed.stdout
        assert failed.stderr.strip().splitlines()[-1] == (
            f"scm-export: error: {len(crossed)} findings could not be posted to the webhook"
            " (HTTP 500); they are posted again next time"
        )
        Receiver.status = 200
        again = warehouse.check(*notify)
        assert again.returncode == 3
        [*_, (_, refused), (_, resent)] = Receiver.received
        assert refused == resent
        assert {f["finding_id"]: f["severity"] for f in resent["findings"]} == crossed
        assert warehouse.check(*notify).stderr == "webhook: nothing new\n"
    finally:
        warehouse.close()


def test_slack_gets_one_message_of_the_new_findings_and_nothing_when_nothing_changed(
    warehouse: Warehouse, receiver: str
) -> None:
    dataset = alpha(warehouse)
    set_state(dataset, dataset.certificates[1], "UNPASSED", 300 * DAY)
    assert warehouse.run() == 0
    hook = {"RUNTIME__SLACK_INCOMING_HOOK": f"{receiver}/services/T000/B000/secret-part"}
    checked = warehouse.check("--notify", env=hook)
    assert checked.returncode == 3
    [(_, message)] = Receiver.received
    assert message["text"].startswith("*scm-export check*: 1 finding: 1 low, new or raised,")
    assert checked.stdout.splitlines()[0] in message["text"]
    assert warehouse.check("--notify", env=hook).stderr == "slack: nothing new\n"
    assert len(Receiver.received) == 1


# -- forget ---------------------------------------------------------------------------------------


def test_forget_retires_a_gone_account_from_check_and_views_and_a_run_brings_it_back(
    tmp_path: Path,
) -> None:
    datasets = {"alpha": healthy(), "beta": healthy(seed=8)}
    warehouse = Warehouse(tmp_path, datasets)
    try:  # the lists alone: forgetting is about accounts, not what the estate adds
        assert warehouse.run(*LISTS_ONLY) == 0
        warehouse.tokens["beta"] = "check-beta-revoked-0123456789abcdef0"
        assert warehouse.run(*LISTS_ONLY) == 1
        assert warehouse.check().returncode == 3  # beta's failed sync
        unknown = warehouse.command("forget", "gamma")
        assert unknown.returncode == 2
        assert unknown.stderr == (
            "scm-export: error: no account 'gamma' in dataset 'scm': the sync log knows alpha,"
            " beta\n"
        )
        forgot = warehouse.command("forget", "beta")
        assert forgot.returncode == 0, forgot.stderr
        assert warehouse.check().returncode == 0
        with duckdb.connect(str(warehouse.file), read_only=True) as connection:

            def accounts(table: str) -> set[str]:
                rows = connection.execute(f"SELECT DISTINCT account FROM scm.{table}").fetchall()
                return {row[0] for row in rows}

            assert accounts("certificate_impact") == {"alpha"}
            assert accounts("sync_status") == {"alpha"}
            assert accounts("certificates_history") == {"alpha", "beta"}  # history stays
            assert accounts("certificates") == {"alpha", "beta"}
        warehouse.tokens["beta"] = TOKENS["beta"]
        assert warehouse.run(*LISTS_ONLY) == 0
        with duckdb.connect(str(warehouse.file), read_only=True) as connection:
            rows = connection.execute("SELECT DISTINCT account FROM scm.sync_status").fetchall()
        assert {row[0] for row in rows} == {"alpha", "beta"}
    finally:
        warehouse.close()


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("HIGH_DAYS", "3", "policy thresholds must grow from critical to low"),
        ("EXPIRED_DEPLOYED", "urgent", "policy.expired_deployed='urgent' is not a severity"),
        ("TAG_STEPS", '{"prod": 1}', "policy.tag_steps key 'prod' must be key=value"),
    ],
)
def test_a_policy_that_cannot_be_used_stops_the_run_before_any_request(
    warehouse: Warehouse, setting: str, value: str, says: str
) -> None:
    ran = warehouse.command("run", env={f"SOURCES__SCM_SOURCE__POLICY__{setting}": value})
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    [line] = ran.stderr.splitlines()
    assert line.startswith("scm-export: error: ") and says in line
    assert warehouse.simulators["alpha"].requests == []
