"""Slack Block Kit: golden reference day, block validity, buttons, long days, notes."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import Block

from bot.models import Importance
from formatters.slack_blocks import (
    DETAILS_ACTION_ID,
    details_value,
    parse_details_value,
    render_slack,
)
from formatters.slack_details import render_slack_details
from tests.data.reference_day import REPO_URL, empty_digest, reference_digest
from tests.formatters.builders import (
    alerted_digest,
    copies,
    with_items,
    with_provenance,
    with_text,
)
from tests.formatters.golden import assert_golden
from tests.formatters.payload_checks import (
    allowed_urls,
    assert_complete,
    check_slack_message,
    check_slack_modal,
)

HIGH_SHA = "00248d85c798c6c4cb84aa5a7ac7685178867219"


def _texts(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def test_reference_day_matches_golden_and_fits_one_channel_message() -> None:
    digest = reference_digest("zh")
    messages = render_slack(digest)
    assert_golden("slack_reference_zh.json", messages)
    assert len(messages) == 1
    check_slack_message(messages[0], allowed_urls(digest))
    assert assert_complete(messages, digest) == (9, 0)


def test_every_block_parses_with_slack_sdk() -> None:
    for block in render_slack(reference_digest("zh"))[0]["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
        assert parsed.to_dict()["type"] == block["type"]


def test_sections_run_high_medium_low_with_counts_in_the_header_context() -> None:
    message = render_slack(reference_digest("zh"))[0]
    text = _texts(message)
    assert message["blocks"][0]["text"]["text"] == "每日更新报告（2026-02-08）"
    assert "本日共 9 个提交 | 🔴高 1 | 🟡中 4 | 🟢低 4" in text
    headings = ("高重要度变更 (1)", "中重要度变更 (4)", "低重要度变更 (4)")
    positions = [text.index(heading) for heading in headings]
    assert positions == sorted(positions)
    assert message["text"].startswith("每日更新报告（2026-02-08） · sgl-project/sglang")


def test_high_and_medium_commits_get_a_details_button_with_repo_and_sha() -> None:
    digest = reference_digest("zh")
    buttons = [
        block["accessory"] for block in render_slack(digest)[0]["blocks"] if block.get("accessory")
    ]
    expected = [i.commit.sha for i in digest.items if i.analysis.importance is not Importance.LOW]
    assert [parse_details_value(b["value"]) for b in buttons] == [
        ("sgl-project/sglang", sha) for sha in expected
    ]
    assert {b["action_id"] for b in buttons} == {DETAILS_ACTION_ID}
    assert {b["text"]["text"] for b in buttons} == {"详情"}


def test_commit_line_links_sha_and_pr_to_the_repository_only() -> None:
    text = _texts(render_slack(reference_digest("zh"))[0])
    assert f"<{REPO_URL}/commit/{HIGH_SHA}|00248d8>" in text
    assert f"<{REPO_URL}/pull/13662|#13662>" in text
    # The title's own "(#13662)" is replaced by the link, not repeated.
    assert "on Ascend* (<" in text and "(#13662)" not in text


def test_details_value_round_trips_and_never_exceeds_2000() -> None:
    assert parse_details_value(details_value("a/b", HIGH_SHA)) == ("a/b", HIGH_SHA)
    assert parse_details_value(details_value("C:|odd|path", HIGH_SHA)) == ("C:|odd|path", HIGH_SHA)
    long_value = details_value("x" * 3000, HIGH_SHA)
    assert len(long_value) <= 2000 and parse_details_value(long_value) == ("", HIGH_SHA)


def test_details_views_match_golden_and_validate() -> None:
    digest = reference_digest("zh")
    item = digest.items[0]
    thread = render_slack_details(item, REPO_URL, "zh")
    modal = render_slack_details(item, REPO_URL, "zh", "modal")
    assert_golden("slack_details_reference_zh.json", {"thread": thread, "modal": modal})
    allowed = allowed_urls(digest)
    check_slack_message(thread, allowed)
    check_slack_modal(modal, allowed)
    text = _texts(thread)
    for heading in ("📋 变更摘要", "🎯 影响范围", "🔍 技术洞察", "⚠️ 潜在风险", "💡 关注建议"):
        assert heading in text
    for dimension in ("架构影响", "性能影响", "安全考虑", "可维护性", "兼容性", "测试覆盖"):
        assert f"*{dimension}*" in text
    assert "1. *硬件依赖缺失*：" in text
    assert modal["title"]["text"] == "提交 00248d8" and modal["type"] == "modal"


def test_english_labels() -> None:
    message = render_slack(reference_digest("en"))[0]
    text = _texts(message)
    assert "High-importance changes (1)" in text and "Low-importance changes (4)" in text
    assert "9 commits | 🔴 high 1" in text
    assert message["blocks"][0]["text"]["text"] == "Daily update report (2026-02-08)"


def test_long_day_moves_the_low_list_to_the_thread() -> None:
    items = copies(3, Importance.HIGH) + copies(22, Importance.LOW, start=3)
    digest = with_items(items)
    messages = render_slack(digest)
    assert len(messages) >= 2
    first, rest = messages[0], messages[1:]
    assert "22 个低重要度提交列在后续消息中" in _texts(first)
    assert "低重要度变更" not in _texts(first)
    assert any("低重要度变更 (22)" in _texts(m) for m in rest)
    assert "（续）" in _texts(rest[0]) and "第 2/" in rest[0]["text"]
    for message in messages:
        check_slack_message(message, allowed_urls(digest))
    assert_complete(messages, digest)


def test_partial_fallback_and_heuristic_notes_are_shown() -> None:
    base = reference_digest("zh").items
    partial = with_provenance(
        base[0], coverage={"files_total": 40, "files_sent": 12, "lines_total": 9, "lines_sent": 9}
    )
    fallback = with_provenance(base[1], analyzer="heuristic", fallback_reason="timeout")
    rules = with_provenance(base[2], analyzer="heuristic")
    digest = with_items([partial, fallback, rules, *base[3:]])
    text = _texts(render_slack(digest)[0])
    assert "⚠️ 部分分析：已分析 12/40 个文件" in text
    assert "⚠️ 大模型分析失败，已使用规则分析" in text
    assert "⚠️ 规则分析（未使用大模型）" in text
    assert "1 个提交的大模型分析失败，已使用规则分析" in text
    assert "1 个提交为部分分析" in text


def test_mention_and_link_attacks_render_as_text() -> None:
    attack = "<!channel> <!here> <@U123> <#C1> <https://evil.example|github.com> @everyone"
    item = with_text(reference_digest("zh").items[0], title=attack, author=attack, summary=attack)
    digest = with_items([item], overview=attack)
    message = render_slack(digest)[0]
    check_slack_message(message, allowed_urls(digest))
    text = _texts(message)
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;#C1&gt;" in text
    assert "&lt;hxxps[:]//evil[.]example|github[.]com&gt;" in text
    assert "@\u200deveryone" in text and "https://evil" not in text


def test_thousands_of_commits_are_all_listed_folded() -> None:
    items = copies(400, Importance.MEDIUM) + copies(1600, Importance.LOW, start=400)
    digest = with_items(items)
    messages = render_slack(digest)
    assert 2 <= len(messages) <= 15
    for message in messages:
        check_slack_message(message, allowed_urls(digest))
    assert assert_complete(messages, digest) == (2000, 0)
    assert "个提交未在此显示" not in json.dumps(messages, ensure_ascii=False)


def test_empty_digest_says_so() -> None:
    [message] = render_slack(empty_digest("en"))
    assert "No commits in this window." in _texts(message)
    check_slack_message(message, allowed_urls(empty_digest("en")))


def test_a_broken_sha_in_the_modal_title_is_no_link() -> None:
    item = reference_digest("en").items[0]
    broken = item.model_copy(update={"commit": item.commit.model_copy(update={"sha": "a.io/xy"})})
    modal = render_slack_details(broken, REPO_URL, "en", "modal")
    assert modal["title"]["text"] == "Commit a[.]io/xy"
    check_slack_modal(modal, allowed_urls(reference_digest("en")))


def test_alerted_commits_are_marked_on_the_card_and_in_details() -> None:
    digest = alerted_digest("en")
    [message] = render_slack(digest)
    sections = [b["text"]["text"] for b in message["blocks"] if b.get("accessory")]
    assert sections[0].split("\n")[1].endswith("58 files +2113 −287 · alerted 10:47")
    assert "· alerted 02-09 09:00" in sections[1]
    assert sum("alerted" in text for text in sections) == 2
    check_slack_message(message, allowed_urls(digest))
    thread = render_slack_details(digest.items[0], REPO_URL, "en", tz="Asia/Shanghai")
    assert "· alerted 10:47" in _texts(thread)
    assert "alerted" not in _texts(render_slack(reference_digest("en"))[0])
