"""Quiet hours: spans within a day and across midnight, in each subscription's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.alerts.policy import AlertPolicy, QuietHours
from bot.config import AlertsConfig

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_span_across_midnight_in_the_channels_zone() -> None:
    quiet = QuietHours.parse("22:00-08:00")
    assert quiet is not None
    # 15:00 UTC is 23:00 in Shanghai (quiet); 01:00 UTC is 09:00 there (not).
    assert quiet.contains(datetime(2026, 6, 1, 15, tzinfo=UTC), SHANGHAI)
    assert not quiet.contains(datetime(2026, 6, 1, 1, tzinfo=UTC), SHANGHAI)
    assert quiet.contains(datetime(2026, 6, 1, 23, 59, tzinfo=UTC), SHANGHAI)  # 07:59
    assert not quiet.contains(datetime(2026, 6, 2, 0, 0, tzinfo=UTC), SHANGHAI)  # 08:00


def test_no_span_means_no_quiet_hours() -> None:
    assert QuietHours.parse("") is None
    assert QuietHours.parse("09:00-09:00") is None


@given(
    st.times(),
    st.times(),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
)
def test_quiet_hours_agree_with_the_wall_clock(start: time, end: time, moment: datetime) -> None:
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    quiet = QuietHours.parse(f"{start:%H:%M}-{end:%H:%M}")
    if quiet is None:
        assert start == end
        return
    aware = moment.replace(tzinfo=UTC)
    local = aware.astimezone(SHANGHAI).time().replace(tzinfo=None)
    inside = start <= local < end if start < end else (local >= start or local < end)
    assert quiet.contains(aware, SHANGHAI) is inside
    # The complement span is quiet exactly when this one is not.
    other = QuietHours(end, start)
    assert other.contains(aware, SHANGHAI) is not inside


def test_the_policy_reads_the_alerts_table() -> None:
    policy = AlertPolicy.from_config(
        AlertsConfig(poll_minutes=0, quiet_hours="23:30-07:00", max_per_channel_per_hour=3)
    )
    assert policy.poll_every is None and policy.max_per_hour == 3
    assert policy.quiet == QuietHours(time(23, 30), time(7, 0))
    assert AlertPolicy.from_config(AlertsConfig()).poll_every == timedelta(minutes=5)


@pytest.mark.parametrize(
    "values",
    [
        {"quiet_hours": "25:00-08:00"},
        {"quiet_hours": "22:00"},
        {"quiet_hours": "22:00-08:00-09:00"},
        {"webhook_path": "github/webhook"},
        {"poll_minutes": -1},
        {"fold_at": 1},
    ],
)
def test_a_bad_alerts_table_is_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AlertsConfig.model_validate(values)
