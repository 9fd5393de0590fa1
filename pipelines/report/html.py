"""The report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched; the
rest of each long list in a collapsible section."""

from __future__ import annotations

import html
import io
from pathlib import Path

from .cells import printable, text_of
from .collect import TOP_ROWS, WEEKS, Action, Listing, Report

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
        f"<section id='as-of'><p>As of {text_of(report.generated_at)}. Last load of each account"
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
        lines.append(
            "<tr>" + "".join(f"<td>{html.escape(text_of(c))}</td>" for c in cells) + "</tr>"
        )
    lines.append("</table></section>")
    return "".join(lines)


def _actions_html(actions: list[Action]) -> str:
    def row(action: Action) -> str:
        cells = (action.account, action.what, action.detail)
        tds = "".join(f"<td>{html.escape(printable(cell))}</td>" for cell in cells)
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
        "<tr>" + "".join(f"<td>{html.escape(printable(text_of(v)))}</td>" for v in row) + "</tr>"
        for row in listing.rows
    ]
    return (
        f"<section id='{listing.key}'><h2>{html.escape(listing.title)}: {len(listing.rows)}</h2>"
        f"{_table_html('listing', head, rows, TOP_ROWS)}</section>"
    )


def _weekly_chart_svg(weekly: dict[str, list[int]]) -> str:
    """Bars per week, stacked by account where there are several (the 8 with most, the rest
    as one)."""
    import matplotlib  # imported here: only the HTML report pays for it

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import MaxNLocator

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
