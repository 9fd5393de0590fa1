"""The report a security lead opens every Monday, in the order they ask: as of when (each
account's last load, failed or stale ones flagged first), a summary of what needs action, what
to do this week (most urgent first, coloured by urgency), the weekly expiry chart (per account
where there are several), then the long lists, summarised with their top rows. As terminal
tables (rich, fitted to the terminal) or one self-contained HTML page (inline CSS and SVG, no
script, nothing fetched; the rest of each long list in a collapsible section).

Every number comes from the shipped views' own SQL (`view_reader`), so the report cannot
disagree with the views, and `--days` needs no reinstall.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dlt
from rich.console import Console
from rich.table import Table
from rich.text import Text

from scm_source.errors import ScmConfigError
from scm_source.views import ViewSelect, validate_days, view_reader

from .check import DEFAULT_MAX_AGE_HOURS, sync_flag, utc, when

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


# -- terminal -------------------------------------------------------------------------------


def print_text(report: Report, console: Console, limit: int = 5) -> None:
    """Fits the console's width (80 columns included): long cells wrap or are cut with an
    ellipsis, never the borders."""
    console.print(
        f"[bold]SCM report[/bold], dataset {report.dataset}, as of {_text(report.generated_at)}"
    )
    flagged = [sync for sync in report.syncs if sync.flag]
    for sync in flagged:
        console.print(Text(f"! {sync.account} {sync.resource}: {sync.flag}", style="bold red"))
    if not flagged and report.syncs:
        last = max(sync.last_loaded_at or report.generated_at for sync in report.syncs)
        console.print(f"Every account's last sync loaded in full (latest {_text(last)}).")
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
            *(Text(_printable(cell)) for cell in (action.account, action.what, action.detail)),
        )
    _caption(this_week, len(report.actions), 3 * limit)
    console.print(this_week)
    for listing in report.listings:
        table = _table(f"{listing.title}: {len(listing.rows)}", listing.columns, console)
        for row in listing.rows[:limit]:
            table.add_row(*(Text(_printable(_text(value))) for value in row))
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


# -- HTML -----------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1.5em;max-width:72em;color:#222;
line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em}
table{border-collapse:collapse;margin:.5em 0 1em;width:100%}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;font-size:.88em;
vertical-align:top;overflow-wrap:anywhere}
th{background:#f4f4f4}
.flag{background:#fde2e1;border-left:4px solid #c0392b;padding:.4em .8em;margin:.3em 0}
.ok{color:#1e7b34}
.summary td.count{text-align:right;font-weight:bold;width:6em}
.summary tr.nonzero td{background:#fff4e5}
tr.overdue td{background:#fde2e1}tr.week td{background:#fff4d6}
details{margin:.3em 0 1em}summary{cursor:pointer;color:#555}
figure{margin:0}svg{max-width:100%;height:auto}
@media print{body{max-width:none;padding:0}h2{break-after:avoid}tr{break-inside:avoid}}
"""


def write_html(report: Report, path: Path) -> None:
    """One file, nothing fetched: the chart is inline SVG, the style inline CSS, no scripts."""
    title = f"SCM report: dataset {report.dataset}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        _as_of_html(report),
        "<section id='summary'><h2>Summary</h2><table class='summary'>",
        *(
            f"<tr class='{'nonzero' if count else 'zero'}'><td>{html.escape(label)}</td>"
            f"<td class='count' data-count='{key}'>{count}</td></tr>"
            for key, label, count in report.summary
        ),
        "</table></section>",
        _actions_html(report.actions),
        "<section id='weekly'>",
        f"<h2>Certificates expiring per week, next {WEEKS} weeks</h2>",
        f"<figure>{_weekly_chart_svg(report.weekly)}<figcaption>Valid certificates by week of"
        " expiry; week 1 starts now.</figcaption></figure>",
        _weekly_table_html(report.weekly),
        "</section>",
        *(_listing_html(listing) for listing in report.listings),
        "</body></html>\n",
    ]
    path.write_text("".join(parts), encoding="utf-8")


