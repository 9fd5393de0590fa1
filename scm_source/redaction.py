"""Secrets out of every message: a server may echo a token in `error_msg` or an HTML error page,
a proxy URL may carry `user:password@`. Auth objects register each secret value they hold or
receive; every `ScmError` message has them, and any URL userinfo, replaced before it reaches
stdout, logs, the sync log, dlt's state or its trace."""

from __future__ import annotations

import re
import threading

MASK = "***"
_USERINFO = re.compile(r"(?<=://)[^/@\s'\"]+@")
_MIN_LENGTH = 6  # shorter values would mask ordinary words
_known: set[str] = set()
_lock = threading.Lock()


def register(*values: str | None) -> None:
    """Values that must never be shown: keys, passwords, tokens, security tokens."""
    with _lock:
        _known.update(value for value in values if value and len(value) >= _MIN_LENGTH)


def redact(text: str) -> str:
    with _lock:
        known = sorted(_known, key=len, reverse=True)  # a longer secret first: it may hold another
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    return _USERINFO.sub(MASK + "@", text)
