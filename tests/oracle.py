"""Findings computed independently of the view, from what the simulator serves (its records,
where it deploys them, their tags and renewals, the private CAs) and the policy's rules as the
README states them: the oracle the findings, check and notification tests compare with."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from scm_source.simulator import Dataset
from scm_source.simulator.certificate_deployments import deployable, deployed
from scm_source.simulator.certificate_tags import lineage, tags

# The statuses under which an account holds a usable certificate (the README's list).
USABLE = {
    "ISSUED",
    "UPLOAD",
    "SUPPLEMENTCHECKING",
    "CANCELSUPPLEMENTING",
    "REVOKING",
    "CANCLEREVOKING",
}
RANKS = {"low": 1, "medium": 2, "high": 3, "critical": 4}
SEVERITY_OF = {rank: name for name, rank in RANKS.items()}
DAY_SECONDS = 86400


@dataclass
class Policy:
    """The defaults the README documents; tests override fields."""

    thresholds: tuple[tuple[int, int], ...] = ((7, 4), (14, 3), (30, 2), (60, 1))
    expired_deployed: int = 4
    expired_recently: int = 3
    expired_recently_days: int = 30
    expired_unused: int = 1
    deployed_nowhere_step: int = -1
    successor_step: int = 0
    private_ca_minimum: int = 3
    unpassed: int = 1
    account_steps: dict[str, int] | None = None
    tag_steps: dict[str, int] | None = None


def days_between(later: datetime, earlier: datetime) -> int:
    return math.floor((later - earlier).total_seconds() / DAY_SECONDS)


def where_deployed(record: Any) -> tuple[bool, bool]:
    """(deployed somewhere, deployed nowhere for certain), as the deployments API tells."""
    if not deployable(record):
        return False, False  # never asked: unknown
    services = deployed(record)
    in_error = any(region["is_error"] for s in services for region in s["region_resources"])
    total = sum(s["resource_num"] for s in services)
    listed = [r for s in services for region in s["region_resources"] for r in region["resources"]]
    somewhere = (total > 0 and not in_error) or bool(listed)
    return somewhere, total == 0 and not in_error


def expected(
    dataset: Dataset, policy: Policy, now: datetime, account: str = "default"
) -> dict[str, tuple[str, str]]:
    """certificate or private id -> (severity, finding_id: account/id/why[/threshold])."""
    listed = {r.api["id"]: r for r in dataset.certificates if r.owned_by_self}
    links = lineage(dataset.certificates)
    found: dict[str, tuple[str, str]] = {}
    account_step = (policy.account_steps or {}).get(account, 0)

    def steps(record: Any) -> int:
        step = account_step
        for tag in tags(record):
            step += (policy.tag_steps or {}).get(f"{tag['key']}={tag['value']}", 0)
        return step

    def by_days(left: int) -> int | None:
        return next((rank for days, rank in policy.thresholds if left <= days), None)

    def finding(identifier: str, rank: int, why: str, left: int | None = None) -> None:
        threshold = (
            next(days for days, _ in policy.thresholds if left <= days)
            if why == "expiring"
            else None
        )
        suffix = f"/{threshold}" if threshold is not None else ""
        found[identifier] = (_clamped(rank), f"{account}/{identifier}/{why}{suffix}")

    for identifier, record in listed.items():
        status = record.api["status"]
        if status == "UNPASSED":
            finding(identifier, policy.unpassed + steps(record), "unpassed")
            continue
        if status not in USABLE and status != "EXPIRED":
            continue
        somewhere, nowhere = where_deployed(record)
        successor = listed.get(links.get(identifier, (None, None))[1] or "")
        renewed = (
            successor is not None
            and successor.api["status"] in USABLE
            and successor.expires_at > record.expires_at
        )
        left = days_between(record.expires_at, now)
        if status == "EXPIRED" or record.expires_at <= now:
            ago = days_between(now, record.expires_at)
            if somewhere:
                rank, why = policy.expired_deployed, "expired_deployed"
            elif nowhere:
                rank, why = policy.expired_unused, "expired_unused"
            elif ago <= policy.expired_recently_days:
                rank, why = policy.expired_recently, "expired"
            else:
                rank, why = policy.expired_unused, "expired"
        else:
            base = by_days(left)
            if base is None:
                continue
            rank = base + (policy.deployed_nowhere_step if nowhere else 0)
            rank += policy.successor_step if renewed else 0
            why = "expiring"
        finding(identifier, rank + steps(record), why, left)
    for ca in dataset.private_cas:
        if ca["status"] not in ("ACTIVED", "EXPIRED"):
            continue
        ends = datetime.fromtimestamp(ca["not_after"] / 1000, timezone.utc)
        expired = ca["status"] == "EXPIRED" or ends <= now
        left = days_between(ends, now)
        base = policy.expired_deployed if expired else by_days(left)
        if base is not None:
            rank = max(base, policy.private_ca_minimum) + account_step
            finding(ca["ca_id"], rank, "expired" if expired else "expiring", left)
    for certificate in dataset.private_certificates:
        if certificate["status"] not in ("ISSUED", "EXPIRED"):
            continue
        ends = datetime.fromtimestamp(certificate["not_after"] / 1000, timezone.utc)
        left = days_between(ends, now)
        if certificate["status"] == "EXPIRED" or ends <= now:
            recent = days_between(now, ends) <= policy.expired_recently_days
            base = policy.expired_recently if recent else policy.expired_unused
            why = "expired"
        else:
            base, why = by_days(left), "expiring"
        if base is not None:
            finding(certificate["certificate_id"], base + account_step, why, left)
    return found


def _clamped(rank: int) -> str:
    return SEVERITY_OF[min(4, max(1, rank))]


def expiries(dataset: Dataset) -> dict[str, datetime]:
    """When each certificate, private CA and private certificate expires, by id."""
    ends = {record.api["id"]: record.expires_at for record in dataset.certificates}
    for private, key in [(ca, "ca_id") for ca in dataset.private_cas] + [
        (c, "certificate_id") for c in dataset.private_certificates
    ]:
        ends[private[key]] = datetime.fromtimestamp(private["not_after"] / 1000, timezone.utc)
    return ends


def iso_weeks(
    dataset: Dataset, found: dict[str, tuple[str, str]], now: datetime
) -> dict[str, dict[str, int]]:
    """Findings not yet expired by the ISO week they expire in ("2026-W50"), by severity, for
    the 26 weeks from this one; failed validations have no expiry to chart."""
    ends = expiries(dataset)
    this_monday = now.date() - timedelta(days=now.weekday())
    weeks: dict[str, dict[str, int]] = {}
    for identifier, (severity, finding_id) in found.items():
        if finding_id.endswith("/unpassed"):
            continue
        end = ends.get(identifier)
        if end is not None and end > now and (end.date() - this_monday).days < 26 * 7:
            year, week, _ = ends[identifier].isocalendar()
            counts = weeks.setdefault(f"{year}-W{week:02d}", dict.fromkeys(RANKS, 0))
            counts[severity] += 1
    return weeks
