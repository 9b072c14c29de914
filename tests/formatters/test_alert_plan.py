"""The platform-neutral alert plan: headings, shown commits, "+N more", held-back and hint notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.models import DigestItem, HeldBack, Importance, Language
from formatters.alert_plan import (
    FOLDED_SHOWN,
    RISKS_SHOWN,
    AlertPlan,
    Markup,
    commit_text,
    fit_alert,
    plan_alert,
)
from formatters.clock import clock_time
from formatters.text_safety import escape_slack
from tests.data.reference_day import reference_digest
from tests.formatters.builders import alert_of, copies, with_text

REPO = "sgl-project/sglang"


def _high(language: Language = "en") -> list[DigestItem]:
    return [reference_digest(language).items[0]]


@pytest.mark.parametrize(
    ("language", "folded", "forced", "count", "heading"),
    [
        ("en", False, False, 1, f"🔴 High-importance commit in {REPO}"),
        ("en", False, True, 1, f"🔴 High-importance commit in {REPO} (force-push)"),
        ("en", True, False, 12, f"🔴 12 commits in {REPO} (one push)"),
        ("en", True, True, 12, f"🔴 12 commits in {REPO} (one push) (force-push)"),
        ("en", False, False, 2, f"🔴 2 commits in {REPO}"),
        ("zh", False, False, 1, f"🔴 {REPO} 有高重要度提交"),
        ("zh", False, True, 1, f"🔴 {REPO} 有高重要度提交（强制推送）"),
        ("zh", True, False, 12, f"🔴 {REPO} 一次推送 12 个提交"),
        ("zh", True, True, 12, f"🔴 {REPO} 一次推送 12 个提交（强制推送）"),
    ],
)
def test_headings(language: Language, folded: bool, forced: bool, count: int, heading: str) -> None:
    items = copies(count, Importance.HIGH, language)
    plan = plan_alert(alert_of(items, language, folded=folded, forced=forced))
    assert plan.heading == heading


def test_a_medium_alert_says_medium_and_is_yellow() -> None:
    [item] = copies(1, Importance.MEDIUM)
    plan = plan_alert(alert_of([item], "en"))
    assert plan.heading == f"🟡 Medium-importance commit in {REPO}"
    assert plan.top is Importance.MEDIUM


def test_one_commit_is_shown_in_full_with_at_most_two_risks() -> None:
    plan = plan_alert(alert_of(_high()))
    assert not plan.compact and plan.more == 0 and plan.more_line is None
    [commit] = plan.commits
    assert commit.view.short_sha == "00248d8"
    assert len(commit.risks) == RISKS_SHOWN
    assert len(reference_digest("en").items[0].analysis.risks) > RISKS_SHOWN


def test_a_folded_push_shows_ten_lines_and_counts_the_rest() -> None:
    items = copies(3, Importance.LOW) + copies(14, Importance.HIGH, start=3)
    plan = plan_alert(alert_of(items, folded=True))
    assert plan.compact and len(plan.commits) == FOLDED_SHOWN and plan.more == 7
    assert plan.more_line == "+7 more"
    # Most important first: the low commits are the ones left out.
    assert {c.view.importance for c in plan.commits} == {Importance.HIGH}
    assert all(commit.risks == () for commit in plan.commits)
    zh = plan_alert(alert_of(copies(12, Importance.HIGH, "zh"), "zh", folded=True))
    assert zh.more_line == "另有 2 个提交"


def test_more_than_three_commits_not_from_one_push_are_listed_as_lines() -> None:
    assert not plan_alert(alert_of(copies(3, Importance.HIGH))).compact
    assert plan_alert(alert_of(copies(4, Importance.HIGH))).compact


def test_held_back_note_in_the_channel_zone() -> None:
    committed = reference_digest("en").items[0].commit.committed_at
    since = committed - timedelta(hours=2)
    held = HeldBack(quiet_hours=3, rate_cap=2, since=since)
    plan = plan_alert(alert_of(_high(), held=held))
    local = clock_time(since, "Asia/Shanghai")
    assert plan.held_note == (
        f"5 more alerts held back since {local} (quiet hours 3 · rate cap 2); "
        "they are in the daily digest"
    )
    zh = plan_alert(alert_of(_high("zh"), "zh", held=held))
    assert zh.held_note == (
        f"自 {local} 起另有 5 条提醒被暂缓（静默时段 3 · 频率上限 2），已收入每日摘要"
    )


def test_held_back_since_another_day_shows_the_date_and_none_without_a_time() -> None:
    committed = reference_digest("en").items[0].commit.committed_at
    held = HeldBack(quiet_hours=1, since=committed - timedelta(days=1))
    note = plan_alert(alert_of(_high(), held=held)).held_note
    assert note is not None and " since 02-07 " in note
    undated = plan_alert(alert_of(_high(), held=HeldBack(rate_cap=4))).held_note
    assert undated == (
        "4 more alerts held back (quiet hours 0 · rate cap 4); they are in the daily digest"
    )
    assert plan_alert(alert_of(_high())).held_note is None


def test_the_details_hint_is_the_digest_cards() -> None:
    assert plan_alert(alert_of(_high())).details_hint == "reply `details <sha>` for details"
    mention = plan_alert(alert_of(_high()), details_by_mention=True)
    assert mention.details_hint == "mention the bot for details: `@bot details <sha>`"


def test_clock_times_in_a_zone_with_the_date_when_it_differs() -> None:
    moment = datetime(2026, 6, 12, 2, 42, tzinfo=UTC)
    assert clock_time(moment, "Asia/Shanghai") == "10:42"
    assert clock_time(moment, "Asia/Shanghai", day_of=moment) == "10:42"
    assert clock_time(moment, "Asia/Shanghai", day_of=moment - timedelta(days=1)) == "06-12 10:42"
    assert clock_time(moment, "Not/AZone") == "02:42"


MARKUP = Markup(
    escape=escape_slack, head=lambda view, scale: f"head {scale}", meta=lambda view: "meta"
)


def test_commit_text_shrinks_with_the_scale() -> None:
    long = "word " * 400
    item = with_text(reference_digest("en").items[0], summary=long, risks=(long, long, long))
    plan = plan_alert(alert_of([item]))
    full = commit_text(plan, plan.commits[0], MARKUP, 1.0)
    small = commit_text(plan, plan.commits[0], MARKUP, 0.25)
    assert full.startswith("head 1.0\nmeta\n") and full.count("⚠️ ") == 2
    assert len(small) < len(full) <= 500 + 2 * 210 + 20


def test_fit_alert_shrinks_then_shows_fewer_commits() -> None:
    plan = plan_alert(alert_of(copies(12, Importance.HIGH), folded=True))
    tries: list[tuple[int, float]] = []

    def render(shown: AlertPlan, scale: float) -> tuple[int, int]:
        tries.append((len(shown.commits), scale))
        return len(shown.commits), shown.more

    assert fit_alert(plan, render, lambda rendered: rendered[0] <= 8) == (8, 4)
    assert tries[:5] == [(10, 1.0), (10, 0.5), (10, 0.25), (10, 0.0), (9, 1.0)]
    assert fit_alert(plan, render, lambda rendered: False) == (0, 12)
