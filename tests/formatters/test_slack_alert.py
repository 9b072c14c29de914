"""Slack alert cards: the commit section, its Details button, the notes, "+N more"."""

from __future__ import annotations

from bot.models import Importance
from formatters.slack_alert import render_slack_alert
from formatters.slack_blocks import DETAILS_ACTION_ID, parse_details_value
from tests.data.reference_day import REPO_URL
from tests.formatters.builders import (
    alert_of,
    copies,
    golden_alerts,
)


def test_one_commit_card() -> None:
    message = render_slack_alert(golden_alerts("en")["one"])
    header, commit, notes = message["blocks"]
    assert header["text"]["text"] == "🔴 High-importance commit in sgl-project/sglang"
    text = commit["text"]["text"]
    assert text.startswith(
        f"🔴 <{REPO_URL}/commit/00248d85c798c6c4cb84aa5a7ac7685178867219|00248d8>"
    )
    assert f"(<{REPO_URL}/pull/13662|#13662>)" in text
    assert "Makcum888e · 58 files +2113 −287" in text
    assert text.count("⚠️ ") == 2
    assert commit["accessory"]["action_id"] == DETAILS_ACTION_ID
    assert parse_details_value(commit["accessory"]["value"]) == (
        "sgl-project/sglang",
        "00248d85c798c6c4cb84aa5a7ac7685178867219",
    )
    [held, hint] = [element["text"] for element in notes["elements"]]
    assert held.startswith("3 more alerts held back since 08:4") and "rate cap 1" in held
    assert hint == "reply `details &lt;sha&gt;` for details"
    assert message["text"].startswith("🔴 High-importance commit in sgl-project/sglang: 00248d8")


def test_folded_card_lists_ten_with_buttons_and_counts_the_rest() -> None:
    alert = golden_alerts("zh")["folded"]
    message = render_slack_alert(alert)
    assert (
        message["blocks"][0]["text"]["text"]
        == "🔴 sgl-project/sglang 一次推送 12 个提交（强制推送）"
    )
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    assert len(sections) == 10
    shas = [parse_details_value(s["accessory"]["value"])[1] for s in sections]
    assert shas == [item.commit.sha for item in alert.digest.items[:10]]
    notes = [e["text"] for e in message["blocks"][-1]["elements"]]
    assert notes[0] == "另有 2 个提交"


def test_a_medium_alert() -> None:
    message = render_slack_alert(alert_of(copies(1, Importance.MEDIUM)))
    assert message["blocks"][0]["text"]["text"].startswith("🟡 Medium-importance commit")
