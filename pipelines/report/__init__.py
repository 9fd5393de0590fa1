"""The report a security lead opens every Monday, in the order they ask: as of when (each
account's last load, failed or stale ones flagged first), a summary of what needs action, what
to do this week (most urgent first, coloured by urgency), the weekly expiry chart (per account
where there are several), then the long lists, summarised with their top rows. As terminal
tables (rich, fitted to the terminal) or one self-contained HTML page (inline CSS and SVG, no
script, nothing fetched; the rest of each long list in a collapsible section).

Every number comes from the shipped views' own SQL (`view_reader`), so the report cannot
disagree with the views, and `--days` needs no reinstall.
"""

from .collect import Report, collect
from .html import write_html
from .terminal import print_text

__all__ = ["Report", "collect", "print_text", "write_html"]
