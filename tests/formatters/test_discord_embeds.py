"""Discord embeds: golden reference day, colours, buttons and custom ids, continuation messages."""

from __future__ import annotations

from bot.models import Importance
from formatters.discord_details import render_discord_details
from formatters.discord_embeds import (
    COLOURS,
    details_custom_id,
    parse_details_custom_id,
    render_discord,
)
from tests.data.reference_day import REPO_URL, empty_digest, reference_digest
from tests.formatters.builders import alerted_digest, copies, with_items, with_text
from tests.formatters.golden import assert_golden
from tests.formatters.payload_checks import allowed_urls, assert_complete, check_discord_message

HIGH_SHA = "00248d85c798c6c4cb84aa5a7ac7685178867219"


def test_reference_day_matches_golden_in_one_message() -> None:
    digest = reference_digest("zh")
    messages = render_discord(digest)
    assert_golden("discord_reference_zh.json", messages)
    [message] = messages
    check_discord_message(message, allowed_urls(digest))
    assert assert_complete(messages, digest) == (9, 0)
    assert message["allowed_mentions"] == {"parse": []}


def test_embeds_are_coloured_by_severity_in_order() -> None:
    [message] = render_discord(reference_digest("zh"))
    head, *sections = message["embeds"]
    assert head["title"] == "每日更新报告（2026-02-08）" and head["url"] == REPO_URL
    assert head["color"] == COLOURS[Importance.HIGH]
    assert [(e["title"], e["color"]) for e in sections] == [
        ("🔴 高重要度变更 (1)", COLOURS[Importance.HIGH]),
        ("🟡 中重要度变更 (4)", COLOURS[Importance.MEDIUM]),
        ("🟢 低重要度变更 (4)", COLOURS[Importance.LOW]),
    ]
    assert len(sections[0]["fields"]) == 1 and len(sections[1]["fields"]) == 4
    assert f"[`00248d8`]({REPO_URL}/commit/{HIGH_SHA})" in sections[0]["fields"][0]["value"]
    assert "本日共 9 个提交" in head["description"]


def test_a_details_button_per_high_and_medium_commit() -> None:
    digest = reference_digest("zh")
    [message] = render_discord(digest)
    buttons = [button for row in message["components"] for button in row["components"]]
    expected = [i.commit.sha for i in digest.items if i.analysis.importance is not Importance.LOW]
    assert [parse_details_custom_id(b["custom_id"]) for b in buttons] == [
        ("sgl-project/sglang", sha[:12]) for sha in expected
    ]
    assert buttons[0]["label"] == "详情 00248d8"


def test_custom_id_fits_100_characters_for_any_repo() -> None:
    assert details_custom_id("a/b", HIGH_SHA) == "dg:details:a/b:00248d85c798"
    long_id = details_custom_id("o" * 39 + "/" + "n" * 100, HIGH_SHA)
    assert len(long_id) <= 100 and parse_details_custom_id(long_id) == ("", HIGH_SHA[:12])
    assert parse_details_custom_id("other:thing") is None


def test_many_commits_continue_in_further_messages_within_limits() -> None:
    items = copies(60, Importance.HIGH) + copies(40, Importance.MEDIUM, start=60)
    digest = with_items(items)
    messages = render_discord(digest)
    assert len(messages) >= 4
    for message in messages:
        check_discord_message(message, allowed_urls(digest))
        assert sum(len(row["components"]) for row in message["components"]) <= 25
    assert "（续）" in messages[1]["content"] and "第 2/" in messages[1]["content"]
    assert messages[1]["embeds"][0]["title"].endswith("（续）")
    assert_complete(messages, digest)


def test_mentions_and_markdown_from_commits_are_inert() -> None:
    attack = "@everyone @here <@123> <@&1> <#1> [x](https://evil.example) ||s|| # h"
    item = with_text(reference_digest("zh").items[0], title=attack, author=attack, summary=attack)
    digest = with_items([item], overview=attack)
    [message] = render_discord(digest)
    check_discord_message(message, allowed_urls(digest))
    value = message["embeds"][1]["fields"][0]["value"]
    assert "@\u200deveryone @\u200dhere \\<@123\\> \\<@&1\\> \\<\\#1\\>" in value
    assert "\\[x\\](hxxps\\[:\\]//evil\\[.\\]example) \\|\\|s\\|\\| \\# h" in value


def test_details_message_matches_golden() -> None:
    digest = reference_digest("zh")
    message = render_discord_details(digest.items[0], REPO_URL, "zh")
    assert_golden("discord_details_reference_zh.json", message)
    check_discord_message(message, allowed_urls(digest))
    titles = [embed.get("title") for embed in message["embeds"]]
    assert titles[1:] == ["🎯 影响范围", "🔍 技术洞察", "⚠️ 潜在风险", "💡 关注建议"]
    insights = message["embeds"][2]["fields"]
    assert [f["name"] for f in insights] == [
        "架构影响",
        "性能影响",
        "安全考虑",
        "可维护性",
        "兼容性",
        "测试覆盖",
    ]


def test_english_details_that_do_not_fit_say_they_were_cut() -> None:
    digest = reference_digest("en")
    message = render_discord_details(digest.items[0], REPO_URL, "en")
    check_discord_message(message, allowed_urls(digest))
    assert message["embeds"][-1]["footer"]["text"] == "too long, truncated"


def test_empty_digest_says_so() -> None:
    [message] = render_discord(empty_digest("en"))
    assert "No commits in this window." in message["embeds"][0]["description"]
    assert message["components"] == []


def test_alerted_commits_are_marked_on_the_card_and_in_details() -> None:
    digest = alerted_digest("en")
    [message] = render_discord(digest)
    high, medium = message["embeds"][1:3]
    assert high["fields"][0]["value"].split("\n")[0].endswith(" · alerted 10:47")
    assert medium["fields"][0]["value"].split("\n")[0].endswith(" · alerted 02-09 09:00")
    assert "alerted" not in medium["fields"][1]["value"]
    check_discord_message(message, allowed_urls(digest))
    details = render_discord_details(digest.items[0], REPO_URL, "en", tz="Asia/Shanghai")
    assert details["embeds"][0]["description"].split("\n")[0].endswith(" · alerted 10:47")
