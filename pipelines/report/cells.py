"""API text as a report shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..freshness import when


def printable(text: str) -> str:
    """API text shown as text: control characters (an escape sequence in a name) written out,
    never sent to the terminal; `Text` keeps rich from reading `[link=...]` as markup."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return when(value)
    return str(value)
