"""`scm-export check --notify`: posts findings to a Slack incoming webhook
(`runtime.slack_incoming_hook`, through dlt's own helper) and to a JSON webhook
(`--webhook-url`, or `notify.webhook_url` in secrets), each only the findings that are new or
whose severity rose since that channel last got them. What was sent is appended to the table
`notifications_sent` after the post succeeded, so a daily schedule posts nothing when nothing
changed, and a post that failed is sent again next time, never lost and never doubled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import dlt
import requests
from dlt.common.runtime.slack import send_slack_message

from scm_source.errors import ScmConfigError, ScmError
from scm_source.rows.schema import INSTANT, columns
from scm_source.warehouse.views import loaded_tables

from .check import Finding, counted

NOTIFICATIONS_TABLE = "notifications_sent"
NOTIFICATION_COLUMNS = columns(
    finding_id={"data_type": "text", "nullable": False},
    channel={"data_type": "text", "nullable": False},
    severity="text",
    severity_rank="bigint",
    account="text",
    certificate_id="text",
    sent_at=INSTANT,
)
SLACK_LINES = 50  # a message longer than this ends with "… and N more"
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Channel:
    name: str  # as recorded in notifications_sent
    setting: str  # named in errors, never the URL (it is a secret)
    post: Callable[[list[Finding], str], None]


def channels(pipeline: dlt.Pipeline, webhook_url: str | None) -> list[Channel]:
    """The channels configured, checked before any request; none is a usage error."""
    found = []
    hook = pipeline.runtime_config.slack_incoming_hook
    if hook:
        found.append(
            Channel("slack", "runtime.slack_incoming_hook", lambda f, d: _post_slack(hook, f, d))
        )
    url = webhook_url or dlt.secrets.get("notify.webhook_url", str)
    if url:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ScmConfigError(
                "the webhook URL (--webhook-url or notify.webhook_url) must be an http(s) URL"
            )
        found.append(Channel("webhook", "the webhook", lambda f, d: _post_json(url, f, d)))
    if not found:
        raise ScmConfigError(
            "--notify has nowhere to post: set runtime.slack_incoming_hook or notify.webhook_url"
            " in .dlt/secrets.toml, or pass --webhook-url"
        )
    return found


def unsent(pipeline: dlt.Pipeline, found: list[Finding], channel: str) -> list[Finding]:
    """The findings this channel has not had at their present severity or higher."""
    sent: dict[str, int] = {}
    if NOTIFICATIONS_TABLE in loaded_tables(pipeline):
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(NOTIFICATIONS_TABLE)
            rows = client.execute_sql(
                f"SELECT finding_id, MAX(severity_rank) FROM {table} WHERE channel = %s"
                " GROUP BY finding_id",
                channel,
            )
            sent = {finding_id: highest for finding_id, highest in rows or []}
    return [f for f in found if f.severity_rank > sent.get(f.finding_id, 0)]


def record(pipeline: dlt.Pipeline, sent: list[Finding], channel: str) -> None:
    now = datetime.now(timezone.utc)
    rows = [
        {
            "finding_id": f.finding_id,
            "channel": channel,
            "severity": f.severity,
            "severity_rank": f.severity_rank,
            "account": f.account,
            "certificate_id": f.certificate_id,
            "sent_at": now,
        }
        for f in sent
    ]
    pipeline.run(
        dlt.resource(
            rows, name=NOTIFICATIONS_TABLE, write_disposition="append", columns=NOTIFICATION_COLUMNS
        )
    )


def notify(pipeline: dlt.Pipeline, found: list[Finding], chosen: list[Channel]) -> list[str]:
    """Posts each channel its unsent findings; what each got, in words. A channel that fails
    does not stop the others; the first failure is raised after them, as one line."""
    said, failures = [], []
    for channel in chosen:
        news = unsent(pipeline, found, channel.name)
        if not news:
            said.append(f"{channel.name}: nothing new")
            continue
        try:
            channel.post(news, pipeline.dataset_name)
        except requests.RequestException as failure:
            status = getattr(failure.response, "status_code", None)
            reason = f"HTTP {status}" if status else type(failure).__name__
            failures.append(
                f"{len(news)} findings could not be posted to {channel.setting} ({reason});"
                " they are posted again next time"
            )
            continue
        record(pipeline, news, channel.name)
        said.append(f"{channel.name}: posted {counted(news)}")
    if failures:
        raise ScmError("; ".join(failures))
    return said


def _post_slack(hook: str, found: list[Finding], dataset: str) -> None:
    lines = [f"*scm-export check*: {counted(found)}, new or raised, in dataset {dataset}"]
    lines += [f"• {finding.line()}" for finding in found[:SLACK_LINES]]
    if len(found) > SLACK_LINES:
        lines.append(f"… and {len(found) - SLACK_LINES} more")
    send_slack_message(hook, "\n".join(lines))


def _post_json(url: str, found: list[Finding], dataset: str) -> None:
    body: dict[str, Any] = {
        "source": "scm-export",
        "dataset": dataset,
        "findings": [finding.as_json() for finding in found],
    }
    answer = requests.post(url, json=body, timeout=TIMEOUT_SECONDS, allow_redirects=False)
    answer.raise_for_status()
    if answer.is_redirect:
        raise requests.HTTPError(response=answer)  # credentials go only where configured
