"""`scm-export check`: what needs action, read from the warehouse (no API call), for cron, CI
and alerting. Exit 0 when nothing does, 3 when something does, one line per finding, most
urgent first: expired certificates whose status still says valid, certificates expiring within
the threshold (soonest first), accounts whose last sync failed, accounts not loaded in full for
longer than allowed, failed validations. Optionally posted to a Slack incoming webhook
(`runtime.slack_incoming_hook`, through dlt's own helper).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

import dlt
import requests
from dlt.common.runtime.slack import send_slack_message

from scm_source.config.values import is_whole_number
from scm_source.errors import ScmConfigError, ScmError
from scm_source.extract.sync import FAILED
from scm_source.warehouse.views import ViewSelect, validate_days, view_reader

from .freshness import sync_flag, when

EXIT_FINDINGS = 3
DEFAULT_EXPIRING_WITHIN_DAYS = 14

# The kinds of finding, most urgent first.
EXPIRED, EXPIRING, SYNC_FAILED, SYNC_STALE, UNPASSED = (
    "expired",
    "expiring",
    "sync_failed",
    "sync_stale",
    "unpassed",
)
KINDS = (EXPIRED, EXPIRING, SYNC_FAILED, SYNC_STALE, UNPASSED)


@dataclass(frozen=True)
class Finding:
    kind: str
    account: str
    subject: str  # a certificate's name and id, or a list
    detail: str

    def line(self) -> str:
        return f"{self.kind:<11} {self.account}  {self.subject}: {self.detail}"


def findings(
    pipeline: dlt.Pipeline, expiring_within_days: int, max_age_hours: int
) -> list[Finding]:
    """Every finding, most urgent first."""
    days = validate_days(expiring_within_days)
    if not is_whole_number(max_age_hours, 1):
        raise ScmConfigError(f"--max-age-hours={max_age_hours!r} must be a whole number from 1")
    with view_reader(pipeline) as select:
        found = [
            *_expired_still_valid(select, days),
            *_expiring(select, days),
            *_sync_problems(select, days, max_age_hours),
            *_unpassed(select, days),
        ]
    return sorted(found, key=lambda finding: KINDS.index(finding.kind))  # stable: order kept


def _certificate(name: Any, identifier: Any) -> str:
    return f"{name or '(no name)'} ({identifier})"


def _expired_still_valid(select: ViewSelect, days: int) -> list[Finding]:
    rows = select(
        "certificates_expired",
        days,
        ("account", "id", "name", "status", "days_since_expiry", "status_still_valid"),
        "expire_time",
    )
    return [
        Finding(
            EXPIRED,
            account,
            _certificate(name, identifier),
            f"expired {days_since} days ago, its status still {status}",
        )
        for account, identifier, name, status, days_since, still_valid in rows
        if still_valid
    ]


def _expiring(select: ViewSelect, days: int) -> list[Finding]:
    rows = select(
        "certificates_expiring",
        days,
        ("account", "id", "name", "expire_time", "days_left"),
        "expire_time",
    )
    return [
        Finding(
            EXPIRING,
            account,
            _certificate(name, identifier),
            f"expires {when(expires)}, in {days_left} days",
        )
        for account, identifier, name, expires, days_left in rows
    ]


def _sync_problems(select: ViewSelect, days: int, max_age_hours: int) -> list[Finding]:
    rows = select(
        "sync_status",
        days,
        ("account", "resource", "last_outcome", "last_error", "last_loaded_at"),
        "account, resource",
    )
    now = datetime.now(timezone.utc)
    found = []
    for account, resource, outcome, error, loaded_at in rows:
        flag = sync_flag(outcome, error, loaded_at, max_age_hours, now)
        if flag:
            kind = SYNC_FAILED if outcome == FAILED else SYNC_STALE
            found.append(Finding(kind, account, resource, flag))
    return found


def _unpassed(select: ViewSelect, days: int) -> list[Finding]:
    rows = select("certificates_unpassed", days, ("account", "id", "name", "description"), "name")
    return [
        Finding(
            UNPASSED,
            account,
            _certificate(name, identifier),
            f"failed validation{': ' + str(description)[:200] if description else ''}",
        )
        for account, identifier, name, description in rows
    ]


def as_json(found: list[Finding]) -> str:
    return json.dumps([asdict(finding) for finding in found], indent=2)


def post_to_slack(hook: str, found: list[Finding], dataset: str) -> None:
    """The findings as one message; a failure is one line that never shows the hook's URL (it
    is a secret)."""
    lines = [f"*scm-export check*: {len(found)} findings in dataset {dataset}"]
    lines += [f"• {finding.line()}" for finding in found[:50]]
    if len(found) > 50:
        lines.append(f"… and {len(found) - 50} more")
    try:
        send_slack_message(hook, "\n".join(lines))
    except requests.RequestException as failure:
        status = getattr(failure.response, "status_code", None)
        reason = f"HTTP {status}" if status else type(failure).__name__
        raise ScmError(
            f"the findings could not be posted to runtime.slack_incoming_hook ({reason})"
        ) from None
