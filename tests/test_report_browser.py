"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) opens the file the
installed command wrote, from disk, with every request it might make sent to a proxy served here;
the test reads the rendered DOM, takes a screenshot and prints it. Three estates: one account, two
accounts of which one failed its last sync, and a big inventory; every finding and count is the
oracle's, computed from the simulator's data."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from tests.conftest import scm_export
from tests.oracle import RANKS, Policy, expected

CHROMIUM = shutil.which("chromium")
# Skipped where chromium is missing, except in CI, which installs it (.ci/run) and must run it.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="needs Debian's chromium"
)
SECTIONS = ["syncs", "summary", "urgent", "weekly", "rest"]
ESTATES = {
    "one account": {"alpha": (300, 11)},
    "two accounts, one failed": {"alpha": (300, 11), "beta": (200, 12)},
    "a big inventory": {"alpha": (1000, 13)},
}
FAILED = {"two accounts, one failed": "beta"}


class Dom(HTMLParser):
    """Section ids in order, summary counts, the failed accounts' cards, and the finding rows of
    each section (their finding ids, in order)."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.counts: dict[str, int] = {}
        self.syncs: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self._count: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "section" and attributes.get("id"):
            self.sections.append(str(attributes["id"]))
        if tag == "td" and attributes.get("data-count"):
            self._count = attributes["data-count"]
        if tag == "div" and attributes.get("data-account"):
            self.syncs.append(str(attributes["data-account"]))
        if tag == "tr" and attributes.get("data-finding"):
            self.rows.setdefault(self.sections[-1], []).append(str(attributes["data-finding"]))

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


def run_env(simulators: dict[str, Simulator], tokens: dict[str, str]) -> dict[str, str]:
    env = {"SOURCES__SCM_SOURCE__ACCOUNTS": "[" + ",".join(f'"{a}"' for a in simulators) + "]"}
    for alias, simulator in simulators.items():
        env[f"SOURCES__SCM_SOURCE__{alias.upper()}__ENDPOINT"] = simulator.url
        env[f"SOURCES__SCM_SOURCE__{alias.upper()}__CREDENTIALS__AUTH_TOKEN"] = tokens[alias]
    return env


@pytest.fixture(scope="module", params=list(ESTATES))
def report(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, dict[str, Dataset]]]:
    """The estate loaded; where one account fails, a second run in which its token is refused:
    its last sync failed and its rows stay as the first run left them."""
    estate = request.param
    folder = tmp_path_factory.mktemp("browser")
    datasets = {
        alias: Dataset.generate(certificates=size, csrs=2, seed=seed)
        for alias, (size, seed) in ESTATES[estate].items()
    }
    tokens = {alias: f"{alias}-token-0123456789abcdef0123456789" for alias in datasets}
    simulators = {
        alias: Simulator(dataset, SimulatorOptions(tokens=frozenset({tokens[alias]}))).start()
        for alias, dataset in datasets.items()
    }
    try:
        loaded = scm_export("run", cwd=folder, env=run_env(simulators, tokens), timeout=300)
        assert loaded.returncode == 0, loaded.stderr
        if estate in FAILED:
            refused = {**tokens, FAILED[estate]: "refused-token-0123456789abcdef0123456"}
            again = scm_export("run", cwd=folder, env=run_env(simulators, refused), timeout=300)
            assert again.returncode == 1
    finally:
        for simulator in simulators.values():
            simulator.stop()
    written = scm_export("report", "--html", "report.html", cwd=folder)
    assert written.returncode == 0, written.stderr
    yield estate, folder, datasets


def test_the_report_opens_with_what_to_fix_first_in_chromium_fetching_nothing(
    report: tuple[str, Path, dict[str, Dataset]], tmp_path: Path
) -> None:
    estate, folder, datasets = report
    page = (folder / "report.html").resolve().as_uri()
    proxy = Proxy()
    try:
        dumped = chromium("--dump-dom", page, profile=tmp_path / "dom", proxy=proxy)
        if estate in FAILED:  # the page the README shows: screenshot and print it too
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
            assert screenshot.returncode == 0, screenshot.stderr[-2000:]
            pdf = printed.read_bytes()
            assert pdf.startswith(b"%PDF") and (b"/Type /Page" in pdf or b"/Type/Page" in pdf)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    finally:
        proxy.close()
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert [r for r in proxy.requests if not chromiums_own(r)] == []  # the page asked nothing

    dom = Dom()
    dom.feed(dumped.stdout)
    assert dom.sections == SECTIONS  # what to fix first, the summary, critical and high, ...
    assert dom.syncs == [FAILED[estate]] if estate in FAILED else dom.syncs == []
    now = datetime.now(timezone.utc)
    found = {
        finding_id: severity
        for alias, dataset in datasets.items()
        for severity, finding_id in expected(dataset, Policy(), now, alias).values()
    }
    severities = [severity for severity in found.values()]
    assert dom.counts == {
        s: severities.count(s) + (s == "high" and estate in FAILED) for s in RANKS
    }
    urgent = {f for f, severity in found.items() if severity in ("critical", "high")}
    assert set(dom.rows["urgent"]) == urgent
    assert set(dom.rows.get("rest", [])) == set(found) - urgent
    critical = [f for f in dom.rows["urgent"] if found[f] == "critical"]
    assert critical and dom.rows["urgent"][: len(critical)] == critical  # critical first
