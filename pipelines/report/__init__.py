"""The report a security lead opens every morning, in the order they act: accounts whose sync
failed or went stale (the full error and its fix; their data marked stale), then what is critical
and high (each with its action, owner and where it is deployed), a summary by severity, a chart of
what expires week by week (ISO weeks, stacked by severity), and the medium and low findings last.
As terminal cards (rich, wrapped to the terminal, 80 columns included) or one self-contained HTML
page (inline CSS and SVG, no script, nothing fetched; medium and low in a collapsible section).

It reads the view `certificate_findings` and nothing else, as `check` does, so the two cannot
disagree; the expiry policy graded it.
"""

from .collect import Report, collect
from .html import write_html
from .terminal import print_text

__all__ = ["Report", "collect", "print_text", "write_html"]
