"""The report a person reads: expiring, expired, revoked and unpassed certificates as terminal
tables (rich) or one self-contained HTML page with a weekly expiry chart (matplotlib, inline SVG).

The sections are the shipped views' own SQL, rendered with the report's threshold, so
`--days` needs no reinstall and the report cannot disagree with the views.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dlt
from rich.console import Console
from rich.table import Table
from rich.text import Text

from scm_source.errors import ScmConfigError
from scm_source.views import select_from_view, validate_days

WEEKS = 26


@dataclass(frozen=True)
class SectionSpec:
    view: str
    title: str
    columns: tuple[str, ...]
    order_by: str


_WHAT = ("name", "domain", "status")
SECTIONS = (
    SectionSpec(
        "certificates_expiring",
        "Expiring within {days} days",
        (*_WHAT, "expire_time", "days_left", "expiry_bucket"),
        "expire_time",
    ),
    SectionSpec(
        "certificates_expired",
        "Expired",
        (*_WHAT, "expire_time", "days_since_expiry"),
        "expire_time DESC",
    ),
    SectionSpec(
        "certificates_revoked",
        "Revoked or being revoked",
        (*_WHAT, "revocation_final", "expire_time"),
        "name",
    ),
    SectionSpec(
        "certificates_unpassed",
        "Failed validation (UNPASSED)",
        ("name", "domain", "type", "brand", "description"),
        "name",
    ),
)


@dataclass(frozen=True)
class Section:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Report:
    days: int
    generated_at: datetime
    dataset: str
    sections: list[Section]
    expiring_per_week: list[int]  # valid certificates expiring in each of the next WEEKS weeks


def collect(pipeline: dlt.Pipeline, days: int) -> Report:
    validate_days(days)
    sections = [
        Section(
            spec.title.format(days=days),
            spec.columns,
            select_from_view(pipeline, spec.view, days, spec.columns, spec.order_by),
        )
        for spec in SECTIONS
    ]
    horizon = select_from_view(
        pipeline, "certificates_expiring", WEEKS * 7, ("days_left",), "days_left"
    )
    weekly = [0] * WEEKS
    for (days_left,) in horizon:
        weekly[min(int(days_left) // 7, WEEKS - 1)] += 1
    return Report(days, datetime.now(timezone.utc), pipeline.dataset_name, sections, weekly)


def print_text(report: Report, console: Console, limit: int = 15) -> None:
    when = f"{report.generated_at:%Y-%m-%d %H:%M} UTC"
    console.print(f"[bold]SCM report[/bold] for dataset {report.dataset} at {when}")
    for section in report.sections:
        table = Table(title=f"{section.title}: {len(section.rows)}", title_justify="left")
        for column in section.columns:
            table.add_column(column)
        for row in section.rows[:limit]:
            table.add_row(*(Text(_printable(_text(value))) for value in row))
        if len(section.rows) > limit:
            table.caption = f"… and {len(section.rows) - limit} more"
        console.print(table)


def write_html(report: Report, path: Path) -> None:
    """One file, nothing fetched: the chart is inline SVG, the style inline CSS, no scripts."""
    chart = _weekly_chart_svg(report.expiring_per_week)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>SCM report: {html.escape(report.dataset)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0 2em}th,td{border:1px solid #ccc;"
        "padding:.25em .6em;text-align:left;font-size:.9em}th{background:#f3f3f3}</style>",
        "</head><body>",
        f"<h1>SCM report: dataset {html.escape(report.dataset)}</h1>",
        f"<p>Generated {report.generated_at:%Y-%m-%d %H:%M} UTC.</p>",
        f"<h2>Certificates expiring per week, next {WEEKS} weeks</h2>",
        f"<figure>{chart}<figcaption>Valid certificates by week of expiry; week 1 starts now."
        "</figcaption></figure>",
        "<table class='weeks'><tr><th>week</th>",
        *(f"<th>{week}</th>" for week in range(1, WEEKS + 1)),
        "</tr><tr><td>certificates</td>",
        *(f"<td>{count}</td>" for count in report.expiring_per_week),
        "</tr></table>",
    ]
    for section in report.sections:
        parts.append(f"<h2>{html.escape(section.title)}: {len(section.rows)}</h2><table><tr>")
        parts.extend(f"<th>{html.escape(column)}</th>" for column in section.columns)
        parts.append("</tr>")
        for row in section.rows:
            cells = "".join(f"<td>{html.escape(_text(value))}</td>" for value in row)
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    path.write_text("".join(parts), encoding="utf-8")


def _weekly_chart_svg(counts: list[int]) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise ScmConfigError(
            "the HTML report needs matplotlib: pip install 'scm-export[report]'"
        ) from None
    figure, axes = pyplot.subplots(figsize=(10, 3.2))
    axes.bar(range(1, len(counts) + 1), counts, color="#c0392b")
    axes.set_xlabel("week from today")
    axes.set_ylabel("certificates")
    axes.set_xticks(range(1, len(counts) + 1, 2))
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
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)
