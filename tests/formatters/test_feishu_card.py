"""Feishu card JSON 2.0: golden reference day, structure, panels and buttons, colours, splitting."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.models import Importance
from formatters.feishu_card import card_content, count_tags, render_feishu, request_size
from formatters.feishu_details import render_feishu_details
from tests.data.reference_day import REPO_URL, empty_digest, reference_digest
from tests.formatters.builders import alerted_digest, copies, with_items, with_text
from tests.formatters.golden import assert_golden
from tests.formatters.payload_checks import (
    allowed_urls,
    assert_complete,
    check_feishu_card,
    feishu_request_bytes,
)


def _elements(value: Any, tag: str) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        own = [value] if value.get("tag") == tag else []
        return own + [e for child in value.values() for e in _elements(child, tag)]
    if isinstance(value, list):
        return [e for child in value for e in _elements(child, tag)]
    return []


def test_reference_day_matches_golden_in_one_card() -> None:
    digest = reference_digest("zh")
    cards = render_feishu(digest)
    assert_golden("feishu_reference_zh.json", cards)
    [card] = cards
    check_feishu_card(card, allowed_urls(digest))
    assert assert_complete(cards, digest) == (9, 0)
    assert card["header"]["template"] == "red"
    assert card["header"]["title"]["content"] == "每日更新报告（2026-02-08）"
    assert card["header"]["subtitle"]["content"] == "sgl-project/sglang"


def test_one_collapsed_panel_with_a_callback_button_per_high_and_medium_commit() -> None:
    digest = reference_digest("zh")
    [card] = render_feishu(digest)
    panels = _elements(card, "collapsible_panel")
    expected = [i.commit.sha for i in digest.items if i.analysis.importance is not Importance.LOW]
    assert len(panels) == len(expected) == 5
    assert all(panel["expanded"] is False for panel in panels)
    values = [_elements(panel, "button")[0]["behaviors"][0]["value"] for panel in panels]
    assert values == [
        {"action": "digest_details", "sha": sha, "repo": "sgl-project/sglang"} for sha in expected
    ]
    high = json.dumps(panels[0], ensure_ascii=False)
    for dimension in ("架构影响", "性能影响", "安全考虑", "可维护性", "兼容性", "测试覆盖"):
        assert f"**{dimension}**" in high
    assert "1. **硬件依赖缺失**：" in high
    assert not _elements(card, "table")


def test_card_content_is_the_compact_json_the_size_is_measured_on() -> None:
    [card] = render_feishu(reference_digest("zh"))
    content = card_content(card)
    assert json.loads(content) == card and ", " not in content[:50]
    assert request_size(card) == feishu_request_bytes(card) <= 25_000
    assert count_tags(card) <= 180


@pytest.mark.parametrize(
    ("importances", "template"),
    [
        ((Importance.MEDIUM, Importance.LOW), "orange"),
        ((Importance.LOW,), "green"),
        ((Importance.HIGH, Importance.LOW), "red"),
    ],
)
def test_header_colour_follows_the_highest_severity(
    importances: tuple[Importance, ...], template: str
) -> None:
    items = [item for n, imp in enumerate(importances) for item in copies(2, imp, start=2 * n)]
    [card] = render_feishu(with_items(items))
    assert card["header"]["template"] == template
    assert render_feishu(empty_digest("zh"))[0]["header"]["template"] == "grey"


def test_a_big_day_is_split_into_numbered_parts_under_the_budget() -> None:
    items = copies(40, Importance.HIGH) + copies(60, Importance.MEDIUM, start=40)
    digest = with_items(items)
    cards = render_feishu(digest)
    assert len(cards) > 2
    for index, card in enumerate(cards, start=1):
        assert card["header"]["subtitle"]["content"].endswith(f"第 {index}/{len(cards)} 部分")
        check_feishu_card(card, allowed_urls(digest))
    assert_complete(cards, digest)


def test_long_day_folds_low_commits_into_collapsed_panels() -> None:
    items = copies(2, Importance.HIGH) + copies(30, Importance.LOW, start=2)
    digest = with_items(items)
    cards = render_feishu(digest)
    low_panels = [
        panel
        for card in cards
        for panel in _elements(card, "collapsible_panel")
        if "低重要度提交" in panel["header"]["title"]["content"]
    ]
    assert low_panels and all(panel["expanded"] is False for panel in low_panels)
    titles = [panel["header"]["title"]["content"] for panel in low_panels]
    assert titles == [f"{n} 个低重要度提交" for n in (10, 10, 5, 5)]
    # Every low commit is listed: 25 as full lines, the other 5 folded to "sha title".
    assert assert_complete(cards, digest) == (32, 0)


def test_at_tags_links_and_fonts_are_neutralised() -> None:
    attack = '<at user_id="all"></at> <at id=all></at> [x](https://evil.example) <font color=red>'
    item = with_text(reference_digest("zh").items[0], title=attack, summary=attack)
    digest = with_items([item])
    [card] = render_feishu(digest)
    check_feishu_card(card, allowed_urls(digest))
    text = json.dumps(card, ensure_ascii=False)
    assert '&#60;at user&#95;id=\\"all\\"&#62;' in text
    assert "&#91;x&#93;(hxxps&#91;:&#93;//evil&#91;.&#93;example)" in text


def test_details_card_matches_golden() -> None:
    digest = reference_digest("zh")
    card = render_feishu_details(digest.items[0], REPO_URL, "zh")
    assert_golden("feishu_details_reference_zh.json", card)
    check_feishu_card(card, allowed_urls(digest))
    text = json.dumps(card, ensure_ascii=False)
    assert "**📋 变更摘要**" in text and "**💡 关注建议**" in text
    assert card["header"]["template"] == "red"


def test_english_labels() -> None:
    [card] = render_feishu(reference_digest("en"))
    text = json.dumps(card, ensure_ascii=False)
    assert card["header"]["title"]["content"] == "Daily update report (2026-02-08)"
    assert "High-importance changes (1)" in text and "Details" in text


def test_alerted_commits_are_marked_on_the_card_and_in_details() -> None:
    digest = alerted_digest("zh")
    [card] = render_feishu(digest)
    text = json.dumps(card, ensure_ascii=False)
    assert "58 个文件 +2113 −287 · 已提醒 10:47" in text and "· 已提醒 02-09 09:00" in text
    check_feishu_card(card, allowed_urls(digest))
    details = render_feishu_details(digest.items[0], REPO_URL, "zh", tz="Asia/Shanghai")
    assert "· 已提醒 10:47" in json.dumps(details, ensure_ascii=False)
