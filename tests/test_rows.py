"""Time parsing accepts exactly the forms SCM is known to use, and field types are checked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scm_source.errors import ScmResponseError
from scm_source.rows import certificate_row, csr_row, from_epoch_millis, parse_expire_time

SHANGHAI = pendulum.timezone("Asia/Shanghai")
OFFSETS = {
    "": None,
    "Z": timedelta(0),
    "+08:00": timedelta(hours=8),
    "-0530": -timedelta(hours=5, minutes=30),
}


@settings(max_examples=400, deadline=None)
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
    assert parse_expire_time(text, SHANGHAI) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_anything_else_is_refused_with_a_value_error(text: str) -> None:
    try:
        parsed = parse_expire_time(text, SHANGHAI)
    except ValueError:
        return
    assert len(text) >= 19 and text[4] == "-" and text[10] in " T"  # only the known shape passes
    assert parsed.year == int(text[:4])


@pytest.mark.parametrize(
    "text",
    ["2021", "2021-05-27", "2021-05-27 16:46", "27/05/2021 16:46:25", "2021-W21-4 10:00:00",
     "2021-02-30 10:00:00", "2021-05-27 25:00:00", "2021-05-27 16:46:25.1234567890",
     "2021-05-27  16:46:25", " 2021-05-27 16:46:25", "2021-05-27 16:46:25 +08:00", ""],
)  # fmt: skip
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
        ("deploy_support", "true", "field `deploy_support` of object id='scs1' is 'true', not true or false"),
        ("validity_period", "12", "field `validity_period` of object id='scs1' is '12', not a whole number"),
        ("domain_count", True, "field `domain_count` of object id='scs1' is True, not a whole number"),
        ("name", 5, "field `name` of object id='scs1' is 5, not a string"),
        ("expire_time", 1622105185, "field `expire_time` of object id='scs1': 1622105185 is not a time like '2021-05-27 16:46:25.0'"),
    ],
)  # fmt: skip
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
