"""Time parsing accepts exactly the forms SCM is known to use, and field types are checked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pendulum
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scm_source.errors import ScmResponseError
from scm_source.objects.certificates import certificate_row
from scm_source.objects.csr import csr_row
from scm_source.rows.values import from_epoch_millis, parse_expire_time

SHANGHAI = pendulum.timezone("Asia/Shanghai")


def instant(moment: datetime | None) -> tuple[datetime, timedelta | None] | None:
    """The UTC instant and the offset: comparing aware times of two zone objects directly says
    "not equal" for any wall time a clock change repeats (PEP 495), even when they agree."""
    return None if moment is None else (moment.astimezone(timezone.utc), moment.utcoffset())


OFFSETS = {
    "": None,
    "Z": timedelta(0),
    "+08:00": timedelta(hours=8),
    "-0530": -timedelta(hours=5, minutes=30),
}


@settings(max_examples=400, deadline=None)
# 01:00 on 1991-09-15 happened twice in Shanghai (the last clock change back from summer time).
@example(moment=datetime(1991, 9, 15, 1, 0), digits=0, separator=" ", zone="")
@given(
    moment=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2199, 12, 31)),
    digits=st.integers(0, 9),
    separator=st.sampled_from([" ", "T"]),
    zone=st.sampled_from(list(OFFSETS)),
)
def test_every_known_form_reads_as_the_same_instant(
    moment: datetime, digits: int, separator: str, zone: str
) -> None:
    fraction = f"{moment.microsecond:06d}{'0' * 3}"[:digits]
    text = (
        moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + (f".{fraction}" if digits else "") + zone
    )
    micros = int(fraction.ljust(6, "0")[:6]) if digits else 0
    wall = moment.replace(microsecond=micros)
    offset = OFFSETS[zone]
    expected = (
        wall.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
        if offset is None
        else wall.replace(tzinfo=timezone(offset))
    )
    assert instant(parse_expire_time(text, SHANGHAI)) == instant(expected)


def reference_reading(text: str) -> datetime | None:
    """An independent reading of the documented shape: `YYYY-MM-DD`, a space or `T`,
    `HH:MM:SS`, an optional fraction of 1 to 9 digits, an optional `Z` or +HH:MM / +HHMM offset;
    the values checked by the standard library's ISO reader. None when the text is not one."""
    if len(text) < 19 or text[10] not in " T" or not text.isascii():
        return None
    rest, fraction = text[19:], ""
    if rest.startswith("."):
        digits = len(rest[1:]) - len(rest[1:].lstrip("0123456789"))
        if not 1 <= digits <= 9:
            return None
        fraction, rest = rest[1 : 1 + digits], rest[1 + digits :]
    if rest not in ("", "Z"):
        sign, hours, minutes = rest[:1], rest[1:3], rest[3:].removeprefix(":")
        if sign not in "+-" or len(rest) not in (5, 6) or not (hours + minutes).isdigit():
            return None
        if (len(rest) == 6 and rest[3] != ":") or len(minutes) != 2:
            return None
    stamp = text[:10] + "T" + text[11:19]
    if not all(stamp[i].isdigit() for i in (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)):
        return None
    if (stamp[4], stamp[7], stamp[13], stamp[16]) != ("-", "-", ":", ":"):
        return None
    try:
        parsed = datetime.fromisoformat(stamp + (f".{fraction[:6]:0<6}" if fraction else "") + rest)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


@st.composite
def near_valid_times(draw: st.DrawFn) -> str:
    """A time in a known form, then (mostly) one character deleted, replaced or inserted: the
    strings around the accepted shape, where a parser's mistakes are."""
    moment = draw(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2199, 12, 31)))
    fraction = draw(st.sampled_from(["", ".0", ".123", ".123456789", ".1234567890"]))
    zone = draw(st.sampled_from(["", "Z", "+08:00", "-0530", "+24:00", "+08", "+08:00:00"]))
    text = moment.strftime(f"%Y-%m-%d{draw(st.sampled_from(' T'))}%H:%M:%S") + fraction + zone
    edit = draw(st.sampled_from(["none", "delete", "replace", "insert"]))
    if edit == "none":
        return text
    where = draw(st.integers(0, len(text) - (edit != "insert")))
    character = draw(st.sampled_from("0123456789-: T.Z+x/\u0661"))
    if edit == "delete":
        return text[:where] + text[where + 1 :]
    if edit == "replace":
        return text[:where] + character + text[where + 1 :]
    return text[:where] + character + text[where:]


@settings(max_examples=1500, deadline=None)
@given(st.one_of(near_valid_times(), st.text(max_size=40)))
def test_a_time_reads_as_an_independent_reading_does_or_is_refused(text: str) -> None:
    """Valid, near-valid and arbitrary strings: ours and the reference agree on which are times
    and on the instant; everything else is a ValueError."""
    try:
        parsed: datetime | None = parse_expire_time(text, SHANGHAI)
    except ValueError:
        parsed = None
    expected = reference_reading(text)
    assert instant(parsed) == instant(expected)


@pytest.mark.parametrize(
    "text",
    [
        "2021",
        "2021-05-27",
        "2021-05-27 16:46",
        "27/05/2021 16:46:25",
        "2021-W21-4 10:00:00",
        "2021-02-30 10:00:00",
        "2021-05-27 25:00:00",
        "2021-05-27 16:46:25.1234567890",
        "2021-05-27  16:46:25",
        " 2021-05-27 16:46:25",
        "2021-05-27 16:46:25 +08:00",
        "",
    ],
)
def test_near_misses_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_expire_time(text, SHANGHAI)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**42))
def test_epoch_milliseconds_are_exact(millis: int) -> None:
    instant = from_epoch_millis(millis)
    assert instant.tzinfo is not None
    assert (instant - datetime(1970, 1, 1, tzinfo=timezone.utc)) == timedelta(milliseconds=millis)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "deploy_support",
            "true",
            "field `deploy_support` of object id='scs1' is 'true', not true or false",
        ),
        (
            "validity_period",
            "12",
            "field `validity_period` of object id='scs1' is '12', not a whole number",
        ),
        (
            "domain_count",
            True,
            "field `domain_count` of object id='scs1' is True, not a whole number",
        ),
        ("name", 5, "field `name` of object id='scs1' is 5, not a string"),
        (
            "expire_time",
            1622105185,
            "field `expire_time` of object id='scs1': 1622105185 is not a time like '2021-05-27 16:46:25.0'",
        ),
    ],
)
def test_a_field_of_the_wrong_type_is_named(field: str, value: object, message: str) -> None:
    with pytest.raises(ScmResponseError) as error:
        certificate_row(
            {"id": "scs1", "expire_time": "2021-05-27 16:46:25.0", field: value}, SHANGHAI
        )
    assert str(error.value) == message


def test_csr_times_must_be_epoch_milliseconds() -> None:
    with pytest.raises(
        ScmResponseError, match=r"field `update_time` of object id='c1': '1735804566545' is not"
    ):
        csr_row({"id": "c1", "create_time": 1735804566545, "update_time": "1735804566545"})
