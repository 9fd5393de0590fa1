"""The README and docs/ as a newcomer follows them: every command block marked runnable runs
against the simulator, from a folder of its own, with the exit status it promises; every other
command block says why it is not run; every relative link and anchor leads somewhere; and CI runs
the README's test command as written."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from scm_source.simulator import AccessKey, Dataset, Simulator, SimulatorOptions
from tests.conftest import REPO, own_postgres_database, unconfigured_environment

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
COMMAND_LANGUAGES = {"sh": ["bash", "-eo", "pipefail"], "python": [".venv/bin/python", "-"]}
MARKER = re.compile(r"<!-- (runnable(?:: exit (\d+))?|not run: .+) -->")
FENCE = re.compile(r"^```(\w*)$")
LINK = re.compile(r"\]\(([^)\s]+)\)")
KEY = AccessKey("DOCSAK01234567890123", "docs-secret-key-0123456789abcdef01")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    code: str
    marker: str | None  # the HTML comment on the line before the fence

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"

    @property
    def expected_exit(self) -> int:
        found = MARKER.fullmatch(self.marker or "")
        return int(found.group(2) or 0) if found else 0

    @property
    def runnable(self) -> bool:
        return (self.marker or "").startswith("<!-- runnable")


def blocks(page: Path) -> list[Block]:
    """Each fenced block, with the marker (if any) on the nearest non-blank line before it."""
    found: list[Block] = []
    lines = page.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = lines.index("```", index + 1)
        before = [line for line in lines[:index] if line.strip()]
        marker = before[-1].strip() if before and before[-1].startswith("<!--") else None
        code = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(Block(page, index + 1, opening.group(1), code, marker))
        index = end + 1
    return found


def command_blocks() -> list[Block]:
    return [b for page in PAGES for b in blocks(page) if b.language in COMMAND_LANGUAGES]


def prose(page: Path) -> str:
    """The page without its fenced blocks (where `#` starts a comment, not a heading)."""
    kept, fenced = [], False
    for line in page.read_text().splitlines():
        if FENCE.match(line) or line == "```":
            fenced = not fenced
        elif not fenced:
            kept.append(line)
    return "\n".join(kept)


def anchors(page: Path) -> set[str]:
    """GitHub's anchor for each heading: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", prose(page), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_command_block_is_run_or_says_why_not() -> None:
    unmarked = [b.where for b in command_blocks() if not MARKER.fullmatch(b.marker or "")]
    assert not unmarked, f"mark these <!-- runnable --> or <!-- not run: why -->: {unmarked}"
    assert sum(b.runnable for b in command_blocks()) >= 5


def test_every_relative_link_and_anchor_leads_somewhere() -> None:
    broken = []
    for page in PAGES:
        for target in LINK.findall(prose(page)):
            if re.match(r"[a-z]+:", target):
                continue  # an absolute URL: not followed (nothing here leaves loopback)
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists() or (anchor and anchor not in anchors(linked)):
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken


def test_ci_runs_the_readme_test_command_as_written() -> None:
    (test_it,) = [b for b in blocks(REPO / "README.md") if "pytest" in b.code]
    ci = (REPO / ".ci" / "run").read_text().replace(" -q ", " ")
    assert test_it.code.strip() in ci.splitlines()


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A folder with `.venv` standing for the installed package, a simulator holding the access
    key exported as the README says, and a PostgreSQL database of the module's own."""
    home = tmp_path_factory.mktemp("newcomer")
    assert (Path(sys.prefix) / "bin" / "scm-export").exists(), "run the suite from the venv"
    (home / ".venv").symlink_to(sys.prefix)
    data = Dataset.generate(certificates=90, csrs=20, seed=5)
    with (
        own_postgres_database("scm_docs") as database,
        Simulator(data, SimulatorOptions(access_keys=(KEY,))) as sim,
    ):
        env = unconfigured_environment()
        env |= {
            "HUAWEICLOUD_SDK_AK": KEY.access_key,
            "HUAWEICLOUD_SDK_SK": KEY.secret_key,
            "HUAWEICLOUD_SDK_DOMAIN_ID": data.domain_id,
            "SOURCES__SCM_SOURCE__ENDPOINT": sim.url,
            "DESTINATION__POSTGRES__CREDENTIALS": database,
            "DLT_DATA_DIR": str(home / "dlt-data"),
        }
        yield {"home": home, "env": env}


def test_the_runnable_blocks_run_as_written_in_page_order(newcomer: dict[str, object]) -> None:
    """In one folder, in reading order (the README's load before the report reads it)."""
    home, env = newcomer["home"], newcomer["env"]
    assert isinstance(home, Path) and isinstance(env, dict)
    ran = []
    for block in (b for b in command_blocks() if b.runnable):
        result = subprocess.run(
            COMMAND_LANGUAGES[block.language],
            input=block.code,
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == block.expected_exit, (block.where, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, (block.where, result.stderr)
        ran.append(block.where)
    assert (home / "scm_export.duckdb").exists()  # the README's `run` wrote where it says
    assert ran
