"""`scm-export report`: the terminal cards and the self-contained HTML page, their findings,
counts and weeks checked against the oracle's reading of the simulator's data."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scm_source.simulator import Dataset, Simulator
from scm_source.warehouse.views import views
from tests.conftest import scm_export
from tests.oracle import RANKS, Policy, expected, iso_weeks

URGENT = ("critical", "high")


class Page(HTMLParser):
    """Collects headings, table cells and every tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th", "h2"):
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._text is not None:
            self.tables[-1][-1].append("".join(self._text))
        elif tag == "h2" and self._text is not None:
            self.headings.append("".join(self._text))
        if tag in ("td", "th", "h2"):
            self._text = None


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Dataset]:
    folder = tmp_path_factory.mktemp("report")
    dataset = Dataset.generate(certificates=300, csrs=3, seed=33)
    with Simulator(dataset) as simulator:
        env = {"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": simulator.token}
        result = scm_export("run", "--endpoint", simulator.url, cwd=folder, env=env)
    assert result.returncode == 0, result.stderr
    return folder, dataset


def test_html_report_holds_the_findings_the_chart_and_loads_nothing(
    loaded: tuple[Path, Dataset],
) -> None:
    folder, dataset = loaded
    result = scm_export("report", "--html", "out/report.html", cwd=folder)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"scm-export: error: cannot write {folder / 'out' / 'report.html'}: the folder does not exist"
    )
    (folder / "out").mkdir()
    result = scm_export("report", "--html", "out/report.html", cwd=folder)
    assert result.returncode == 0, result.stderr
    now = datetime.now(timezone.utc)
    found = expected(dataset, Policy(), now)
    text = (folder / "out" / "report.html").read_text()

    page = Page()
    page.feed(text)
    urgent = sum(severity in URGENT for severity, _ in found.values())
    assert page.headings[:2] == ["Summary", f"Critical and high: {urgent}"]
    assert page.headings[-1] == f"Medium and low: {len(found) - urgent}"
    summary = next(t for t in page.tables if t and t[0][0] in RANKS)
    assert summary == [
        [severity, str(sum(s == severity for s, _ in found.values()))]
        for severity in reversed(RANKS)
    ]
    weeks = next(t for t in page.tables if t and t[0][0] == "severity" and t[0][1][:2] == "20")
    want = iso_weeks(dataset, found, now)
    shown = {
        heading.split(" ")[0]: {row[0]: int(row[n]) for row in weeks[1:]}
        for n, heading in enumerate(weeks[0])
        if n
    }
    assert {week: counts for week, counts in shown.items() if any(counts.values())} == want
    assert len(shown) == len(set(shown))  # one column per week, none twice
    rows = re.findall(r"data-finding='([^']+)'", text)
    assert sorted(rows) == sorted(finding_id for _, finding_id in found.values())
    assert text.count("<svg") == 1 and "<path" in text

    assert not {tag for tag, _ in page.tags} & {
        "script",
        "link",
        "img",
        "iframe",
        "object",
        "embed",
    }
    for tag, attributes in page.tags:
        for name, value in attributes.items():
            if name in ("src", "href", "xlink:href") and value:
                assert value.startswith("#"), (tag, name, value)
    assert "@import" not in text
    assert re.findall(r"url\((.)", text) and set(re.findall(r"url\((.)", text)) == {"#"}
    outside_namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', "", text)
    assert "http:" not in outside_namespaces and "https:" not in outside_namespaces


@pytest.mark.parametrize("columns", [80, 132])
def test_terminal_report_shows_every_urgent_finding_whole_at_the_terminals_width(
    loaded: tuple[Path, Dataset], columns: int
) -> None:
    folder, dataset = loaded
    result = scm_export("report", cwd=folder, env={"COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert not [line for line in lines if line != line.rstrip()]  # no padding to the width
    found = expected(dataset, Policy(), datetime.now(timezone.utc))
    counts = ", ".join(
        f"{sum(s == severity for s, _ in found.values())} {severity}"
        for severity in reversed(RANKS)
    )
    assert lines[1] == f"Findings: {counts}"
    checked = scm_export("check", "--json", "--min-severity", "high", cwd=folder)
    urgent = json.loads(checked.stdout)
    assert len(urgent) == sum(severity in URGENT for severity, _ in found.values())
    joined = " ".join(" ".join(lines).split())  # a wrapped card read as one line
    for finding in urgent:
        head = f"{finding['severity'].upper()}  default  {finding['certificate_id']}"
        assert head in result.stdout  # never wrapped nor cut
        assert finding["name"] in result.stdout
        assert f"{finding['reason']} → {finding['action']}" in joined
    assert result.stdout.index("Critical and high:") < result.stdout.index("Medium and low:")


def test_views_command_reinstalls_with_a_new_threshold(loaded: tuple[Path, Dataset]) -> None:
    folder, _ = loaded
    result = scm_export("views", "--expiring-within-days", "0", cwd=folder)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "scm-export: error: expiring_within_days=0 must be a whole number of days, 1 to 3650"
    )
    result = scm_export("views", "--expiring-within-days", "45", cwd=folder)
    assert result.returncode == 0 and f"Installed {len(views())} views in scm" in result.stdout


def test_terminal_report_shows_api_text_as_text(tmp_path: Path) -> None:
    """A name with rich markup and a terminal escape reaches the terminal as characters."""
    dataset = Dataset.generate(certificates=40, csrs=1, seed=2)
    expiring = dataset.certificates[0]
    expiring.owned_by_self = True
    expiring.expires_at = dataset.now + timedelta(days=10)
    expiring.api.update(
        status="ISSUED", expire_time=dataset.format_expire_time(expiring.expires_at)
    )
    expiring.api["name"] = "[link=http://evil.example]x[/link]\x1b[31mred"
    with Simulator(dataset) as simulator:
        env = {"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": simulator.token}
        assert scm_export("run", "--endpoint", simulator.url, cwd=tmp_path, env=env).returncode == 0
    result = scm_export("report", cwd=tmp_path, env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "[link=http://evil.example]x[/link]\\x1b[31mred" in result.stdout
    assert "\x1b" not in result.stdout
