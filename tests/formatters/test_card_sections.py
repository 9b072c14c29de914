"""The platform-neutral card plan: sections, commit lines, notes, low-list summarising."""

from __future__ import annotations

from bot.models import Importance
from formatters.card_sections import (
    LOW_LIST_MAX,
    commit_details,
    plan_card,
)
from tests.data.reference_day import REPO_URL, reference_digest
from tests.formatters.builders import (
    alerted_digest,
    copies,
    with_items,
    with_provenance,
    with_text,
)


def test_reference_plan_orders_sections_and_counts() -> None:
    plan = plan_card(reference_digest("zh"))
    assert [s.heading for s in plan.sections] == [
        "🔴 高重要度变更 (1)",
        "🟡 中重要度变更 (4)",
        "🟢 低重要度变更 (4)",
    ]
    assert plan.top is Importance.HIGH and not plan.long_day and not plan.empty
    assert plan.stats_line == "本日共 9 个提交 | 🔴高 1 | 🟡中 4 | 🟢低 4"
    assert plan.footer == "由 digestbot 生成 · 模型 gpt-oss-120b · 提示词 v1"
    high = plan.sections[0].commits[0]
    assert high.short_sha == "00248d8"
    assert high.change_type == "功能增强（新增 Ascend NPU 平台支持）"
    assert high.title.endswith("on Ascend")  # "(#13662)" is shown as the PR link instead
    assert high.pr_url == f"{REPO_URL}/pull/13662"
    assert high.files_line == "58 个文件 +2113 −287"


def test_title_keeps_its_pr_suffix_when_there_is_no_link() -> None:
    digest = reference_digest("zh").model_copy(update={"repo_url": "not a url"})
    view = plan_card(digest).sections[0].commits[0]
    assert view.pr_url is None and view.commit_url is None
    assert view.title.endswith("(#13662)")


def test_the_plan_keeps_every_low_commit() -> None:
    digest = with_items(copies(LOW_LIST_MAX + 50, Importance.LOW))
    plan = plan_card(digest)
    [low] = plan.sections
    assert len(low.commits) == low.total == LOW_LIST_MAX + 50 and plan.long_day


def test_details_hint_says_to_mention_the_bot_where_replies_are_not_read() -> None:
    digest = reference_digest("en")
    assert plan_card(digest).details_hint == "reply `details <sha>` for details"
    assert plan_card(digest, details_by_mention=True).details_hint == (
        "mention the bot for details: `@bot details <sha>`"
    )
    zh = plan_card(reference_digest("zh"), details_by_mention=True).details_hint
    assert "@bot details <sha>" in zh and zh != plan_card(reference_digest("zh")).details_hint


def test_omitted_note_counts_and_names_the_days_to_ask_for() -> None:
    plan = plan_card(reference_digest("en"))
    views = [view for section in plan.sections for view in section.commits]
    note = plan.omitted_note(views[-3:])
    assert note.startswith("3 more commits not shown (🟢 3)")
    # The reference day's commits are all on 2026-02-08 in Asia/Shanghai.
    assert note.endswith(
        "ask for a shorter window to see them: `digest sgl-project/sglang 2026-02-08`"
    )


def test_several_days_use_the_window_stats_line() -> None:
    digest = reference_digest("en")
    window = digest.window.model_copy(update={"end": digest.window.end.replace(day=15)})
    plan = plan_card(digest.model_copy(update={"window": window}))
    assert plan.title == "Daily update report (2026-02-08 – 2026-02-14)"
    assert plan.stats_line.startswith("9 commits")


def test_notes_per_commit_and_for_the_digest() -> None:
    base = reference_digest("en").items
    lines_partial = with_provenance(
        base[0], coverage={"files_total": 3, "files_sent": 3, "lines_total": 900, "lines_sent": 300}
    )
    fallback = with_provenance(base[1], analyzer="heuristic", fallback_reason="bad JSON")
    digest = with_items([lines_partial, fallback], language="en")
    plan = plan_card(
        digest.model_copy(
            update={"provenance": digest.provenance.model_copy(update={"excluded_commits": 4})}
        )
    )
    views = [c for s in plan.sections for c in s.commits]
    assert views[0].notes == ("partial analysis: analysed 300 of 900 changed lines",)
    assert views[1].notes == ("LLM analysis failed; rule-based analysis shown",)
    assert plan.notes == (
        "LLM analysis failed for 1 commits; rule-based analysis shown",
        "1 commits analysed partially",
        "4 commits filtered out",
    )


def test_all_rule_based_digest_has_one_note() -> None:
    items = [with_provenance(i, analyzer="heuristic") for i in reference_digest("zh").items]
    assert plan_card(with_items(items)).notes == ("规则分析（未使用大模型）",)


def test_details_keep_the_report_order_and_drop_empty_entries() -> None:
    item = with_text(reference_digest("zh").items[0], risks=("", "  ", "风险：内容"))
    details = commit_details(item, REPO_URL, "zh")
    assert [d for d, _ in details.insights] == [
        "架构影响",
        "性能影响",
        "安全考虑",
        "可维护性",
        "兼容性",
        "测试覆盖",
    ]
    assert details.risks == ("风险：内容",) and not details.empty


def test_alerted_commits_say_when_in_the_window_zone() -> None:
    views = [v for s in plan_card(alerted_digest("en")).sections for v in s.commits]
    assert [v.alerted for v in views[:3]] == ["alerted 10:47", "alerted 02-09 09:00", ""]
    zh = [v for s in plan_card(alerted_digest("zh")).sections for v in s.commits]
    assert zh[0].alerted == "已提醒 10:47"
    # A details view without the channel's zone says the time is UTC.
    assert commit_details(zh[0].item, REPO_URL, "zh").view.alerted == "已提醒 02:47 UTC"
    assert commit_details(zh[0].item, REPO_URL, "zh", "Asia/Shanghai").view.alerted == (
        "已提醒 10:47"
    )
