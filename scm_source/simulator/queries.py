"""Reading a query as the API does: its documented values, or 400 SCM.0005."""

from __future__ import annotations

from typing import Any

from scm_source.objects.kinds import PAGE_SIZES


class BadParameter(ValueError):
    """A query the real API answers with 400 SCM.0005."""


def page_window(
    query: dict[str, str], offset_mode: str, max_offset: int | None, max_limit: int | None = None
) -> slice:
    """The rows one request covers, under either reading of `offset`; `limit` one of SCM's
    page sizes, or from 1 to `max_limit` (CCM's)."""
    limit = integer(query, "limit", 0, 10**9)
    limit = 10 if limit is None else limit
    if limit not in PAGE_SIZES if max_limit is None else not 1 <= limit <= max_limit:
        raise BadParameter("limit")
    offset = integer(query, "offset", 0, max_offset if max_offset is not None else 10**9)
    start = (offset or 0) * (limit if offset_mode == "page" else 1)
    return slice(start, start + limit)


def choice(query: dict[str, str], key: str, allowed: tuple[Any, ...], default: Any) -> Any:
    value = query.get(key, default)
    if value not in allowed and value != default:
        raise BadParameter(key)
    return value


def boolean(query: dict[str, str], key: str) -> bool | None:
    value = query.get(key)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise BadParameter(key)
    return value == "true"


def integer(query: dict[str, str], key: str, low: int, high: int) -> int | None:
    value = query.get(key)
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadParameter(key)
    return int(value)
