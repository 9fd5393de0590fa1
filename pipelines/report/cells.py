"""API and warehouse values as a report shows them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def printable(text: str) -> str:
    """API text shown as text: control characters (an escape sequence in a name) written out,
    never sent to the terminal; `Text` keeps rich from reading `[link=...]` as markup."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def utc(moment: datetime) -> datetime:
    """A warehouse's timestamp as UTC (DuckDB may hand it back without a zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return utc(value).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)
