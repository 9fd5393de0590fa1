"""The report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched;
medium and low findings in a collapsible section."""

from __future__ import annotations

import html
import io
from datetime import date
from pathlib import Path

from scm_source.warehouse.policy import SEVERITIES

from ..check import Finding
from .cells import printable, text_of
from .collect import MAX_WEEKS, Report

# One colour per severity, in the table rows, the summary and the chart alike.
COLOURS = {"critical": "#b71c1c", "high": "#e65100", "medium": "#f9a825", "low": "#607d8b"}
TINTS = {"critical": "#fde0dc", "high": "#ffe9d6", "medium": "#fff6d6", "low": "#eef2f4"}
URGENT_SHOWN = 200  # critical and high rows in the open table; the rest collapsible

_CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1.5em;max-width:76em;color:#222;
line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em}
table{border-collapse:collapse;margin:.5em 0 1em;width:100%}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;font-size:.88em;
vertical-align:top;overflow-wrap:anywhere}
th{background:#f4f4f4}
.sync{border-left:6px solid #b71c1c;background:#fde0dc;padding:.5em .9em;margin:.4em 0}
.sync .error{font-family:ui-monospace,monospace;font-size:.85em;white-space:pre-wrap}
.ok{color:#1e7b34}
.sev{font-weight:bold;text-transform:uppercase;font-size:.8em;color:#fff;padding:.1em .4em;
border-radius:3px}
.stale{color:#7b1fa2;font-weight:bold;font-size:.8em}
.summary{width:auto}.summary td.count{text-align:right;font-weight:bold;min-width:4em}
td.short{white-space:nowrap}
details{margin:.3em 0 1em}summary{cursor:pointer;color:#555}
figure{margin:0}svg{max-width:100%;height:auto}
@media print{body{max-width:none;padding:0}h2{break-after:avoid}tr{break-inside:avoid}}
""" + "".join(
    f".sev-{s} td{{background:{TINTS[s]}}}.sev-{s} .sev,.badge-{s}{{background:{COLOURS[s]}}}"
    for s in SEVERITIES
)
_HEAD = (
    "<tr><th>severity</th><th>account</th><th>certificate</th><th>expires</th><th>why</th>"
    "<th>what to do</th><th>owner</th><th>deployed on</th></tr>"
)


def write_html(report: Report, path: Path) -> None:
    """One file, nothing fetched: the chart is inline SVG, the style inline CSS, no scripts."""
    title = f"SCM report: dataset {report.dataset}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>As of {text_of(report.generated_at)}, graded by the expiry policy in the dataset.</p>",
        _syncs_html(report.syncs),
        _summary_html(report.counts()),
        _urgent_html(report.urgent),
        _weekly_html(report.weekly()),
        _rest_html(report.rest),
        "</body></html>\n",
    ]
    path.write_text("".join(parts), encoding="utf-8")


def _syncs_html(syncs: list[Finding]) -> str:
    if not syncs:
        return (
            "<section id='syncs'><p class='ok'>Every account's last sync loaded, within the"
            " policy's hours.</p></section>"
        )
    cards = "".join(
        f"<div class='sync' data-account='{_e(f.account)}' data-severity='{f.severity}'>"
        f"<span class='sev badge-{f.severity}'>{f.severity}</span> <b>{_e(f.account)}</b>:"
        f" {_e(f.reason)}<br>→ {_e(f.action)}</div>"
        for f in syncs
    )
    return (
        f"<section id='syncs'><h2>Accounts to fix first: {len(syncs)}</h2><p>Their rows below"
        f" are marked <span class='stale'>stale data</span>.</p>{cards}</section>"
    )


def _row(finding: Finding) -> str:
    certificate = f"<b>{_e(finding.certificate_id)}</b> {_e(finding.name)}"
    if finding.domain and finding.domain != finding.name:
        certificate += f"<br>{_e(finding.domain)}"
    if finding.data_stale:
        certificate += " <span class='stale'>stale data</span>"
    expires = text_of(finding.expire_time)[:10]
    deployed = finding.deployed_services or ""
    if finding.deployed_resources:
        deployed += f" ({finding.deployed_resources})"
    cells = (
        ("short", f"<span class='sev'>{finding.severity}</span>"),
        ("short", _e(finding.account)),
        ("", certificate),
        ("short", _e(expires)),
        ("", _e(finding.reason)),
        ("", _e(finding.action)),
        ("short", _e(finding.owner)),
        ("", _e(deployed)),
    )
    return (
        f"<tr class='sev-{finding.severity}' data-finding='{_e(finding.finding_id)}'>"
        + "".join(
            f"<td class='{css}'>{cell}</td>" if css else f"<td>{cell}</td>" for css, cell in cells
        )
        + "</tr>"
    )


def _urgent_html(urgent: list[Finding]) -> str:
    if not urgent:
        return "<section id='urgent'><h2>Critical and high: 0</h2><p>None.</p></section>"
    rows = [_row(f) for f in urgent]
    more = ""
    if len(rows) > URGENT_SHOWN:
        more = (
            f"<details><summary>… and {len(rows) - URGENT_SHOWN} more</summary><table>{_HEAD}"
            f"{''.join(rows[URGENT_SHOWN:])}</table></details>"
        )
    return (
        f"<section id='urgent'><h2>Critical and high: {len(urgent)}</h2><p>Most urgent first:"
        " what already broke, then what breaks soonest.</p>"
        f"<table class='findings'>{_HEAD}{''.join(rows[:URGENT_SHOWN])}</table>{more}</section>"
    )


def _summary_html(counts: dict[str, int]) -> str:
    rows = "".join(
        f"<tr class='sev-{severity}'><td><span class='sev'>{severity}</span></td>"
        f"<td class='count' data-count='{severity}'>{count}</td></tr>"
        for severity, count in counts.items()
    )
    return f"<section id='summary'><h2>Summary</h2><table class='summary'>{rows}</table></section>"


def _rest_html(rest: list[Finding]) -> str:
    body = (
        f"<details><summary>show the {len(rest)} medium and low findings</summary>"
        f"<table class='findings'>{_HEAD}{''.join(_row(f) for f in rest)}</table></details>"
        if rest
        else "<p>None.</p>"
    )
    return f"<section id='rest'><h2>Medium and low: {len(rest)}</h2>{body}</section>"


def _weekly_html(weekly: list[tuple[date, dict[str, int]]]) -> str:
    if not weekly:
        return "<section id='weekly'><h2>Expiring week by week</h2><p>None.</p></section>"
    head = "".join(f"<th>{_week(monday)}</th>" for monday, _ in weekly)
    body = "".join(
        f"<tr><td>{severity}</td>{''.join(f'<td>{counts[severity]}</td>' for _, counts in weekly)}"
        "</tr>"
        for severity in reversed(SEVERITIES)
    )
    return (
        f"<section id='weekly'><h2>Expiring week by week, next {len(weekly)} weeks</h2>"
        f"<figure>{_weekly_chart_svg(weekly)}<figcaption>Findings not yet expired, by the ISO"
        f" week they expire in (its Monday), stacked by severity; at most {MAX_WEEKS}"
        " weeks.</figcaption></figure><details><summary>the counts</summary><table"
        f" class='weeks'><tr><th>severity</th>{head}</tr>{body}</table></details></section>"
    )


def _week(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d} ({monday:%b %d})"


def _weekly_chart_svg(weekly: list[tuple[date, dict[str, int]]]) -> str:
    """Bars per ISO week, stacked by severity in the page's colours."""
    import matplotlib  # imported here: only the HTML report pays for it

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import MaxNLocator

    figure, axes = pyplot.subplots(figsize=(10, 3.2))
    positions = range(len(weekly))
    bottom = [0] * len(weekly)
    for severity in reversed(SEVERITIES):
        counts = [week[severity] for _, week in weekly]
        axes.bar(positions, counts, bottom=bottom, label=severity, color=COLOURS[severity])
        bottom = [below + count for below, count in zip(bottom, counts, strict=True)]
    axes.legend(fontsize="small", frameon=False)
    axes.set_xticks(list(positions), [f"{monday:%b %d}" for monday, _ in weekly], rotation=45)
    axes.set_xlabel("ISO week starting")
    axes.set_ylabel("findings")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.spines[["top", "right"]].set_visible(False)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path"}):  # glyphs as paths: no font to load
        no_metadata = dict.fromkeys(("Creator", "Date", "Format", "Type"))
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata=no_metadata)
    pyplot.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _e(value: object) -> str:
    return html.escape(printable(text_of(value)))
