"""Validators every setting uses: each refuses a value in one line that names the setting and
says what to use, so a bad value costs one clear line before the first request instead of a 400
from the gateway halfway through a run."""

from __future__ import annotations

from typing import Any

import pendulum
from pendulum.tz.timezone import Timezone

from scm_source.errors import ScmConfigError

SECTION = "sources.scm_source"


def is_whole_number(value: object, low: int | None = None, high: int | None = None) -> bool:
    """A whole number as JSON and TOML give one (a bool is not one), within the bounds given."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def whole_number_setting(setting: str, value: Any, low: int, high: int) -> int:
    """`value` if it is a whole number within the bounds, else one line naming the setting."""
    if not is_whole_number(value, low, high):
        raise ScmConfigError(
            f"{setting}={value!r} must be a whole number from {low} to {high} ({SECTION}.{setting})"
        )
    return int(value)


def one_of(setting: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    """`value` if the API accepts it, else one line listing what it accepts."""
    if value not in allowed:
        choices = ", ".join(str(choice) for choice in allowed)
        raise ScmConfigError(
            f"{setting}={value!r} is not accepted by the SCM API: use one of {choices}"
            f" ({SECTION}.{setting})"
        )
    return value


def optional_bool(setting: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ScmConfigError(f"{setting}={value!r} must be true or false ({SECTION}.{setting})")
    return value


def api_bool(value: bool) -> str:
    """A bool as the API's query strings spell it."""
    return "true" if value else "false"


def zone_setting(setting: str, name: str) -> Timezone:
    """An IANA zone by name; fixed offsets are refused (they ignore daylight saving)."""
    try:
        zone = pendulum.timezone(str(name))
    except ValueError:  # InvalidTimezone, or a plain ValueError for an empty name
        raise ScmConfigError(
            f"{setting}={name!r} is not an IANA time zone: use e.g. Asia/Shanghai or UTC"
            f" ({SECTION}.{setting})"
        ) from None
    if not isinstance(zone, Timezone):
        raise ScmConfigError(f"{setting}={name!r} must name a zone, not a fixed offset")
    return zone
