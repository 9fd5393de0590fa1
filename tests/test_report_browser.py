"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) opens the file the
installed command wrote, from disk, with every request it might make sent to a proxy served here;
the test reads the rendered DOM and takes a screenshot. Three accounts, one of which failed its
last sync; every count is computed in Python from the simulator's data."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scm_source.simulator import Dataset, Simulator
from tests.conftest import LISTS_ONLY, scm_export
from tests.test_views import Datasets, expected, three_accounts

CHROMIUM = shutil.which("chromium")
# Skipped where chromium is missing, except in CI, which installs it (.ci/run) and must run it.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="needs Debian's chromium"
)
SECTIONS = (
    "as-of",
    "summary",
    "this-week",
    "weekly",
    "certificates_expiring",
    "certificates_expired",
    "certificates_revoked",
    "certificates_unpassed",
)


class Dom(HTMLParser):
    """Section ids, summary counts by key, sync flags, and rows of the this-week table."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.counts: dict[str, int] = {}
        self.flags: list[str] = []
        self.actions: list[str] = []  # the urgency class of each row
        self._count: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "section" and attributes.get("id"):
            self.sections.append(str(attributes["id"]))
        if tag == "td" and attributes.get("data-count"):
            self._count = attributes["data-count"]
        if tag == "div" and attributes.get("data-flag"):
            self.flags.append(str(attributes["data-flag"]))
        if tag == "tr" and self.sections[-1:] == ["this-week"] and attributes.get("class"):
            self.actions.append(str(attributes["class"]))

    def handle_data(self, data: str) -> None:
        if self._count is not None:
            self.counts[self._count] = int(data)
            self._count = None


class Proxy:
    """Counts the connections a browser opens to it: every request of the page comes here."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            connection.settimeout(2)
            try:
                self.requests.append(connection.recv(4096).split(b"\r\n", 1)[0].decode())
            except OSError:
                self.requests.append("")
            connection.close()

    def close(self) -> None:
        self._server.close()


# Chromium calls home (network time, component updates, sign-in) whatever the flags; such a
# request names one of these domains. A request of the page would name the host it asks.
CHROMIUM_SERVICES = re.compile(
    r"^(GET|POST|CONNECT) (http://)?[a-z0-9.-]+\.(google\.com|googleapis\.com|gvt1\.com)[:/]"
)


def chromiums_own(request: str) -> bool:
    return bool(CHROMIUM_SERVICES.match(request))


def chromium(*args: str, profile: Path, proxy: Proxy) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--proxy-server=http://127.0.0.1:{proxy.port}",
            "--proxy-bypass-list=<-loopback>",  # loopback too goes through the proxy
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def tokens_of(datasets: Datasets) -> dict[str, str]:
    return {alias: f"{alias}-token-0123456789abcdef0123456789" for alias in datasets}


def run_env(simulator: Simulator, tokens: dict[str, str]) -> dict[str, str]:
    env = {"SOURCES__SCM_SOURCE__ACCOUNTS": "[" + ",".join(f'"{a}"' for a in tokens) + "]"}
    for alias, token in tokens.items():
        env[f"SOURCES__SCM_SOURCE__{alias.upper()}__ENDPOINT"] = simulator.url
        env[f"SOURCES__SCM_SOURCE__{alias.upper()}__CREDENTIALS__AUTH_TOKEN"] = token
    return env


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Datasets]]:
    """Three accounts loaded, then a run in which gamma's token is refused: its last sync
    failed and its rows stay as the first run left them."""
    folder = tmp_path_factory.mktemp("browser")
    datasets = three_accounts()
    tokens = tokens_of(datasets)
    serving = {tokens[alias]: data for alias, data in datasets.items()}
    with Simulator(Dataset.generate(1, 1, seed=1), accounts=serving) as simulator:
        assert (
            scm_export("run", *LISTS_ONLY, cwd=folder, env=run_env(simulator, tokens)).returncode
            == 0
        )
        refused = {**tokens, "gamma": "gamma-token-refused-0123456789abcdef0"}
        assert (
            scm_export("run", *LISTS_ONLY, cwd=folder, env=run_env(simulator, refused)).returncode
            == 1
        )
    written = scm_export("report", "--html", "report.html", cwd=folder)
    assert written.returncode == 0, written.stderr
    yield folder, datasets


def python_counts(datasets: Datasets, now: datetime) -> dict[str, int]:
    """The summary's counts and the this-week rows, read from the simulator's data."""
    expired = expected(datasets, "certificates_expired", now, 30)
    coverage = expected(datasets, "domain_coverage", now, 30)
    week_coverage = expected(datasets, "domain_coverage", now, 7)
    broke = [row for row in expired if row[3] and row[2] < 7]
    ending = [row for row in week_coverage if row[5] and row[3] is not None]
    return {
        "expiring_7": len(expected(datasets, "certificates_expiring", now, 7)),
        "expiring_30": len(expected(datasets, "certificates_expiring", now, 30)),
        "expiring_90": len(expected(datasets, "certificates_expiring", now, 90)),
        "expired_still_valid": sum(1 for row in expired if row[3]),
        "expired": len(expired),
        "revoked": len(expected(datasets, "certificates_revoked", now, 30)),
        "unpassed": len(expected(datasets, "certificates_unpassed", now, 30)),
        "names_at_risk": sum(1 for row in coverage if row[5]),
        "this_week_broke": len(broke),
        "this_week_ending": len(expected(datasets, "certificates_expiring", now, 7)) + len(ending),
    }


def test_the_report_renders_and_prints_in_chromium_with_every_section_and_count_fetching_nothing(
    report: tuple[Path, Datasets], tmp_path: Path
) -> None:
    folder, datasets = report
    page = (folder / "report.html").resolve().as_uri()
    proxy = Proxy()
    try:
        dumped = chromium("--dump-dom", page, profile=tmp_path / "dom", proxy=proxy)
        shot = tmp_path / "report.png"
        screenshot = chromium(
            "--hide-scrollbars",
            "--window-size=1280,1600",
            f"--screenshot={shot}",
            page,
            profile=tmp_path / "shot",
            proxy=proxy,
        )
        printed = tmp_path / "report.pdf"
        chromium(f"--print-to-pdf={printed}", page, profile=tmp_path / "print", proxy=proxy)
    finally:
        proxy.close()
    assert dumped.returncode == 0 and screenshot.returncode == 0, dumped.stderr[-2000:]
    pdf = printed.read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type/Page") >= 1
    assert [r for r in proxy.requests if not chromiums_own(r)] == []  # the page asked nothing
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

    dom = Dom()
    dom.feed(dumped.stdout)
    assert dom.sections == list(SECTIONS)
    assert dom.flags == ["gamma/certificates", "gamma/csr_list"]  # flagged at the top
    now = datetime.now(timezone.utc)
    counts = python_counts(datasets, now)
    # Counts computed at query time may move if a certificate expires between the page and now.
    later = python_counts(datasets, now + timedelta(minutes=2))
    shown = {**dom.counts, "this_week_broke": dom.actions.count("overdue")}
    shown["this_week_ending"] = dom.actions.count("week")
    assert {key: shown[key] for key in counts} == counts or all(
        shown[key] in (counts[key], later[key]) for key in counts
    )
    assert counts["expiring_30"] and counts["expired_still_valid"] and counts["names_at_risk"]
