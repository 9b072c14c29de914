"""Time windows: every spelling, local midnights, DST days, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import ConfigError, InvalidInputError
from bot.windows import (
    LATEST_NEEDS_A_CHECKOUT,
    MAX_DAYS,
    TOO_MANY_DAYS,
    parse_window,
    previous_local_day,
)

NOW = datetime(2026, 2, 9, 3, 0, tzinfo=UTC)  # 11:00 on Monday 2026-02-09 in Shanghai


def test_today_and_yesterday_are_local_days() -> None:
    today = parse_window("today", "Asia/Shanghai", NOW)
    assert today.start == datetime(2026, 2, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert today.end.astimezone(UTC) == datetime(2026, 2, 9, 16, 0, tzinfo=UTC)
    yesterday = parse_window("yesterday", "Asia/Shanghai", NOW)
    assert yesterday.title == "2026-02-08"
    # In UTC it is still Monday 03:00, so "yesterday" is Sunday there too — but a different span.
    assert parse_window("yesterday", "UTC", NOW).start == datetime(2026, 2, 8, tzinfo=UTC)


def test_date_range_days_and_week() -> None:
    rng = parse_window("2026-02-01..2026-02-07", "UTC", NOW)
    assert (rng.end - rng.start) == timedelta(days=7)
    assert rng.title == "2026-02-01 – 2026-02-07"
    seven = parse_window("7d", "UTC", NOW)
    assert seven.first_day == "2026-02-03" and seven.last_day == "2026-02-09"
    week = parse_window("week", "UTC", NOW)  # Monday -> the week is just today so far
    assert week.first_day == "2026-02-09" and week.last_day == "2026-02-09"
    assert parse_window("week", "UTC", NOW + timedelta(days=3)).first_day == "2026-02-09"
    assert parse_window(None, "UTC", NOW).label == "today"
    assert parse_window(" TODAY ", "UTC", NOW).label == "today"


def test_spring_forward_day_is_23_hours() -> None:
    window = parse_window("2026-03-08", "America/New_York", NOW)
    assert window.end.astimezone(UTC) - window.start.astimezone(UTC) == timedelta(hours=23)
    assert window.start.astimezone(UTC) == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)


def test_fall_back_day_is_25_hours() -> None:
    window = parse_window("2026-11-01", "America/New_York", NOW)
    assert window.end.astimezone(UTC) - window.start.astimezone(UTC) == timedelta(hours=25)


def test_day_whose_midnight_does_not_exist() -> None:
    # Chile springs forward at 00:00 -> 01:00; the day starts at 01:00 local.
    window = parse_window("2026-09-06", "America/Santiago", NOW)
    assert window.start.astimezone(UTC) == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert window.end.astimezone(UTC) - window.start.astimezone(UTC) == timedelta(hours=23)


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30",
        "2026-2-8",
        "tomorrowish",
        "0d",
        f"{MAX_DAYS + 1}d",
        "2026-02-09..2026-02-01",
        "2025-01-01..2026-12-31",
        "..",
        "2026-02-01..",
        "'; DROP TABLE",
        "7 d",
    ],
)
def test_bad_windows_are_rejected_with_a_message(text: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_window(text, "UTC", NOW)
    assert 0 < len(err.value.user_message) < 200


@pytest.mark.parametrize("text", ["367d", "3650d", "9999d", "99999d", "999999d", "9" * 5000 + "d"])
def test_any_too_large_day_count_says_the_limit(text: str) -> None:
    """Not "is not a date" for six digits, and no int() of thousands of digits."""
    with pytest.raises(InvalidInputError) as err:
        parse_window(text, "UTC", NOW)
    assert err.value.user_message == TOO_MANY_DAYS == f"A window can cover at most {MAX_DAYS} days."


@pytest.mark.parametrize("text", ["0d", "00d", "000000d"])
def test_zero_days_asks_for_one(text: str) -> None:
    with pytest.raises(InvalidInputError, match="at least 1 day"):
        parse_window(text, "UTC", NOW)


def test_leading_zeros_are_days_too() -> None:
    assert parse_window("007d", "UTC", NOW).first_day == "2026-02-03"
    assert parse_window(f"{MAX_DAYS}d", "UTC", NOW).first_day == "2025-02-09"


def test_latest_is_the_local_day_of_the_newest_commit() -> None:
    newest = datetime(2025, 12, 31, 17, 30, tzinfo=UTC)  # 01:30 on 1 January in Shanghai
    window = parse_window("latest", "Asia/Shanghai", NOW, latest=newest)
    assert (window.title, window.label, window.tz) == ("2026-01-01", "latest", "Asia/Shanghai")
    assert window.start <= newest < window.end
    assert parse_window(" Latest ", "UTC", NOW, latest=newest).title == "2025-12-31"
    # Other specs ignore it.
    assert parse_window("today", "UTC", NOW, latest=newest).title == "2026-02-09"


def test_latest_without_a_newest_commit_is_refused() -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_window("latest", "UTC", NOW)
    assert err.value.user_message == LATEST_NEEDS_A_CHECKOUT
    with pytest.raises(ValueError):
        parse_window("latest", "UTC", NOW, latest=datetime(2026, 1, 1))


def test_bad_timezone() -> None:
    with pytest.raises(ConfigError, match="Unknown time zone"):
        parse_window("today", "Mars/Olympus", NOW)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_window("today", "UTC", datetime(2026, 1, 1))


def test_previous_local_day() -> None:
    assert previous_local_day(NOW, "Asia/Shanghai").isoformat() == "2026-02-08"
    assert previous_local_day(NOW, "America/Los_Angeles").isoformat() == "2026-02-07"


@given(
    day=st.dates(min_value=datetime(1990, 1, 1).date(), max_value=datetime(2060, 1, 1).date()),
    tz=st.sampled_from(
        [
            "UTC",
            "Asia/Shanghai",
            "America/New_York",
            "Europe/London",
            "America/Santiago",
            "Australia/Lord_Howe",
            "Asia/Kathmandu",
        ]
    ),
)
def test_any_day_window_is_contiguous_and_local(day: object, tz: str) -> None:
    window = parse_window(str(day), tz, NOW)
    length = window.end.astimezone(UTC) - window.start.astimezone(UTC)
    assert timedelta(hours=22) <= length <= timedelta(hours=26)
    assert window.start.astimezone(ZoneInfo(tz)).date() == day
    nxt = parse_window(str(day + timedelta(days=1)), tz, NOW)  # type: ignore[operator]
    assert nxt.start.astimezone(UTC) == window.end.astimezone(UTC)
