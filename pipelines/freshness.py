"""How fresh the warehouse is: an account's list whose last sync failed, or that was not loaded in
full for longer than allowed; and warehouse times as UTC. Shared by check and the report."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from scm_source.extract.sync import FAILED, SKIPPED

DEFAULT_MAX_AGE_HOURS = 26  # a daily schedule, with two hours' slack


def sync_flag(
    outcome: str,
    error: str | None,
    loaded_at: datetime | None,
    max_age_hours: int,
    now: datetime,
) -> str | None:
    """Why an account's list needs a look (its last sync failed, or it was not loaded in full
    for more than `max_age_hours`), or None. A member skipped on purpose needs none."""
    if outcome == FAILED:
        first_line = (str(error or "").splitlines() or ["no reason recorded"])[0][:300]
        return f"last sync failed: {first_line}"
    oldest = now - timedelta(hours=max_age_hours)
    if outcome != SKIPPED and (loaded_at is None or utc(loaded_at) < oldest):
        since = f"since {when(loaded_at)}" if loaded_at else "ever"
        return f"not loaded in full {since} (more than {max_age_hours} hours)"
    return None


def utc(moment: datetime) -> datetime:
    """A warehouse's timestamp as UTC (DuckDB may hand it back without a zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def when(moment: datetime) -> str:
    return utc(moment).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
