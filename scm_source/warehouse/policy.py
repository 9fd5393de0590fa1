"""The expiry policy, `[sources.scm_source.policy]`: when a certificate becomes a finding and how
severe, as data. Every run loads it into the table `expiry_policy` (rule, name, value), which the
view `certificate_findings` reads, so the view, the report and `check` share one definition and
an analyst can read it beside the findings. A dataset without the table (loaded before it
existed, or by a pipeline that left the resource out) is read with the defaults.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dlt
from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration
from dlt.extract.resource import DltResource

from scm_source.config.values import SECTION, whole_number_setting
from scm_source.errors import ScmConfigError
from scm_source.rows.schema import columns

POLICY_TABLE = "expiry_policy"
# Least to most severe; a finding's rank is its place here, from 1.
SEVERITIES = ("low", "medium", "high", "critical")
THRESHOLDS = ("critical", "high", "medium", "low")  # days left, fewest first
POLICY_COLUMNS = columns(
    rule={"data_type": "text", "nullable": False},
    name={"data_type": "text", "nullable": False},
    value="bigint",
)


def rank(severity: str) -> int:
    return SEVERITIES.index(severity) + 1


@configspec
class ExpiryPolicy(BaseConfiguration):
    """Days left at or below which a live certificate is a finding of each severity (the peers'
    usual 60, 30, 14 and 7); what an expired one is, by where it is deployed; the steps that
    raise or lower a finding (deployed nowhere, a successor issued, an account, a tag); private
    CAs' floor; the syncs' own findings; and the tag key that names an owner."""

    critical_days: int = 7
    high_days: int = 14
    medium_days: int = 30
    low_days: int = 60
    # Expired: still deployed; within expired_recently_days and deployed where unknown; the rest
    # (deployed nowhere, or expired longer ago and deployed where unknown).
    expired_deployed: str = "critical"
    expired_recently: str = "high"
    expired_recently_days: int = 30
    expired_unused: str = "low"
    # Steps up (+) or down (-), applied to the severity its days left give.
    deployed_nowhere_step: int = -1
    successor_step: int = 0
    account_steps: dict[str, int] | None = None  # account alias -> step
    tag_steps: dict[str, int] | None = None  # "key=value" -> step
    private_ca_minimum: str = "high"
    unpassed: str = "low"  # failed domain validation
    sync_failed: str = "high"
    sync_stale: str = "medium"
    stale_after_hours: int = 26
    owner_tag: str = "owner"

    def check(self) -> None:
        """Raises ScmConfigError for the first value that cannot be used."""
        days = [
            whole_number_setting(f"policy.{name}_days", getattr(self, f"{name}_days"), 0, 3650)
            for name in THRESHOLDS
        ]
        if days != sorted(set(days)):
            raise ScmConfigError(
                f"policy thresholds must grow from critical to low, got critical_days={days[0]},"
                f" high_days={days[1]}, medium_days={days[2]}, low_days={days[3]}"
                f" ({SECTION}.policy)"
            )
        whole_number_setting("policy.expired_recently_days", self.expired_recently_days, 0, 3650)
        whole_number_setting("policy.stale_after_hours", self.stale_after_hours, 1, 24 * 366)
        for name in self._severity_settings():
            if getattr(self, name) not in SEVERITIES:
                raise ScmConfigError(
                    f"policy.{name}={getattr(self, name)!r} is not a severity: use one of"
                    f" {', '.join(SEVERITIES)} ({SECTION}.policy.{name})"
                )
        for name, step in self._steps():
            whole_number_setting(name, step, -3, 3)
        if not isinstance(self.owner_tag, str) or not self.owner_tag:
            raise ScmConfigError(f"policy.owner_tag must name a tag key ({SECTION}.policy)")
        for tag in self.tag_steps or {}:
            if "=" not in tag:
                raise ScmConfigError(
                    f'policy.tag_steps key {tag!r} must be key=value, e.g. "env=prod"'
                    f" ({SECTION}.policy.tag_steps)"
                )

    def rows(self) -> Iterator[dict[str, Any]]:
        """The table's rows: (rule, name, value)."""
        for name in THRESHOLDS:
            yield {"rule": "days", "name": name, "value": getattr(self, f"{name}_days")}
        yield {"rule": "days", "name": "expired_recently", "value": self.expired_recently_days}
        yield {"rule": "hours", "name": "stale_after", "value": self.stale_after_hours}
        for name in self._severity_settings():
            yield {"rule": "severity", "name": name, "value": rank(getattr(self, name))}
        for name in ("deployed_nowhere", "successor"):
            yield {"rule": "step", "name": name, "value": getattr(self, f"{name}_step")}
        for account, step in sorted((self.account_steps or {}).items()):
            yield {"rule": "account_step", "name": account, "value": step}
        for tag, step in sorted((self.tag_steps or {}).items()):
            yield {"rule": "tag_step", "name": tag, "value": step}
        yield {"rule": "owner_tag", "name": self.owner_tag, "value": None}

    def _severity_settings(self) -> tuple[str, ...]:
        return (
            "expired_deployed",
            "expired_recently",
            "expired_unused",
            "private_ca_minimum",
            "unpassed",
            "sync_failed",
            "sync_stale",
        )

    def _steps(self) -> Iterator[tuple[str, Any]]:
        yield "policy.deployed_nowhere_step", self.deployed_nowhere_step
        yield "policy.successor_step", self.successor_step
        for field, steps in (("account_steps", self.account_steps), ("tag_steps", self.tag_steps)):
            if steps is not None and not isinstance(steps, Mapping):
                raise ScmConfigError(
                    f"policy.{field} must be a table of steps, e.g. {{ prod = 1 }}"
                    f" ({SECTION}.policy.{field})"
                )
            for key, step in (steps or {}).items():
                yield f"policy.{field}[{key!r}]", step


def policy_resource(policy: ExpiryPolicy) -> DltResource:
    """The policy as a table, replaced by every run."""
    return dlt.resource(
        list(policy.rows()),
        name=POLICY_TABLE,
        write_disposition="replace",
        columns=POLICY_COLUMNS,
    )
