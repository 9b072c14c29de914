"""Sliding-window limits: never more than the limit in any window; the retry time is exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import AccessConfig
from handlers.conversation.rate_limits import HOUR, Limit, RateLimiter, RatePolicy, retry_message

START = datetime(2026, 2, 8, 9, 0, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=5),
    st.lists(st.integers(min_value=0, max_value=600), min_size=1, max_size=60),
)
def test_never_more_than_the_limit_in_any_window(limit: int, gaps: list[int]) -> None:
    now = [START]
    limiter = RateLimiter(lambda: now[0])
    rule = [Limit("k", limit, timedelta(minutes=10))]
    granted: list[datetime] = []
    for gap in gaps:
        now[0] += timedelta(seconds=gap)
        retry = limiter.acquire(rule)
        if retry is None:
            granted.append(now[0])
        else:
            assert retry > now[0]
            # exactly when the oldest counted use leaves the window
            in_window = [g for g in granted if g > now[0] - timedelta(minutes=10)]
            assert len(in_window) == limit
            assert retry == in_window[0] + timedelta(minutes=10)
    for i, at in enumerate(granted):
        assert sum(1 for g in granted[i:] if g < at + timedelta(minutes=10)) <= limit


def test_user_and_channel_limits_both_count_and_zero_is_unlimited() -> None:
    now = [START]
    limiter = RateLimiter(lambda: now[0])
    policy = RatePolicy(AccessConfig(digests_per_user_per_hour=0, digests_per_channel_per_hour=2))
    assert limiter.acquire(policy.digest("slack", "U1", "C1")) is None
    assert limiter.acquire(policy.digest("slack", "U2", "C1")) is None
    assert limiter.acquire(policy.digest("slack", "U3", "C1")) == START + HOUR  # channel full
    assert limiter.acquire(policy.digest("slack", "U3", "C2")) is None  # other channel
    for index in range(30):  # questions: 30 per user per hour by default, in any channels
        assert limiter.acquire(policy.question("slack", "U9", f"C{index}")) is None
    assert limiter.acquire(policy.question("slack", "U9", "C99")) == START + HOUR
    assert limiter.retry_at(policy.digest("slack", "U1", "C1")) == START + HOUR


def test_retry_message_says_when() -> None:
    text = retry_message("digests", START + timedelta(minutes=12, seconds=30), START)
    assert text == "Too many digests in the last hour; try again in 12 min (at 09:12 UTC)."
    assert "in 30 s" in retry_message("questions", START + timedelta(seconds=30), START)