def _as_of_html(report: Report) -> str:
    flagged = [sync for sync in report.syncs if sync.flag]
    lines = [
        f"<section id='as-of'><p>As of {_text(report.generated_at)}. Last load of each account"
        " and list:</p>",
        *(
            f"<div class='flag' data-flag='{html.escape(sync.account)}/{sync.resource}'>"
            f"{html.escape(sync.account)} {sync.resource}: {html.escape(sync.flag or '')}</div>"
            for sync in flagged
        ),
    ]
    if not flagged:
        lines.append("<p class='ok'>Every account's last sync loaded in full.</p>")
    lines.append("<table class='syncs'><tr><th>account</th><th>list</th><th>last sync</th>")
    lines.append("<th>outcome</th><th>last loaded in full</th></tr>")
    for sync in report.syncs:
        cells = (sync.account, sync.resource, sync.last_sync_at, sync.outcome, sync.last_loaded_at)
        lines.append("<tr>" + "".join(f"<td>{html.escape(_text(c))}</td>" for c in cells) + "</tr>")
    lines.append("</table></section>")
    return "".join(lines)


def _actions_html(actions: list[Action]) -> str:
    def row(action: Action) -> str:
        cells = (action.account, action.what, action.detail)
        tds = "".join(f"<td>{html.escape(_printable(cell))}</td>" for cell in cells)
        return f"<tr class='{action.urgency}'>{tds}</tr>"

    head = "<tr><th>account</th><th>what</th><th>detail</th></tr>"
    return (
        f"<section id='this-week'><h2>What to do this week: {len(actions)}</h2>"
        "<p>What expired in the last 7 days while its status still says valid (red), then"
        " certificates and host names' covers ending within 7 days (amber), soonest first.</p>"
        f"{_table_html('actions', head, [row(action) for action in actions], 25)}</section>"
    )


def _table_html(css_class: str, head: str, rows: list[str], shown: int) -> str:
    """The first `shown` rows in a table, the rest in a collapsible section below it (closed
    on screen; printed as its one-line summary)."""
    if not rows:
        return "<p>None.</p>"
    parts = [f"<table class='{css_class}'>{head}{''.join(rows[:shown])}</table>"]
    if len(rows) > shown:
        parts.append(
            f"<details><summary>… and {len(rows) - shown} more</summary>"
            f"<table class='{css_class}'>{head}{''.join(rows[shown:])}</table></details>"
        )
    return "".join(parts)


def _weekly_table_html(weekly: dict[str, list[int]]) -> str:
    head = "".join(f"<th>{week}</th>" for week in range(1, WEEKS + 1))
    body = "".join(
        f"<tr><td>{html.escape(account)}</td>{''.join(f'<td>{n}</td>' for n in counts)}</tr>"
        for account, counts in sorted(weekly.items())
    )
    return (
        "<details><summary>the counts</summary><table class='weeks'><tr><th>account</th>"
        f"{head}</tr>{body}</table></details>"
    )


def _listing_html(listing: Listing) -> str:
    head = "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in listing.columns) + "</tr>"

    rows = [
        "<tr>" + "".join(f"<td>{html.escape(_printable(_text(v)))}</td>" for v in row) + "</tr>"
        for row in listing.rows
    ]
    return (
        f"<section id='{listing.key}'><h2>{html.escape(listing.title)}: {len(listing.rows)}</h2>"
        f"{_table_html('listing', head, rows, TOP_ROWS)}</section>"
    )


def _weekly_chart_svg(weekly: dict[str, list[int]]) -> str:
    """Bars per week, stacked by account where there are several (the 8 with most, the rest
    as one)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise ScmConfigError(
            "the HTML report needs matplotlib: pip install 'scm-export[report]'"
        ) from None
    ranked = sorted(weekly.items(), key=lambda item: -sum(item[1]))
    shown = dict(ranked[:8])
    others = [sum(week) for week in zip(*(counts for _, counts in ranked[8:]), strict=False)]
    if others:
        shown["other accounts"] = others
    figure, axes = pyplot.subplots(figsize=(10, 3.2))
    weeks = range(1, WEEKS + 1)
    bottom = [0] * WEEKS
    for account, counts in shown.items():
        axes.bar(weeks, counts, bottom=bottom, label=account)
        bottom = [below + count for below, count in zip(bottom, counts, strict=True)]
    if len(shown) > 1:
        axes.legend(fontsize="small", frameon=False)
    axes.set_xlabel("week from today")
    axes.set_ylabel("certificates")
    axes.set_xticks(range(1, WEEKS + 1, 2))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole certificates
    axes.spines[["top", "right"]].set_visible(False)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path"}):  # glyphs as paths: no font to load
        no_metadata = dict.fromkeys(("Creator", "Date", "Format", "Type"))
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata=no_metadata)
    pyplot.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _printable(text: str) -> str:
    """API text shown as text: control characters (an escape sequence in a name) written out,
    never sent to the terminal; `Text` keeps rich from reading `[link=...]` as markup."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return when(value)
    return str(value)
