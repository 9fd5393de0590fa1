"""The report in a terminal: one card per finding, wrapped to the terminal's width (80 columns
included), so account, name, days and action are always whole."""

from __future__ import annotations

import textwrap

from rich.console import Console
from rich.text import Text

from ..check import Finding
from .cells import printable, text_of
from .collect import Report

INDENT = "    "
SEVERITY_STYLES = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
}


def print_text(
    report: Report, console: Console, limit: int = 10, urgent_limit: int | None = None
) -> None:
    """Syncs that need a look first, then the critical and high findings (every one, or the
    first `urgent_limit`), then the first `limit` of the rest."""
    console.print(
        Text(f"SCM report, dataset {report.dataset}, as of {text_of(report.generated_at)}"),
        style="bold",
    )
    counts = report.counts()
    summary = ", ".join(f"{count} {severity}" for severity, count in counts.items())
    console.print(f"Findings: {summary}" if report.findings else "Nothing needs action.")
    if report.syncs:
        console.print(Text("\nAccounts to fix first (their data is stale):", style="bold"))
        for finding in report.syncs:
            _card(console, finding)
    if report.urgent:
        console.print(Text(f"\nCritical and high: {len(report.urgent)}", style="bold"))
        _cards(console, report.urgent, len(report.urgent) if urgent_limit is None else urgent_limit)
    if report.rest:
        console.print(Text(f"\nMedium and low: {len(report.rest)}", style="bold"))
        _cards(console, report.rest, limit)


def _cards(console: Console, findings: list[Finding], limit: int) -> None:
    for finding in findings[:limit]:
        _card(console, finding)
    if len(findings) > limit:
        console.print(f"… and {len(findings) - limit} more: scm-export check lists them all")


def _card(console: Console, finding: Finding) -> None:
    """A head line (severity, account, id, and the name where it fits), then the reason, the
    action and the facts, each wrapped with an indent: nothing cut, no line padded."""
    badge = f" {finding.severity.upper()} "
    stale = "  [stale data]" if finding.data_stale else ""
    head = f"{badge} {printable(finding.account)}  "
    name = printable(finding.name or finding.domain or "")
    subject = printable(finding.certificate_id or "sync")
    shown_name = name if len(head + subject + name + stale) + 1 <= console.width else ""
    text = Text()
    text.append(badge, style=SEVERITY_STYLES[finding.severity])
    text.append(f" {printable(finding.account)}  ")
    text.append(f"{subject} {shown_name}".rstrip(), style="bold")
    text.append(stale, style="magenta")
    console.print(text, overflow="fold")
    facts = [
        "" if shown_name or not name else name,
        f"owner {finding.owner}" if finding.owner else "",
        f"expires {text_of(finding.expire_time)}" if finding.expire_time else "",
        f"domain {finding.domain}" if finding.domain and finding.domain != finding.name else "",
    ]
    lines = (finding.reason, "→ " + finding.action, " · ".join(filter(None, facts)))
    for line, style in zip(lines, ("", "", "dim"), strict=True):
        if line:
            wrapped = textwrap.fill(
                printable(line),
                max(console.width, 40),
                initial_indent=INDENT,
                subsequent_indent=INDENT,
            )
            console.print(Text(wrapped, style=style))
