"""Schedule math: one instant per run day (DST gaps and folds), covered days partition time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import ConfigError, InvalidInputError
from bot.schedules import WEEKDAYS, Schedule, describe_days

ZONES = [
    "UTC",
    "Asia/Shanghai",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
    "Pacific/Chatham",
]

schedules = st.builds(
    Schedule,
    at=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    timezone=st.sampled_from(ZONES),
    days=st.sets(st.sampled_from(WEEKDAYS), min_size=1).map(tuple),
)
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


def test_spring_forward_gap_runs_once_after_the_jump() -> None:
    ny = Schedule(time(2, 30), "America/New_York")
    # 2026-03-08 02:30 does not exist in New York: the run is at 03:30 EDT (07:30 UTC).
    assert ny.instant(date(2026, 3, 8)) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    start, end = datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 3, 9, 12, tzinfo=UTC)
    runs = ny.runs_between(start, end)
    assert runs == [date(2026, 3, 8), date(2026, 3, 9)]


def test_fall_back_fold_runs_at_the_first_occurrence() -> None:
    ny = Schedule(time(1, 30), "America/New_York")
    # 01:30 happens twice on 2026-11-01; the first (EDT, UTC-4) is the run.
    assert ny.instant(date(2026, 11, 1)) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    start, end = datetime(2026, 10, 31, 12, tzinfo=UTC), datetime(2026, 11, 1, 12, tzinfo=UTC)
    runs = ny.runs_between(start, end)
    assert runs == [date(2026, 11, 1)]


def test_monday_post_of_a_weekday_schedule_covers_the_weekend() -> None:
    weekdays = Schedule(time(9), "Asia/Shanghai", ("mon", "tue", "wed", "thu", "fri"))
    monday = date(2026, 2, 9)
    assert weekdays.covered_days(monday) == (date(2026, 2, 6), date(2026, 2, 8))
    assert weekdays.covered_days(monday + timedelta(days=1)) == (monday, monday)
    weekly = Schedule(time(9), "UTC", ("mon",))
    assert weekly.covered_days(monday) == (monday - timedelta(days=7), monday - timedelta(days=1))


def test_days_are_validated_and_ordered() -> None:
    assert Schedule(time(9), "UTC", ("fri", "mon")).days == ("mon", "fri")
    with pytest.raises(InvalidInputError):
        Schedule(time(9), "UTC", ())
    with pytest.raises(InvalidInputError):
        Schedule(time(9), "UTC", ("funday",))
    with pytest.raises(ConfigError):
        Schedule(time(9), "Mars/Olympus_Mons")


def test_cron_fields_use_day_names_never_numbers() -> None:
    fields = Schedule(time(7, 5), "UTC", ("mon", "wed", "sun")).cron_fields()
    assert fields == {"day_of_week": "mon,wed,sun", "hour": 7, "minute": 5}


def test_describe_days() -> None:
    assert describe_days(WEEKDAYS) == "daily"
    assert describe_days(WEEKDAYS[:5]) == "mon-fri"
    assert describe_days(("mon", "wed")) == "mon,wed"


@settings(max_examples=300, deadline=None)
@given(schedule=schedules, now=moments)
def test_last_and_next_run_bracket_now(schedule: Schedule, now: datetime) -> None:
    last = schedule.last_run(now)
    assert last is not None and schedule.runs_on(last)
    assert schedule.instant(last) <= now < schedule.next_run(now)
    # Nothing runs strictly between the last run and the next one.
    following = schedule.next_run(now)
    assert schedule.runs_between(schedule.instant(last), following - timedelta(seconds=1)) == []
    assert schedule.runs_between(schedule.instant(last), following) == [
        schedule.local_day(following)
    ]


@settings(max_examples=200, deadline=None)
@given(schedule=schedules, start=moments, span=st.integers(min_value=1, max_value=40))
def test_covered_days_partition_the_calendar(
    schedule: Schedule, start: datetime, span: int
) -> None:
    end = start + timedelta(days=span)
    runs = schedule.runs_between(start, end)
    assert runs == sorted(set(runs))  # one run per local day, in order
    for day in runs:
        assert start < schedule.instant(day) <= end
        assert schedule.local_day(schedule.instant(day)) in {day, day + timedelta(days=1)}
    covered: list[date] = []
    for day in runs:
        first, last = schedule.covered_days(day)
        assert first <= last < day
        covered += [first + timedelta(days=i) for i in range((last - first).days + 1)]
    # Consecutive posts cover consecutive days: no day twice, no gap.
    assert covered == sorted(set(covered))
    if covered:
        assert (covered[-1] - covered[0]).days + 1 == len(covered)


@pytest.mark.parametrize("zone", ZONES)
def test_every_day_of_a_year_has_exactly_one_instant(zone: str) -> None:
    schedule = Schedule(time(2, 30), zone)
    start = datetime(2026, 1, 1, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    runs = schedule.runs_between(start, start + timedelta(days=365))
    assert len(runs) == 365 and len(set(runs)) == 365
