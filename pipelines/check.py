"""`scm-export check`: what needs action, read from the view `certificate_findings` (no API
call), for cron, CI and alerting. Exit 0 when nothing at or above `--min-severity` does, 3 when
something does; one line per finding, most urgent first (the view's `priority`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

import dlt

from scm_source.errors import ScmConfigError
from scm_source.warehouse.policy import SEVERITIES, rank
from scm_source.warehouse.views import view_reader

EXIT_FINDINGS = 3
FINDINGS_VIEW = "certificate_findings"


@dataclass(frozen=True)
class Finding:
    """A row of `certificate_findings`: a certificate, private CA or certificate, or an
    account's sync."""

    finding_id: str
    severity: str
    severity_rank: int
    kind: str
    account: str
    certificate_id: str | None
    name: str | None
    domain: str | None
    sans: str | None
    status: str | None
    expire_time: datetime | None
    days_left: int | None
    reason: str
    action: str
    deployed_resources: int | None
    deployed_services: str | None
    owner: str | None
    successor_id: str | None
    data_stale: bool
    error: str | None

    @property
    def subject(self) -> str:
        if self.certificate_id is None:
            return "sync"
        return f"{self.certificate_id} {self.name or self.domain or '(no name)'}"

    def line(self) -> str:
        owner = f" (owner {self.owner})" if self.owner else ""
        said = f"{self.subject}: {self.reason}; {self.action}{owner}"
        return f"{self.severity:<8} {self.account}  {said}"

    def as_json(self) -> dict[str, Any]:
        found = asdict(self)
        if self.expire_time is not None:
            found["expire_time"] = self.expire_time.isoformat()
        return found


FINDING_COLUMNS = tuple(each.name for each in fields(Finding))


def min_rank(severity: str) -> int:
    if severity not in SEVERITIES:
        raise ScmConfigError(
            f"--min-severity {severity!r}: use one of {', '.join(reversed(SEVERITIES))}"
        )
    return rank(severity)


def findings(pipeline: dlt.Pipeline, min_severity: str = "low") -> list[Finding]:
    """Every finding at or above `min_severity`, most urgent first."""
    least = min_rank(min_severity)
    with view_reader(pipeline) as select:
        rows = select(FINDINGS_VIEW, FINDING_COLUMNS, "priority")
    found = [Finding(*row) for row in rows]
    return [finding for finding in found if finding.severity_rank >= least]


def as_json(found: list[Finding]) -> str:
    return json.dumps([finding.as_json() for finding in found], indent=2)


def counted(found: list[Finding]) -> str:
    """'1 finding: 1 critical' / '5 findings: 2 critical, 3 low'."""
    by_severity = [
        f"{sum(f.severity == severity for f in found)} {severity}"
        for severity in reversed(SEVERITIES)
        if any(f.severity == severity for f in found)
    ]
    noun = "finding" if len(found) == 1 else "findings"
    return f"{len(found)} {noun}: {', '.join(by_severity)}"
