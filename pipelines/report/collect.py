"""What the report shows, read from the findings view (`check.findings`): the syncs that need a
look, the urgent findings, the rest, counts by severity, and what expires week by week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import dlt

from scm_source.warehouse.policy import SEVERITIES

from ..check import Finding, findings
from .cells import utc

MAX_WEEKS = 26
UNPASSED = "UNPASSED"
URGENT = ("critical", "high")


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    dataset: str
    findings: list[Finding]  # most urgent first

    @property
    def syncs(self) -> list[Finding]:
        """Accounts whose sync failed or went stale: read first, their data is stale."""
        return [f for f in self.findings if f.kind == "sync"]

    @property
    def urgent(self) -> list[Finding]:
        return [f for f in self.findings if f.kind != "sync" and f.severity in URGENT]

    @property
    def rest(self) -> list[Finding]:
        return [f for f in self.findings if f.kind != "sync" and f.severity not in URGENT]

    def counts(self) -> dict[str, int]:
        """Findings by severity, most severe first (zeros included)."""
        return {s: sum(f.severity == s for f in self.findings) for s in reversed(SEVERITIES)}

    def weekly(self) -> list[tuple[date, dict[str, int]]]:
        """Findings not yet expired by the ISO week (its Monday) they expire in, by severity:
        from this week to the last such finding's, at most MAX_WEEKS. A failed validation has
        no expiry to chart."""
        this_monday = self.generated_at.date() - timedelta(days=self.generated_at.weekday())
        weeks: dict[date, dict[str, int]] = {}
        for finding in self.findings:
            if finding.expire_time is None or utc(finding.expire_time) < self.generated_at:
                continue
            if finding.status == UNPASSED:
                continue
            expires = utc(finding.expire_time).date()
            monday = expires - timedelta(days=expires.weekday())
            if (monday - this_monday).days < 7 * MAX_WEEKS:
                counts = weeks.setdefault(monday, dict.fromkeys(SEVERITIES, 0))
                counts[finding.severity] += 1
        if not weeks:
            return []
        last = max(weeks)
        span = (last - this_monday).days // 7 + 1
        mondays = [this_monday + timedelta(weeks=n) for n in range(span)]
        return [(monday, weeks.get(monday, dict.fromkeys(SEVERITIES, 0))) for monday in mondays]


def collect(pipeline: dlt.Pipeline) -> Report:
    return Report(datetime.now(timezone.utc), pipeline.dataset_name, findings(pipeline))
