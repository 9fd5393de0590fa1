"""`scm-export report`: the terminal tables and the self-contained HTML page, their numbers
checked against a Python reading of the data."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scm_source.simulator import Dataset, Simulator
from scm_source.warehouse.views import views
from tests.conftest import scm_export
from tests.test_views import VALID, expected_in, listed

TITLES = {
    "certificates_expiring": "Expiring within {days} days",
    "certificates_expired": "Expired",
    "certificates_revoked": "Revoked or being revoked",
    "certificates_unpassed": "Failed validation (UNPASSED)",
}


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


def weekly(dataset: Dataset, now: datetime) -> list[int]:
    counts = [0] * 26
    for record in listed(dataset):
        left = record.expires_at - now
        if record.api["status"] in VALID and timedelta(0) < left <= timedelta(days=182):
            counts[min(math.floor(left.total_seconds() / 86400) // 7, 25)] += 1
    return counts


def test_html_report_holds_the_chart_and_tables_and_loads_nothing(
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
    text = (folder / "out" / "report.html").read_text()

    page = Page()
    page.feed(text)
    for view, title in TITLES.items():
        count = len(expected_in(dataset, view, now, 30))
        assert f"{title.format(days=30)}: {count}" in page.headings
    weeks = next(table for table in page.tables if table and table[0][:2] == ["account", "1"])
    assert weeks[0] == ["account", *map(str, range(1, 27))]
    assert weeks[1] == ["default", *map(str, weekly(dataset, now))]
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


def test_terminal_report_counts_each_section(loaded: tuple[Path, Dataset]) -> None:
    folder, dataset = loaded
    result = scm_export("report", "--days", "90", cwd=folder)
    assert result.returncode == 0, result.stderr
    now = datetime.now(timezone.utc)
    for view, title in TITLES.items():
        count = len(expected_in(dataset, view, now, 90))
        assert f"{title.format(days=90)}: {count}" in result.stdout


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
    expiring = next(
        record
        for record in listed(dataset)
        if record.api["status"] in VALID
        and timedelta(0) < record.expires_at - datetime.now(timezone.utc) < timedelta(days=20)
    )
    expiring.api["name"] = "[link=http://evil.example]x[/link]\x1b[31mred"
    with Simulator(dataset) as simulator:
        env = {"SOURCES__SCM_SOURCE__CREDENTIALS__AUTH_TOKEN": simulator.token}
        assert scm_export("run", "--endpoint", simulator.url, cwd=tmp_path, env=env).returncode == 0
    result = scm_export("report", cwd=tmp_path, env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "[link=http://evil.example]x[/link]\\x1b[31mred" in result.stdout
    assert "\x1b" not in result.stdout


@pytest.mark.parametrize("columns", [80, 132])
def test_terminal_report_fits_the_terminal(loaded: tuple[Path, Dataset], columns: int) -> None:
    folder, dataset = loaded
    result = scm_export("report", cwd=folder, env={"COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert any(line.startswith("┏") for line in lines)  # tables drawn, borders whole
    now = datetime.now(timezone.utc)
    expiring = len(expected_in(dataset, "certificates_expiring", now, 30))
    assert f"Expiring within 30 days: {expiring}" in result.stdout
