"""What the report shows, read from the warehouse: as of when (each account's last load, failed or
stale ones flagged first), a summary of what needs action, what to do this week, the weekly
expiry chart, then the long lists. Every number comes from the shipped views' own SQL
(`view_reader`), so the report cannot disagree with the views, and `--days` needs no reinstall.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import dlt

from scm_source.warehouse.views import ViewSelect, validate_days, view_reader

from ..freshness import DEFAULT_MAX_AGE_HOURS, sync_flag, utc, when

WEEKS = 26
THIS_WEEK = 7
SUMMARY_HORIZONS = (7, 30, 90)
TOP_ROWS = 10  # of each long list shown before the collapsible rest


@dataclass(frozen=True)
class Listing:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Action:
    """One thing to do this week. `urgency`: overdue (broke within the week), week (breaks
    within it)."""

    urgency: str
    account: str
    what: str
    detail: str


@dataclass(frozen=True)
class SyncState:
    account: str
    resource: str
    last_sync_at: datetime | None
    outcome: str
    last_loaded_at: datetime | None
    flag: str | None  # why it needs a look, if it does


@dataclass(frozen=True)
class Report:
    days: int
    generated_at: datetime
    dataset: str
    syncs: list[SyncState]
    summary: list[tuple[str, str, int]]  # (key, label, count)
    actions: list[Action]
    weekly: dict[str, list[int]]  # valid certificates expiring per week, by account
    listings: list[Listing]


_WHAT = ("account", "name", "domain", "status")
assert THIS_WEEK in SUMMARY_HORIZONS  # what to do this week reads the 7-day count's rows
LISTINGS = (
    ("certificates_expiring", "Expiring within {days} days", (*_WHAT, "expire_time", "days_left")),
    ("certificates_expired", "Expired", (*_WHAT, "expire_time", "days_since_expiry")),
    ("certificates_revoked", "Revoked or being revoked", (*_WHAT, "revocation_final")),
    ("certificates_unpassed", "Failed validation (UNPASSED)", ("account", "name", "domain")),
)
ORDER = {
    "certificates_expiring": "expire_time",
    "certificates_expired": "expire_time DESC",
    "certificates_revoked": "account, name",
    "certificates_unpassed": "account, name",
}


def collect(
    pipeline: dlt.Pipeline, days: int, max_age_hours: int = DEFAULT_MAX_AGE_HOURS
) -> Report:
    validate_days(days)
    with view_reader(pipeline) as rows:
        return _collected(rows, days, max_age_hours, pipeline.dataset_name)


def _collected(rows: ViewSelect, days: int, max_age_hours: int, dataset: str) -> Report:
    now = datetime.now(timezone.utc)
    syncs = [
        SyncState(
            account,
            resource,
            at,
            outcome,
            loaded,
            sync_flag(outcome, error, loaded, max_age_hours, now),
        )
        for account, resource, at, outcome, error, loaded in rows(
            "sync_status",
            days,
            ("account", "resource", "last_sync_at", "last_outcome", "last_error", "last_loaded_at"),
            "account, resource",
        )
    ]
    horizon = rows(
        "certificates_expiring",
        WEEKS * 7,
        ("account", "name", "domain", "days_left"),
        "expire_time",
    )
    expiring = {
        within: rows("certificates_expiring", within, (*_WHAT[:3], "days_left"), "expire_time")
        for within in SUMMARY_HORIZONS
    }
    listings = [
        Listing(view, title.format(days=days), columns, rows(view, days, columns, ORDER[view]))
        for view, title, columns in LISTINGS
    ]
    counts = {listing.key: len(listing.rows) for listing in listings}
    expired = next(listing for listing in listings if listing.key == "certificates_expired")
    still_valid = [  # (account, name, domain, status, days_since_expiry), most recent first
        (account, name, domain, status, days_since)
        for account, name, domain, status, _, days_since in expired.rows
        if status != "EXPIRED"
    ]
    coverage = rows(
        "domain_coverage",
        THIS_WEEK,
        ("account", "name", "cover_expires_at", "at_risk"),
        "account, name",
    )
    at_risk = rows("domain_coverage", days, ("account", "name", "at_risk"), "account, name")
    summary = [
        *(
            (f"expiring_{within}", f"Expiring within {within} days", len(found))
            for within, found in expiring.items()
        ),
        ("expired_still_valid", "Expired, status still valid", len(still_valid)),
        ("expired", "Expired", counts["certificates_expired"]),
        ("revoked", "Revoked or being revoked", counts["certificates_revoked"]),
        ("unpassed", "Failed validation", counts["certificates_unpassed"]),
        (
            "names_at_risk",
            f"Host names whose cover ends within {days} days or is gone",
            sum(1 for row in at_risk if row[2]),
        ),
    ]
    actions = _actions(still_valid, expiring[THIS_WEEK], coverage, now)
    return Report(days, now, dataset, syncs, summary, actions, _weekly(horizon), listings)


def _actions(
    still_valid: list[Any], this_week: list[Any], coverage: list[Any], now: datetime
) -> list[Action]:
    """What broke or breaks within a week of now: certificates that expired in the last 7 days
    while their status still says valid (most recent first), then certificates and host names'
    covers ending within 7 days, soonest first. What broke longer ago is in the summary and the
    expired list: a year-old expiry nobody renewed is rarely this week's work."""
    broke = [
        Action(
            "overdue",
            account,
            name or domain or "(no name)",
            f"expired {days_since} days ago, status still {status}",
        )
        for account, name, domain, status, days_since in still_valid
        if days_since < THIS_WEEK
    ]
    ending: list[tuple[float, Action]] = [
        (
            days_left,
            Action("week", account, name or domain or "(no name)", f"expires in {days_left} days"),
        )
        for account, name, domain, days_left in this_week
    ]
    ending += [
        (
            (utc(cover) - now).total_seconds() / 86400,
            Action("week", account, name, f"its cover ends {when(cover)}"),
        )
        for account, name, cover, at_risk in coverage
        if at_risk and cover is not None
    ]
    return broke + [action for _, action in sorted(ending, key=lambda pair: pair[0])]


def _weekly(horizon: list[Any]) -> dict[str, list[int]]:
    weekly: dict[str, list[int]] = {}
    for account, _, _, days_left in horizon:
        counts = weekly.setdefault(account, [0] * WEEKS)
        counts[min(int(days_left) // 7, WEEKS - 1)] += 1
    return weekly
