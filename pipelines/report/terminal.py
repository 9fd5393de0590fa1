"""The report in a terminal: rich tables fitted to its width (80 columns included)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .cells import printable, text_of
from .collect import Report


def print_text(report: Report, console: Console, limit: int = 5) -> None:
    """Fits the console's width (80 columns included): long cells wrap or are cut with an
    ellipsis, never the borders."""
    console.print(
        f"[bold]SCM report[/bold], dataset {report.dataset}, as of {text_of(report.generated_at)}"
    )
    flagged = [sync for sync in report.syncs if sync.flag]
    for sync in flagged:
        console.print(Text(f"! {sync.account} {sync.resource}: {sync.flag}", style="bold red"))
    if not flagged and report.syncs:
        last = max(sync.last_loaded_at or report.generated_at for sync in report.syncs)
        console.print(f"Every account's last sync loaded in full (latest {text_of(last)}).")
    summary = _table("Summary", ("needs action", "count"), console)
    for _, label, count in report.summary:
        summary.add_row(label, str(count))
    console.print(summary)
    this_week = _table(
        f"This week: {len(report.actions)}", ("", "account", "what", "detail"), console
    )
    for action in report.actions[: 3 * limit]:
        this_week.add_row(
            Text("!!" if action.urgency == "overdue" else "!", style=_STYLE[action.urgency]),
            *(Text(printable(cell)) for cell in (action.account, action.what, action.detail)),
        )
    _caption(this_week, len(report.actions), 3 * limit)
    console.print(this_week)
    for listing in report.listings:
        table = _table(f"{listing.title}: {len(listing.rows)}", listing.columns, console)
        for row in listing.rows[:limit]:
            table.add_row(*(Text(printable(text_of(value))) for value in row))
        _caption(table, len(listing.rows), limit)
        console.print(table)


_STYLE = {"overdue": "bold red", "week": "yellow"}


def _table(title: str, columns: Sequence[str], console: Console) -> Table:
    table = Table(title=title, title_justify="left", expand=False, width=None)
    for column in columns:
        table.add_column(
            column,
            overflow="fold" if column == "detail" else "ellipsis",
            no_wrap=column != "detail",
        )
    return table


def _caption(table: Table, total: int, shown: int) -> None:
    if total > shown:
        table.caption = f"… and {total - shown} more (scm-export report --html FILE has them all)"
