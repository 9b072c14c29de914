"""Feishu alert cards: header colour, Details buttons, the notes."""

from __future__ import annotations

from bot.models import Importance
from formatters.feishu_alert import render_feishu_alert
from tests.formatters.builders import alert_of, copies, golden_alerts


def test_one_commit_card() -> None:
    card = render_feishu_alert(golden_alerts("zh")["one"])
    header = card["header"]
    assert header["title"]["content"] == "🔴 sgl-project/sglang 有高重要度提交"
    assert header["subtitle"]["content"].startswith("sgl-project/sglang · 2026-02-08 ")
    assert header["template"] == "red"
    commit, button, notes = card["body"]["elements"]
    assert "[00248d8](https://github.com/sgl-project/sglang/commit/00248d8" in commit["content"]
    assert commit["content"].count("⚠️ ") == 2
    assert button["behaviors"][0]["value"] == {
        "action": "digest_details",
        "sha": "00248d85c798c6c4cb84aa5a7ac7685178867219",
        "repo": "sgl-project/sglang",
    }
    assert notes["text_size"] == "notation"
    assert notes["content"].startswith("自 08:40 起另有 3 条提醒被暂缓")


def test_medium_is_orange_and_a_folded_card_has_a_button_per_shown_commit() -> None:
    assert render_feishu_alert(alert_of(copies(1, Importance.MEDIUM)))["header"]["template"] == (
        "orange"
    )
    card = render_feishu_alert(golden_alerts("en")["folded"])
    buttons = [e for e in card["body"]["elements"] if e["tag"] == "button"]
    assert len(buttons) == 10
    assert card["body"]["elements"][-1]["content"].startswith("&#43;2 more")
