"""`scm-export check` as cron runs it: the installed command, run from a folder of its own after
`scm-export run` loaded the simulator; each kind of finding alone gives exit 3 and its line,
none gives exit 0, and the findings reach a Slack incoming webhook served here."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest
from scm_export.freshness import sync_flag

from scm_source.simulator import CertificateRecord, Dataset, Simulator, SimulatorOptions
from tests.conftest import LISTS_ONLY, scm_export

DAY = timedelta(days=1)
TOKEN = "check-token-0123456789abcdef0123456789"


def healthy() -> Dataset:
    """Every certificate issued and valid for 200 days more: nothing needs action."""
    dataset = Dataset.generate(certificates=6, csrs=1, seed=7)
    for record in dataset.certificates:
        set_state(dataset, record, "ISSUED", 200 * DAY)
    return dataset


def set_state(dataset: Dataset, record: CertificateRecord, status: str, left: timedelta) -> None:
    record.owned_by_self = True
    record.expires_at = dataset.now + left
    record.api.update(status=status, expire_time=dataset.format_expire_time(record.expires_at))
    dataset.invalidate()


class Warehouse:
    """A DuckDB file loaded by `scm-export run` from a simulator serving `dataset`."""

    def __init__(self, folder: Path, dataset: Dataset) -> None:
        self.folder = folder
        self.file = folder / "warehouse.duckdb"
        self.simulator = Simulator(dataset, SimulatorOptions(tokens=frozenset({TOKEN})))

    def env(self, token: str = TOKEN) -> dict[str, str]:
        return {
            "SOURCES__SCM_SOURCE__ENDPOINT": self.simulator.url,
            "SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": token,
            "DESTINATION__DUCKDB__CREDENTIALS": str(self.file),
        }

    def run(self, token: str = TOKEN) -> int:
        return scm_export("run", *LISTS_ONLY, cwd=self.folder, env=self.env(token)).returncode

    def check(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return scm_export("check", *args, cwd=self.folder, env={**self.env(), **(env or {})})


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    loaded = Warehouse(tmp_path, healthy())
    with loaded.simulator:
        yield loaded


def test_nothing_to_act_on_exits_0(warehouse: Warehouse) -> None:
    assert warehouse.run() == 0
    checked = warehouse.check()
    assert (checked.returncode, checked.stdout, checked.stderr) == (
        0,
        "Nothing needs action.\n",
        "",
    )


@pytest.mark.parametrize(
    ("status", "left", "kind"),
    [
        ("ISSUED", 5 * DAY + timedelta(hours=3), "expiring"),
        ("ISSUED", -3 * DAY - timedelta(hours=1), "expired"),
        ("UNPASSED", 300 * DAY, "unpassed"),
    ],
)
def test_each_kind_of_certificate_finding_alone_exits_3_with_its_line(
    warehouse: Warehouse, status: str, left: timedelta, kind: str
) -> None:
    dataset = warehouse.simulator.dataset
    record = dataset.certificates[2]
    set_state(dataset, record, status, left)
    assert warehouse.run() == 0
    checked = warehouse.check()
    assert checked.returncode == 3, checked.stderr
    subject = f"{record.api['name']} ({record.api['id']})"
    now = datetime.now(timezone.utc)
    detail = {
        "expiring": f"in {math.floor((record.expires_at - now).total_seconds() / 86400)} days",
        "expired": f"expired {math.floor((now - record.expires_at).total_seconds() / 86400)} days"
        " ago, its status still ISSUED",
        "unpassed": "failed validation",
    }[kind]
    [line, count] = checked.stdout.splitlines()
    assert line.startswith(f"{kind:<11} default  {subject}: ") and detail in line
    assert count == "1 findings"


def test_a_certificate_beyond_the_threshold_is_not_a_finding_until_the_threshold_reaches_it(
    warehouse: Warehouse,
) -> None:
    dataset = warehouse.simulator.dataset
    set_state(dataset, dataset.certificates[0], "ISSUED", 20 * DAY)
    assert warehouse.run() == 0
    assert warehouse.check().returncode == 0  # 14 days by default
    wider = warehouse.check("--expiring-within-days", "30")
    assert wider.returncode == 3 and wider.stdout.startswith("expiring ")


def test_a_failed_last_sync_is_found_and_comes_before_a_stale_one(warehouse: Warehouse) -> None:
    assert warehouse.run() == 0
    assert warehouse.run(token="check-token-revoked-0123456789abcdef0") == 1  # 401: it fails
    checked = warehouse.check()
    assert checked.returncode == 3
    lines = checked.stdout.splitlines()
    assert lines[0].startswith("sync_failed default  certificates: last sync failed: GET ")
    assert lines[1].startswith("sync_failed default  csr_list: last sync failed: GET ")
    assert "401" in lines[0] and lines[-1] == "2 findings"


def test_a_sync_older_than_max_age_hours_is_found(warehouse: Warehouse) -> None:
    assert warehouse.run() == 0
    assert warehouse.check("--max-age-hours", "26").returncode == 0
    loaded_at = datetime.now(timezone.utc) - timedelta(hours=30)
    with duckdb.connect(str(warehouse.file)) as connection:  # thirty hours pass
        connection.execute("UPDATE scm.sync_log SET finished_at = ?", [loaded_at])
    checked = warehouse.check("--max-age-hours", "26", "--json")
    assert checked.returncode == 3
    found = json.loads(checked.stdout)
    assert [(f["kind"], f["account"], f["subject"]) for f in found] == [
        ("sync_stale", "default", "certificates"),
        ("sync_stale", "default", "csr_list"),
    ]
    assert f"since {loaded_at:%Y-%m-%d %H:%M} UTC" in found[0]["detail"]


@pytest.mark.parametrize(
    "args", [("--max-age-hours", "0"), ("--expiring-within-days", "-1"), ("--days", "3")]
)
def test_a_usage_error_exits_2_not_3(warehouse: Warehouse, args: tuple[str, ...]) -> None:
    dataset = warehouse.simulator.dataset
    set_state(dataset, dataset.certificates[0], "ISSUED", -DAY)  # a finding exists
    assert warehouse.run() == 0
    checked = warehouse.check(*args)
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    assert checked.stderr.count("\n") <= 3  # usage and one line


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(Hook.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def hook() -> Iterator[str]:
    Hook.received, Hook.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret-part"
    finally:
        server.shutdown()


def test_the_findings_reach_a_slack_incoming_webhook(warehouse: Warehouse, hook: str) -> None:
    dataset = warehouse.simulator.dataset
    set_state(dataset, dataset.certificates[1], "UNPASSED", 300 * DAY)
    assert warehouse.run() == 0
    checked = warehouse.check(env={"RUNTIME__SLACK_INCOMING_HOOK": hook})
    assert checked.returncode == 3
    [message] = Hook.received
    assert message["text"].startswith("*scm-export check*: 1 findings in dataset scm")
    assert checked.stdout.splitlines()[0] in message["text"]


def test_a_webhook_that_fails_is_one_line_exit_1_without_its_url(
    warehouse: Warehouse, hook: str
) -> None:
    Hook.status = 500
    dataset = warehouse.simulator.dataset
    set_state(dataset, dataset.certificates[1], "UNPASSED", 300 * DAY)
    assert warehouse.run() == 0
    checked = warehouse.check(env={"RUNTIME__SLACK_INCOMING_HOOK": hook})
    assert checked.returncode == 1
    assert "Traceback" not in checked.stderr and "secret-part" not in checked.stderr
    assert checked.stderr.strip().splitlines()[-1] == (
        "scm-export: error: the findings could not be posted to runtime.slack_incoming_hook"
        " (HTTP 500)"
    )
    assert len(Hook.received) == 1


def test_a_member_skipped_on_purpose_is_never_stale_and_a_failure_shows_its_first_line() -> None:
    """sync_flag decides for `check` and the report's flags alike."""
    now = datetime.now(timezone.utc)
    assert sync_flag("skipped", None, None, 26, now) is None  # a suspended member never loads
    assert sync_flag("loaded", None, now - timedelta(hours=1), 26, now) is None
    stale = sync_flag("loaded", None, now - timedelta(hours=30), 26, now)
    assert stale is not None and stale.startswith("not loaded in full since ")
    assert stale.endswith("(more than 26 hours)")
    assert (
        sync_flag("loaded", None, None, 26, now) == "not loaded in full ever (more than 26 hours)"
    )
    failed = sync_flag("failed", "GET /v3/scm/csr answered HTTP 401\nmore", now, 26, now)
    assert failed == "last sync failed: GET /v3/scm/csr answered HTTP 401"
